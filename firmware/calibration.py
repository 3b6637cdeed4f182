"""Stored calibration: volume per microstep and pressure sensor zero / span.

Boot/calibration time only (never imported by the control tick): a board entry
calls `boot_settings(settings, storage)` before it builds the Pump, so the Pump
runs with the measured figures instead of the nominal ones; the Pump journals
the record in use at POST (EV_CAL_APPLIED). A service tool measures and calls
`store()`, which journals _EV_CAL_STORED.

Storage map (see firmware/journal.py): the journal ring owns
[0, size - _CAL_AREA); calibration owns the last _CAL_AREA = 64 bytes as two
32-byte slots, A at size - 64 and B at size - 32. A new record goes to the
slot that does NOT hold the newest valid record, so a write torn by a power
cut leaves the previous record intact. Record (26 bytes, little endian):
  0 magic b'CL'   2 version u8   3 flags u8 (bit0 step volume measured,
  bit1 pressure measured)   4 seq u32   8 step_pl u32
  12 pressure_zero_counts u16   14 pressure_span_counts_per_100mmhg u16
  16 gravimetric steps u32   20 mass_ug u32   24 crc16 (CCITT-FALSE) of 0..24
Integers only; values are range-checked before packing.
"""
import struct
from firmware.compat import const
from firmware.crc16 import crc16

# codes from pumphost.codes (private: no heap; tests/test_device_codes.py checks them)
_CAL_AREA = const(64)
_EV_CAL_STORED = const(30)

SLOT = const(32)
REC = const(26)
_FMT = '<2sBBIIHHII'
MAGIC = b'CL'
VERSION = const(1)
F_STEP = const(1)
F_PRESSURE = const(2)

# a measurement this far from the nominal figure is a wrong syringe, a wrong
# weighing or a broken sensor: refused, never stored or applied
STEP_TOL_PCT = const(10)
SPAN_TOL_PCT = const(20)
ZERO_TOL_COUNTS = const(2000)
DENSITY_UG_PER_ML = const(998000)   # water at 20 C, what the balance weighs


def _base(storage):
    return storage.size() - _CAL_AREA


def _read_slot(storage, i, buf):
    """Decoded record tuple or None (erased, torn, other version)."""
    storage.readinto(_base(storage) + i * SLOT, buf)
    if buf[0] != 0x43 or buf[1] != 0x4C or buf[2] != VERSION:   # 'C' 'L'
        return None
    if crc16(buf, 0, REC - 2) != buf[REC - 2] | (buf[REC - 1] << 8):
        return None
    return struct.unpack_from(_FMT, buf, 0)


def read(storage):
    """The newest valid record as a dict, or None. Keys: seq, flags, step_pl,
    zero, span, steps, mass_ug, slot."""
    buf = bytearray(REC)
    best = None
    for i in (0, 1):
        r = _read_slot(storage, i, buf)
        if r is not None and (best is None or r[3] > best['seq']):
            best = {'slot': i, 'flags': r[2], 'seq': r[3], 'step_pl': r[4], 'zero': r[5],
                    'span': r[6], 'steps': r[7], 'mass_ug': r[8]}
    return best


def check(settings, step_pl, zero, span):
    """None if the figures are plausible against the nominal settings, else a
    message naming the field, the value and the allowed range."""
    n = settings.step_pl
    lo = n - n * STEP_TOL_PCT // 100
    hi = n + n * STEP_TOL_PCT // 100
    if type(step_pl) is not int or step_pl < lo or step_pl > hi or step_pl < 1000 or step_pl > 298000:
        return 'step_pl=%r not allowed (nominal %d +-%d%%: %d..%d)' % (step_pl, n, STEP_TOL_PCT, lo, hi)
    n = settings.pressure_zero_counts
    lo = n - ZERO_TOL_COUNTS
    hi = n + ZERO_TOL_COUNTS
    if type(zero) is not int or zero < lo or zero > hi or zero < 0 or zero > 20000:
        return 'pressure_zero_counts=%r not allowed (nominal %d +-%d: %d..%d)' % (
            zero, n, ZERO_TOL_COUNTS, lo, hi)
    n = settings.pressure_span_counts_per_100mmhg
    lo = n - n * SPAN_TOL_PCT // 100
    hi = n + n * SPAN_TOL_PCT // 100
    if type(span) is not int or span < lo or span > hi or span < 100 or span > 20000:
        return 'pressure_span_counts_per_100mmhg=%r not allowed (nominal %d +-%d%%: %d..%d)' % (
            span, n, SPAN_TOL_PCT, lo, hi)
    return None


def store(storage, journal, time_s, settings, step_pl, zero, span, flags=3, steps=0, mass_ug=0):
    """Check against the NOMINAL `settings`, write a new record into the older
    slot, read it back, journal _EV_CAL_STORED. Returns (seq, None) or
    (0, message)."""
    err = check(settings, step_pl, zero, span)
    if err is None and not (0 <= steps <= 0xFFFFFFFF and 0 <= mass_ug <= 0xFFFFFFFF
                            and 0 <= flags <= 3):
        err = 'steps=%r mass_ug=%r flags=%r out of range' % (steps, mass_ug, flags)
    if err is not None:
        return 0, err
    cur = read(storage)
    seq = 1 if cur is None else cur['seq'] + 1
    slot = 0 if cur is None or cur['slot'] == 1 else 1
    buf = bytearray(REC)
    struct.pack_into(_FMT, buf, 0, MAGIC, VERSION, flags, seq, step_pl, zero, span, steps, mass_ug)
    crc = crc16(buf, 0, REC - 2)
    buf[REC - 2] = crc & 0xFF
    buf[REC - 1] = crc >> 8
    storage.write(_base(storage) + slot * SLOT, buf)
    back = read(storage)
    if back is None or back['seq'] != seq or back['step_pl'] != step_pl:
        return 0, 'storage read-back failed at slot %d' % slot
    if journal is not None:
        journal.log(time_s, _EV_CAL_STORED, step_pl, zero * 65536 + span)
    return seq, None


def boot_settings(settings, storage):
    """Replace the nominal step_pl, pressure zero and span by the stored
    calibration if there is a valid, plausible record; sets
    settings.calibration_seq (0: nominal figures in use). Returns the record
    applied, or None."""
    rec = read(storage)
    settings.calibration_seq = 0
    if rec is None or check(settings, rec['step_pl'], rec['zero'], rec['span']) is not None:
        return None
    settings.step_pl = rec['step_pl']
    settings.pressure_zero_counts = rec['zero']
    settings.pressure_span_counts_per_100mmhg = rec['span']
    settings.calibration_seq = rec['seq']
    return rec


# ------------------------------------------------------------ measurements
def step_pl_from_mass(steps, mass_ug, density_ug_per_ml=DENSITY_UG_PER_ML):
    """Gravimetric volume per microstep, picolitres, rounded: the balance
    weighed mass_ug after `steps` forward microsteps."""
    if steps <= 0 or mass_ug <= 0:
        return 0
    den = density_ug_per_ml * steps
    return (mass_ug * 1000000000 + den // 2) // den


def mean_raw(sensor, n):
    """Mean of n raw readings (rounded): the zero or the reference level."""
    s = 0
    for _ in range(n):
        s += sensor.read_raw()
    return (s + n // 2) // n


def span_from(zero_counts, ref_counts, ref_mmhg_x10):
    """Counts per 100 mmHg from the reading at a known reference pressure."""
    if ref_mmhg_x10 <= 0:
        return 0
    d = (ref_counts - zero_counts) * 1000
    return (d + ref_mmhg_x10 // 2) // ref_mmhg_x10
