"""Every drug hard limit holds with the soft-limit override set.

The override lets a program past a SOFT limit (journaled); it must never let
one past a HARD limit. For each of the four limits of the device's library
(rate, dose in 24 h, dose per cycle, volume) one program sits exactly at the
hard limit (accepted with the override, since it is over the soft one) and
one just above it (refused with the override, naming that hard limit). A
check that only refuses without the override cannot tell a soft refusal from
a hard one; these cases can. Figures: floxuridine's row of firmware.druglib.
"""
import pytest

from helpers_device import make_pump, run_ticks
from firmware.druglib import LIB
from firmware.program import Program
from pumphost.codes import FLAG_OVERRIDE, K_CONTINUOUS, K_SYRINGE

FUDR = 1
ROW = [e for e in LIB if e[0] == FUDR][0]
HARD = dict(zip(('rate_nl_h', 'dose_day', 'dose_cycle', 'vtbi_nl'), ROW[7:11]))


def drug(conc):
    return (FUDR, conc) + tuple(ROW[3:])


def syringes(rate_nl_h, volumes_nl):
    """Continuous steps of these volumes with a syringe change between."""
    steps = []
    for v in volumes_nl:
        if steps:
            steps.append((K_SYRINGE, 0, 0, 0, 0, 0))
        steps.append((K_CONTINUOUS, rate_nl_h, v, 0, 0, 0))
    return steps


def split(total_nl, part_nl=40000000):
    out = []
    while total_nl > 0:
        out.append(min(part_nl, total_nl))
        total_nl -= out[-1]
    return out


def rate_case(extra):
    # 1 mg/mL, 1 mL: only the rate is over a soft limit
    return [(K_CONTINUOUS, HARD['rate_nl_h'] + extra, 1000000, 0, 0, 0)], drug(1000)


def dose_day_case(extra):
    # 10 mg/mL for 48 h: the dose in any 24 h is rate * 24 h * conc; at the
    # hard limit 90 mg/day that is 375 uL/h
    rate = HARD['dose_day'] * 1000000 // (24 * 10000) + extra * 100
    return syringes(rate, split(rate * 48)), drug(10000)


def dose_cycle_case(extra):
    # 10 mg/mL at 0.3 mL/h (72 mg/day, under the 90 hard): the hard 1260 mg
    # per cycle is 126 mL, over several syringes
    vol = HARD['dose_cycle'] * 1000000 // 10000 + extra * 1000
    return syringes(300000, split(vol)), drug(10000)


def vtbi_case(extra):
    # 0.1 mg/mL at 2 mL/h (4.8 mg/day): only the volume matters
    return syringes(2000000, split(HARD['vtbi_nl'] + extra * 1000)), drug(100)


CASES = {'rate_nl_h': rate_case, 'dose_day': dose_day_case,
         'dose_cycle': dose_cycle_case, 'vtbi_nl': vtbi_case}


def _booted():
    hal, pump, loop = make_pump()
    run_ticks(hal, loop, 1)
    return pump


@pytest.mark.parametrize('limit', sorted(CASES))
def test_at_the_hard_limit_the_override_is_needed_and_enough(limit):
    pump = _booted()
    steps, d = CASES[limit](0)
    assert pump.load(Program(steps, [d])) == 2
    # (the dose per cycle at its hard limit is over the soft volume too:
    # the first soft limit met is named)
    assert 'soft limit' in pump.last_error and 'needs the override' in pump.last_error, pump.last_error
    prog = Program(steps, [d], FLAG_OVERRIDE)
    assert pump.load(prog) == 0, pump.last_error
    assert prog.soft is not None


@pytest.mark.parametrize('limit', sorted(CASES))
def test_above_the_hard_limit_the_override_does_not_help(limit):
    pump = _booted()
    steps, d = CASES[limit](1)
    assert pump.load(Program(steps, [d])) == 2
    assert pump.load(Program(steps, [d], FLAG_OVERRIDE)) == 2, limit
    assert 'hard limit %s %d' % (limit, HARD[limit]) in pump.last_error, pump.last_error
    assert pump.state_name() == 'IDLE' and pump.program is None
