"""Rate to microsteps with exact integer arithmetic.

Each control tick of `tick_ms` owes rate_nl_h * tick_ms / 3600 picolitres,
i.e. N/D microsteps with N = rate_nl_h * tick_ms and D = 3600 * step_pl. The
fraction is reduced once when the rate changes (that may allocate: big ints);
per tick only q = N // D and the remainder r = N % D are used, with an
accumulator kept below D. So after n ticks exactly floor(n * N / D) steps have
been scheduled: no drift over any course length, and every value touched in
the tick stays below 2**30 (a small int on every board) because D < 2**30 is
checked by `set_rate`.
"""

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
