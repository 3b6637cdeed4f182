"""Fixed-period scheduling of the control tick.

Deadlines advance by exactly `tick_ms` (ticks_add), so therapy time never
drifts from the clock; ticks compare with the clock's ticks_diff, so wrap-around
(2**30 on boards) is harmless. If the loop falls more than `max_late_ticks`
behind (something blocked), the pump raises a loop-overrun alarm and the
schedule is re-based on now instead of bursting to catch up.
"""

from firmware.compat import const
# codes from pumphost.codes (private: no heap; tests/test_device_codes.py checks them)
_A_LOOP_OVERRUN = const(7)


class Loop:
    def __init__(self, pump, clock):
        self.pump = pump
        self.clock = clock
        self.tick_ms = pump.tick_ms
        self.max_late_ms = pump.settings.max_late_ticks * pump.tick_ms
        self.deadline = clock.ticks_add(clock.ticks_ms(), self.tick_ms)
        self.overruns = 0

    def poll(self):
        """Run the tick if it is due. Returns True if it ran. Never blocks."""
        clock = self.clock
        now = clock.ticks_ms()
        late = clock.ticks_diff(now, self.deadline)
        if late < 0:
            return False
        if late > self.max_late_ms:
            self.overruns += 1
            self.pump.raise_event_alarm(_A_LOOP_OVERRUN)
            self.deadline = now
        self.pump.tick()
        self.deadline = clock.ticks_add(self.deadline, self.tick_ms)
        return True

    def ms_until_due(self):
        d = self.clock.ticks_diff(self.deadline, self.clock.ticks_ms())
        return d if d > 0 else 0
