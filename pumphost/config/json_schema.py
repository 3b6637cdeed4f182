"""JSON Schema (draft 2020-12) from the config schemas (pumphost.config.schema.Field).

The YAML configs are checked by check_map against dicts of Field; this turns
the same dicts into JSON Schema documents so an editor (yaml-language-server,
VS Code, JetBrains) validates and completes a config as it is typed. One
source: a range, a choice or a new key changes both, and
tools/gen_schemas.py --check fails while the shipped .schema.json files lag.

What JSON Schema cannot say is left to check_map and the loaders: a duration's
range (it is text, '46h'), a quantity's unit kind ('5 mg/mL'), cross-field
rules (min below max, a dose or a rate). Those still fail at load time with
one line naming the key.
"""
from pumphost.config.schema import DURATION_PATTERN

DRAFT = 'https://json-schema.org/draft/2020-12/schema'

# unit of a key, from its name's suffix: the configs put units in key names
UNIT_SUFFIXES = (
    ('_mmhg_s_per_ul', 'mmHg*s/uL'),
    ('_pct_per_100mmhg', '% per 100 mmHg'),
    ('_ul_per_mmhg', 'uL/mmHg'),
    ('_ml_per_rev', 'mL per revolution'),
    ('_mg_per_m2', 'mg/m2'),
    ('_mg_per_ml', 'mg/mL'),
    ('_mv_per_h', 'mV/h'),
    ('_ml_h', 'mL/h'),
    ('_mmhg', 'mmHg'),
    ('_bpm', 'beats/min'),
    ('_min', 'min'),
    ('_pct', '%'),
    ('_ml', 'mL'),
    ('_ul', 'uL'),
    ('_mm', 'mm'),
    ('_mv', 'mV'),
    ('_ms', 'ms'),
    ('_kg', 'kg'),
    ('_cm', 'cm'),
    ('_m2', 'm2'),
    ('_s', 's'),
)

KIND_TYPES = {'number': 'number', 'int': 'integer', 'str': 'string', 'bool': 'boolean',
              'duration': 'string', 'map': 'object', 'list': 'array'}


def unit_of(key):
    """'max_rate_ml_h' -> 'mL/h'; None when the name carries no unit."""
    for suffix, unit in UNIT_SUFFIXES:
        if key.endswith(suffix):
            return unit
    return None


def _seconds(s):
    for unit, size in (('d', 86400), ('h', 3600), ('min', 60), ('s', 1)):
        if s >= size and s % size == 0:
            return '%g%s' % (s / size, unit)
    return '%gs' % s


def _describe(key, f):
    parts = [f.doc] if f.doc else []
    if f.kind == 'duration':
        parts.append('a duration with a unit (ms, s, min, h, d), e.g. 90s, 30min, 46h, 14d')
        if f.lo is not None and f.hi is not None:
            parts.append('from %s to %s' % (_seconds(f.lo), _seconds(f.hi)))
        elif f.lo is not None:
            parts.append('at least %s' % _seconds(f.lo))
        elif f.hi is not None:
            parts.append('at most %s' % _seconds(f.hi))
    elif f.kind in ('number', 'int'):
        unit = unit_of(key)
        if unit:
            parts.append('unit: ' + unit)
    return '; '.join(parts)


class _Converter:
    def __init__(self):
        self.defs = {}
        self.active = []        # ids of the field dicts being converted (recursion)
        self.recursive = {}     # id of a field dict -> its $defs name

    def map(self, fields, name):
        ident = id(fields)
        if ident in self.active:
            # a map that contains itself (a cycle's steps are steps): one $defs entry
            self.recursive.setdefault(ident, name)
            return {'$ref': '#/$defs/' + self.recursive[ident]}
        self.active.append(ident)
        props = {key: self.field(key, f) for key, f in fields.items()}
        self.active.pop()
        out = {'type': 'object', 'properties': props, 'additionalProperties': False}
        required = [key for key, f in fields.items() if f.required]
        if required:
            out['required'] = required
        if ident in self.recursive:
            self.defs[self.recursive[ident]] = out
            return {'$ref': '#/$defs/' + self.recursive[ident]}
        return out

    def field(self, key, f):
        if f.kind == 'map':
            out = self.map(f.fields, key)
        elif f.kind == 'list':
            out = {'type': 'array', 'items': self.field(key[:-1] if key.endswith('s') else key, f.item)}
        else:
            out = {'type': KIND_TYPES[f.kind]}
        if f.kind in ('number', 'int'):
            if f.lo is not None:
                out['minimum'] = f.lo
            if f.hi is not None:
                out['maximum'] = f.hi
        if f.kind == 'duration':
            out['pattern'] = DURATION_PATTERN
        if f.choices is not None:
            out['enum'] = sorted(f.choices)
        text = _describe(key, f)
        if text:
            if '$ref' in out:
                out = {'allOf': [out]}
            out['description'] = text
        if not f.required and f.default is not None:
            if '$ref' in out:
                out = {'allOf': [out]}
            out['default'] = f.default
        return out


def document(title, description, fields):
    """One config kind's schema document: `fields` is a check_map dict."""
    conv = _Converter()
    body = conv.map(fields, 'root')
    doc = {'$schema': DRAFT, 'title': title, 'description': description}
    doc.update(body)
    if conv.defs:
        doc['$defs'] = conv.defs
    return doc


def document_by_kind(title, description, key, schemas):
    """A schema document for a config whose `key` picks one of several field
    dicts (pumps: kind syringe or peristaltic): each variant in $defs, chosen
    by if/then so an editor reports the errors of the right variant only."""
    conv = _Converter()
    defs = {}
    for value, fields in sorted(schemas.items()):
        defs[value] = conv.map(fields, value)
    doc = {'$schema': DRAFT, 'title': title, 'description': description,
           'type': 'object', 'required': [key],
           'properties': {key: {'enum': sorted(schemas)}},
           'allOf': [{'if': {'properties': {key: {'const': value}}, 'required': [key]},
                      'then': {'$ref': '#/$defs/' + value}} for value in sorted(schemas)]}
    defs.update(conv.defs)
    doc['$defs'] = defs
    return doc
