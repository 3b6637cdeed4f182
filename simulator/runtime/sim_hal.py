"""HAL backend bound in-process to simulator objects.

The firmware sees exactly the interfaces of `hal.interfaces`; behind them sit
a plant (duck-typed: pressure_raw(), syringe_present, clamp_closed,
plunger_travel_um(), position_steps, air) and a virtual clock. Steps the
firmware commands with move() are handed to the plant by the runner over the
following interval: that is the lockstep between firmware tick and physics.
"""
from hal import Hal
from hal.pending_motor import PendingStepMotor
from hal.ticks import WrappingClock

TICKS_MAX = (1 << 30) - 1


class VirtualClock(WrappingClock):
    """The board's wrapping ticks, plus the simulated milliseconds elapsed
    (which never wrap: the watchdog and the paced UART measure with them)."""

    def __init__(self, start_ticks=TICKS_MAX - 10000):
        WrappingClock.__init__(self, start_ticks)
        self.elapsed_ms = 0

    def advance(self, ms):
        WrappingClock.advance(self, ms)
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
    """The device's serial port. Unpaced (default): write takes everything.

    Paced (`baud` and `now_ms`, a callable giving milliseconds of simulated
    or real time): a UART with a `tx_buffer`-byte transmit buffer that the
    line drains at baud/10 bytes per second (8N1: 10 bits a byte; 115200
    baud -> 11,520 B/s). write() accepts only what fits in the buffer and
    returns that count, so the firmware sees backpressure as on a board.
    Accepted bytes go to `from_device` at once (the host side reads them
    from there); `delivered()` is what has left the wire by now."""

    def __init__(self, baud=None, now_ms=None, tx_buffer=256):
        self.to_device = bytearray()
        self.from_device = bytearray()
        self.bytes_per_s = baud // 10 if baud else 0
        self.tx_buffer = tx_buffer
        self._now = now_ms
        self._t = None
        self._queued_milli = 0     # bytes still in the transmit buffer, x1000
        self.accepted = 0          # bytes taken by write()
        self.offered = 0           # bytes offered to write()
        if self.bytes_per_s and now_ms is None:
            raise ValueError('a paced SimSerial needs now_ms')

    def readinto(self, buf):
        n = min(len(buf), len(self.to_device))
        buf[:n] = self.to_device[:n]
        del self.to_device[:n]
        return n

    def _drain(self):
        t = self._now()
        if self._t is not None and t > self._t:
            q = self._queued_milli - (t - self._t) * self.bytes_per_s   # ms x B/s = milli-bytes
            self._queued_milli = q if q > 0 else 0
        self._t = t

    def queued(self):
        """Bytes accepted but not yet on the wire."""
        if not self.bytes_per_s:
            return 0
        self._drain()
        return (self._queued_milli + 999) // 1000

    def delivered(self):
        return self.accepted - self.queued()

    def write(self, data):
        n = len(data)
        self.offered += n
        if self.bytes_per_s:
            room = self.tx_buffer - self.queued()
            if n > room:
                n = room if room > 0 else 0
            self._queued_milli += n * 1000
        self.from_device.extend(data[:n] if n < len(data) else data)
        self.accepted += n
        return n


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
