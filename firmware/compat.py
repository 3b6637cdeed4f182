"""Small shims so device code runs on both MicroPython and CPython."""
import sys

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


def call_transient(name, fn, *args):
    """firmware.<name>.<fn>(*args) for code the tick never runs (load-time
    checks, encodings, the state table's rows). On MicroPython the module,
    and any firmware module it imported for the first time, then leave the
    heap again: a board with the bytecode in RAM does not carry them. On
    CPython nothing is unloaded."""
    before = tuple(sys.modules) if sys.implementation.name == 'micropython' else None
    mod = __import__('firmware.' + name, None, None, (fn,))
    try:
        return getattr(mod, fn)(*args)
    finally:
        if before is not None:
            import firmware
            for m in tuple(sys.modules):
                if m == 'firmware.' + name or (m.startswith('firmware.') and m not in before):
                    del sys.modules[m]
                    if hasattr(firmware, m[9:]):
                        delattr(firmware, m[9:])
