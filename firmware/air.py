"""Air-in-line monitor: single bubble and accumulated air in a rolling window.

The air sensor gives one boolean per tick; the motor counter tells how many
microsteps the plunger made since the previous tick (step_pl each). Between
two samples the sensor may change state anywhere inside the interval, so:

- a bubble is measured as the volume pushed over every interval that starts
  OR ends with air at the sensor. That never underestimates a bubble (it may
  overestimate it by less than two ticks' volume), so every bubble at or over
  `air_bubble_limit_nl` alarms at the first tick at or after the limit
  crossed the sensor; one under the limit by two ticks' volume never does
  (100 mL/h, 100 ms tick: 2.8 uL per tick; 1.77 mL/h: 0.05 uL).
- accumulated air counts the intervals that END with air (unbiased: +-1 tick
  per bubble) into per-minute bins; the window is the current minute plus
  the previous `air_window_min` minutes (covers 15 to 16 min by default).

`update()` returns the alarm it found; the Pump raises it (motor stopped
first). Alarms are raised only on a tick that moved air past the sensor, so a pump
stopped with air at the sensor does not re-alarm while stopped, but resuming
with the bubble still there alarms again after one tick's volume. The bubble
measure restarts when the sensor reads liquid. Allocation-free.
"""

from firmware.compat import const
# codes from pumphost.codes (private: no heap; tests/test_device_codes.py checks them)
_A_AIR_ACCUMULATED = const(11)
_A_AIR_IN_LINE = const(3)


class AirMonitor:
    def __init__(self, hal, settings):
        self.limit_nl = settings.air_bubble_limit_nl
        self.acc_limit_nl = settings.air_accum_limit_nl
        self.step_pl = settings.step_pl
        self.bins = [0] * (settings.air_window_min + 1)
        self._bin = 0
        self._bin_ticks = 60000 // settings.tick_ms
        self._bin_left = self._bin_ticks
        self.bubble_nl = 0      # current bubble, as measured
        self.window_nl = 0      # air in the rolling window
        self.pos = hal.motor.position()   # motor counter at the previous tick
        self._was_air = False

    def update(self, air, pos):
        """One tick: `air` = the sensor sees air now, `pos` = motor counter.
        Returns an alarm code or 0."""
        self._bin_left -= 1
        if self._bin_left <= 0:
            self._bin_left = self._bin_ticks
            i = self._bin + 1
            if i == len(self.bins):
                i = 0
            self.window_nl -= self.bins[i]
            self.bins[i] = 0
            self._bin = i
        d = pos - self.pos
        self.pos = pos
        v = (d * self.step_pl + 500) // 1000 if d > 0 else 0
        code = 0
        if air or self._was_air:
            self.bubble_nl += v
            if v and self.bubble_nl >= self.limit_nl:
                code = _A_AIR_IN_LINE
        if air:
            self.bins[self._bin] += v
            self.window_nl += v
            if v and not code and self.window_nl >= self.acc_limit_nl:
                code = _A_AIR_ACCUMULATED
        else:
            self.bubble_nl = 0
        self._was_air = air
        return code
