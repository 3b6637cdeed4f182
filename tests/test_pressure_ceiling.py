"""The absolute pressure ceiling (pressure_hard_limit_mmhg_x10, 750 mmHg by
default) alarms in every state, delivering or not, under its own code: a
line that is paused, idle or in an alarm can still be pressurised (a
squeezed syringe, a closed clamp upstream of a flush), and the occlusion
logic only looks at a rise over its baseline while delivering."""
from helpers_device import make_pump, run_ticks, start_program
from pumphost.codes import A_PRESSURE_HARD_LIMIT

ZERO = 3000             # default calibration: counts at 0 mmHg, 40 counts/mmHg


def raw(mmhg):
    return ZERO + 40 * mmhg


def _hold(hal, loop, pump, mmhg, ticks):
    hal.pressure.raw = raw(mmhg)
    for _ in range(ticks):
        run_ticks(hal, loop, 1)
        if pump.alarms.active[A_PRESSURE_HARD_LIMIT]:
            return True
    return False


def test_paused_line_just_under_the_ceiling_is_quiet_just_over_alarms():
    hal, pump, loop = make_pump()
    start_program(hal, pump, loop, 1773913, 40000000)
    run_ticks(hal, loop, 100)
    assert pump.pause() == 0
    assert not _hold(hal, loop, pump, 745, 600)
    assert pump.state_name() == 'PAUSED'
    assert _hold(hal, loop, pump, 756, 100)
    assert pump.state_name() == 'ALARM'


def test_idle_pump_alarms_over_the_ceiling():
    hal, pump, loop = make_pump()
    run_ticks(hal, loop, 1)
    assert pump.state_name() == 'IDLE'
    assert _hold(hal, loop, pump, 800, 100)
    # the condition is present: nothing may start
    assert pump.alarms.condition[A_PRESSURE_HARD_LIMIT]


def test_running_line_over_the_ceiling_raises_the_ceiling_alarm_itself():
    hal, pump, loop = make_pump()
    start_program(hal, pump, loop, 20000000, 40000000)
    run_ticks(hal, loop, 3000)
    assert pump.state_name() == 'RUNNING'
    # a sudden jump far over the ceiling: the ceiling's own alarm, whatever
    # the occlusion logic makes of it
    assert _hold(hal, loop, pump, 900, 100)
    assert pump.state_name() == 'ALARM'


def test_ceiling_alarm_stays_while_the_pressure_is_over_it():
    hal, pump, loop = make_pump()
    start_program(hal, pump, loop, 1773913, 40000000)
    run_ticks(hal, loop, 100)
    assert pump.pause() == 0
    assert _hold(hal, loop, pump, 800, 100)
    run_ticks(hal, loop, 50)
    assert pump.acknowledge() == 0
    assert pump.alarms.active[A_PRESSURE_HARD_LIMIT], 'acknowledged while still over the ceiling'
    assert pump.resume() != 0 and pump.state_name() != 'RUNNING'
    hal.pressure.raw = raw(90)
    run_ticks(hal, loop, 200)
    assert not pump.alarms.condition[A_PRESSURE_HARD_LIMIT]
    assert pump.alarms.active[A_PRESSURE_HARD_LIMIT], 'latched until acknowledged'
    assert pump.acknowledge() == 0
    assert not pump.alarms.active[A_PRESSURE_HARD_LIMIT]
