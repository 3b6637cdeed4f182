"""Run every test_* function of tests/device/test_*.py under MicroPython.

Usage: tools/mpy_gate.py compiles the device modules and these tests into
build/mpy, copies this runner there and runs, inside build/mpy (so imports
load .mpy files, never sources):
  MICROPYPATH=. micropython -X heapsize=256k run_device_tests.py [name...]
Each test module is unloaded after its tests so the small heap holds one at a
time. Prints one line per failure and a closing 'N passed, M failed' line;
exits 1 on any failure. The same test files also run under pytest on CPython.
"""
import gc
import os
import sys

HERE = '.'


def main():
    only = sys.argv[1:]
    names = []
    for n in os.listdir(HERE):
        if n.startswith('test_') and n.endswith('.mpy') and (not only or n[:-4] in only):
            names.append(n[:-4])
    names.sort()
    passed = 0
    failed = 0
    base_modules = set(sys.modules)
    for modname in names:
        mod = __import__(modname)
        tests = [t for t in dir(mod) if t.startswith('test_')]
        tests.sort()
        for t in tests:
            gc.collect()
            try:
                getattr(mod, t)()
                passed += 1
            except Exception as e:  # report and go on
                failed += 1
                print('FAIL %s.%s: %s %s' % (modname, t, type(e).__name__, e))
                sys.print_exception(e)
        mod = None
        for k in list(sys.modules):
            if k not in base_modules:
                del sys.modules[k]
        gc.collect()
    print('%d passed, %d failed' % (passed, failed))
    sys.exit(1 if failed else 0)


main()
