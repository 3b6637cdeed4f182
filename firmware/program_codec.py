"""The program's canonical encoding v2 (firmware.program has the layout):
the bytes its hash covers, what NV holds for power-loss recovery and what the
link carries. Load- and start-time code: firmware.program imports it when
needed and lets it leave the device heap again.

Every value is range-checked before struct.pack_into (a value out of range
would otherwise be truncated on a board).
"""
import hashlib
import struct

from firmware.compat import const
from firmware.program import Program

_VERSION = const(2)
_DRUG_FMT = '<HIIIIIIIII'
_STEP_FMT = '<BIIIIB'
_DRUG_BYTES = const(38)
_STEP_BYTES = const(18)
_U32_MAX = const(0xFFFFFFFF)


def encode(program):
    """Canonical bytes (what the hash covers). Call after validate()."""
    nd = len(program.drugs)
    ns = len(program.steps)
    if not (0 <= program.flags <= 255 and nd <= 3 and ns <= 255):
        raise ValueError('program header out of range for encoding')
    out = bytearray(4 + _DRUG_BYTES * nd + _STEP_BYTES * ns)
    struct.pack_into('<BBBB', out, 0, _VERSION, program.flags, nd, ns)
    o = 4
    for d in program.drugs:
        if len(d) != 10 or not 0 <= d[0] <= 0xFFFF:
            raise ValueError('program drug entry out of range for encoding')
        for v in d:
            if not 0 <= v <= _U32_MAX:
                raise ValueError('program value out of range for encoding')
        struct.pack_into(_DRUG_FMT, out, o, *d)
        o += _DRUG_BYTES
    for s in program.steps:
        if len(s) != 6 or not (0 <= s[0] <= 255 and 0 <= s[5] <= 255):
            raise ValueError('program step out of range for encoding')
        for v in s:
            if not 0 <= v <= _U32_MAX:
                raise ValueError('program value out of range for encoding')
        struct.pack_into(_STEP_FMT, out, o, *s)
        o += _STEP_BYTES
    return bytes(out)


def digest(program):
    return hashlib.sha256(encode(program)).digest()


def decode(buf, n):
    """Program from canonical bytes buf[0:n], or None if malformed."""
    if n < 4 or buf[0] != _VERSION:
        return None
    nd = buf[2]
    ns = buf[3]
    if nd > 3 or ns < 1 or ns > 32 or n != 4 + _DRUG_BYTES * nd + _STEP_BYTES * ns:
        return None
    drugs = []
    o = 4
    for _ in range(nd):
        drugs.append(struct.unpack_from(_DRUG_FMT, buf, o))
        o += _DRUG_BYTES
    steps = []
    for _ in range(ns):
        steps.append(struct.unpack_from(_STEP_FMT, buf, o))
        o += _STEP_BYTES
    return Program(steps, drugs, buf[1])
