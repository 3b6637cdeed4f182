"""Launcher for the small-heap scripted run (`micropython -X heapsize=N -m
gate_scripted_run`, N = tools/mpy_gate.SCRIPTED_RUN_HEAP; inside the board
image, frozen: `import gate_scripted_run; gate_scripted_run.run(None)`).

On a small heap of a 64-bit build, fragmentation decides whether the imports
fit: qstr pools and dicts grow by doubling and need contiguous blocks. So this
tiny module imports the big ones first and collects the import garbage
between them. firmware.pump (and everything it imports) goes first, on an
empty heap: importing hal.fake before it cost about 5.5 KB more peak heap
(measured by bisecting -X heapsize: 65.4 KB against 59.8 KB at the same
commit). Then soak_boot boots and programs the pump and leaves the heap, and
soak_ticks runs the ticks: the heap holds one test script at a time.
"""
import gc
import sys


def run(nv_path='soak_nv.bin'):
    """The scripted run; True if it passed. `nv_path` None: the NV is a
    bytearray (a board image has no file system)."""
    gc.threshold(1024)  # collect import garbage early: less fragmentation
    import firmware.pump  # noqa: F401
    gc.collect()
    import hal.fake  # noqa: F401
    gc.collect()
    import firmware.loop  # noqa: F401
    gc.collect()
    try:
        import soak_boot
        running = soak_boot.boot(nv_path)
        del soak_boot
        del sys.modules['soak_boot']
        gc.collect()
        import soak_ticks
        soak_ticks.run(*running)
        return True
    except Exception as e:  # one line of verdict for the gate, then the detail
        sys.print_exception(e)
        print('0 passed, 1 failed')
        return False


if __name__ == '__main__' and not run():
    sys.exit(1)
