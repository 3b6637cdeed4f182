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
