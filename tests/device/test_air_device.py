"""Air-in-line monitor on the fake HAL. Runs under pytest AND MicroPython.

The fake motor moves at once when commanded, so the counter read at a tick's
sample is where the plunger stood; a bubble is the volume pushed over the
intervals that start or end with air at the sensor."""
from helpers_device import make_pump, run_ticks, start_program
from firmware.compat import heap_lock, heap_unlock
from pumphost.codes import A_AIR_ACCUMULATED, A_AIR_IN_LINE, EV_ALARM

RATE = 100000000    # 100 mL/h: 12.8 microsteps, 2.8 uL per 100 ms tick
STEP_PL = 217070


def _nl(steps):
    return steps * STEP_PL // 1000


def _running(**settings):
    hal, pump, loop = make_pump(**settings)
    start_program(hal, pump, loop, RATE, 40000000)
    run_ticks(hal, loop, 20)
    return hal, pump, loop


def test_bubble_well_under_limit_no_alarm():
    hal, pump, loop = _running()
    hal.air.air = True
    run_ticks(hal, loop, 14)          # about 40 uL passes the sensor
    hal.air.air = False
    run_ticks(hal, loop, 200)
    assert pump.state_name() == 'RUNNING'
    assert not pump.alarms.active[A_AIR_IN_LINE]
    assert pump.air.bubble_nl == 0    # the bubble ended with liquid


def test_bubble_over_limit_stops_motor_at_the_crossing_tick():
    hal, pump, loop = _running()
    p0 = hal.motor.pos               # sample of the last liquid tick
    run_ticks(hal, loop, 1)
    hal.air.air = True
    after = [p0, hal.motor.pos]      # counter after each tick
    for _ in range(100):
        run_ticks(hal, loop, 1)
        after.append(hal.motor.pos)
        if pump.state_name() == 'ALARM':
            break
    assert pump.state_name() == 'ALARM'
    # the sample of tick J sees the counter as left by tick J-1
    at_alarm = _nl(after[-2] - p0)
    before = _nl(after[-3] - p0)
    # alarm on the first tick whose measure reaches 50 uL (per-tick rounding
    # of the firmware: a few nL), not one tick later
    assert at_alarm >= 50000 - 20, at_alarm
    assert before < 50000 - 20, before
    assert after[-1] == after[-2]    # the alarm tick commanded no step
    assert pump.alarms.active[A_AIR_IN_LINE]
    pos = hal.motor.pos
    run_ticks(hal, loop, 100)
    assert hal.motor.pos == pos      # stopped, nothing resumes by itself
    assert pump.state_name() == 'ALARM'
    recs = pump.journal.records()
    assert [r for r in recs if r[2] == EV_ALARM and r[3] == A_AIR_IN_LINE]


def test_bubble_tail_in_last_interval_still_counts():
    # the sensor reads air for 17 ticks (17 intervals < 50 uL), but the
    # interval that ends with liquid may also have been air: the measure
    # includes it (never underestimate) and reaches the limit there
    hal, pump, loop = _running()
    run_ticks(hal, loop, 1)
    hal.air.air = True
    run_ticks(hal, loop, 17)
    assert pump.state_name() == 'RUNNING'
    assert 47000 < pump.air.bubble_nl < 50000
    hal.air.air = False
    run_ticks(hal, loop, 1)
    assert pump.state_name() == 'ALARM'
    assert pump.alarms.active[A_AIR_IN_LINE]


def test_paused_with_air_no_alarm_and_resume_realarms_until_purged():
    hal, pump, loop = _running()
    hal.air.air = True
    for _ in range(100):
        run_ticks(hal, loop, 1)
        if pump.state_name() == 'ALARM':
            break
    assert pump.state_name() == 'ALARM'
    run_ticks(hal, loop, 50)         # air still at the sensor, motor stopped
    assert pump.acknowledge() == 0
    assert pump.state_name() == 'PAUSED'
    run_ticks(hal, loop, 50)
    assert pump.state_name() == 'PAUSED'   # no motion, no new alarm
    assert pump.resume() == 0
    pos = hal.motor.pos
    run_ticks(hal, loop, 3)
    assert pump.state_name() == 'ALARM'     # the bubble is still there
    assert hal.motor.pos - pos <= 13        # one tick's steps at most
    hal.air.air = False                     # line purged
    run_ticks(hal, loop, 2)
    pump.acknowledge()
    assert pump.resume() == 0
    run_ticks(hal, loop, 100)
    assert pump.state_name() == 'RUNNING'


def test_accumulated_small_bubbles_alarm():
    hal, pump, loop = _running()
    ticks = 0
    while pump.state_name() == 'RUNNING' and ticks < 9000:
        hal.air.air = True                  # about 8 uL bubbles
        run_ticks(hal, loop, 3)
        hal.air.air = False
        run_ticks(hal, loop, 30)
        ticks += 33
    assert pump.state_name() == 'ALARM'
    assert pump.alarms.active[A_AIR_ACCUMULATED]
    assert not pump.alarms.active[A_AIR_IN_LINE]
    assert pump.air.window_nl >= 1000000
    assert pump.air.window_nl < 1000000 + _nl(13)
    assert ticks < 15 * 600                  # within the 15 min window


def test_rolling_window_forgets_old_air():
    # window 1 min (plus the current one), limit 50 uL: 10 uL each minute
    # adds up to 100 uL in 10 min but never 50 uL in the window
    hal, pump, loop = _running(air_window_min=1, air_accum_limit_nl=50000)
    for _ in range(10):
        hal.air.air = True
        run_ticks(hal, loop, 4)
        hal.air.air = False
        run_ticks(hal, loop, 596)
    assert pump.state_name() == 'RUNNING'
    assert not pump.alarms.active[A_AIR_ACCUMULATED]
    run_ticks(hal, loop, 1300)
    assert pump.air.window_nl == 0


def test_air_tick_allocates_nothing():
    hal, pump, loop = _running()
    clock = hal.clock
    poll = loop.poll
    board = hal.air
    err = None
    heap_lock()
    try:
        for i in range(2000):
            board.air = (i % 40) < 2
            clock.now = (clock.now + 100) & 0x3FFFFFFF
            poll()
    except MemoryError as e:
        err = e
    heap_unlock()
    assert err is None, 'air monitor allocated'
    assert pump.state_name() == 'RUNNING'
    assert pump.air.window_nl > 0
