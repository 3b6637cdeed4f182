"""Program checks at load (device side): every step, every drug, every limit.

Imported by Program.validate only, so the control tick never carries it.
The drug limits come from the device's own library (firmware.druglib,
generated from configs/drugs by tools/gen_druglib.py): a program's carried
library entry must equal it, so a host that is bypassed or lies cannot raise
a limit. Hard limits refuse; soft limits refuse unless the program carries
FLAG_OVERRIDE (the pump journals the override). Amounts are integers:
concentrations and limits in milli-units (ug, mU), volumes in nL; products
are big ints here, at load, never in the tick.
"""
from firmware.program import (K_CONTINUOUS, K_RAMP, K_BOLUS, K_PAUSE, K_KVO, K_SYRINGE,
                              K_CYCLE, FLAG_OVERRIDE, FLAG_STOP_ON_LINK_LOSS, ramp_parts,
                              ramp_sub)

N_KINDS = 8
MAX_STEPS = 32
MAX_DRUGS = 3

LIMIT_NAMES = ('rate_nl_h', 'dose_day', 'dose_cycle', 'vtbi_nl')
KVO_MIN_NL_H = 100000      # 0.1 mL/h
KVO_MAX_NL_H = 20000000    # 20 mL/h
MAX_PAUSE_S = 30 * 86400
MAX_SEGMENTS = 512
DAY_MS = 86400000


def ramp_volume_nl(step):
    """What a ramp step delivers: the sum of its sub-steps."""
    t = 0
    for j in range(ramp_parts(step[3])):
        t += ramp_sub(step, j)[1]
    return t


def lib_entry(drug_id):
    from firmware.druglib import LIB   # only for programs that name a drug
    for e in LIB:
        if e[0] == drug_id:
            return e
    return None


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
        if k == K_CYCLE:
            if cyc_at != i:
                cyc_at = i
                left = s[4] & 0xFFFF
            if left:
                left -= 1
                i = s[4] >> 16
                continue
        elif k == K_RAMP:
            for j in range(ramp_parts(s[3])):
                yield i, j
        else:
            yield i, 0
        i += 1


def check(p, st):
    """None if the program may be loaded, else one line naming field and limit."""
    steps = p.steps
    drugs = p.drugs
    ns = len(steps)
    nd = len(drugs)
    if not ns:
        return 'steps=[] not allowed (at least one step)'
    if ns > MAX_STEPS:
        return 'steps has %d entries (at most %d)' % (ns, MAX_STEPS)
    if nd > MAX_DRUGS:
        return 'drugs has %d entries (at most %d)' % (nd, MAX_DRUGS)
    if type(p.flags) is not int or p.flags & ~(FLAG_OVERRIDE | FLAG_STOP_ON_LINK_LOSS):
        return ('flags=%r not allowed (0..3: 1 = soft limit override, 2 = stop on link loss)'
                % (p.flags,))
    lib = []
    for k in range(nd):
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
    lo_r = st.min_rate_nl_h
    hi_r = st.max_rate_nl_h
    slot = -1
    last_rate = 0
    for i in range(ns):
        s = steps[i]
        if len(s) != 6:
            return 'steps[%d] has %d fields (kind, rate_nl_h, volume_nl, duration_s, arg, drug_slot)' % (i, len(s))
        for v in s:
            if type(v) is not int or v < 0:
                return 'steps[%d]=%r not allowed (non-negative integers)' % (i, s)
        kind, rate, vol, dur, arg, sl = s
        if kind < 1 or kind >= N_KINDS:
            return 'steps[%d].kind=%d not allowed (1..%d)' % (i, kind, N_KINDS - 1)
        if kind in (K_CONTINUOUS, K_RAMP, K_BOLUS, K_KVO):
            if rate < lo_r or rate > hi_r:
                return 'steps[%d].rate_nl_h=%d not allowed (device limit %d..%d)' % (i, rate, lo_r, hi_r)
            if kind == K_RAMP:
                if arg < lo_r or arg > hi_r:
                    return 'steps[%d].arg=%d (ramp end rate_nl_h) not allowed (device limit %d..%d)' % (
                        i, arg, lo_r, hi_r)
                if dur < 60 or dur > MAX_PAUSE_S:
                    return 'steps[%d].duration_s=%d not allowed (ramp 60..%d)' % (i, dur, MAX_PAUSE_S)
                rv = ramp_volume_nl(s)
                if vol != rv:
                    return 'steps[%d].volume_nl=%d not allowed (this ramp delivers %d)' % (i, vol, rv)
            else:
                if vol <= 0 or vol > st.syringe_volume_nl:
                    return 'steps[%d].volume_nl=%d not allowed (1..%d, the syringe)' % (
                        i, vol, st.syringe_volume_nl)
                if dur or arg:
                    return 'steps[%d] duration_s/arg=%d/%d not allowed (0 for this kind)' % (i, dur, arg)
            if nd:
                if sl >= nd:
                    return 'steps[%d].drug_slot=%d not allowed (0..%d)' % (i, sl, nd - 1)
                if slot >= 0 and sl != slot:
                    return 'steps[%d].drug_slot=%d not allowed (slot %d is in the syringe: change it first)' % (
                        i, sl, slot)
                slot = sl
            elif sl:
                return 'steps[%d].drug_slot=%d not allowed (no drugs)' % (i, sl)
            if kind == K_KVO:
                if i != ns - 1:
                    return 'steps[%d] kvo not allowed (only as the last step)' % i
                if rate > last_rate or rate > KVO_MAX_NL_H or (rate < KVO_MIN_NL_H and rate != last_rate):
                    return 'steps[%d].rate_nl_h=%d not allowed (kvo %d..%d, at most the last rate %d)' % (
                        i, rate, KVO_MIN_NL_H, KVO_MAX_NL_H, last_rate)
            last_rate = arg if kind == K_RAMP else rate
        elif kind == K_PAUSE:
            if dur < 1 or dur > MAX_PAUSE_S or rate or vol or arg or sl:
                return 'steps[%d] pause duration_s=%d not allowed (1..%d, other fields 0)' % (
                    i, dur, MAX_PAUSE_S)
        elif kind == K_SYRINGE:
            if rate or vol or dur or arg or sl:
                return 'steps[%d] syringe_change not allowed with values (all fields 0)' % i
            slot = -1
        else:
            first = arg >> 16
            times = arg & 0xFFFF
            if rate or vol or dur or sl or first >= i or times < 1 or times > 1000:
                return 'steps[%d] cycle arg=%d not allowed (first step < %d, 1..1000 repeats)' % (i, arg, i)
            for j in range(first, i):
                if steps[j][0] == K_CYCLE or steps[j][0] == K_KVO:
                    return 'steps[%d] cycle not allowed around steps[%d] (no nested cycles or kvo)' % (i, j)
    return _timeline(p, st, lib)


def _timeline(p, st, lib):
    """Expand the program in time; check syringe volume and drug limits."""
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
        if kind == K_SYRINGE:
            in_syringe = 0
            continue
        if kind == K_PAUSE:
            t += s[3] * 1000
            continue
        if kind == K_RAMP:
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
            r = rate if kind != K_RAMP else (s[1] if s[1] > s[4] else s[4])
            err = _limit(p, sl, e, 0, r, 1, 'steps[%d].rate_nl_h' % i)
            if err:
                return err
        t += d
    p.total_nl = total
    p.total_s = t // 1000
    for k in range(nd):
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
        if not p.flags & FLAG_OVERRIDE:
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
