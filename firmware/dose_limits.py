"""Program checks at load, stage 2 (device side): the drugs, then the
program walked in time.

Stage 1 (firmware.limits) has checked every step's fields. This checks each
drug a program carries against the device's own library (firmware.druglib):
its limits must equal the library's, so a host that is bypassed or lies
cannot raise one (firmware.druglib is generated from configs/drugs by
tools/gen_druglib.py). Then it expands cycles and ramps in execution order and
checks the volume drawn from each syringe and, per drug, the rate, the
volume, the dose per cycle and the most given in any 24 h window against the
soft and hard limits. Hard limits refuse; soft limits refuse unless the
program carries FLAG_OVERRIDE (the pump journals the override). Imported by Program.validate
only, after stage 1 has left the heap. Amounts are integers (milli-units,
nL, ms); products are big ints here, at load, never in the tick.
"""
from firmware.program import ramp_parts, ramp_sub

from firmware.compat import const
# codes from pumphost.codes (private: no heap; tests/test_device_codes.py checks them)
_FLAG_OVERRIDE = const(1)
_K_CYCLE = const(7)
_K_PAUSE = const(4)
_K_RAMP = const(2)
_K_SYRINGE = const(6)

UNLOAD_WITH = ('druglib',)   # compat.call_transient unloads it with this module

LIMIT_NAMES = ('rate_nl_h', 'dose_day', 'dose_cycle', 'vtbi_nl')
MAX_SEGMENTS = 512
DAY_MS = 86400000


def walk(steps):
    """Yield (step index, sub-step) in execution order, cycles expanded
    (the pump runs the same order)."""
    i = 0
    cyc_at = -1
    left = 0
    n = len(steps)
    while i < n:
        s = steps[i]
        k = s[0]
        if k == _K_CYCLE:
            if cyc_at != i:
                cyc_at = i
                left = s[4] & 0xFFFF
            if left:
                left -= 1
                i = s[4] >> 16
                continue
        elif k == _K_RAMP:
            for j in range(ramp_parts(s[3])):
                yield i, j
        else:
            yield i, 0
        i += 1


def lib_entry(drug_id):
    from firmware.druglib import LIB   # only for programs that name a drug
    for e in LIB:
        if e[0] == drug_id:
            return e
    return None


def check(p, st):
    """None if the drugs and the program in time pass, else one line naming
    the field and the limit."""
    drugs = p.drugs
    lib = []
    for k in range(len(drugs)):
        d = drugs[k]
        if len(d) != 10:
            return 'drugs[%d] has %d fields (10)' % (k, len(d))
        e = lib_entry(d[0])
        if e is None:
            return 'drugs[%d].id=%r not allowed (not in the device drug library)' % (k, d[0])
        if tuple(d[2:]) != tuple(e[3:]):
            return 'drugs[%d] limits differ from the device library entry for drug %d' % (k, d[0])
        if type(d[1]) is not int or d[1] < e[1] or d[1] > e[2]:
            return 'drugs[%d].conc=%r not allowed (drug %d: %d..%d milli-units/mL)' % (
                k, d[1], d[0], e[1], e[2])
        lib.append(e)
    steps = p.steps
    segs = []
    t = 0
    in_syringe = 0
    total = 0
    nd = len(lib)
    vol_by = [0] * nd
    amt_by = [0] * nd       # 1e-6 milli-units
    p.soft = None
    for i, j in walk(steps):
        s = steps[i]
        kind = s[0]
        if kind == _K_SYRINGE:
            in_syringe = 0
            continue
        if kind == _K_PAUSE:
            t += s[3] * 1000
            continue
        if kind == _K_RAMP:
            rate, vol = ramp_sub(s, j)
        else:
            rate, vol = s[1], s[2]
        if len(segs) >= MAX_SEGMENTS:
            return 'program expands to more than %d delivering steps (cycles)' % MAX_SEGMENTS
        d = vol * 3600000 // rate
        in_syringe += vol
        total += vol
        if in_syringe > st.syringe_volume_nl:
            return 'steps[%d]: %d nL since the last syringe change not allowed (the syringe holds %d)' % (
                i, in_syringe, st.syringe_volume_nl)
        sl = s[5]
        if nd:
            vol_by[sl] += vol
            a = vol * p.drugs[sl][1]
            amt_by[sl] += a
            segs.append((t, t + d, a, sl))
            e = lib[sl]
            r = rate if kind != _K_RAMP else (s[1] if s[1] > s[4] else s[4])
            err = _limit(p, sl, e, 0, r, 1, 'steps[%d].rate_nl_h' % i)
            if err:
                return err
        t += d
    p.total_nl = total
    p.total_s = t // 1000
    for k in range(len(drugs)):
        e = lib[k]
        # same drug in two slots (two concentrations): judge the drug's sum
        vol = 0
        amt = 0
        for m in range(nd):
            if lib[m][0] == e[0]:
                vol += vol_by[m]
                amt += amt_by[m]
        err = (_limit(p, k, e, 3, vol, 1, 'drugs[%d] volume_nl' % k)
               or _limit(p, k, e, 2, amt, 1000000, 'drugs[%d] dose per cycle' % k)
               or _limit(p, k, e, 1, _max_day(segs, lib, e[0]), 1000000, 'drugs[%d] dose in 24 h' % k))
        if err:
            return err
    return None


def _limit(p, slot, e, code, value, scale, what):
    """Check value (scaled by `scale` against limits in milli-units)."""
    hard = e[7 + code] * scale
    if value > hard:
        return '%s=%d not allowed (hard limit %s %d for drug %d)' % (
            what, value // scale, LIMIT_NAMES[code], e[7 + code], e[0])
    if value > e[3 + code] * scale:
        if not p.flags & _FLAG_OVERRIDE:
            return '%s=%d not allowed (soft limit %s %d for drug %d; needs the override flag)' % (
                what, value // scale, LIMIT_NAMES[code], e[3 + code], e[0])
        if p.soft is None:
            p.soft = (e[0], code, value // scale)
    return None


def _max_day(segs, lib, drug_id):
    """Most of drug_id given in any 24 h window (1e-6 milli-units), rounded up.
    Durations are floored at load, so this errs high."""
    best = 0
    for w0 in segs:
        for w in (w0[0], w0[1] - DAY_MS):
            end = w + DAY_MS
            tot = 0
            for t0, t1, a, sl in segs:
                if lib[sl][0] != drug_id or not a:
                    continue
                lo = t0 if t0 > w else w
                hi = t1 if t1 < end else end
                if t1 == t0:
                    if w <= t0 <= end:
                        tot += a
                elif hi > lo:
                    tot += (a * (hi - lo) + (t1 - t0) - 1) // (t1 - t0)
            if tot > best:
                best = tot
    return best
