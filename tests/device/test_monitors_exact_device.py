"""The monitors' judgements at their exact boundaries: each check's findings
in order, the pressure sensor's stuck and below-zero counts, the syringe's
empty point and time left, the over / under infusion window (its settling,
quarter-window slots, the minimum travel a slot needs, the +-pct limits)
and the power limits with their hysteresis. Monitors driven directly on a
minimal pump, tick by tick. Runs under pytest AND MicroPython.

Defaults of Settings used: tick 100 ms (a quarter window is 2250 ticks),
step_travel_nm 391, step_pl 217070 (217 nL a step in the time left),
infusion_error_pct 10, near_empty_s 900, battery 3400 / 3600 mV."""
from firmware.monitors import Monitors
from firmware.settings import Settings
from pumphost.codes import FOUND_EVENT, FOUND_GONE, FOUND_SEEN, A_BATTERY_CRITICAL, A_LOW_BATTERY, A_ON_BATTERY, A_OVER_INFUSION, A_PRESSURE_DRIFT, A_PRESSURE_STUCK, A_SYRINGE_EMPTY, A_SYRINGE_NEAR_EMPTY, A_UNDER_INFUSION

STUCK_GONE = A_PRESSURE_STUCK | FOUND_GONE
STUCK_SEEN = A_PRESSURE_STUCK | FOUND_SEEN
DRIFT_GONE = A_PRESSURE_DRIFT | FOUND_GONE
DRIFT_SEEN = A_PRESSURE_DRIFT | FOUND_SEEN
EMPTY_GONE = A_SYRINGE_EMPTY | FOUND_GONE
EMPTY_SEEN = A_SYRINGE_EMPTY | FOUND_SEEN
NEAR_GONE = A_SYRINGE_NEAR_EMPTY | FOUND_GONE
NEAR_SEEN = A_SYRINGE_NEAR_EMPTY | FOUND_SEEN
MAINS = [A_ON_BATTERY | FOUND_GONE, A_LOW_BATTERY | FOUND_GONE, A_BATTERY_CRITICAL | FOUND_GONE]
OVER = A_OVER_INFUSION | FOUND_EVENT
UNDER = A_UNDER_INFUSION | FOUND_EVENT


class _Motor:
    pos = 0

    def position(self):
        return self.pos


class _Syringe:
    travel_um = 50000

    def plunger_travel_um(self):
        return self.travel_um


class _Power:
    mains = True
    mv = 4000

    def on_mains(self):
        return self.mains

    def battery_mv(self):
        return self.mv


class _Hal:
    def __init__(self):
        self.motor = _Motor()
        self.syringe = _Syringe()
        self.power = _Power()


class _Course:
    rate_nl_h = 0


class _Pump:
    """What Monitors.check reads of the pump."""

    def __init__(self, settings):
        self.hal = _Hal()
        self.course = _Course()
        self.pressure_x10 = 0
        self.program = None
        self.step_pl = settings.step_pl
        self.remaining = 0
        self.reading = 3000     # the raw pressure reading a test passes to check

    def remaining_nl(self):
        return self.remaining


def _make(**settings):
    s = Settings(**settings)
    m = Monitors(s)
    m.restart(0)        # as the pump does before any delivery (Pump._begin_motion)
    return m, _Pump(s)


def _check(m, pump, raw=3000, delivering=True):
    n = m.check(pump, raw, delivering)
    return [m.found[i] for i in range(n)]


# ---------------------------------------------------------------- findings

def test_a_check_reports_every_finding_once_in_order():
    m, pump = _make()
    pump.hal.syringe.travel_um = 100 + 1000
    assert _check(m, pump) == [STUCK_GONE, DRIFT_GONE, EMPTY_GONE] + MAINS
    # the next nine checks (one second at 100 ms) judge no time left or power
    for k in range(9):
        assert _check(m, pump, raw=3001 + k) == [STUCK_GONE, DRIFT_GONE, EMPTY_GONE]
    pump.hal.power.mains = False
    pump.hal.power.mv = 3000                     # under both battery limits
    assert _check(m, pump, raw=3000) == [STUCK_GONE, DRIFT_GONE, EMPTY_GONE, A_ON_BATTERY | FOUND_SEEN,
                                         A_BATTERY_CRITICAL | FOUND_SEEN, A_LOW_BATTERY | FOUND_SEEN]


def test_time_left_power_and_near_empty_are_judged_once_a_second():
    m, pump = _make()
    seen = [k for k in range(35) if MAINS[0] in _check(m, pump, raw=3000 + k)]
    assert seen == [0, 10, 20, 30]
    m, pump = _make(tick_ms=11)                  # 1000 // 11: every 90 ticks
    seen = [k for k in range(200) if MAINS[0] in _check(m, pump, raw=3000 + k)]
    assert seen == [0, 90, 180]


# --------------------------------------------------------- pressure sensor

def _first_stuck(m, pump, raw, limit, delivering=True):
    for k in range(limit):
        f = _check(m, pump, raw=raw, delivering=delivering)
        if STUCK_SEEN in f:
            # the first finding, then the others as ever
            assert f[:3] == [STUCK_SEEN, DRIFT_GONE, EMPTY_GONE] and f[3:] in ([], MAINS), f
            return k
    return -1


def test_a_frozen_reading_is_stuck_after_exactly_pressure_stuck_s():
    # 5 s at 100 ms: the first reading, 50 unchanged ones, then stuck
    m, pump = _make(pressure_stuck_s=5)
    assert _first_stuck(m, pump, 2000, 100) == 51
    assert _first_stuck(m, pump, 2000, 3) == 0   # and stays stuck
    assert _check(m, pump, raw=2001) == [STUCK_GONE, DRIFT_GONE, EMPTY_GONE]
    assert _first_stuck(m, pump, 2001, 100) == 50     # counted afresh
    # 100 s at 100 ms: 1000 ticks; 5 s at 30 ms: 166 (5000 // 30)
    m, pump = _make(pressure_stuck_s=100)
    assert _first_stuck(m, pump, 2000, 1100) == 1001
    m, pump = _make(pressure_stuck_s=5, tick_ms=30)
    assert _first_stuck(m, pump, 2000, 300) == 167


def test_a_frozen_reading_is_counted_from_the_first_reading_even_a_reading_of_one():
    m, pump = _make(pressure_stuck_s=5)
    assert _check(m, pump, raw=1)[0] == STUCK_GONE
    assert _first_stuck(m, pump, 1, 100) == 50


def test_a_frozen_reading_is_stuck_only_while_delivering():
    m, pump = _make(pressure_stuck_s=5)
    assert _first_stuck(m, pump, 2000, 200, delivering=False) == -1
    assert _first_stuck(m, pump, 2000, 1) == 0        # delivery starts: stuck at once


def _drift(m, pump, p):
    """The drift finding of a check at pressure p (x10 mmHg), if any."""
    pump.pressure_x10 = p
    pump.reading += 1                   # a live sensor: the raw reading changes
    f = _check(m, pump, raw=pump.reading)
    if f[-3:] == MAINS:
        f = f[:-3]
    assert f[0] == STUCK_GONE and f[-1] == EMPTY_GONE, f
    return f[1:-1]


def test_below_zero_gauge_is_drift_after_twenty_ticks_under_minus_twenty_mmhg():
    m, pump = _make()
    for _ in range(19):
        assert _drift(m, pump, -201) == []
    assert _drift(m, pump, -201) == [DRIFT_SEEN]
    assert _drift(m, pump, -200) == []          # not below: held, not cleared
    assert _drift(m, pump, -100) == []          # half of it: still held
    assert _drift(m, pump, -201) == [DRIFT_SEEN]
    assert _drift(m, pump, -99) == [DRIFT_GONE]  # above half: cleared, count reset
    for _ in range(19):
        assert _drift(m, pump, -201) == []
    assert _drift(m, pump, -201) == [DRIFT_SEEN]
    assert _drift(m, pump, -80) == [DRIFT_GONE]
    assert _drift(m, pump, 50) == [DRIFT_GONE]
    assert _drift(m, pump, 0) == [DRIFT_GONE]


def test_drift_counts_from_the_first_reading():
    m, pump = _make()
    for _ in range(19):
        assert _drift(m, pump, -300) == []
    assert _drift(m, pump, -300) == [DRIFT_SEEN]


def test_a_normal_line_pressure_is_never_drift():
    m, pump = _make()
    for p in (0, 150, 199, 1000) * 10:
        assert _drift(m, pump, p) == [DRIFT_GONE]


# ------------------------------------------------------ syringe, time left

def _second(m, pump, travel, delivering=True):
    """A fresh once-a-second check on `travel`: its findings after the
    pressure ones."""
    pump.hal.syringe.travel_um = travel
    return _check(m, pump, delivering=delivering)[2:]


def test_the_syringe_is_empty_at_exactly_100_um_of_travel_left():
    m, pump = _make()
    assert _second(m, pump, 101) == [EMPTY_GONE] + MAINS
    m, pump = _make()
    assert _second(m, pump, 100) == [EMPTY_SEEN] + MAINS
    assert m.time_left_s == 0
    m, pump = _make()
    assert _second(m, pump, 100, delivering=False) == MAINS   # not delivering: neither
    assert m.time_left_s == 0


def test_an_empty_syringe_with_a_program_running_has_no_time_left_and_no_near_empty():
    for travel in (100, 99, 0):
        m, pump = _make()
        pump.program = 1
        pump.course.rate_nl_h = 6000
        pump.remaining = 10 ** 6
        assert _second(m, pump, travel) == [EMPTY_SEEN] + MAINS
        assert m.time_left_s == 0


def test_time_left_is_unknown_without_a_program_or_a_rate_or_before_the_first_check():
    m, pump = _make()
    assert m.time_left_s == -1
    pump.remaining = 10 ** 6
    assert _second(m, pump, 101) == [EMPTY_GONE] + MAINS      # no program
    assert m.time_left_s == -1
    m, pump = _make()
    pump.program = 1
    pump.remaining = 10 ** 6
    assert _second(m, pump, 101) == [EMPTY_GONE] + MAINS      # rate 0 (a pause)
    assert m.time_left_s == -1


def _time_left(travel, rate, remaining=10 ** 9, **settings):
    m, pump = _make(**settings)
    pump.program = 1
    pump.course.rate_nl_h = rate
    pump.remaining = remaining
    f = _second(m, pump, travel)
    assert f[0] == EMPTY_GONE and f[2:] == MAINS, f
    return m.time_left_s, f[1]


def test_time_left_to_the_empty_point_in_whole_seconds():
    # 1 um left = 1000 // 391 = 2 steps = 434 nL; 6000 nL/h = 100 nL/min:
    # 4 min and 34 nL = 20 s
    assert _time_left(101, 6000) == (260, NEAR_SEEN)
    # 10 um = 25 steps = 5425 nL at 97 nL/min (5820 nL/h): 55 min, 90 nL = 55 s
    assert _time_left(110, 5820) == (3355, NEAR_GONE)
    # 1 nL/h and 119 nL/h are both 1 nL/min (below it counts as 1)
    assert _time_left(101, 1) == (26040, NEAR_GONE)
    assert _time_left(101, 119) == (26040, NEAR_GONE)
    # 1000 um = 2557 steps = 554869 nL at 1 mL/h (16666 nL/min): 33 min 17 s
    assert _time_left(1100, 1000000) == (1997, NEAR_GONE)


def test_time_left_counts_at_most_one_metre_of_travel_and_at_most_100000_minutes():
    # 1 000 000 um = 2557544 steps = 554987048 nL at 6000 nL/min: 92497 min, 5048 nL = 50 s
    assert _time_left(1000000 + 100, 360000) == (5549870, NEAR_GONE)
    assert _time_left(1000001 + 100, 360000) == (5549870, NEAR_GONE)
    assert _time_left(1000001 + 100, 1) == (6000000, NEAR_GONE)


def test_near_empty_needs_both_less_time_than_near_empty_s_and_less_than_the_program_needs():
    # 3355 s and 5425 nL left in the syringe (above)
    assert _time_left(110, 5820, near_empty_s=3355) == (3355, NEAR_GONE)
    assert _time_left(110, 5820, near_empty_s=3356) == (3355, NEAR_SEEN)
    assert _time_left(110, 5820, near_empty_s=3356, remaining=5425) == (3355, NEAR_GONE)
    assert _time_left(110, 5820, near_empty_s=3356, remaining=5426) == (3355, NEAR_SEEN)


def test_near_empty_is_seen_only_while_delivering():
    m, pump = _make()
    pump.program = 1
    pump.course.rate_nl_h = 6000
    pump.remaining = 10 ** 6
    assert _second(m, pump, 101, delivering=False) == [EMPTY_GONE] + MAINS
    assert m.time_left_s == 260


def test_a_peristaltic_pump_has_no_travel_checks_and_no_time_left():
    m, pump = _make(pump_kind=1)
    pump.program = 1
    pump.course.rate_nl_h = 6000
    pump.remaining = 10 ** 6
    for k in range(12000):           # over a window: no infusion judgement either
        pump.hal.motor.pos = k
        f = _check(m, pump, raw=3000 + (k & 1))
        assert f[:2] == [STUCK_GONE, DRIFT_GONE] and f[2:] in ([], MAINS), f
    assert m.time_left_s == -1


# ---------------------------------------------------------------- power

def _power(mv):
    m, pump = _make()
    pump.hal.power.mains = False
    pump.hal.power.mv = mv
    return _second(m, pump, 1000)[1:]


def test_battery_limits_alarm_below_them_and_clear_fifty_mv_above():
    on = A_ON_BATTERY | FOUND_SEEN
    crit_seen, crit_gone = A_BATTERY_CRITICAL | FOUND_SEEN, A_BATTERY_CRITICAL | FOUND_GONE
    low_seen, low_gone = A_LOW_BATTERY | FOUND_SEEN, A_LOW_BATTERY | FOUND_GONE
    assert _power(3399) == [on, crit_seen, low_seen]
    assert _power(3400) == [on, low_seen]              # in the hysteresis: neither
    assert _power(3449) == [on, low_seen]
    assert _power(3450) == [on, crit_gone, low_seen]
    assert _power(3599) == [on, crit_gone, low_seen]
    assert _power(3600) == [on, crit_gone]
    assert _power(3649) == [on, crit_gone]
    assert _power(3650) == [on, crit_gone, low_gone]


# ------------------------------------------------- over / under infusion

def _infusion(m, pump, ticks, pos, travel):
    """Delivers for `ticks` ticks, the motor at pos(k) and the plunger at
    travel(k) at tick k. Returns the (tick, finding) of the judgements."""
    hal = pump.hal
    out = []
    usual = [STUCK_GONE, DRIFT_GONE, EMPTY_GONE]
    for k in range(1, ticks + 1):
        hal.motor.pos = pos(k)
        hal.syringe.travel_um = travel(k)
        f = _check(m, pump, raw=3000 + (k & 1))
        if f[-3:] == MAINS:
            f = f[:-3]
        assert f[:3] == usual, f
        if f != usual:
            out.append((k, f[3:]))
    return out


def test_the_first_judgement_comes_a_full_window_after_128_settling_steps():
    # a resume at motor position 5000, one step a tick (the window: 9000
    # ticks = 3519 um); the plunger stands still for the first quarter
    # window, then follows: judged under at 128 + 9000, and not before
    m, pump = _make()
    m.restart(5000)
    found = _infusion(m, pump, 9130, lambda k: 5000 + k,
                      lambda k: 50000 - (0 if k < 2250 else (k - 2250) * 391 // 1000))
    assert found == [(9128, [UNDER])]
    # at 70 ms a quarter window is 900000 // 280 = 3214 ticks
    m, pump = _make(tick_ms=70)
    m.restart(5000)
    found = _infusion(m, pump, 12990, lambda k: 5000 + k,
                      lambda k: 50000 - (0 if k < 3214 else (k - 3214) * 391 // 1000))
    assert found == [(128 + 4 * 3214, [UNDER])]


def _judged(act_um):
    """The plunger moves act_um while the motor moves 13500 steps of 383 nm
    (5170.5 um: 5170 in whole um) in the window from the settling snapshot
    (tick 86: 129 steps, the motor at 3 steps per 2 ticks) to the first
    judgement (tick 9086)."""
    m, pump = _make(step_travel_nm=383)
    m.restart(0)
    start = 129

    def travel(k):
        moved = 3 * k // 2 - start
        return 60000 - (moved * act_um // 13500 if moved > 0 else 0)
    return _infusion(m, pump, 9087, lambda k: 3 * k // 2, travel)


def test_over_infusion_above_exactly_the_limit_percent():
    # 110 % of 5170 um = 5687: not over; one um more is
    assert _judged(5687) == []
    assert _judged(5688) == [(9086, [OVER])]


def test_under_infusion_below_exactly_the_limit_percent():
    # 90 % of 5170 um = 4653: not under; one um less is
    assert _judged(4653) == []
    assert _judged(4652) == [(9086, [UNDER])]


def test_a_slot_needs_25_um_of_travel_when_the_motor_is_slow():
    # 500 nm a step: 50 steps make 25 um. After settling (128 steps at once)
    # at tick 1 the motor steps once in 50 ticks: a slot lasts until 50
    # steps, 2500 ticks, not 2250; the plunger stands still: judged under at
    # 4 * 2500
    m, pump = _make(step_travel_nm=500)
    m.restart(0)
    found = _infusion(m, pump, 10002, lambda k: 128 + k // 50, lambda k: 50000)
    assert found == [(10000, [UNDER])]
