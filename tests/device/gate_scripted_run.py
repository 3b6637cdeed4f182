"""Launcher for the small-heap scripted run (`micropython -X heapsize=N -m
gate_scripted_run`, N = tools/mpy_gate.SCRIPTED_RUN_HEAP).

On a small heap of a 64-bit build, fragmentation decides whether the imports
fit: qstr pools and dicts grow by doubling and need contiguous blocks. So this
tiny module imports the big ones first and collects the import garbage
between them, then hands over to the scripted run in soak_ticks.
firmware.pump (and everything it imports) goes first, on an empty heap:
importing hal.fake before it cost about 5.5 KB more peak heap (measured by
bisecting -X heapsize: 65.4 KB against 59.8 KB at the same commit).
"""
import gc
gc.threshold(1024)  # collect import garbage early: less fragmentation
import firmware.pump
gc.collect()
import hal.fake
gc.collect()
import firmware.loop
gc.collect()
import soak_ticks  # noqa: E402,F401  (runs on import)
