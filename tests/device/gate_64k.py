"""Launcher for the 64 KB-heap run (`micropython -X heapsize=64k -m gate_64k`).

On a 64 KB heap of a 64-bit build, fragmentation decides whether the imports
fit: qstr pools and dicts grow by doubling and need contiguous blocks. So this
tiny module imports the big ones first and collects the import garbage
between them, then hands over to the scripted run in soak_ticks.
"""
import gc
gc.threshold(1024)  # collect import garbage early: less fragmentation
import hal.fake
gc.collect()
import firmware.pump
gc.collect()
import firmware.loop
gc.collect()
import soak_ticks  # noqa: E402,F401  (runs on import)
