"""Downstream occlusion: learned baseline, suspicion, then an active probe.

Physics (docs/occlusion.md has the figures): the line (syringe + catheter)
is a compliance C (about 2 uL/mmHg) behind a resistance R (about 5 mmHg*s/uL)
and an anti-reflux valve into a pulsatile artery. An open line settles with
time constant R*C (about 10 s) at a level just above the arterial trough; a
blocked line stores all that is pushed, so its pressure rises at Q/C
(0.25 mmHg/s at 1.77 mL/h, 0.014 mmHg/s at 0.1 mL/h). But a closed valve
looks exactly the same: when the patient's pressure steps up by 15 mmHg, the
line fills at Q/C until it is above the new trough (18 min at 0.1 mL/h).
A rise alone cannot tell the two apart at low rates, so the check asks the
line:

1. settle (first start only, or after `learned` is cleared): the baseline
   follows the slow-filtered pressure until it is above 30 mmHg and rose
   less than 0.3 mmHg in a 120 s window (the line is pressurised, the valve
   opened); meanwhile only the hard ceiling and (at probing rates, where the
   catheter's flow drop is small) an implausible 200 mmHg absolute apply.
2. monitor: the baseline is an integer EMA (1/4096 per tick, about 7 min)
   of the slow-filtered pressure (1/64 per tick); it follows down fast,
   follows up only while within 3 mmHg, and creeps at 1/16 of that speed
   above (slow hypertension is absorbed; an occlusion ramp outruns it).
   While the pressure is within 3 mmHg of the baseline, `stored_steps`
   (steps the pump pushed, counted by the pump) is reset: it then holds what
   was pushed since the line was last at its baseline.
3. suspect: slow pressure more than `occlusion_suspect` above the baseline
   -> probe (only at rates of at most one step per tick, `probe_ok`): the
   pump pushes `_BURST` steps per tick (ahead of schedule, repaid later)
   until the fast pressure rose `occlusion_probe` (or `_BURST_TICKS`), then
   holds the motor. 3 s into the hold the pressure is noted, 30 s later it
   is compared: an open line (or a valve the probe pushed open) has decayed
   by several R*C; a blocked one has not (less than a quarter of the probe
   height): occlusion alarm. Decayed: the baseline is re-based, no alarm.
4. fast path: fast pressure more than `occlusion_delta` above the baseline
   alarms at once (high rates, where no probe is made).

Limits: a blood-pressure rise of more than suspect + probe (33 mmHg by
default) within minutes looks blocked to the probe at low rates; a partial
occlusion that still lets the probe decay by a quarter in 30 s
(resistance up about 10x) is not detected until the fast path; at rates
under about 0.02 mL/h the ramp is slower than the baseline creep; an
occlusion present at the very first start is caught only at 200 mmHg (or
by the start-up fill); a real syringe stopper creeps under pressure, which
this plant does not model. After an alarm the condition stays present
while the pressure is more than `suspect` above the baseline.

update() runs every tick and allocates nothing.
"""
from firmware.compat import const
from firmware.alarms import A_OCCLUSION_DOWNSTREAM, A_PRESSURE_HARD_LIMIT

_FAST = const(3)        # fast EMA, 1/8 per tick
_SLOW = const(6)        # slow EMA, 1/64 per tick
_BASE = const(12)       # baseline EMA, 1/4096 per tick
_FREEZE = const(30)     # x10 mmHg: baseline follows up only this close
_STABLE = const(3)      # x10 mmHg per 120 s window: line pressurised
_SETTLE_MIN = const(300)  # x10 mmHg: no artery sits below 30 mmHg diastolic
_SETTLE_MAX = const(2000)  # x10 mmHg: no artery sits at 200 mmHg diastolic
_BURST = const(5)       # probe steps per tick
_BURST_TICKS = const(120)
_HOLD_WAIT_MS = const(3000)
_HOLD_MS = const(33000)

_SETTLE = const(0)
_MONITOR = const(1)
_PROBE = const(2)
_HOLD = const(3)


class OcclusionCheck:
    def __init__(self, settings):
        self.delta = settings.occlusion_delta_mmhg_x10
        self.suspect = settings.occlusion_suspect_mmhg_x10
        self.probe = settings.occlusion_probe_mmhg_x10
        self.hard = settings.pressure_hard_limit_mmhg_x10
        tick = settings.tick_ms
        self.win_ticks = 120000 // tick
        self.wait_ticks = _HOLD_WAIT_MS // tick
        self.hold_ticks = _HOLD_MS // tick
        self.filtered = 0       # fast (x10 mmHg)
        self.slow = 0
        self._fa = 0
        self._sa = 0
        self._ba = 0            # baseline << _BASE
        self.phase = _SETTLE
        self._t = 0
        self._p1 = 0
        self.learned = False
        self.tripped = False
        self.probe_ok = True    # set by the pump from the rate
        self.burst = 0          # steps the pump pushes this tick (probe)
        self.holding = False    # the pump holds the motor (probe)
        self.stored_steps = 0   # pushed since the line was last at baseline
        self.credit = 0         # probe steps pushed ahead of the schedule
        self.relief_left = 0    # back-off steps allowed (pump, in ALARM)
        self.relieved = 0
        self.probes = 0

    def restart(self):
        """Infusion start or resume: settle unless a baseline is learned."""
        self.phase = _MONITOR if self.learned else _SETTLE
        self._t = 0
        self._p1 = self.slow
        self.tripped = False
        self.burst = 0
        self.holding = False
        self.credit = 0
        self.relief_left = 0

    def baseline_x10(self):
        return self._ba >> _BASE

    def update(self, p, delivering):
        """Feed one sample; returns an alarm code or 0. Allocation-free."""
        self._fa += p - (self._fa >> _FAST)
        f = self._fa >> _FAST
        self.filtered = f
        self._sa += p - (self._sa >> _SLOW)
        s = self._sa >> _SLOW
        self.slow = s
        self.burst = 0
        if f > self.hard:
            self.tripped = True
            return A_PRESSURE_HARD_LIMIT
        base = self._ba >> _BASE
        ph = self.phase
        if not delivering:
            self.holding = False
            if ph > _MONITOR:
                self.phase = _MONITOR
            if self.tripped and f - base > self.suspect:
                return A_OCCLUSION_DOWNSTREAM
            return 0
        self._t += 1
        t = self._t
        if ph == _SETTLE:
            self._ba = s << _BASE
            self.stored_steps = 0
            if t >= self.win_ticks:
                self._t = 0
                if s - self._p1 < _STABLE and s > _SETTLE_MIN:
                    self.phase = _MONITOR
                    self.learned = True
                self._p1 = s
            if s > _SETTLE_MAX and self.probe_ok:   # low rates: little flow drop
                self.tripped = True
                return A_OCCLUSION_DOWNSTREAM
            return 0
        if ph == _PROBE:
            if f - self._p1 >= self.probe or t >= _BURST_TICKS:
                self.phase = _HOLD
                self.holding = True
                self._t = 0
            else:
                self.burst = _BURST
            return 0
        if ph == _HOLD:
            if t == self.wait_ticks:
                self._p1 = f
            elif t >= self.hold_ticks:
                self.holding = False
                self.phase = _MONITOR
                if self._p1 - f < (self.probe >> 2):
                    self.tripped = True
                    return A_OCCLUSION_DOWNSTREAM
                self._ba = s << _BASE   # open line: the pressure is the baseline
            return 0
        # monitor
        if f - base > self.delta:
            self.tripped = True
            return A_OCCLUSION_DOWNSTREAM
        r = s - base
        if r < _FREEZE:
            self._ba += (r << 4) if r < 0 else r
            self.stored_steps = 0
        else:
            self._ba += r >> 4
        if r > self.suspect and self.probe_ok:
            self.phase = _PROBE
            self.probes += 1
            self._t = 0
            self._p1 = f
            self.burst = _BURST
        return 0
