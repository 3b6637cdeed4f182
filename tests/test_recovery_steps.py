"""Power-loss recovery puts back where the therapy was, not just how much
was given: the time left in a pause step, a syringe change still owed, the
sub-step of a ramp, and the alarms that were latched (unacknowledged) at the
cut. Fake HAL: a cut is a new Pump on the same storage."""
from helpers_device import make_pump, run_ticks
from firmware.limits import ramp_volume_nl
from firmware.loop import Loop
from firmware.program import Program
from firmware.pump import Pump
from pumphost.codes import (A_POWER_INTERRUPTED, A_SYRINGE_REMOVED, K_CONTINUOUS, K_PAUSE,
                            K_RAMP, K_SYRINGE)

FAST = 36000000          # 36 mL/h: 1 uL per 100 ms tick


def _reboot(hal, settings):
    pump = Pump(hal, settings)
    loop = Loop(pump, hal.clock)
    run_ticks(hal, loop, 1)
    return pump, loop


def _go(steps):
    hal, pump, loop = make_pump()
    run_ticks(hal, loop, 1)
    prog = Program(steps)
    assert pump.load(prog) == 0, pump.last_error
    assert pump.confirm(prog.digest()) == 0 and pump.start() == 0
    return hal, pump, loop, prog


def _until(hal, loop, pump, state, max_ticks):
    for _ in range(max_ticks):
        run_ticks(hal, loop, 1)
        if pump.state_name() == state:
            return True
    return False


def _back_to_the_step(hal, p2, l2):
    """The user acknowledges the power alarm and resumes."""
    assert p2.state_name() == 'ALARM' and p2.alarms.active[A_POWER_INTERRUPTED]
    assert p2.acknowledge() == 0 and p2.state_name() == 'PAUSED'
    assert p2.resume() == 0
    run_ticks(hal, l2, 1)


def test_pause_step_resumes_with_the_time_it_had_left():
    hal, pump, loop, prog = _go([(K_CONTINUOUS, FAST, 100000, 0, 0, 0), (K_PAUSE, 0, 0, 600, 0, 0),
                                 (K_CONTINUOUS, FAST, 100000, 0, 0, 0)])
    assert _until(hal, loop, pump, 'DWELL', 2000)
    run_ticks(hal, loop, 2000)                 # 200 s of the 600 s pause
    assert pump.pause() == 0                   # the user pauses: checkpointed
    p2, l2 = _reboot(hal, pump.settings)
    _back_to_the_step(hal, p2, l2)
    assert p2.state_name() == 'DWELL'
    # 400 s were left: not over at 390 s, over by 410 s
    run_ticks(hal, l2, 3900)
    assert p2.state_name() == 'DWELL', 'the pause ended early'
    assert _until(hal, l2, p2, 'RUNNING', 200), 'the pause did not end with the time it had left'


def test_syringe_change_step_is_still_owed_after_a_cut():
    # the last step long enough for the occlusion check to see the (fake,
    # flat) line settle: a short one ends in a hold the fake cannot decay
    hal, pump, loop, prog = _go([(K_CONTINUOUS, FAST, 100000, 0, 0, 0), (K_SYRINGE, 0, 0, 0, 0, 0),
                                 (K_CONTINUOUS, FAST, 2000000, 0, 0, 0)])
    assert _until(hal, loop, pump, 'SYRINGE_CHANGE', 2000)
    run_ticks(hal, loop, 50)
    delivered = pump.course.delivered_nl
    p2, l2 = _reboot(hal, pump.settings)
    _back_to_the_step(hal, p2, l2)
    pos = hal.motor.pos
    run_ticks(hal, l2, 600)
    # nothing moves until the user confirms the new syringe
    assert p2.state_name() == 'SYRINGE_CHANGE' and hal.motor.pos == pos
    assert p2.course.delivered_nl == delivered
    assert p2.resume() == 0
    assert _until(hal, l2, p2, 'COMPLETE', 3000), p2.state_name()
    assert abs(p2.course.delivered_nl - 2100000) * 1000 <= 2 * p2.step_pl


def test_ramp_resumes_at_the_sub_step_and_rate_it_had_reached():
    ramp = (K_RAMP, 1000000, 0, 1800, 10000000, 0)          # 1 -> 10 mL/h over 30 min
    ramp = ramp[:2] + (ramp_volume_nl(ramp),) + ramp[3:]
    hal, pump, loop, prog = _go([ramp, (K_CONTINUOUS, 10000000, 500000, 0, 0, 0)])
    run_ticks(hal, loop, 9000)                  # 15 min: half way up
    sub, rate, left = pump.course.sub, pump.course.rate_nl_h, pump.course.left
    assert 0 < sub and 1000000 < rate < 10000000
    delivered = pump.course.delivered_nl
    p2, l2 = _reboot(hal, pump.settings)
    assert p2.course.delivered_nl == delivered
    _back_to_the_step(hal, p2, l2)
    assert p2.state_name() == 'RUNNING'
    assert p2.course.index == 0 and p2.course.rate_nl_h == rate, (p2.course.rate_nl_h, rate)
    assert abs(p2.course.left - left) <= 2
    assert _until(hal, l2, p2, 'COMPLETE', 40000)
    total = prog.total_volume_nl()
    assert abs(p2.course.delivered_nl - total) * 1000 <= 2 * p2.step_pl, (p2.course.delivered_nl, total)


def test_alarms_latched_at_the_cut_are_latched_after_it():
    hal, pump, loop, prog = _go([(K_CONTINUOUS, FAST, 5000000, 0, 0, 0)])
    run_ticks(hal, loop, 100)
    hal.syringe.is_present = False          # pulled out: a high alarm
    run_ticks(hal, loop, 2)
    hal.syringe.is_present = True           # put back; the alarm stays latched
    run_ticks(hal, loop, 2)
    assert pump.state_name() == 'ALARM' and pump.alarms.active[A_SYRINGE_REMOVED]
    assert not pump.alarms.acked[A_SYRINGE_REMOVED]
    p2, l2 = _reboot(hal, pump.settings)
    al = p2.alarms
    assert al.active[A_POWER_INTERRUPTED]
    assert al.active[A_SYRINGE_REMOVED] and not al.acked[A_SYRINGE_REMOVED], (
        'the syringe alarm latched at the cut was forgotten')
    run_ticks(hal, l2, 10)
    assert al.active[A_SYRINGE_REMOVED]      # still latched: nobody acknowledged it
    assert p2.acknowledge() == 0
    assert not al.active[A_SYRINGE_REMOVED] and not al.active[A_POWER_INTERRUPTED]


def test_ramp_cut_in_its_second_sub_step_resumes_there():
    ramp = (K_RAMP, 1000000, 0, 1800, 10000000, 0)
    ramp = ramp[:2] + (ramp_volume_nl(ramp),) + ramp[3:]
    hal, pump, loop, prog = _go([ramp, (K_CONTINUOUS, 10000000, 500000, 0, 0, 0)])
    for _ in range(20000):
        run_ticks(hal, loop, 1)
        if pump.course.sub == 1:
            break
    assert pump.course.sub == 1
    run_ticks(hal, loop, 5)
    rate = pump.course.rate_nl_h
    p2, l2 = _reboot(hal, pump.settings)
    _back_to_the_step(hal, p2, l2)
    assert p2.course.sub == 1 and p2.course.rate_nl_h == rate, (p2.course.sub, p2.course.rate_nl_h, rate)
