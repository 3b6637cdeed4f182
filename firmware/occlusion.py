"""Downstream occlusion check, first version: a limit above a learned baseline.

The line ends in an artery, so the resting line pressure is the patient's
arterial pressure (70 to 110 mmHg mean) plus the catheter's flow drop, not zero.
The check low-passes the pressure (fast integer EMA, 1/8 per tick) to remove
pulsation and noise, and compares it with a learned baseline:

- settling: for `occlusion_settle_s` after a start or resume the baseline just
  follows the pressure (the line is being pressurised up to arterial pressure,
  which looks exactly like an occlusion); only the hard ceiling applies;
- learned: the baseline is a slow EMA (1/4096 per tick, about 7 min at 100 ms)
  that stops following once the pressure is more than delta/4 above it (so a
  building occlusion does not drag it up) but keeps creeping at 1/16 of that
  speed so a slow change of blood pressure is absorbed in the end;
- alarm when filtered > baseline + delta, or filtered > the hard ceiling.

Known limit (why issue 4 replaces it): behind a blocked line the pressure
rises at Q/C (about 15 mmHg/min at 1.77 mL/h on a 50 mL syringe), so a
100 mmHg delta takes about 7 min, and hours at 0.1 mL/h.
"""
from firmware.alarms import A_OCCLUSION_DOWNSTREAM, A_PRESSURE_HARD_LIMIT

_FAST_SHIFT = 3
_SLOW_SHIFT = 12
_CREEP_SHIFT = 4


class OcclusionCheck:
    def __init__(self, settings):
        self.delta = settings.occlusion_delta_mmhg_x10
        self.hard = settings.pressure_hard_limit_mmhg_x10
        self.settle_ticks = settings.occlusion_settle_s * 1000 // settings.tick_ms
        self.filtered = 0
        self._fast_acc = 0   # filtered << _FAST_SHIFT
        self._slow_acc = 0   # baseline << _SLOW_SHIFT
        self._settle_left = 0

    def restart(self):
        """Start learning again (infusion start or resume)."""
        self._settle_left = self.settle_ticks

    def baseline_x10(self):
        return self._slow_acc >> _SLOW_SHIFT

    def update(self, pressure_x10, delivering):
        """Feed one sample; returns an alarm code or 0. Allocation-free."""
        self._fast_acc += pressure_x10 - (self._fast_acc >> _FAST_SHIFT)
        f = self._fast_acc >> _FAST_SHIFT
        self.filtered = f
        if f > self.hard:
            return A_PRESSURE_HARD_LIMIT
        if self._settle_left > 0:
            self._settle_left -= 1
            self._slow_acc = f << _SLOW_SHIFT
            return 0
        base = self._slow_acc >> _SLOW_SHIFT
        if f > base + self.delta:
            return A_OCCLUSION_DOWNSTREAM
        if delivering:
            if f - base < (self.delta >> 2):
                self._slow_acc += f - base
            else:
                self._slow_acc += (f - base) >> _CREEP_SHIFT
        return 0
