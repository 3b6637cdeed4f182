"""Hepatic arterial back-pressure: pulsatile, with slow changes on demand.

A beat is modelled as diastolic + pulse pressure * w(phase), with w a sharp
systolic upstroke and exponential diastolic run-off (mean of w about 1/3, so
MAP ~ diastolic + PP/3 as in physiology). Offsets (a step of +-15 mmHg,
hypertension) are added by faults at run time.

Arrhythmia (fault `arrhythmia`): atrial-fibrillation-like irregular beats.
Each beat's length is the mean RR interval times (1 + irregularity * u), u
uniform in [-1, 1], drawn from the plant's seeded generator, and its pulse
pressure scales with that length (a short beat fills less and ejects less).
"""
import math


class ArterialPressure:
    def __init__(self, systolic_mmhg=120.0, diastolic_mmhg=80.0, heart_rate_bpm=72.0):
        self.systolic = systolic_mmhg
        self.diastolic = diastolic_mmhg
        self.heart_rate_bpm = heart_rate_bpm
        self.offset_mmhg = 0.0
        self.drift_mmhg_s = 0.0       # slow change (hypertension), faults.arterial_drift
        self._phase = 0.0
        self.irregularity = 0.0       # faults.arrhythmia
        self._rng = None
        self._beat_scale = 1.0        # this beat's length / mean RR
        self.beats = 0

    def start_arrhythmia(self, rng, irregularity):
        self._rng = rng
        self.irregularity = irregularity

    def stop_arrhythmia(self):
        self.irregularity = 0.0
        self._beat_scale = 1.0

    @property
    def mean_mmhg(self):
        return self.diastolic + (self.systolic - self.diastolic) / 3.0 + self.offset_mmhg

    def advance(self, dt_s):
        """Advance by dt and return the pressure at the new instant."""
        phase = self._phase + dt_s * self.heart_rate_bpm / 60.0 / self._beat_scale
        if phase >= 1.0:
            phase %= 1.0
            self.beats += 1
            if self.irregularity:
                self._beat_scale = 1.0 + self.irregularity * (2.0 * self._rng.random() - 1.0)
        self._phase = phase
        if self.drift_mmhg_s:
            self.offset_mmhg += self.drift_mmhg_s * dt_s
        ph = self._phase
        if ph < 0.15:
            w = math.sin(ph / 0.15 * math.pi / 2.0)       # upstroke
        else:
            w = math.exp(-(ph - 0.15) * 3.2)              # run-off
        pp = (self.systolic - self.diastolic) * (self._beat_scale if self.irregularity else 1.0)
        return self.diastolic + pp * (w - 0.09) / 0.91 * 0.92 + self.offset_mmhg
