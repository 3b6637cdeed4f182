"""The HAL contract: small interfaces the firmware programs against.

Each class documents one piece of hardware. Backends provide the same methods
(duck typing; they need not import this module, which keeps it off the device
heap). All values are integers with
the unit in the name. Every method is non-blocking: the control tick calls them
and must never wait.

Why these shapes:
- The motor takes "N microsteps spread over the next window" instead of a step
  frequency, so the firmware's integer step scheduler owns timing and the board
  backend only has to turn (steps, window) into a step train (PIO, timer).
  `position()` reads back what was really emitted, so lost steps are visible.
- The pressure sensor returns raw ADC counts: calibration (zero, span) lives in
  the firmware and in non-volatile storage, not in the backend.
- Ticks wrap (2**30 on boards); the clock owns the wrap, so the firmware always
  compares ticks with the clock's `ticks_diff`.
"""


class Clock:
    """Monotonic millisecond ticks that wrap like `time.ticks_ms()`."""

    def ticks_ms(self):
        raise NotImplementedError

    def ticks_diff(self, a, b):
        """Signed a - b, correct across one wrap."""
        raise NotImplementedError

    def ticks_add(self, t, delta_ms):
        raise NotImplementedError


class Motor:
    """Stepper driver with step counter readback."""

    def enable(self, on):
        """Energise (True) or release (False) the driver."""
        raise NotImplementedError

    def set_direction(self, forward):
        """True pushes the plunger (delivers); False backs it off."""
        raise NotImplementedError

    def move(self, steps, window_ms):
        """Emit `steps` microsteps (>= 0) evenly over the next `window_ms`.

        Replaces whatever was pending. The step rate is steps*1000/window_ms.
        """
        raise NotImplementedError

    def stop(self):
        """Stop emitting at once and drop pending steps. Must be safe to call
        at any time, from any state, repeatedly."""
        raise NotImplementedError

    def position(self):
        """Signed count of microsteps actually emitted (forward positive)."""
        raise NotImplementedError

    def is_moving(self):
        raise NotImplementedError


class PressureSensor:
    """Downstream (patient side) line pressure."""

    def read_raw(self):
        """Raw ADC counts 0..65535. Out-of-range or stuck values are the
        firmware's business to detect."""
        raise NotImplementedError


class AirSensor:
    """Ultrasonic air-in-line detector at the pump outlet."""

    def air_present(self):
        """True while the sensor sees air instead of liquid."""
        raise NotImplementedError


class Syringe:
    """Syringe presence, plunger clamp and plunger travel sensor."""

    def present(self):
        raise NotImplementedError

    def clamp_closed(self):
        raise NotImplementedError

    def plunger_travel_um(self):
        """Plunger travel left before the syringe is empty, micrometres."""
        raise NotImplementedError


class Storage:
    """Byte-addressed non-volatile storage (flash file, FRAM, EEPROM)."""

    def size(self):
        raise NotImplementedError

    def readinto(self, offset, buf):
        """Fill `buf` from `offset`; returns the number of bytes read."""
        raise NotImplementedError

    def write(self, offset, data):
        """Write `data` at `offset`. A power cut may tear a write: callers
        protect records with CRCs."""
        raise NotImplementedError


class Serial:
    """Byte link to a host (USB CDC or UART)."""

    def readinto(self, buf):
        """Copy what is waiting into `buf`; returns count, 0 when nothing.
        Never blocks."""
        raise NotImplementedError

    def write(self, data):
        """Queue bytes; returns how many were accepted (may be fewer)."""
        raise NotImplementedError


class Indicators:
    """Alarm LEDs and buzzer. Patterns are timed by the firmware."""

    def led(self, color, on):
        """color: one of hal.LED_RED, LED_YELLOW, LED_CYAN, LED_GREEN."""
        raise NotImplementedError

    def buzzer(self, on):
        raise NotImplementedError


class Watchdog:
    def start(self, timeout_ms):
        raise NotImplementedError

    def feed(self):
        raise NotImplementedError


class Power:
    def on_mains(self):
        raise NotImplementedError

    def battery_mv(self):
        raise NotImplementedError


# name of each Hal attribute -> the interface its backend object implements
CONTRACT = {
    'clock': Clock, 'motor': Motor, 'pressure': PressureSensor, 'air': AirSensor,
    'syringe': Syringe, 'storage': Storage, 'serial': Serial,
    'indicators': Indicators, 'watchdog': Watchdog, 'power': Power,
}
