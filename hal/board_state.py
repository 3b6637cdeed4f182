"""The simple sensors and the panel of a board, as plain state.

Pressure, air, syringe, power, indicators and watchdog in one object whose
method names do not collide. The fake HAL (device tests) and the MicroPython
bridge (firmware in a separate process, mirrored from the simulator) both hold
the board this way; they differ only in how the state is filled in, so each
overrides the one or two readings it derives.
"""


class BoardState:
    def __init__(self, raw=0, travel_um=0):
        self.raw = raw
        self.air = False
        self.is_present = True
        self.clamp = True
        self.travel_um = travel_um
        self.mains = True
        self.mv = 4100
        self.leds = 0             # bit per colour (hal.LED_*)
        self.buzzing = False
        self.feeds = 0
        self.timeout_ms = 0

    def read_raw(self):
        return self.raw

    def air_present(self):
        return self.air

    def present(self):
        return self.is_present

    def clamp_closed(self):
        return self.clamp

    def plunger_travel_um(self):
        return self.travel_um

    def on_mains(self):
        return self.mains

    def battery_mv(self):
        return self.mv

    def led(self, color, on):
        if on:
            self.leds |= 1 << color
        else:
            self.leds &= ~(1 << color)

    def buzzer(self, on):
        self.buzzing = bool(on)

    def start(self, timeout_ms):
        self.timeout_ms = timeout_ms

    def feed(self):
        self.feeds += 1
