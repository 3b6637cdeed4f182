"""First half of the small-heap scripted run (tools/mpy_gate.SCRIPTED_RUN_HEAP):
boot the firmware on the fake HAL and program 1.77 mL/h through the
device's own checks, as a board's main.py does. gate_scripted_run unloads
this module before soak_ticks runs the ticks, so the run's heap holds the
firmware, not two test scripts.
"""
import gc

from hal.fake import make_fake_hal
from firmware.pump import Pump
from firmware.loop import Loop
from firmware.settings import Settings
from firmware.program import Program
from firmware.compat import const

# a private copy of pumphost.codes.K_CONTINUOUS (tests/test_device_codes.py
# checks it): importing pumphost.codes would put every code name on this heap
_K_CONTINUOUS = const(1)

RATE_NL_H = 1773913


def boot():
    """(hal, pump, loop, heap free before any of them): running the program."""
    gc.collect()
    free0 = gc.mem_free()
    # NV as on a board: an 8 KB FRAM (NV map, a 364-record journal ring,
    # calibration), outside the heap: a file here
    hal = make_fake_hal(storage_size=8192, nv_path='soak_nv.bin')
    pump = Pump(hal, Settings())
    loop = Loop(pump, hal.clock)
    hal.clock.advance(100)
    loop.poll()
    assert pump.state_name() == 'IDLE', pump.last_error
    prog = Program([(_K_CONTINUOUS, RATE_NL_H, 40000000)])
    assert pump.load(prog) == 0, pump.last_error
    assert pump.confirm(prog.digest()) == 0
    assert pump.start() == 0
    return hal, pump, loop, free0
