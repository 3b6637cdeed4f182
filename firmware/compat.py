"""Small shims so device code runs on both MicroPython and CPython."""
try:
    from micropython import const  # noqa: F401
except ImportError:  # CPython
    def const(x):
        return x

try:
    from micropython import heap_lock, heap_unlock  # noqa: F401
except ImportError:  # CPython: nothing to lock
    def heap_lock():
        return 0

    def heap_unlock():
        return 0
