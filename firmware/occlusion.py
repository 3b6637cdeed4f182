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
   tick) down fast (1/256 per tick). At probing rates (a syringe: under one
   whole step per tick, `q` == 0; a peristaltic head, whose step is 15.6 nL:
   under a quarter of its burst, `_probe_q`) it never follows it up: only a
   probe that decays re-bases it, so no ramp, however slow, is absorbed
   (0.004 mmHg/s at 0.04 mL/h into 3 uL/mmHg). Above, it follows up within 3 mmHg (about
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
   A peristaltic head starts no probe while one is repaid (its line looks
   suspect every 10-20 min at 0.1 mL/h: the bursts would outrun the
   schedule), except on a rise of twice `suspect` while less than a
   whole probe (12 s of burst) is ahead.
   Above one step a tick (the peristaltic head) a decayed probe re-bases at
   the level where it began: the hold let the line sink toward the trough
   and the flow lifts it back there.
4. fast path: fast pressure more than `occlusion_delta` above the baseline
   alarms at once (high rates, where no probe is made).
5. relief (ALARM after a pressure alarm): back off 1.7 uL a tick (1/8 of
   it over the last 20 mmHg) to the baseline, or lower to the floor (the
   lowest level the open line sat at lately: before a re-base, in a pause,
   in a hold; never under 30 mmHg), at most the steps pushed since the line
   was last there and 1.5 times what the blocked line's own rise says the
   gap holds; a line never seen open goes back to its start pressure.
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

# codes from pumphost.codes (private: no heap; tests/test_device_codes.py checks them)
# codes: generated by tools/gen_codes.py from firmware/codes.yaml
_A_OCCLUSION_DOWNSTREAM = const(1)
_A_PRESSURE_HARD_LIMIT = const(2)
# end codes

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
_RELIEF_PL = const(1736560)  # relief after an occlusion alarm: 1.7 uL a tick (8 steps of 50 mL)
_RELIEF_SLACK = const(64)   # plus backlash (moves no fluid)
_RELIEF_MARGIN = const(30)  # x10 mmHg above baseline: relieved
_LAG = const(30)        # x10 mmHg: start-level baseline above the start (filter lag)
_NEAR = const(200)      # x10 mmHg: the last 20 mmHg of relief one step a tick
_FLOOR = const(15)      # floor: follows the baseline up over 2**15 ticks (55 min)


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
        # probes below this many whole steps per tick. A syringe's step is
        # coarse (one a tick is 7.8 mL/h on 50 mL, 2.3 on 10 mL): it probes
        # below one. A peristaltic head's is fine (15.6 nL: one a tick is
        # 0.56 mL/h), so "under one step" would leave it the fast path alone
        # at HAI rates (100 mmHg x 3 uL/mmHg takes 610 s at 1.77 mL/h): it
        # probes up to a quarter of its burst (16 steps, 9 mL/h), where the
        # burst still outruns the schedule and the fast path is quick
        self._probe_q = (self._burst >> 2) if settings.pump_kind else 1
        self._peri = bool(settings.pump_kind)
        # relief speed by volume, whatever the step: 1/8 of it near the end
        self._relief_max = _RELIEF_PL // settings.step_pl or 1
        self._relief = 1        # this relief's steps per tick, and near the end
        self._relief_near = 1
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
        self.q = 0              # whole steps per tick (pump): probes below _probe_q
        self.burst = 0          # > 0: steps to push this tick; < 0: hold the motor
        self.stored_steps = 0   # pushed since the line was last at baseline
        self._fl = 0            # floor << _FLOOR: the lowest the open line sat lately
        self.floor_steps = 0    # pushed since the line was last at the floor
        self._target = 0        # relief: back to this pressure, x10 mmHg
        self._pre = 0           # slow pressure when the probe began, x10 mmHg
        self._raw = 0           # the last sample, x10 mmHg (relief: no filter lag)
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
        f = self.filtered
        if not self.learned:
            # first seen open since start: a line already pressurised at
            # start (a new syringe or program on a primed line) was at its
            # resting level then; the fill or the rise since may have stopped
            # higher. Below 30 mmHg it was not pressurised: no floor from it
            st = (self._ba >> _BASE) - _LAG
            if _SETTLE_MIN < st < f:
                self._fl = st << _FLOOR
                self.floor_steps = self.stored_steps + _RELIEF_SLACK
            else:
                self._fl = f << _FLOOR
                self.floor_steps = 0
        self.learned = True
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
        if (not (self.phase or self.learned) and self.q >= self._probe_q
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
        self._pre = 0

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
        self._pre = self._sa >> _SLOW
        self.phase = 2
        self._t = 0
        self._p1 = f
        self.burst = self._burst

    def baseline_x10(self):
        return self._ba >> _BASE

    def internals(self):
        """For tools, never the tick: (slow-filtered pressure, probe
        reference pressure, both x10 mmHg; ms into the phase)."""
        return self._sa >> _SLOW, self._p1, self._t * self.tick_ms

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
            n = self.stored_steps
            self._target = self._ba >> _BASE
            fl = self._fl >> _FLOOR
            r = self.filtered - self._target
            if self.learned and fl < self._target and r > 0:
                # down to the floor (the line's level before a re-base, or
                # during a pause or a hold: nearer the arterial trough, so
                # less left to reach the patient once the line clears): at
                # most what was pushed since the line was last there, nor
                # more than 1.5 times what the blocked line's own stiffness
                # (steps stored per mmHg of its rise) says the gap holds
                extra = n + (((n << 4) // r * (self._target - fl) * 3) >> 5)
                if extra > self.floor_steps:
                    extra = self.floor_steps
                if extra > n:
                    n = extra
                self._target = fl
            elif self._probe_q > 1:
                # a peristaltic head slips back against the pressure while
                # pushing: its steps overstate what went into a line never
                # seen open (from 0 mmHg), so an eighth is left (no backlash)
                n -= n >> 3
            self.relief_left = n + _RELIEF_SLACK
            self.relieved = 0
            # the speed: 1.7 uL a tick, but no more than 1.7 mmHg a tick by
            # the blocked line's own stiffness (soft peristaltic tubing, 0.5
            # uL/mmHg, would fall 3.4 mmHg a tick: 27 mmHg past the lagging
            # fast filter), 1/8 of it over the last 20 mmHg
            m = self._relief_max
            if r > 0 and self.stored_steps > 0:
                k = ((self.stored_steps << 4) // r * 17) >> 4
                if k < m:
                    m = k or 1
            self._relief = m
            self._relief_near = (m >> 3) or 1

    def relieve(self, motor, tick_ms):
        """ALARM after an occlusion: back the plunger off until the pressure
        is within _RELIEF_MARGIN of the baseline, at most the steps pushed
        since it was last there plus the backlash (never more: no
        aspiration). True when done (the pump journals it)."""
        n = self.relief_left
        d = self.filtered - self._target
        r = self._raw - self._target
        # near zero gauge (a line never seen open, from an unprimed start)
        # the sample may stop it too: the lagging filter would overshoot
        if n > 0 and d > _RELIEF_MARGIN and (r > _RELIEF_MARGIN or self._target >= _SETTLE_MIN):
            # slowly near the end, judged on the sample: the fast filter
            # lags the back-off by 8 ticks, which at full speed is 14 mmHg
            # on 1 uL/mmHg and 27 on soft 0.5 uL/mmHg peristaltic tubing
            m = self._relief if r > _NEAR else self._relief_near
            if m > n:
                m = n
            motor.set_direction(False)
            motor.move(m, tick_ms)
            self.relieved += m
            self.stored_steps -= m
            self.floor_steps -= m
            self.relief_left = (n - m) or -1   # finish at the next tick
            return False
        motor.stop()
        motor.set_direction(True)
        self.relief_left = 0
        return True

    def _floor(self, s, base):
        """The floor: the lowest slow pressure of the open line (a pause or
        a probe's hold lets it sink toward the arterial trough), following
        the baseline up over about an hour; floor_steps restarts while the
        line is there. Never below 30 mmHg: no artery sits lower."""
        if s < _SETTLE_MIN:
            s = _SETTLE_MIN
        fl = self._fl >> _FLOOR
        if s < fl:
            self._fl = s << _FLOOR
            fl = s
        else:
            self._fl += base - fl
        if s - fl <= _RELIEF_MARGIN:
            self.floor_steps = 0

    def update(self, p, delivering):
        """Feed one sample; returns an alarm code or 0. Allocation-free."""
        self._raw = p
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
        if self.learned and not self.tripped:
            self._floor(s, base)
        if not delivering:
            self.burst = 0
            if ph > 1:
                self.phase = 1
            if self.tripped and f - base > self.suspect:
                alarm = _A_OCCLUSION_DOWNSTREAM
            return alarm
        self._t += 1
        # ms only where _t is bounded (settle window, hold): in the monitor
        # phase _t runs for the whole course (14 days: 1.2e9 ms, not a small int)
        if ph == 0:     # settle
            ms = self._t * self.tick_ms
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
            ms = self._t * self.tick_ms
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
                    if self.q and self._pre > f:
                        # probing above one step a tick (a peristaltic
                        # head): the hold let the line sink to the patient's
                        # trough, the flow lifts it back to where the probe
                        # began, which is the open line's level: based there,
                        # or that return is the next probe's rise
                        self._sa = self._pre << _SLOW
                        self._ba = self._pre << _BASE
                elif self._tries or self.q >= self._probe_q:
                    alarm = _A_OCCLUSION_DOWNSTREAM
                else:           # a line below the patient's pressure (valve
                    self._tries = 1     # closed) opens by a second probe
                    self._probe(f)
        elif f - base > self.delta:
            alarm = _A_OCCLUSION_DOWNSTREAM
        else:           # monitor
            r = s - base
            probing = self.q < self._probe_q
            if r < _FREEZE:
                if r < 0:
                    self._ba += r << 4
                elif not probing:
                    self._ba += r
                self.stored_steps = 0
            elif not probing:
                self._ba += r >> 4
            # a peristaltic head not while the last probe is repaid: never
            # more than one probe ahead of the schedule (its slipping,
            # pulsing line looks suspect every 10-20 min at 0.1 mL/h, a
            # probe is 21 uL, 13 min of schedule, repaid over 50 min).
            # Except on a rise of twice the suspect level while less than
            # a whole probe (12 s of burst) is ahead: an occlusion during a
            # repayment, which the fast path at 3/4 rate catches late (40
            # min at 0.1 mL/h into 0.5 uL/mmHg, hours into 3). At most two
            # probes ahead. The syringe keeps its own behaviour
            c = self.credit
            if r > self.suspect and probing and (
                    c <= 0 or not self._peri
                    or (r > (self.suspect << 1) and c < _BURST_TICKS * self._burst)):
                self._probe(f)
        if alarm:
            self.tripped = True
        return alarm
