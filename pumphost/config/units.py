"""Quantities with explicit units: '0.3 mg/kg/day', '5 mg/mL', '100 U/mL', '46 h'.

A value without a unit is an error; so is a unit of the wrong kind (a volume
where an amount is expected: mg vs mL) or a unit nobody knows. Each error is
one line: UnitError('needs an amount per kg per day, e.g. 0.3 mg/kg/day; got
mL/kg/day (a volume, not an amount)'). Callers prefix the file and key.

Base units: amount mg (mass) or U (units, heparin), volume mL, time h, body
weight kg, body surface m2. Values come back as floats in base units.
"""
import re


class UnitError(ValueError):
    pass


# unit -> (factor to base, dimension)
UNITS = {
    'g': (1000.0, 'mass'), 'mg': (1.0, 'mass'), 'ug': (1e-3, 'mass'), 'mcg': (1e-3, 'mass'),
    'U': (1.0, 'iu'), 'kU': (1000.0, 'iu'),
    'L': (1000.0, 'vol'), 'mL': (1.0, 'vol'), 'ml': (1.0, 'vol'), 'uL': (1e-3, 'vol'),
    'h': (1.0, 'time'), 'min': (1 / 60.0, 'time'), 's': (1 / 3600.0, 'time'),
    'd': (24.0, 'time'), 'day': (24.0, 'time'),
    'kg': (1.0, 'kg'), 'm2': (1.0, 'm2'), 'cm': (1.0, 'cm'),
}

# what a field may hold: name -> (allowed dimension signatures, example)
KINDS = {
    'amount': ((('mass',), ()), (('iu',), ())),
    'volume': ((('vol',), ()),),
    'duration': ((('time',), ()),),
    'rate': ((('vol',), ('time',)),),
    'concentration': ((('mass',), ('vol',)), (('iu',), ('vol',))),
    'dose_per_kg_day': ((('mass',), ('kg', 'time')), (('iu',), ('kg', 'time'))),
    'dose_per_m2': ((('mass',), ('m2',)), (('iu',), ('m2',))),
    'dose_per_day': ((('mass',), ('time',)), (('iu',), ('time',))),
}
EXAMPLES = {
    'amount': '680 mg or 300 U', 'volume': '3 mL', 'duration': '46 h',
    'rate': '1.77 mL/h', 'concentration': '50 mg/mL or 100 U/mL',
    'dose_per_kg_day': '0.3 mg/kg/day', 'dose_per_m2': '2400 mg/m2',
    'dose_per_day': '21 mg/day',
}
DOSE_KINDS = ('amount', 'dose_per_kg_day', 'dose_per_m2', 'dose_per_day')

_Q = re.compile(r'^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z][A-Za-z0-9/]*)?\s*$')
_DIM_WORD = {'mass': 'a mass (mg)', 'iu': 'units (U)', 'vol': 'a volume (mL)', 'time': 'a time',
             'kg': 'body weight (kg)', 'm2': 'body surface (m2)', 'cm': 'a length'}


def parse(text):
    """'0.3 mg/kg/day' -> (value in base units, (num dims), (den dims), unit text)."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise UnitError('needs a value with a unit, got %r' % (text,))
    if not isinstance(text, str):
        raise UnitError('%r has no unit' % (text,))
    m = _Q.match(text)
    if not m:
        raise UnitError('%r is not a number followed by a unit' % text)
    if not m.group(2):
        raise UnitError('%r has no unit' % text)
    unit = m.group(2)
    parts = unit.split('/')
    value = float(m.group(1))
    num = []
    den = []
    for k, u in enumerate(parts):
        if u not in UNITS:
            raise UnitError('unknown unit %r in %r (known: %s)' % (u, unit, ', '.join(sorted(UNITS))))
        f, dim = UNITS[u]
        if k == 0:
            value *= f
            num.append(dim)
        else:
            value /= f
            den.append(dim)
    return value, tuple(num), tuple(den), unit


def quantity(text, kind):
    """Parse text and check it is of `kind` (a KINDS key); value in base units
    and 'mass' or 'iu' (the amount dimension, None if there is none)."""
    value, num, den, unit = parse(text)
    for want_num, want_den in KINDS[kind]:
        if num == want_num and tuple(sorted(den)) == tuple(sorted(want_den)):
            if value < 0:
                raise UnitError('%r must not be negative' % text)
            amount = num[0] if num and num[0] in ('mass', 'iu') else None
            return value, amount
    hint = ''
    wants_amount = any(w[0][0] in ('mass', 'iu') for w in KINDS[kind])
    if wants_amount and num == ('vol',):
        hint = ' (a volume where an amount is meant: mg and mL mixed up?)'
    elif not wants_amount and num and num[0] in ('mass', 'iu'):
        hint = ' (an amount where a volume is meant: mg and mL mixed up?)'
    elif num and num[0] in _DIM_WORD:
        hint = ' (%s%s)' % (_DIM_WORD[num[0]], (' per ' + ' per '.join(_DIM_WORD[d] for d in den)) if den else '')
    raise UnitError('needs %s, e.g. %s; got %s%s' % (kind.replace('_', ' '), EXAMPLES[kind], unit, hint))


def dose_kind(text):
    """Which DOSE_KINDS entry text is, or UnitError naming the accepted forms."""
    errors = []
    for k in DOSE_KINDS:
        try:
            quantity(text, k)
            return k
        except UnitError as e:
            errors.append(e)
    value, num, den, unit = parse(text)
    hint = ' (a volume where an amount is meant: mg and mL mixed up?)' if num == ('vol',) else ''
    raise UnitError('a dose needs mg or U, e.g. 0.3 mg/kg/day, 2400 mg/m2, 680 mg; got %s%s' % (unit, hint))
