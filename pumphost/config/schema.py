"""Tiny declarative validation for YAML configs.

Every error names the file, the dotted key, the value and what is allowed, in
one line, so `pumpsim` can exit 2 with a message a bench engineer can act on.
"""
import re
from pathlib import Path

import yaml


class ConfigError(Exception):
    """A user-facing configuration error (never shown with a traceback)."""


def _where(path, key):
    return '%s: %s' % (path, key) if key else str(path)


def fail(path, key, value, allowed):
    raise ConfigError('%s = %r: %s' % (_where(path, key), value, allowed))


def load_yaml(path):
    path = Path(path)
    if not path.exists():
        raise ConfigError('%s: file not found' % path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        at = ' line %d' % (mark.line + 1) if mark else ''
        raise ConfigError('%s:%s not valid YAML (%s)' % (path, at, getattr(e, 'problem', e)))
    if not isinstance(data, dict):
        raise ConfigError('%s: top level must be a mapping of keys, got %s' % (path, type(data).__name__))
    return data


class Field:
    """One key: kind is 'number', 'int', 'str', 'bool', 'map', 'list' or
    'duration' (a string with a unit: 46h, 30min, 90s, 1d)."""

    def __init__(self, kind, required=True, default=None, lo=None, hi=None,
                 choices=None, fields=None, item=None, doc=''):
        self.kind = kind
        self.required = required
        self.default = default
        self.lo = lo
        self.hi = hi
        self.choices = choices
        self.fields = fields
        self.item = item
        self.doc = doc


# a duration is text: a number and a unit (also the JSON Schema pattern for
# duration fields, tools/gen_schemas.py)
DURATION_PATTERN = r'^\s*([0-9]*\.?[0-9]+)\s*(ms|s|min|h|d)\s*$'
_DURATION = re.compile(DURATION_PATTERN)
_UNIT_S = {'ms': 0.001, 's': 1.0, 'min': 60.0, 'h': 3600.0, 'd': 86400.0}


def parse_duration_s(text):
    """'46h' -> 165600.0. A bare number is refused: the unit must be explicit."""
    if isinstance(text, str):
        m = _DURATION.match(text)
        if m:
            return float(m.group(1)) * _UNIT_S[m.group(2)]
    raise ValueError('a duration with a unit, e.g. 90s, 30min, 46h, 14d')


def _range_text(f):
    if f.lo is not None and f.hi is not None:
        return ' in %g..%g' % (f.lo, f.hi)
    if f.lo is not None:
        return ' >= %g' % f.lo
    if f.hi is not None:
        return ' <= %g' % f.hi
    return ''


def check(value, f, path, key):
    """Validate and normalise one value against Field f."""
    k = f.kind
    if k in ('number', 'int'):
        ok_type = isinstance(value, int) if k == 'int' else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type:
            fail(path, key, value, 'must be %s%s%s' % (
                'an integer' if k == 'int' else 'a number', _range_text(f),
                (' (' + f.doc + ')') if f.doc else ''))
        if (f.lo is not None and value < f.lo) or (f.hi is not None and value > f.hi):
            fail(path, key, value, 'must be%s%s' % (_range_text(f), (' (' + f.doc + ')') if f.doc else ''))
        return value
    if k == 'str':
        if not isinstance(value, str):
            fail(path, key, value, 'must be text')
        if f.choices is not None and value not in f.choices:
            fail(path, key, value, 'must be one of: ' + ', '.join(sorted(f.choices)))
        return value
    if k == 'bool':
        if not isinstance(value, bool):
            fail(path, key, value, 'must be true or false')
        return value
    if k == 'duration':
        try:
            s = parse_duration_s(value)
        except ValueError as e:
            fail(path, key, value, 'must be ' + str(e))
        if (f.lo is not None and s < f.lo) or (f.hi is not None and s > f.hi):
            fail(path, key, value, 'must be between %gs and %gs' % (f.lo or 0, f.hi or float('inf')))
        return s
    if k == 'map':
        if not isinstance(value, dict):
            fail(path, key, value, 'must be a mapping')
        return check_map(value, f.fields, path, key)
    if k == 'list':
        if not isinstance(value, list):
            fail(path, key, value, 'must be a list')
        return [check(v, f.item, path, '%s[%d]' % (key, i)) for i, v in enumerate(value)]
    raise AssertionError(k)


def check_map(data, fields, path, prefix=''):
    out = {}
    for name in data:
        if name not in fields:
            full = (prefix + '.' + str(name)) if prefix else str(name)
            fail(path, full, data[name], 'unknown key (allowed: %s)' % ', '.join(sorted(fields)))
    for name, f in fields.items():
        full = (prefix + '.' + name) if prefix else name
        if name in data:
            out[name] = check(data[name], f, path, full)
        elif f.required:
            raise ConfigError('%s: missing (%s)' % (_where(path, full), f.doc or f.kind))
        elif f.default is None:
            out[name] = None
        else:
            # normalise the default like a given value: '10s' -> 10.0, a
            # map's own defaults filled in
            out[name] = check(f.default, f, path, full)
    return out
