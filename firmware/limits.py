"""Program checks at load, stage 1 (device side): every field of every step
against the device's limits. Stage 2, firmware.dose_limits, checks the drugs
against the device's own library and walks the program in time (syringe
volume, drug doses per day and per cycle).

Imported by Program.validate only, so the control tick never carries it, and
dropped before stage 2 loads: the load-time peak on the device heap is the
larger stage, not both. Volumes in nL, rates in nL/h, integers.
"""
from firmware.program import ramp_parts, ramp_sub

from firmware.compat import const
# codes from pumphost.codes (private: no heap; tests/test_device_codes.py checks them)
_FLAG_OVERRIDE = const(1)
_FLAG_STOP_ON_LINK_LOSS = const(2)
_K_BOLUS = const(3)
_K_CONTINUOUS = const(1)
_K_CYCLE = const(7)
_K_KVO = const(5)
_K_PAUSE = const(4)
_K_RAMP = const(2)
_K_SYRINGE = const(6)

_N_KINDS = const(8)
_MAX_STEPS = const(32)
_MAX_DRUGS = const(3)

_KVO_MIN_NL_H = const(100000)      # 0.1 mL/h
_KVO_MAX_NL_H = const(20000000)    # 20 mL/h
_MAX_PAUSE_S = const(30 * 86400)


def ramp_volume_nl(step):
    """What a ramp step delivers: the sum of its sub-steps."""
    t = 0
    for j in range(ramp_parts(step[3])):
        t += ramp_sub(step, j)[1]
    return t


def check(p, st):
    """Stage 1: each field of each step. None if they pass, else one line
    naming the field and the limit."""
    steps = p.steps
    drugs = p.drugs
    ns = len(steps)
    nd = len(drugs)
    if not ns:
        return 'steps=[] not allowed (at least one step)'
    if ns > _MAX_STEPS:
        return 'steps has %d entries (at most %d)' % (ns, _MAX_STEPS)
    if nd > _MAX_DRUGS:
        return 'drugs has %d entries (at most %d)' % (nd, _MAX_DRUGS)
    if type(p.flags) is not int or p.flags & ~(_FLAG_OVERRIDE | _FLAG_STOP_ON_LINK_LOSS):
        return ('flags=%r not allowed (0..3: 1 = soft limit override, 2 = stop on link loss)'
                % (p.flags,))
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
        if kind < 1 or kind >= _N_KINDS:
            return 'steps[%d].kind=%d not allowed (1..%d)' % (i, kind, _N_KINDS - 1)
        if kind in (_K_CONTINUOUS, _K_RAMP, _K_BOLUS, _K_KVO):
            if rate < lo_r or rate > hi_r:
                return 'steps[%d].rate_nl_h=%d not allowed (device limit %d..%d)' % (i, rate, lo_r, hi_r)
            if kind == _K_RAMP:
                if arg < lo_r or arg > hi_r:
                    return 'steps[%d].arg=%d (ramp end rate_nl_h) not allowed (device limit %d..%d)' % (
                        i, arg, lo_r, hi_r)
                if dur < 60 or dur > _MAX_PAUSE_S:
                    return 'steps[%d].duration_s=%d not allowed (ramp 60..%d)' % (i, dur, _MAX_PAUSE_S)
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
            if kind == _K_KVO:
                if i != ns - 1:
                    return 'steps[%d] kvo not allowed (only as the last step)' % i
                if rate > last_rate or rate > _KVO_MAX_NL_H or (rate < _KVO_MIN_NL_H and rate != last_rate):
                    return 'steps[%d].rate_nl_h=%d not allowed (kvo %d..%d, at most the last rate %d)' % (
                        i, rate, _KVO_MIN_NL_H, _KVO_MAX_NL_H, last_rate)
            last_rate = arg if kind == _K_RAMP else rate
        elif kind == _K_PAUSE:
            if dur < 1 or dur > _MAX_PAUSE_S or rate or vol or arg or sl:
                return 'steps[%d] pause duration_s=%d not allowed (1..%d, other fields 0)' % (
                    i, dur, _MAX_PAUSE_S)
        elif kind == _K_SYRINGE:
            if rate or vol or dur or arg or sl:
                return 'steps[%d] syringe_change not allowed with values (all fields 0)' % i
            slot = -1
        else:
            first = arg >> 16
            times = arg & 0xFFFF
            if rate or vol or dur or sl or first >= i or times < 1 or times > 1000:
                return 'steps[%d] cycle arg=%d not allowed (first step < %d, 1..1000 repeats)' % (i, arg, i)
            for j in range(first, i):
                if steps[j][0] == _K_CYCLE or steps[j][0] == _K_KVO:
                    return 'steps[%d] cycle not allowed around steps[%d] (no nested cycles or kvo)' % (i, j)
    return None
