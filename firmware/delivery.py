"""Rate to microsteps with exact integer arithmetic.

Each control tick of `tick_ms` owes rate_nl_h * tick_ms / 3600 picolitres,
i.e. N/D microsteps with N = rate_nl_h * tick_ms and D = 3600 * step_pl. The
fraction is reduced once when the rate changes (that may allocate: big ints);
per tick only q = N // D and the remainder r = N % D are used, with an
accumulator kept below D. So after n ticks exactly floor(n * N / D) steps have
been scheduled: no drift over any course length, and every value touched in
the tick stays below 2**30 (a small int on every board) because D < 2**30 is
checked by `set_rate`.

`Course` is where a started program stands: the one owner of the program
position. That is the step (index, ramp sub-step, cycle repeats, when a
pause step ends), the motor steps left in it, the cumulative programmed
volume and its motor steps (rounded down once per step, so the whole course
is within one microstep under the programme, never over it), and the count
of what was given: steps commanded, volume delivered and its sub-nL
remainder. The Pump drives it (`begin`, `next`, `give`, `moved`,
`end_step`); the start-up fill's push and hold count through `moved` and
`give`; the checkpoint reads its public fields, write-ahead, every moving
tick; recovery puts a checkpointed position back with `restore`. Nobody else
writes them. `give` and `moved` run in the control tick (allocation-free,
small ints); `next`, `begin` and `restore` at transitions (big ints allowed).
It shares this module with the scheduler it drives: a module of its own
costs the 64 KB device heap about 0.5 KB more (docs/architecture.md).
"""

from firmware.compat import const

SMALL_INT_LIMIT = 1 << 30


def gcd(a, b):
    while b:
        a, b = b, a % b
    return a


class StepScheduler:
    def __init__(self, tick_ms, step_pl):
        self.tick_ms = tick_ms
        self.step_pl = step_pl
        self.rate_nl_h = 0
        self._q = 0
        self._r = 0
        self._d = 1
        self._acc = 0

    def set_rate(self, rate_nl_h):
        """Change the rate, keeping the fractional step already owed.
        Returns the whole steps per tick at the new rate."""
        num = rate_nl_h * self.tick_ms
        den = 3600 * self.step_pl
        g = gcd(num, den) if num else den
        num //= g
        den //= g
        if den >= SMALL_INT_LIMIT:
            raise ValueError('step volume too large for exact scheduling')
        # carry the owed fraction acc/d over to the new denominator
        self._acc = (self._acc * den) // self._d
        self._q = num // den
        self._r = num % den
        self._d = den
        self.rate_nl_h = rate_nl_h
        return self._q

    def reset_phase(self):
        self._acc = 0

    def next_steps(self):
        """Steps to emit during the coming tick. Allocation-free."""
        n = self._q
        r = self._r
        if r:
            room = self._d - r
            if self._acc >= room:
                self._acc -= room
                n += 1
            else:
                self._acc += r
        return n

    def phase(self):
        """The fraction of a step owed (over the reduced denominator): the
        checkpoint keeps it, so a restored course does not lose it."""
        return self._acc

    def restore_phase(self, acc):
        """Put a checkpointed phase back, if it fits the current rate."""
        if acc < self._d:
            self._acc = acc


def _interp(t, span, q):
    """Table `t` (one entry per `span` steps, periodic) at step q."""
    i = q // span
    a = t[i]
    b = t[i + 1] if i + 1 < len(t) else t[0]
    return a + (b - a) * (q - i * span) // span


class Compensation:
    """Where the carriage really is over the shaft's turn, as the calibration
    bench measured it (the record: firmware/calibration.py; the method:
    docs/accuracy.md): a lead-screw table over one revolution and a
    microstep table over one electrical cycle (4 full steps), in 1/256
    microstep, linearly interpolated. The carriage at shaft count p stands
    at 256 p + error(p); `steps(n)` gives the motor steps that move it n
    calibrated steps on from where the last move left it, keeping the
    rounding in `rem`. The correction is a position, not a rate: nothing
    adds up over a revolution, and motor steps stay within
    2 * max|entry| / 256 + 1 of the volume's steps over any course (the
    calibration module refuses an entry beyond its band). Small ints,
    allocation-free."""

    def __init__(self, rev, screw, cyc, ustep):
        self.rev = rev           # microsteps per shaft revolution
        self.screw = screw       # error at len(screw) phases over a revolution
        self.sspan = rev // len(screw)
        self.cyc = cyc           # microsteps per electrical cycle
        self.ustep = ustep
        self.uspan = cyc // len(ustep)
        self.phase = 0           # shaft count mod rev
        self.rem = 0             # carriage target less where it is, 1/256 step

    def sync(self, pos):
        """Motion (re)starts at shaft count `pos`: the carriage is where it
        is (at a transition: `pos` may be a big int)."""
        self.phase = pos % self.rev
        self.rem = 0

    def turn(self, n):
        """The shaft turned n steps forward."""
        p = self.phase + n
        while p >= self.rev:
            p -= self.rev
        self.phase = p

    def error(self, p):
        """Carriage error at shaft phase p (>= 0), 1/256 step."""
        while p >= self.rev:
            p -= self.rev
        return _interp(self.screw, self.sspan, p) + _interp(self.ustep, self.uspan, p % self.cyc)

    def steps(self, n):
        """Motor steps (>= 0) that move the carriage n steps."""
        p = self.phase
        e0 = self.error(p)
        d = (n << 8) + self.rem + e0
        m = (d - self.error(p + n) + 128) >> 8
        if m < 0:
            m = 0
        self.rem = d - (m << 8) - self.error(p + m)
        return m


# codes from pumphost.codes (private: no heap; tests/test_device_codes.py checks them)
# codes: generated by tools/gen_codes.py from firmware/codes.yaml
_S_RUNNING = const(3)
_S_BOLUS = const(8)
_S_KVO = const(9)
_S_DWELL = const(10)
_S_SYRINGE_CHANGE = const(11)
_T_TO_RUN = const(12)
_T_TO_BOLUS = const(13)
_T_TO_KVO = const(14)
_T_TO_DWELL = const(15)
_T_TO_SYRINGE = const(16)
_K_RAMP = const(2)
_K_PAUSE = const(4)
_K_SYRINGE = const(6)
_K_CYCLE = const(7)
# end codes

# state and trigger a step kind runs in (index = kind; 0 and CYCLE never run)
_KIND_STATE = (_S_RUNNING, _S_RUNNING, _S_RUNNING, _S_BOLUS, _S_DWELL, _S_KVO, _S_SYRINGE_CHANGE, _S_RUNNING)
_KIND_TRIG = (_T_TO_RUN, _T_TO_RUN, _T_TO_RUN, _T_TO_BOLUS, _T_TO_DWELL, _T_TO_KVO, _T_TO_SYRINGE, _T_TO_RUN)


class Course:
    def __init__(self, sched, occlusion):
        self.sched = sched           # its step_pl is the course's
        self.occlusion = occlusion   # told the whole steps per tick and the steps moved
        self.steps = ()          # the started program's steps
        self.index = 0           # current step
        self.rate_nl_h = 0       # the current step's (or ramp sub-step's) rate
        self.left = 0            # motor steps left in the current step
        self.want = _S_RUNNING   # the state the current step runs in
        self.trig = _T_TO_RUN    # and the trigger that goes there
        self.sub = 0             # ramp sub-step
        self.cyc_at = -1         # the cycle step whose repeat count is loaded
        self.cyc_left = 0
        self.dwell_end = 0       # uptime_s when a pause step ends
        self.cum_nl = 0          # programmed volume up to the current step
        self.cum_steps = 0       # its motor steps (rounded once: no drift)
        self.steps_commanded = 0  # forward microsteps commanded this program
        self.delivered_nl = 0    # plunger-side volume, from steps
        self.pl_rem = 0          # pL given but not yet a whole nL
        self.comp = None         # the calibrated Compensation, or None: nominal

    def begin(self, steps, uptime_s):
        """A program starts: its first step, nothing given yet."""
        self.steps = steps
        self.index = 0
        self.steps_commanded = 0
        self.delivered_nl = 0
        self.pl_rem = 0
        self.sched.reset_phase()
        self.cum_nl = 0
        self.cum_steps = 0
        self.cyc_at = -1
        self.enter(uptime_s, 0)

    def enter(self, uptime_s, sub):
        """Enter step `index` (ramp sub-step `sub`): its state, rate and
        volume, or when a pause ends."""
        from firmware import program as P
        s = self.steps[self.index]
        kind = s[0]
        self.want = _KIND_STATE[kind]
        self.trig = _KIND_TRIG[kind]
        self.sub = sub
        if kind == _K_RAMP:
            r, v = P.ramp_sub(s, sub)
            self._rate_volume(r, v)
        elif kind == _K_PAUSE or kind == _K_SYRINGE:
            self.left = 0
            self.rate_nl_h = 0
            self.dwell_end = uptime_s + s[3]
        else:
            self._rate_volume(s[1], s[2])

    def next(self, uptime_s):
        """The current step (or ramp sub-step) is done: go to the next one,
        through cycles (firmware.dose_limits.walk checks the same order).
        Returns False when the program has no step left (nothing changed)."""
        from firmware import program as P
        steps = self.steps
        i = self.index
        s = steps[i]
        if s[0] == _K_RAMP and self.sub + 1 < P.ramp_parts(s[3]):
            self.enter(uptime_s, self.sub + 1)
            return True
        n = len(steps)
        while True:
            i += 1
            if i >= n or steps[i][0] != _K_CYCLE:
                break
            arg = steps[i][4]
            if self.cyc_at != i:
                self.cyc_at = i
                self.cyc_left = arg & 0xFFFF
            if self.cyc_left:
                self.cyc_left -= 1
                i = (arg >> 16) - 1
        if i >= n:
            return False
        self.index = i
        self.enter(uptime_s, 0)
        return True

    def _rate_volume(self, rate, volume_nl):
        # motor steps from the cumulative programmed volume, rounded down once
        self.cum_nl += volume_nl
        t = self.cum_nl * 1000 // self.sched.step_pl
        self.left = t - self.cum_steps
        self.cum_steps = t
        self.rate_nl_h = rate
        self.occlusion.q = self.sched.set_rate(rate)   # whole steps per tick

    def give(self, n):
        """`n` steps of the current step given (moved, or counted by the
        fill's hold): fewer steps left, more volume delivered. Allocation-free."""
        self.left -= n
        self.pl_rem += n * self.sched.step_pl
        q = self.pl_rem // 1000
        self.delivered_nl += q
        self.pl_rem -= q * 1000

    def moved(self, n):
        """`n` forward steps commanded to the motor (delivery or the fill's
        push): the stall check expects them (Pump.tick), the occlusion check
        counts them into the line."""
        self.steps_commanded += n
        self.occlusion.stored_steps += n
        if self.comp is not None:
            self.comp.turn(n)

    def end_step(self):
        """The current step is over (a syringe change confirmed): delivery
        goes on with the next step, from RUNNING."""
        self.want = _S_RUNNING
        self.trig = _T_TO_RUN
        self.left = 0

    def restore(self, steps, index, sub, dwell_end, cum_nl, cum_steps, left,
                cyc_at, cyc_left, pl_rem, delivered_nl, steps_commanded):
        """Put a checkpointed position back (boot, firmware.recovery, which
        has checked it against the program): the step entered for its state
        and rate, then the counts as they were. `steps` is () when the
        program is lost: the counts only."""
        self.delivered_nl = delivered_nl
        self.steps_commanded = steps_commanded
        if steps:
            self.steps = steps
            self.index = index
            self.enter(0, sub)
            self.dwell_end = dwell_end
            self.cum_nl = cum_nl
            self.cum_steps = cum_steps
            self.left = left
            self.cyc_at = cyc_at
            self.cyc_left = cyc_left
            self.pl_rem = pl_rem
