"""Hardware abstraction layer: the device's whole view of the hardware.

The firmware receives one `Hal` bundle and touches hardware only through it.
Backends (`hal.fake`, `hal.sim`, `hal.rp2`, ...) provide the small interfaces
documented in `hal.interfaces`; they duck-type them rather than subclass, which
keeps the device heap small (MicroPython has no abc anyway). A host test
checks every backend implements every method of the contract.
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
