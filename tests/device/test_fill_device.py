"""Start-up fill (firmware.fill) on the fake HAL with a scripted line pressure.
Runs under pytest AND MicroPython.

The line model: the pressure rises with the steps pushed (2 uL/mmHg, 0.217 uL
per step: 1.085 mmHg x10 per step) from 30 mmHg until the valve opens at
90 mmHg, then stays there (or, `open_at=None`, keeps rising: blocked line;
`per_step=0`: nothing rises).
"""
from helpers_device import make_pump, start_program
from firmware.compat import heap_lock, heap_unlock
from pumphost.codes import A_OCCLUSION_DOWNSTREAM, EV_FILL

FILL = 10000000        # 10 mL/h
RATE = 100000          # 0.1 mL/h
STEP_PL = 217070


def _raw(p_x10):
    return 3000 + p_x10 * 4000 // 1000   # default calibration: 40 counts per mmHg


def run_line(hal, loop, n, per_step_x1000=1085, open_at=900, start_x10=300):
    """Advance n ticks, setting the pressure from the motor position first."""
    board = hal.pressure
    motor = hal.motor
    clock = hal.clock
    poll = loop.poll
    for _ in range(n):
        p = start_x10 + motor.pos * per_step_x1000 // 1000
        if open_at is not None and p > open_at:
            p = open_at
        board.raw = 3000 + p * 4
        clock.advance(100)
        poll()


def _fill_pump(**kw):
    hal, pump, loop = make_pump(startup_fill_rate_nl_h=FILL, **kw)
    hal.pressure.raw = _raw(300)
    return hal, pump, loop


def test_fill_off_by_default_in_firmware_settings():
    hal, pump, loop = make_pump()
    start_program(hal, pump, loop, RATE, 1000000)
    assert pump.fill.left == 0
    run_line(hal, loop, 600)
    assert pump.fill.nl == 0
    assert hal.motor.pos == pump.course.steps_commanded
    assert hal.motor.pos < 10   # 0.1 mL/h for 60 s: a few steps


def test_fill_stops_at_the_knee_and_is_not_dose():
    hal, pump, loop = _fill_pump()
    start_program(hal, pump, loop, RATE, 1000000)
    assert pump.fill.left > 0
    run_line(hal, loop, 1200)   # 2 min: 10 mL/h reaches the knee in about 45 s
    fill = pump.fill
    assert fill.left == 0 or fill.holding
    knee_nl = (900 - 300) * 1000 // 1085 * STEP_PL // 1000   # about 120 uL
    assert knee_nl <= fill.nl <= knee_nl + 40000, fill.nl
    assert pump.state_name() == 'RUNNING'
    assert not pump.alarms.active[A_OCCLUSION_DOWNSTREAM]
    # the fill is not dose: what the pump counts as delivered is the
    # programme's 2 min (and the overshoot it holds back), not the fill
    assert pump.course.delivered_nl <= RATE * 120 // 3600 + fill.ahead * STEP_PL // 1000 + 300
    recs = [r for r in pump.journal.records() if r[2] == EV_FILL]
    assert len(recs) == 1 and recs[0][3] == fill.nl
    # the motor moved the fill and the programme, never more
    assert hal.motor.pos == pump.course.steps_commanded


def test_overshoot_is_held_back_then_delivery_resumes():
    hal, pump, loop = _fill_pump()
    start_program(hal, pump, loop, 1000000, 5000000)   # 1 mL/h
    run_line(hal, loop, 600)
    fill = pump.fill
    assert fill.ahead > 0   # the knee came after the valve opened: overshoot
    pos = hal.motor.pos
    run_line(hal, loop, 36000)  # 1 h
    assert not fill.holding and fill.left == 0
    # after the hold the plunger runs at the programmed rate again
    moved_ul = (hal.motor.pos - pos) * STEP_PL // 1000000
    assert 1000 - 2 * fill.ahead * STEP_PL // 1000000 - 5 <= moved_ul <= 1000 + 5, moved_ul


def test_no_rise_ends_the_fill_quietly():
    # pressure that does not move (sensor-side leak, or no back pressure):
    # stop after the backlash allowance, not at the 0.4 mL cap
    hal, pump, loop = _fill_pump()
    start_program(hal, pump, loop, RATE, 1000000)
    run_line(hal, loop, 600, per_step_x1000=0)
    assert pump.fill.left == 0
    assert 60000 <= pump.fill.nl <= 80000, pump.fill.nl
    assert pump.state_name() == 'RUNNING'
    assert pump.fill.ahead == 0


def test_line_that_never_opens_alarms_with_at_most_0_4_ml_pushed():
    hal, pump, loop = _fill_pump()
    start_program(hal, pump, loop, RATE, 1000000)
    run_line(hal, loop, 3000, open_at=None)
    # the occlusion check or, at the latest, the fill's 0.4 mL cap alarms
    assert pump.state_name() == 'ALARM'
    assert pump.alarms.active[A_OCCLUSION_DOWNSTREAM]
    assert pump.fill.steps * STEP_PL // 1000 <= 400000
    pos = hal.motor.pos
    run_line(hal, loop, 100, open_at=None)
    assert hal.motor.pos <= pos   # nothing pushes after the alarm


def test_stop_during_fill_then_new_start_fills_afresh():
    hal, pump, loop = _fill_pump()
    prog = start_program(hal, pump, loop, RATE, 1000000)
    run_line(hal, loop, 50)
    assert pump.fill.left > 0
    assert pump.stop() == 0
    run_line(hal, loop, 50)
    pos = hal.motor.pos
    assert pump.load(prog) == 0 and pump.confirm(prog.digest()) == 0
    assert pump.start() == 0
    assert pump.fill.left > 0 and pump.fill.steps == 0
    run_line(hal, loop, 50)
    assert hal.motor.pos > pos


def test_fill_ticks_allocate_nothing():
    hal, pump, loop = _fill_pump(checkpoint_s=1)
    start_program(hal, pump, loop, 1773913, 40000000)
    run_line(hal, loop, 5)
    board = hal.pressure
    motor = hal.motor
    clock = hal.clock
    poll = loop.poll
    err = None
    heap_lock()
    try:
        for _ in range(3000):   # fill, knee, hold, delivery (same line as run_line)
            p = 300 + motor.pos * 1085 // 1000
            if p > 900:
                p = 900
            board.raw = 3000 + p * 4
            clock.now = (clock.now + 100) & 0x3FFFFFFF
            poll()
    except MemoryError as e:
        err = e
    heap_unlock()
    assert err is None, 'fill tick allocated'
    assert pump.fill.nl > 0 and pump.fill.left == 0
    assert pump.state_name() == 'RUNNING'
