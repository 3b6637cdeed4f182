"""Hardware abstraction layer: the device's whole view of the hardware.

The firmware receives one `Hal` bundle and touches hardware only through it.
Backends provide the small interfaces documented in `hal.interfaces`: a
board's own in `boards/<name>/hal.py` (the bridge board's mirrors the
simulator over two pipes), `hal.fake` (device tests and benches, no plant),
and the simulator's in-process one (`simulator/runtime/sim_hal.py`, host
side). They duck-type the interfaces rather than subclass, which keeps the
device heap small (MicroPython has no abc anyway); a host test checks every
backend implements every method of the contract. Shared pieces: the wrapping
clock (`hal.ticks`), NV in a file (`hal.file_storage`), a motor whose steps
a plant emits over the next tick (`hal.pending_motor`), sensor and panel
state set from outside (`hal.board_state`).
"""

LED_RED = 0
LED_YELLOW = 1
LED_CYAN = 2
LED_GREEN = 3


class Hal:
    """The bundle handed to the firmware."""

    def __init__(self, clock, motor, pressure, air, syringe, storage, serial,
                 indicators, watchdog, power):
        self.clock = clock
        self.motor = motor
        self.pressure = pressure
        self.air = air
        self.syringe = syringe
        self.storage = storage
        self.serial = serial
        self.indicators = indicators
        self.watchdog = watchdog
        self.power = power
