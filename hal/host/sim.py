"""HAL backend bound in-process to simulator objects.

The firmware sees exactly the interfaces of `hal.interfaces`; behind them sit
a plant (duck-typed: pressure_raw(), syringe_present, clamp_closed,
plunger_travel_um(), position_steps, air) and a virtual clock. Steps the
firmware commands with move() are handed to the plant by the runner over the
following interval: that is the lockstep between firmware tick and physics.
"""
from hal import Hal
from hal.pending_motor import PendingStepMotor

TICKS_MAX = (1 << 30) - 1
TICKS_HALF = 1 << 29


class VirtualClock:
    """Millisecond ticks wrapping at 2**30 like a board's time.ticks_ms()."""

    def __init__(self, start_ticks=TICKS_MAX - 10000):
        self.elapsed_ms = 0
        self._start = start_ticks

    def ticks_ms(self):
        return (self._start + self.elapsed_ms) & TICKS_MAX

    def ticks_diff(self, a, b):
        return ((a - b + TICKS_HALF) & TICKS_MAX) - TICKS_HALF

    def ticks_add(self, t, delta_ms):
        return (t + delta_ms) & TICKS_MAX

    def advance(self, ms):
        self.elapsed_ms += ms


class SimMotor(PendingStepMotor):
    def __init__(self, plant):
        PendingStepMotor.__init__(self)
        self.plant = plant

    def position(self):
        return self.plant.position_steps


class SimPressure:
    def __init__(self, plant):
        self.read_raw = plant.pressure_raw


class SimAir:
    def __init__(self, plant):
        self.plant = plant

    def air_present(self):
        return getattr(self.plant, 'air_at_sensor', False)


class SimSyringe:
    def __init__(self, plant):
        self.plant = plant

    def present(self):
        return self.plant.syringe_present

    def clamp_closed(self):
        return self.plant.clamp_closed

    def plunger_travel_um(self):
        return self.plant.plunger_travel_um()


class PowerLoss(BaseException):
    """Raised out of a storage write that a simulated power cut tore: from
    there on the firmware's RAM is gone (BaseException: no firmware
    `except Exception` can swallow it). The runner reboots the board."""


class SimStorage:
    """Non-volatile memory that survives a simulated power cut.

    `cut_at_next_write = f` (0 <= f < 1) cuts the power in the middle of the
    next write: only its first int(f * len) bytes land (bytes are programmed
    in order, as on FRAM/EEPROM), then PowerLoss is raised."""

    def __init__(self, size=64 * 1024):
        self.mem = bytearray(b'\xff' * size)
        self.writes = 0
        self.cut_at_next_write = None
        self.torn_writes = []    # (offset, bytes landed, bytes asked) of each torn write

    def size(self):
        return len(self.mem)

    def readinto(self, offset, buf):
        n = len(buf)
        buf[:] = self.mem[offset:offset + n]
        return n

    def write(self, offset, data):
        self.writes += 1
        if self.cut_at_next_write is not None:
            n = int(self.cut_at_next_write * len(data))
            self.cut_at_next_write = None
            self.mem[offset:offset + n] = data[:n]
            self.torn_writes.append((offset, n, len(data)))
            raise PowerLoss('power cut during a %d-byte write at %d: %d bytes landed'
                            % (len(data), offset, n))
        self.mem[offset:offset + len(data)] = data


class SimSerial:
    def __init__(self):
        self.to_device = bytearray()
        self.from_device = bytearray()

    def readinto(self, buf):
        n = min(len(buf), len(self.to_device))
        buf[:n] = self.to_device[:n]
        del self.to_device[:n]
        return n

    def write(self, data):
        self.from_device.extend(data)
        return len(data)


class SimIndicators:
    def __init__(self):
        self.leds = [False] * 4
        self.buzzing = False

    def led(self, color, on):
        self.leds[color] = bool(on)

    def buzzer(self, on):
        self.buzzing = bool(on)


class SimWatchdog:
    def __init__(self, clock):
        self.clock = clock
        self.timeout_ms = 0
        self.last_feed_ms = 0

    def start(self, timeout_ms):
        self.timeout_ms = timeout_ms
        self.last_feed_ms = self.clock.elapsed_ms

    def feed(self):
        self.last_feed_ms = self.clock.elapsed_ms

    def expired(self):
        return self.timeout_ms and self.clock.elapsed_ms - self.last_feed_ms > self.timeout_ms


class SimPower:
    """Mains and battery, from the plant (faults `power`): mains, battery_mv."""

    def __init__(self, plant):
        self.plant = plant

    def on_mains(self):
        return getattr(self.plant, 'mains', True)

    def battery_mv(self):
        return int(getattr(self.plant, 'battery_mv', 4100))


def make_sim_hal(plant, clock=None, storage=None):
    clock = clock or VirtualClock()
    return Hal(clock, SimMotor(plant), SimPressure(plant), SimAir(plant), SimSyringe(plant),
               storage or SimStorage(), SimSerial(), SimIndicators(), SimWatchdog(clock),
               SimPower(plant))
