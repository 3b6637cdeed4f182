"""A millisecond clock that wraps at 2**30 as a board's time.ticks_ms(), moved
by whoever drives time (a test, the bridge's host, the simulator).

Every intermediate stays a small integer on a 32-bit port (small ints end at
2**30 - 1 there; a larger intermediate would allocate a long integer, which
heap_lock() turns into a MemoryError).
"""
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

_TICKS_MAX = const(0x3FFFFFFF)
_TICKS_HALF = const(0x20000000)


class WrappingClock:
    def __init__(self, start=0):
        self.now = start

    def ticks_ms(self):
        return self.now

    def ticks_diff(self, a, b):
        """a - b in -2**29 .. 2**29 - 1, across the wrap."""
        d = (a - b) & _TICKS_MAX
        if d >= _TICKS_HALF:
            d = d - _TICKS_HALF - _TICKS_HALF
        return d

    def ticks_add(self, t, delta_ms):
        """t + delta_ms, wrapped (|delta_ms| < 2**29)."""
        if delta_ms >= 0:
            t = t - _TICKS_HALF + delta_ms - _TICKS_HALF   # t + delta - 2**30
        else:
            t = t + delta_ms
        return t & _TICKS_MAX

    def advance(self, ms):
        self.now = self.ticks_add(self.now, ms)
