"""Monitors on the fake HAL (syringe empty / near empty, pressure sensor
stuck / below zero, over / under infusion, power), syringe and clamp
latching, loop overrun and the watchdog. Runs under pytest AND MicroPython.

The fake plunger follows the fake motor at 0.390625 um per microstep from
`travel_um`; a test moves `travel_um` to make the plunger lag or lead."""
from helpers_device import make_pump, run_ticks, start_program
from firmware.compat import heap_lock, heap_unlock
from pumphost.codes import FOUND_GONE, FOUND_SEEN, A_BATTERY_CRITICAL, A_LOOP_OVERRUN, A_LOW_BATTERY, A_ON_BATTERY, A_OVER_INFUSION, A_PRESSURE_DRIFT, A_PRESSURE_STUCK, A_SYRINGE_EMPTY, A_SYRINGE_NEAR_EMPTY, A_SYRINGE_REMOVED, A_UNDER_INFUSION, EV_ALARM, EV_ALARM_CLEAR

RATE = 20000000      # 20 mL/h: 25.6 microsteps/s, 10 um/s of plunger travel


def _running(rate=RATE, **settings):
    hal, pump, loop = make_pump(**settings)
    start_program(hal, pump, loop, rate, 40000000)
    run_ticks(hal, loop, 20)
    return hal, pump, loop


def _journaled(pump, code):
    return [r for r in pump.journal.records() if r[2] == EV_ALARM and r[3] == code]


def _until(hal, loop, cond, limit):
    for k in range(limit):
        if cond():
            return k
        run_ticks(hal, loop, 1)
    return -1


def test_empty_syringe_stops_and_latches_until_new_syringe():
    hal, pump, loop = _running()
    hal.syringe.travel_um = 300 + (hal.motor.pos * 25 >> 6)   # 300 um left
    k = _until(hal, loop, lambda: pump.state_name() == 'ALARM', 1000)
    assert 180 <= k <= 210, k      # 200 um at 10 um/s, end of travel at 100 um
    assert pump.alarms.active[A_SYRINGE_EMPTY] and _journaled(pump, A_SYRINGE_EMPTY)
    assert pump.alarms.active[A_SYRINGE_NEAR_EMPTY]   # came first, medium
    pos = hal.motor.pos
    run_ticks(hal, loop, 100)
    assert hal.motor.pos == pos
    pump.acknowledge()
    assert pump.state_name() == 'ALARM'               # still empty
    hal.syringe.travel_um = 100000                    # a full syringe
    run_ticks(hal, loop, 12)
    pump.acknowledge()
    assert pump.state_name() == 'PAUSED'
    assert not pump.alarms.active[A_SYRINGE_EMPTY]
    assert not pump.alarms.active[A_SYRINGE_NEAR_EMPTY]


def test_near_empty_time_left_and_not_when_program_ends_first():
    hal, pump, loop = _running()
    # 100 mm of travel, 40 mL program: the syringe holds more, no pre-alarm
    run_ticks(hal, loop, 20)
    assert not pump.alarms.active[A_SYRINGE_NEAR_EMPTY]
    assert pump.monitors.time_left_s > 3600
    hal.syringe.travel_um = 9100 + (hal.motor.pos * 25 >> 6)    # 9 mm: 900 s
    run_ticks(hal, loop, 11)
    t = pump.monitors.time_left_s
    assert 880 <= t <= 905, t
    k = _until(hal, loop, lambda: pump.alarms.active[A_SYRINGE_NEAR_EMPTY], 200)
    assert 0 <= k <= 40, k
    assert pump.state_name() == 'RUNNING' and _journaled(pump, A_SYRINGE_NEAR_EMPTY)


def test_stuck_pressure_sensor_alarms_after_setting_while_delivering():
    hal, pump, loop = _running(pressure_stuck_s=30)
    board = hal.pressure
    run_ticks(hal, loop, 600)            # the dithering fake: a live sensor
    assert pump.state_name() == 'RUNNING'
    board.read_raw = lambda: 3400        # frozen
    k = _until(hal, loop, lambda: pump.state_name() == 'ALARM', 1000)
    assert 300 <= k <= 302, k
    assert pump.alarms.active[A_PRESSURE_STUCK] and _journaled(pump, A_PRESSURE_STUCK)
    del board.read_raw                   # alive again
    run_ticks(hal, loop, 2)
    pump.acknowledge()
    assert pump.state_name() == 'PAUSED'


def test_reading_below_zero_gauge_is_drift_medium():
    hal, pump, loop = _running()
    hal.pressure.raw = 3000 - 25 * 40    # -25 mmHg
    k = _until(hal, loop, lambda: pump.alarms.active[A_PRESSURE_DRIFT], 100)
    assert 19 <= k <= 21, k
    assert pump.state_name() == 'RUNNING'
    hal.pressure.raw = 3000 + 90 * 40
    run_ticks(hal, loop, 2)
    assert not pump.alarms.condition[A_PRESSURE_DRIFT]
    assert [r for r in pump.journal.records() if r[2] == EV_ALARM_CLEAR and r[3] == A_PRESSURE_DRIFT]


def _slip(hal, loop, pump, permille, limit_ticks):
    """The plunger (1.0 um per tick at RATE) lags by `permille` of its
    travel (negative: leads). Returns ticks to a state change, -1 if none."""
    acc = 0
    for k in range(limit_ticks):
        acc += permille
        q = acc // 1000 if acc >= 0 else -((-acc) // 1000)
        hal.syringe.travel_um += q
        acc -= q * 1000
        run_ticks(hal, loop, 1)
        if pump.state_name() != 'RUNNING':
            return k
    return -1


def test_under_infusion_from_a_slipping_lead_screw():
    hal, pump, loop = _running()
    run_ticks(hal, loop, 6000)           # 10 min normal: no alarm
    assert pump.state_name() == 'RUNNING'
    k = _slip(hal, loop, pump, 200, 30000)  # 20 % of the travel lost
    assert pump.alarms.active[A_UNDER_INFUSION] and _journaled(pump, A_UNDER_INFUSION)
    assert not pump.alarms.active[A_OVER_INFUSION]
    # 15 min window judged every 225 s: over 10 % once half the window slipped
    assert 4500 <= k <= 6750 + 10, k
    pos = hal.motor.pos
    run_ticks(hal, loop, 50)
    assert hal.motor.pos == pos


def test_over_infusion_and_no_alarm_under_ten_percent():
    hal, pump, loop = _running()
    k = _slip(hal, loop, pump, -300, 30000)   # plunger 30 % ahead from the start
    assert pump.alarms.active[A_OVER_INFUSION]
    assert 9000 <= k <= 9100, k               # first judgement: 15 min after settling
    for permille in (80, -80):                # 8 %: within the limit
        hal, pump, loop = _running()
        assert _slip(hal, loop, pump, permille, 20000) == -1
        assert pump.state_name() == 'RUNNING'


def test_power_on_battery_low_then_critical_stops():
    hal, pump, loop = _running()
    board = hal.power
    board.mains = False
    run_ticks(hal, loop, 11)
    assert pump.alarms.active[A_ON_BATTERY] and pump.state_name() == 'RUNNING'
    board.mv = 3550
    run_ticks(hal, loop, 11)
    assert pump.alarms.active[A_LOW_BATTERY] and pump.state_name() == 'RUNNING'
    assert _journaled(pump, A_ON_BATTERY) and _journaled(pump, A_LOW_BATTERY)
    board.mv = 3390
    run_ticks(hal, loop, 11)
    assert pump.alarms.active[A_BATTERY_CRITICAL] and pump.state_name() == 'ALARM'
    pos = hal.motor.pos
    run_ticks(hal, loop, 30)
    assert hal.motor.pos == pos
    pump.acknowledge()
    assert pump.state_name() == 'ALARM'     # still critical
    board.mains = True
    run_ticks(hal, loop, 11)
    pump.acknowledge()
    assert pump.state_name() == 'PAUSED'
    for code in (A_ON_BATTERY, A_LOW_BATTERY, A_BATTERY_CRITICAL):
        assert not pump.alarms.active[code]


def test_clamp_open_journals_and_latches_until_acknowledged():
    hal, pump, loop = _running()
    hal.syringe.clamp = False
    run_ticks(hal, loop, 1)
    assert pump.state_name() == 'ALARM' and _journaled(pump, A_SYRINGE_REMOVED)
    hal.syringe.clamp = True
    run_ticks(hal, loop, 20)
    assert pump.alarms.active[A_SYRINGE_REMOVED] and pump.state_name() == 'ALARM'
    pump.acknowledge()
    assert pump.state_name() == 'PAUSED' and not pump.alarms.active[A_SYRINGE_REMOVED]
    hal.syringe.is_present = False
    run_ticks(hal, loop, 1)
    assert len(_journaled(pump, A_SYRINGE_REMOVED)) == 2


def test_stalled_loop_raises_overrun_and_watchdog_fed_only_by_completed_ticks():
    hal, pump, loop = _running()
    wd = hal.watchdog
    feeds = wd.feeds
    run_ticks(hal, loop, 10)
    assert wd.feeds == feeds + 10
    assert not loop.poll()                 # not due: no tick, no feed
    assert wd.feeds == feeds + 10
    # a tick that does not complete (a sensor read blows up) feeds nothing
    board = hal.pressure
    board.read_raw = None                  # calling None raises TypeError
    hal.clock.advance(100)
    try:
        loop.poll()
        raised = False
    except TypeError:
        raised = True
    assert raised and wd.feeds == feeds + 10
    del board.read_raw
    # the loop stalls: no tick for 6 periods (max_late_ticks 5)
    hal.clock.advance(700)
    assert loop.poll()
    assert pump.alarms.active[A_LOOP_OVERRUN] and pump.state_name() == 'ALARM'
    assert _journaled(pump, A_LOOP_OVERRUN) and loop.overruns == 1
    assert wd.feeds == feeds + 11
    pump.acknowledge()
    assert pump.state_name() == 'PAUSED'   # an event alarm: clears on ack


def test_late_but_within_limit_is_no_overrun():
    hal, pump, loop = _running()
    hal.clock.advance(100 + 500)          # 5 periods late: allowed
    loop.poll()
    assert not pump.alarms.active[A_LOOP_OVERRUN]


def test_monitors_report_findings_and_only_the_pump_raises():
    hal, pump, loop = _running()
    hal.power.mains = False
    hal.power.mv = 3390                   # under battery_critical_mv
    m = pump.monitors
    found = []
    for _ in range(11):                   # power is judged once a second
        n = m.check(pump, hal.pressure.read_raw(), True)
        found += [m.found[i] for i in range(n)]
    assert A_BATTERY_CRITICAL | FOUND_SEEN in found
    assert A_SYRINGE_EMPTY | FOUND_GONE in found
    # the monitors raised nothing themselves: no alarm, still delivering
    assert not pump.alarms.active[A_BATTERY_CRITICAL] and not pump.alarms.active[A_ON_BATTERY]
    assert pump.state_name() == 'RUNNING'
    # the pump's tick acts on them: alarm, journal, the motor stops
    run_ticks(hal, loop, 11)
    assert pump.alarms.active[A_BATTERY_CRITICAL] and pump.state_name() == 'ALARM'
    assert pump.alarms.active[A_ON_BATTERY] and _journaled(pump, A_BATTERY_CRITICAL)
    pos = hal.motor.pos
    run_ticks(hal, loop, 30)
    assert hal.motor.pos == pos


def test_monitors_tick_allocates_nothing():
    hal, pump, loop = _running()
    hal.power.mains = False               # on battery: advisory raised
    run_ticks(hal, loop, 11)
    clock = hal.clock
    poll = loop.poll
    board = hal.syringe
    err = None
    heap_lock()
    try:
        for i in range(11000):            # > 15 min: over/under judged
            if i % 5 == 0:
                board.travel_um += 0      # plunger follows the motor exactly
            clock.now = (clock.now + 100) & 0x3FFFFFFF
            poll()
    except MemoryError as e:
        err = e
    heap_unlock()
    assert err is None, 'monitors allocated'
    assert pump.state_name() == 'RUNNING'
    assert pump.monitors._n == 4 and pump.monitors.time_left_s > 0
