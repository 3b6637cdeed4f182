"""The air monitor's limits are inclusive: a bubble of exactly the limit,
and accumulated air reaching exactly the window's limit, alarm. Runs under
pytest AND MicroPython."""
from firmware.settings import Settings
from firmware.air import AirMonitor
from pumphost.codes import A_AIR_IN_LINE, A_AIR_ACCUMULATED


class _Motor:
    def position(self):
        return 0


class _Hal:
    motor = _Motor()


def _monitor():
    # 1000 pL a step: a step is exactly 1 nL
    return AirMonitor(_Hal(), Settings(step_pl=1000, air_bubble_limit_nl=5000,
                                       air_accum_limit_nl=50000))


def test_a_bubble_of_exactly_the_limit_alarms():
    air = _monitor()
    assert air.update(True, 4999) == 0
    assert air.update(True, 5000) == A_AIR_IN_LINE
    air = _monitor()
    assert air.update(True, 4999) == 0
    assert air.update(False, 4999) == 0            # liquid: the bubble ends under it


def test_accumulated_air_of_exactly_the_limit_alarms():
    air = _monitor()
    pos = 0
    for _ in range(10):                   # ten bubbles of 4999 nL, liquid between
        pos += 4999
        assert air.update(True, pos) == 0
        assert air.update(False, pos) == 0
    assert air.window_nl == 49990
    assert air.update(True, pos + 9) == 0         # 49999 nL
    assert air.update(False, pos + 9) == 0
    assert air.update(True, pos + 10) == A_AIR_ACCUMULATED   # 50000 nL


def test_a_tick_counts_the_volume_pushed_rounded_to_the_nl():
    # 1.499 nL a step rounds to 1, 1.5 to 2
    for step_pl, nl in ((1499, 1), (1500, 2)):
        air = AirMonitor(_Hal(), Settings(step_pl=step_pl))
        air.update(True, 1)
        assert air.bubble_nl == nl and air.window_nl == nl, (step_pl, air.bubble_nl)


def test_a_motor_running_backward_under_a_bubble_counts_no_air():
    # the pressure relief backs the plunger off: nothing passes the sensor,
    # and what already passed stays counted
    air = _monitor()
    assert air.update(True, 4000) == 0
    assert air.update(True, 2000) == 0
    assert air.bubble_nl == 4000 and air.window_nl == 4000
    assert air.update(True, 3000) == A_AIR_IN_LINE     # 5000 nL pushed under air


def _minutes_air_is_counted(tick_ms, window_min):
    """The tick (counting the first, when 1 nL of air passed) at which the
    window no longer holds that air."""
    air = AirMonitor(_Hal(), Settings(step_pl=1000, tick_ms=tick_ms,
                                      air_window_min=window_min))
    air.update(True, 1)
    assert air.window_nl == 1
    n = 1
    while air.window_nl and n < 100000:
        air.update(False, 1)
        n += 1
    return n


def test_air_stays_counted_for_the_current_minute_and_the_window_before_it():
    # the window is whole minutes of 60000 // tick_ms ticks: air counted in
    # the first minute leaves it when the window has moved on by
    # window + 1 minutes, to the tick
    assert _minutes_air_is_counted(100, 15) == 16 * 600
    assert _minutes_air_is_counted(100, 1) == 2 * 600
    assert _minutes_air_is_counted(29, 1) == 2 * 2068     # 59.97 s minutes
