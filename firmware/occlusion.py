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

1. settle (first start only, or after `learned` is cleared): until the
   slow-filtered pressure is above 30 mmHg and rose less than 0.3 mmHg in a
   120 s window, or the start-up fill's knee (`opened`): the line is seen
   open and monitoring starts. Until then the baseline stays at the
   pressure at start and `stored_steps` counts every step since start: the
   relief may take all of it back, down to that pressure. Meanwhile the
   hard ceiling and an implausible level for an open line apply: 200 mmHg
   absolute plus, above the probe rate, the flow drop of an assumed
   10 mmHg*s/uL catheter (243 mmHg at 20 mL/h), at most 3/4 of the ceiling,
   on the fast filter. The course does not complete into a line never seen
   open above the probe rate: the last step ends with a hold (`clear`).
2. monitor: the baseline follows the slow-filtered pressure (1/64 per
   tick) down fast (1/256 per tick). At probing rates (under one whole step
   per tick, `q` == 0) it never follows it up: only a probe that decays
   re-bases it, so no ramp, however slow, is absorbed (0.004 mmHg/s at
   0.04 mL/h into 3 uL/mmHg). Above, it follows up within 3 mmHg (about
   7 min) and creeps at 1/16 of that beyond. While the pressure is within
   3 mmHg of the baseline `stored_steps` is reset: it holds what was pushed
   since the line was last at its baseline.
3. suspect: slow pressure more than `occlusion_suspect` (3 mmHg) above the
   baseline at a probing rate -> probe: the pump pushes about 1 uL a tick
   (`_burst` steps, from the step size; ahead of the schedule) until the
   fast pressure rose `occlusion_probe` (25 mmHg) or 12 s passed, then holds
   the motor 45 s. The mean of the hold's first 2 s against the mean of its
   last 8 s: an open line (or a valve the probe pushed open) has decayed by
   an eighth of the probe height or more (R*C up to a minute); a blocked
   one stays flat. Decayed: re-based, no alarm. Flat: a second probe (a
   line still below the patient's pressure, e.g. after a blood-pressure
   step or a start-up fill that stopped low, opens by it); flat again:
   occlusion alarm. The probe's volume is repaid one scheduled step in
   four (the line is still pushed at 3/4 rate, so an occlusion during the
   repayment still rises); the hold's missed steps are caught up after it.
4. fast path: fast pressure more than `occlusion_delta` above the baseline
   alarms at once (high rates, where no probe is made).
The firmware is never told the line's compliance or resistance: the probe's
decay is relative to its own height, the rise threshold is a pressure.

Limits: a blood-pressure rise of more than about two probe heights (50 mmHg)
within minutes looks blocked at low rates; a partial occlusion that still
lets a probe decay by an eighth in 45 s is caught only by the fast path; a
probe is about 25 mmHg x C ahead of the schedule (75 uL at 3 uL/mmHg: 2 h
of therapy at 0.04 mL/h); a real syringe stopper creeps under pressure,
which this plant does not model. After an alarm the condition stays
present while the pressure is more than `suspect` above the baseline.

update() runs every tick and allocates nothing.
"""
from firmware.compat import const

# codes from firmware.codes (private: no heap; tests/test_device_codes.py checks them)
_A_OCCLUSION_DOWNSTREAM = const(1)
_A_PRESSURE_HARD_LIMIT = const(2)

_FAST = const(3)        # fast EMA, 1/8 per tick
_SLOW = const(6)        # slow EMA, 1/64 per tick
_BASE = const(12)       # baseline EMA, 1/4096 per tick
_FREEZE = const(30)     # x10 mmHg: baseline follows up only this close
_STABLE = const(3)      # x10 mmHg per window: line pressurised
_WIN_MS = const(120000)
_SETTLE_MIN = const(300)   # x10 mmHg: no artery sits below 30 mmHg diastolic
_SETTLE_MAX = const(2000)  # x10 mmHg: nor at 200 mmHg
_BURST_PL = const(1000000)  # probe: about 1 uL per tick, whatever the step size
_BURST_TICKS = const(120)
_PEAK_MS = const(2000)      # hold: mean of its first 2 s ...
_TAIL_MS = const(8000)      # ... against the mean of its last 8 s
_HOLD_MS = const(45000)     # 2 time constants of the stiffest line (R*C to 60 s)
_RELIEF_STEPS = const(8)    # reverse steps per tick after an occlusion alarm
_RELIEF_SLACK = const(64)   # plus backlash (moves no fluid)
_RELIEF_MARGIN = const(30)  # x10 mmHg above baseline: relieved
_LAG = const(30)        # x10 mmHg: start-level baseline above the start (filter lag)
_NEAR = const(200)      # x10 mmHg: the last 20 mmHg of relief one step a tick


class OcclusionCheck:
    def __init__(self, settings):
        self.delta = settings.occlusion_delta_mmhg_x10
        self.suspect = settings.occlusion_suspect_mmhg_x10
        self.probe = settings.occlusion_probe_mmhg_x10
        self.hard = settings.pressure_hard_limit_mmhg_x10
        self.tick_ms = settings.tick_ms
        # x10 mmHg per whole step per tick: flow drop over 10 mmHg*s/uL
        self._flow = settings.step_pl // (settings.tick_ms * 10)
        self._burst = 1 + _BURST_PL // settings.step_pl
        self._acc = 0           # hold: sum of the tail window
        self._rp = 0            # scheduled steps toward the next repaid one
        self._tries = 0         # probes in a row that did not decay
        self.filtered = 0       # fast-filtered pressure, x10 mmHg
        self._fa = 0            # filtered << _FAST
        self._sa = 0            # slow << _SLOW
        self._ba = 0            # baseline << _BASE
        self.phase = 0          # 0 settle, 1 monitor, 2 probe push, 3 probe hold
        self._t = 0
        self._p1 = 0
        self.learned = False
        self.tripped = False
        self.q = 0              # whole steps per tick (pump): probes only at 0
        self.burst = 0          # > 0: steps to push this tick; < 0: hold the motor
        self.stored_steps = 0   # pushed since the line was last at baseline
        self.credit = 0         # probe steps pushed ahead of the schedule
        self.relief_left = 0    # back-off steps still allowed (pump, in ALARM)
        self.relieved = 0

    def begin(self):
        """Program start: the line may be unpressurised or blocked; until it
        is seen open, the relief may take back all pushed since now (the
        count includes the backlash take-up, so no slack on top), down to
        the pressure at start plus _LAG (the filter lags the back-off;
        update() takes the sample while nothing is pushed: the filters may
        not have settled since boot)."""
        self.learned = False
        self.stored_steps = -_RELIEF_SLACK

    def opened(self):
        """The line was seen open (settled, a probe decayed, or the start-up
        fill's knee): the baseline is the pressure now, nothing stored."""
        self.learned = True
        f = self.filtered
        self._sa = f << _SLOW       # the slow filter's lag is no baseline
        self._ba = f << _BASE
        self.stored_steps = 0
        self._tries = 0
        if not self.phase:
            self.phase = 1

    def clear(self):
        """May the course end (pump, last step done)? Not while a probe
        holds (its verdict comes first); a probe still pushing has nothing
        left to push and is dropped. Above the probe rate a line never seen
        open that rose since start is held first (an open line decays, a
        blocked one alarms)."""
        if (not (self.phase or self.learned) and self.q
                and self.filtered - (self._ba >> _BASE) > self.suspect):
            self.hold()
        if self.phase == 2:         # a probe with nothing left to push
            self.phase = 1
            self.burst = 0
        return self.phase < 3

    def hold(self):
        """Judge the line by a hold now (the start-up fill pushed its most
        without a knee, or the course ends on a line never seen open): it
        decays if open, stays flat if blocked (alarm, no second probe)."""
        self.phase = 3
        self.burst = -1
        self._t = 0
        self._p1 = 0
        self._acc = 0
        self._tries = 1

    def restart(self):
        """Infusion start or resume: settle unless a baseline is learned."""
        self.phase = 1 if self.learned else 0
        self._t = 0
        self._p1 = self._sa >> _SLOW
        self.tripped = False
        self._tries = 0
        self.burst = 0
        self.credit = 0
        self.relief_left = 0

    def _probe(self, f):
        self.phase = 2
        self._t = 0
        self._p1 = f
        self.burst = self._burst

    def baseline_x10(self):
        return self._ba >> _BASE

    def steps(self, sched, left):
        """Steps to push this tick (pump, delivering): the scheduler's, or
        during a probe the burst (pushed ahead, repaid from the schedule
        afterwards); -1 while a probe holds the motor (the schedule runs on
        and is caught up afterwards): the delivered volume keeps to time."""
        n = sched.next_steps()
        b = self.burst
        c = self.credit
        if b < 0:                   # hold: the schedule runs on, owed
            self.credit = c - n
            return -1
        if b > left:        # the course ends within the burst: no probe
            self.burst = b = 0  # (a burst cut short rises too little and
            self.phase = 1      # would look like an open line, or not decay)
        if b:
            self.credit = c + b - n
            return b
        if c > 0:       # ahead: repay one scheduled step in four, so
            a = self._rp + n    # the line is still pushed (an occlusion
            self._rp = a & 3    # still shows as a rise)
            a >>= 2
            if a > c:
                a = c
            self.credit = c - a
            n -= a
        elif c < 0:                 # owed: one extra step per tick
            self.credit = c + 1
            n += 1
        return n

    def alarm(self, code, running):
        """An alarm was raised (motor already stopped): arm the pressure
        relief for a pressure alarm while infusing, cancel it for others."""
        if code > _A_PRESSURE_HARD_LIMIT:
            self.relief_left = 0
        elif running:
            self.relief_left = self.stored_steps + _RELIEF_SLACK
            self.relieved = 0

    def relieve(self, motor, tick_ms):
        """ALARM after an occlusion: back the plunger off until the pressure
        is within _RELIEF_MARGIN of the baseline, at most the steps pushed
        since it was last there plus the backlash (never more: no
        aspiration). True when done (the pump journals it)."""
        n = self.relief_left
        d = self.filtered - (self._ba >> _BASE)
        if n > 0 and d > _RELIEF_MARGIN:
            # slowly near the end: the fast filter lags the back-off by 8
            # ticks, which at full speed overshoots 14 mmHg on 1 uL/mmHg
            m = _RELIEF_STEPS if d > _NEAR else 1
            if m > n:
                m = n
            motor.set_direction(False)
            motor.move(m, tick_ms)
            self.relieved += m
            self.stored_steps -= m
            self.relief_left = (n - m) or -1   # finish at the next tick
            return False
        motor.stop()
        motor.set_direction(True)
        self.relief_left = 0
        return True

    def update(self, p, delivering):
        """Feed one sample; returns an alarm code or 0. Allocation-free."""
        self._fa += p - (self._fa >> _FAST)
        f = self._fa >> _FAST
        self.filtered = f
        self._sa += p - (self._sa >> _SLOW)
        s = self._sa >> _SLOW
        if f > self.hard:
            self.tripped = True
            return _A_PRESSURE_HARD_LIMIT
        base = self._ba >> _BASE
        ph = self.phase
        alarm = 0
        if not delivering:
            self.burst = 0
            if ph > 1:
                self.phase = 1
            if self.tripped and f - base > self.suspect:
                alarm = _A_OCCLUSION_DOWNSTREAM
            return alarm
        self._t += 1
        ms = self._t * self.tick_ms
        if ph == 0:     # settle
            if self.stored_steps == -_RELIEF_SLACK:     # the start level
                self._ba = (p + _LAG) << _BASE
            if ms >= _WIN_MS:
                self._t = 0
                if s - self._p1 < _STABLE and s > _SETTLE_MIN:
                    self.phase = 1
                    self.opened()
                self._p1 = s
            # no open line sits there (the fast filter: at 150 mL/h a small
            # compliance rises 40 mmHg/s, the slow one lags 250 mmHg); below
            # the ceiling, which is for the catheter's own flow drop
            lim = _SETTLE_MAX + self.q * self._flow
            if lim > self.hard - (self.hard >> 2):
                lim = self.hard - (self.hard >> 2)
            if f > lim:
                alarm = _A_OCCLUSION_DOWNSTREAM
        elif ph == 2:   # probe: push until the pressure rose by `probe`
            if f - self._p1 >= self.probe or self._t >= _BURST_TICKS:
                self.phase = 3
                self.burst = -1
                self._t = 0
                self._p1 = 0
                self._acc = 0
        elif ph == 3:   # hold: does it decay?
            if ms <= _PEAK_MS:
                self._p1 += p
            elif ms > _HOLD_MS - _TAIL_MS:
                self._acc += p
            if ms >= _HOLD_MS:
                self.burst = 0
                self.phase = 1
                tick = self.tick_ms
                if (self._p1 // (_PEAK_MS // tick) - self._acc // (_TAIL_MS // tick)
                        >= (self.probe >> 3)):
                    self.opened()
                elif self._tries or self.q:
                    alarm = _A_OCCLUSION_DOWNSTREAM
                else:           # a line below the patient's pressure (valve
                    self._tries = 1     # closed) opens by a second probe
                    self._probe(f)
        elif f - base > self.delta:
            alarm = _A_OCCLUSION_DOWNSTREAM
        else:           # monitor
            r = s - base
            probing = not self.q
            if r < _FREEZE:
                if r < 0:
                    self._ba += r << 4
                elif not probing:
                    self._ba += r
                self.stored_steps = 0
            elif not probing:
                self._ba += r >> 4
            if r > self.suspect and probing:
                self._probe(f)
        if alarm:
            self.tripped = True
        return alarm
