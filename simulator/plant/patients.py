"""Patient population for virtual trials: resting blood pressure and how it moves.

A patient is drawn from a seeded generator: systolic 100-160 mmHg, diastolic
60-95 mmHg (pulse pressure at least 25), heart rate 55-100 bpm. A profile
then moves the arterial pressure over the hours of a run by setting the
plant's arterial offset (the same quantity the `arterial_step` and
`arterial_drift` faults move) once a second:

- `steady`: no change.
- `circadian`: a sinusoid of 24 h, amplitude 8-15 mmHg, random phase (the
  nocturnal dip of 10-20 % of the mean pressure; sleep/wake transitions are
  the `steps` profile).
- `steps`: steps of +-5..20 mmHg at random moments (mean 3 h apart), held
  0.5..4 h (posture, pain, a vasoactive drug).
- `drift`: a bounded random walk of slow ramps, 1..6 mmHg/h for 1..4 h each,
  kept within +-25 mmHg (slow hypertension, recovery).
- `arrhythmia`: atrial-fibrillation-like irregular beats (irregularity
  0.2..0.4, simulator/plant/arterial.py) on a steady pressure.
- `mixed`: circadian + steps + drift + arrhythmia together.

Figures are set by this module, not measured on patients: they bound what the
occlusion detector must tolerate (docs/occlusion.md, envelope).
"""
import bisect
import math

import numpy as np

PROFILES = ('steady', 'circadian', 'steps', 'drift', 'arrhythmia', 'mixed')

STEP_MAX_MMHG = 20.0
DRIFT_BOUND_MMHG = 25.0


def draw_patient(seed):
    """Resting blood pressure and heart rate of patient `seed`."""
    rng = np.random.default_rng([seed, 7919])
    dia = float(rng.uniform(60.0, 95.0))
    sys_ = float(max(dia + 25.0, rng.uniform(100.0, 160.0)))
    return {'systolic_mmhg': round(sys_, 1), 'diastolic_mmhg': round(dia, 1),
            'heart_rate_bpm': round(float(rng.uniform(55.0, 100.0)), 1)}


class Profile:
    """Arterial offset over time for one named profile and seed."""

    def __init__(self, name, seed, hours):
        if name not in PROFILES:
            raise ValueError('profile %r not known (known: %s)' % (name, ', '.join(PROFILES)))
        self.name = name
        rng = np.random.default_rng([seed, 104729])
        mixed = name == 'mixed'
        self.circ_amp = float(rng.uniform(8.0, 15.0)) if name == 'circadian' or mixed else 0.0
        self.circ_phase = float(rng.uniform(0.0, 2 * math.pi))
        self.steps = []     # (t0_s, t1_s, offset)
        if name == 'steps' or mixed:
            t = float(rng.exponential(3 * 3600.0))
            while t < hours * 3600.0:
                size = float(rng.uniform(5.0, STEP_MAX_MMHG)) * (1 if rng.random() < 0.5 else -1)
                hold = float(rng.uniform(0.5, 4.0)) * 3600.0
                self.steps.append((t, t + hold, size))
                t += hold + float(rng.exponential(3 * 3600.0))
        self.ramps = []     # (t0_s, t1_s, mmhg_per_s)
        if name == 'drift' or mixed:
            t, level = 0.0, 0.0
            while t < hours * 3600.0:
                dur = float(rng.uniform(1.0, 4.0)) * 3600.0
                slope = float(rng.uniform(1.0, 6.0)) / 3600.0
                if rng.random() < 0.5:
                    slope = -slope
                end = level + slope * dur
                if abs(end) > DRIFT_BOUND_MMHG:
                    slope = -slope
                    end = level + slope * dur
                self.ramps.append((t, t + dur, slope))
                level = end
                t += dur
        self._step_t0 = [st[0] for st in self.steps]
        self._ramp_t0 = [r[0] for r in self.ramps]
        self._ramp_level = []   # offset at each ramp's start
        level = 0.0
        for t0, t1, slope in self.ramps:
            self._ramp_level.append(level)
            level += slope * (t1 - t0)
        self.irregularity = float(rng.uniform(0.2, 0.4)) if name == 'arrhythmia' or mixed else 0.0

    def offset_mmhg(self, t_s):
        off = 0.0
        if self.circ_amp:
            off += self.circ_amp * math.sin(2 * math.pi * t_s / 86400.0 + self.circ_phase)
        i = bisect.bisect_right(self._step_t0, t_s) - 1
        if i >= 0 and t_s < self.steps[i][1]:
            off += self.steps[i][2]
        i = bisect.bisect_right(self._ramp_t0, t_s) - 1
        if i >= 0:
            t0, t1, slope = self.ramps[i]
            off += self._ramp_level[i] + slope * (min(t_s, t1) - t0)
        return off

    def attach(self, plant):
        """Start the arrhythmia (if any) on the plant's seeded generator."""
        if self.irregularity:
            plant.arterial.start_arrhythmia(plant.rng, self.irregularity)

    def apply(self, plant, t_s):
        """Set the arterial offset for time t_s (call about once a second)."""
        plant.arterial.offset_mmhg = self.offset_mmhg(t_s)
