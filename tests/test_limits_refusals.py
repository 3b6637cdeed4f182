"""Stage 1 of the device's program check (firmware.limits), field by field:
each refusal is the one line the user sees (rule: name the field, the value
and what is allowed), so it is checked whole; each limit is checked on both
sides of its boundary. Device limits: firmware.settings defaults (rates
0.01..150 mL/h, a 50 mL syringe)."""
import pytest

from firmware.limits import check, ramp_volume_nl
from firmware.program import Program, ramp_parts, ramp_sub
from firmware.settings import Settings
from pumphost.codes import (K_BOLUS, K_CONTINUOUS, K_CYCLE, K_KVO, K_PAUSE, K_RAMP,
                            K_SYRINGE)

ST = Settings()
LO, HI, SYR = ST.min_rate_nl_h, ST.max_rate_nl_h, ST.syringe_volume_nl
MAX_PAUSE = 30 * 86400
DRUG = (1, 1000)        # drug fields are stage 2's; stage 1 counts slots


def cont(rate=1000000, vol=1000000, slot=0):
    return (K_CONTINUOUS, rate, vol, 0, 0, slot)


def ramp(r0, r1, dur):
    s = (K_RAMP, r0, 0, dur, r1, 0)
    return (K_RAMP, r0, ramp_volume_nl(s), dur, r1, 0)


def refusal(steps, drugs=(), flags=0):
    return check(Program(steps, drugs, flags), ST)


REFUSED = [
    # whole program
    ([], (), 0, 'steps=[] not allowed (at least one step)'),
    ([cont()] * 33, (), 0, 'steps has 33 entries (at most 32)'),
    ([cont()], [DRUG] * 4, 0, 'drugs has 4 entries (at most 3)'),
    ([cont()], (), 4, 'flags=4 not allowed (0..3: 1 = soft limit override, 2 = stop on link loss)'),
    ([cont()], (), '1', "flags='1' not allowed (0..3: 1 = soft limit override, 2 = stop on link loss)"),
    # a step's shape
    ([(1, 1000000, 1000000, 0, 0, 0, 0)], (), 0,
     'steps[0] has 7 fields (kind, rate_nl_h, volume_nl, duration_s, arg, drug_slot)'),
    ([cont(), (1, -1, 1000, 0, 0, 0)], (), 0,
     'steps[1]=(1, -1, 1000, 0, 0, 0) not allowed (non-negative integers)'),
    ([(1, 1000000.0, 1000, 0, 0, 0)], (), 0,
     'steps[0]=(1, 1000000.0, 1000, 0, 0, 0) not allowed (non-negative integers)'),
    ([(0, 1000000, 1000, 0, 0, 0)], (), 0, 'steps[0].kind=0 not allowed (1..7)'),
    ([(8, 1000000, 1000, 0, 0, 0)], (), 0, 'steps[0].kind=8 not allowed (1..7)'),
    # rates
    ([cont(rate=LO - 1)], (), 0, 'steps[0].rate_nl_h=9999 not allowed (device limit 10000..150000000)'),
    ([cont(rate=HI + 1)], (), 0,
     'steps[0].rate_nl_h=150000001 not allowed (device limit 10000..150000000)'),
    ([(K_BOLUS, HI + 1, 1000, 0, 0, 0)], (), 0,
     'steps[0].rate_nl_h=150000001 not allowed (device limit 10000..150000000)'),
    # ramps
    ([(K_RAMP, LO, 0, 60, LO - 1, 0)], (), 0,
     'steps[0].arg=9999 (ramp end rate_nl_h) not allowed (device limit 10000..150000000)'),
    ([(K_RAMP, LO, 0, 60, HI + 1, 0)], (), 0,
     'steps[0].arg=150000001 (ramp end rate_nl_h) not allowed (device limit 10000..150000000)'),
    ([(K_RAMP, LO, 0, 59, LO, 0)], (), 0, 'steps[0].duration_s=59 not allowed (ramp 60..2592000)'),
    ([(K_RAMP, LO, 0, MAX_PAUSE + 1, LO, 0)], (), 0,
     'steps[0].duration_s=2592001 not allowed (ramp 60..2592000)'),
    ([(K_RAMP, 1000000, 1, 600, 2000000, 0)], (), 0,
     'steps[0].volume_nl=1 not allowed (this ramp delivers 249997)'),
    # volumes and unused fields
    ([cont(vol=0)], (), 0, 'steps[0].volume_nl=0 not allowed (1..50000000, the syringe)'),
    ([cont(vol=SYR + 1)], (), 0, 'steps[0].volume_nl=50000001 not allowed (1..50000000, the syringe)'),
    ([(K_CONTINUOUS, LO, 1000, 1, 0, 0)], (), 0,
     'steps[0] duration_s/arg=1/0 not allowed (0 for this kind)'),
    ([(K_CONTINUOUS, LO, 1000, 0, 1, 0)], (), 0,
     'steps[0] duration_s/arg=0/1 not allowed (0 for this kind)'),
    # drug slots
    ([cont(slot=1)], [DRUG], 0, 'steps[0].drug_slot=1 not allowed (0..0)'),
    ([cont(slot=0), cont(slot=1)], [DRUG, DRUG], 0,
     'steps[1].drug_slot=1 not allowed (slot 0 is in the syringe: change it first)'),
    ([cont(slot=1)], (), 0, 'steps[0].drug_slot=1 not allowed (no drugs)'),
    # keep-vein-open
    ([(K_KVO, 100000, 1000, 0, 0, 0), cont()], (), 0,
     'steps[0] kvo not allowed (only as the last step)'),
    ([cont(rate=1000000), (K_KVO, 1000001, 1000, 0, 0, 0)], (), 0,
     'steps[1].rate_nl_h=1000001 not allowed (kvo 100000..20000000, at most the last rate 1000000)'),
    ([cont(rate=30000000), (K_KVO, 20000001, 1000, 0, 0, 0)], (), 0,
     'steps[1].rate_nl_h=20000001 not allowed (kvo 100000..20000000, at most the last rate 30000000)'),
    ([cont(rate=1000000), (K_KVO, 99999, 1000, 0, 0, 0)], (), 0,
     'steps[1].rate_nl_h=99999 not allowed (kvo 100000..20000000, at most the last rate 1000000)'),
    ([ramp(2000000, 500000, 120), (K_KVO, 500001, 1000, 0, 0, 0)], (), 0,
     'steps[1].rate_nl_h=500001 not allowed (kvo 100000..20000000, at most the last rate 500000)'),
    # pauses, syringe changes
    ([(K_PAUSE, 0, 0, 0, 0, 0)], (), 0, 'steps[0] pause duration_s=0 not allowed (1..2592000, other fields 0)'),
    ([(K_PAUSE, 0, 0, MAX_PAUSE + 1, 0, 0)], (), 0,
     'steps[0] pause duration_s=2592001 not allowed (1..2592000, other fields 0)'),
] + [([(K_PAUSE,) + tuple(1 if j == f else 0 for j in range(5))], (), 0,
      'steps[0] pause duration_s=0 not allowed (1..2592000, other fields 0)') for f in (0, 1, 3, 4)] + [
    ([(K_PAUSE, 0, 0, 10, 0, f)], (), 0,
     'steps[0] pause duration_s=10 not allowed (1..2592000, other fields 0)') for f in (1,)] + [
    # a pause of a valid length with any one other field set: each field is
    # refused on its own, not only with another one
    ([(K_PAUSE,) + tuple((10 if j == 2 else 1 if j == f else 0) for j in range(5))], (), 0,
     'steps[0] pause duration_s=10 not allowed (1..2592000, other fields 0)') for f in (0, 1, 3)] + [
    ([(K_SYRINGE,) + tuple(1 if j == f else 0 for j in range(5))], (), 0,
     'steps[0] syringe_change not allowed with values (all fields 0)') for f in range(5)] + [
    # cycles
    ([cont(), (K_CYCLE, 0, 0, 0, 1 << 16 | 1, 0)], (), 0,
     'steps[1] cycle arg=65537 not allowed (first step < 1, 1..1000 repeats)'),
    ([cont(), (K_CYCLE, 0, 0, 0, 0, 0)], (), 0,
     'steps[1] cycle arg=0 not allowed (first step < 1, 1..1000 repeats)'),
    ([cont(), (K_CYCLE, 0, 0, 0, 1001, 0)], (), 0,
     'steps[1] cycle arg=1001 not allowed (first step < 1, 1..1000 repeats)'),
] + [([cont(), (K_CYCLE,) + tuple(1 if j == f else 0 for j in range(3)) + (1, 0)], (), 0,
      'steps[1] cycle arg=1 not allowed (first step < 1, 1..1000 repeats)') for f in (0, 1, 2)] + [
    ([cont(), (K_CYCLE, 0, 0, 0, 1, 1)], [DRUG], 0,
     'steps[1] cycle arg=1 not allowed (first step < 1, 1..1000 repeats)'),
    ([cont(), cont(), (K_CYCLE, 0, 0, 0, 1, 0), (K_CYCLE, 0, 0, 0, 1 << 16 | 1, 0)], (), 0,
     'steps[3] cycle not allowed around steps[2] (no nested cycles or kvo)'),
]


@pytest.mark.parametrize('steps,drugs,flags,line', REFUSED, ids=[r[3][:60] for r in REFUSED])
def test_each_refusal_names_the_field_the_value_and_the_limit(steps, drugs, flags, line):
    assert refusal(steps, drugs, flags) == line


ACCEPTED = {
    'rates at both device limits': [cont(rate=LO), cont(rate=HI)],
    'a bolus at the top rate': [(K_BOLUS, HI, 1000, 0, 0, 0)],
    'a step of the whole syringe and one of 1 nL': [cont(vol=SYR), cont(vol=1)],
    'a ramp between the device limits, shortest and longest': [ramp(LO, HI, 60), ramp(HI, LO, MAX_PAUSE)],
    'pauses of 1 s and 30 days': [(K_PAUSE, 0, 0, 1, 0, 0), (K_PAUSE, 0, 0, MAX_PAUSE, 0, 0)],
    'kvo at the last rate under its minimum': [cont(rate=50000), (K_KVO, 50000, 1000, 0, 0, 0)],
    'kvo at its maximum': [cont(rate=30000000), (K_KVO, 20000000, 1000, 0, 0, 0)],
    'kvo at its minimum': [cont(rate=30000000), (K_KVO, 100000, 1000, 0, 0, 0)],
    'kvo at the end rate of a ramp': [ramp(2000000, 500000, 120), (K_KVO, 500000, 1000, 0, 0, 0)],
    'a cycle once and 1000 times': [cont(), (K_CYCLE, 0, 0, 0, 1, 0), cont(), (K_CYCLE, 0, 0, 0, 2 << 16 | 1000, 0)],
    'a syringe change': [cont(), (K_SYRINGE, 0, 0, 0, 0, 0), cont()],
    '32 steps': [cont()] * 32,
}


@pytest.mark.parametrize('name', sorted(ACCEPTED))
@pytest.mark.parametrize('flags', [0, 1, 2, 3])
def test_programs_at_every_limit_pass(name, flags):
    assert refusal(ACCEPTED[name], (), flags) is None


def test_three_drugs_and_a_slot_change_after_a_syringe_change_pass():
    steps = [cont(slot=0), (K_SYRINGE, 0, 0, 0, 0, 0), cont(slot=2), (K_SYRINGE, 0, 0, 0, 0, 0),
             cont(slot=1)]
    assert refusal(steps, [DRUG] * 3) is None
    # a pause, a cycle or a kvo does not change what is in the syringe
    steps = [cont(slot=1), (K_PAUSE, 0, 0, 5, 0, 0), cont(slot=1), (K_CYCLE, 0, 0, 0, 1, 0),
             (K_KVO, 100000, 1000, 0, 0, 1)]
    assert refusal(steps, [DRUG] * 2) is None
    steps = [cont(slot=1), (K_PAUSE, 0, 0, 5, 0, 0), cont(slot=0)]
    assert refusal(steps, [DRUG] * 2) == (
        'steps[2].drug_slot=0 not allowed (slot 1 is in the syringe: change it first)')


@pytest.mark.parametrize('dur', [60, 61, 119, 120, 959, 960, 961, 3600])
def test_a_ramp_volume_is_the_sum_of_its_sub_steps(dur):
    s = (K_RAMP, 1000000, 0, dur, 3000000, 0)
    parts = [ramp_sub(s, j) for j in range(ramp_parts(dur))]
    assert ramp_volume_nl(s) == sum(v for _, v in parts)
    # midpoint rates over whole-second sub-steps: about the mean rate
    assert abs(ramp_volume_nl(s) - 2000000 * dur // 3600) * 100 <= 2000000 * dur // 3600
