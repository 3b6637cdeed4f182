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
    and the firmware modules it names in its UNLOAD_WITH tuple (what it
    imports for itself), then leave the heap again: a board with the
    bytecode in RAM does not carry them. On CPython nothing is unloaded."""
    mod = __import__('firmware.' + name, None, None, (fn,))
    try:
        return getattr(mod, fn)(*args)
    finally:
        if sys.implementation.name == 'micropython':
            import firmware
            for m in (name,) + getattr(mod, 'UNLOAD_WITH', ()):
                sys.modules.pop('firmware.' + m, None)
                if hasattr(firmware, m):
                    delattr(firmware, m)
