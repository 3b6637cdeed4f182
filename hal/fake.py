"""A self-contained fake HAL for device-side tests (MicroPython and CPython).

No plant physics: the pressure reads whatever the test sets, the motor emits
commanded steps at once (unless told to stall), storage is a bytearray. The
clock starts close to the 2**30 wrap so every long test crosses it. The simple
sensors and panel share one `FakeBoard` object (their method names do not
collide) to keep the small test heap free for the firmware.
"""
from hal import Hal
from hal.board_state import BoardState
from hal.file_storage import FileStorage
from hal.ticks import WrappingClock

_TICKS_START = 0x3FFFFFFF - 5000   # close to the wrap: every long test crosses it


class FakeMotor:
    def __init__(self):
        self.enabled = False
        self.forward = True
        self.pos = 0
        self.stalled = False

    def enable(self, on):
        self.enabled = on

    def set_direction(self, forward):
        self.forward = forward

    def move(self, steps, window_ms):
        if not self.stalled and self.enabled:
            self.pos += steps if self.forward else -steps

    def stop(self):
        pass

    def position(self):
        return self.pos

    def is_moving(self):
        return False


class FakeBoard(BoardState):
    """Pressure, air, syringe, indicators, watchdog and power in one; the
    plunger follows the motor and the pressure dithers by one count."""

    def __init__(self):
        BoardState.__init__(self, raw=3000 + 4000 * 90 // 100,   # 90 mmHg, default calibration
                            travel_um=100000)                     # at motor position 0
        self.motor = None
        self.dither = 0           # a live sensor is never perfectly still: +-1 count
        self.leds = bytearray(4)  # one entry per colour, for the tests to read

    def read_raw(self):
        self.dither ^= 1
        return self.raw + self.dither

    def plunger_travel_um(self):
        return self.travel_um - (self.motor.pos * 25 >> 6)   # 0.390625 um per microstep

    def led(self, color, on):
        self.leds[color] = 1 if on else 0


class FakeStorage:
    def __init__(self, size=2048):
        mem = bytearray(size)     # erased NV reads 0xff; no size-long temporary
        for i in range(size):
            mem[i] = 0xFF
        self.mem = mem

    def size(self):
        return len(self.mem)

    def readinto(self, offset, buf):
        mem = self.mem
        for i in range(len(buf)):
            buf[i] = mem[offset + i]
        return len(buf)

    def write(self, offset, data):
        mem = self.mem
        for i in range(len(data)):
            mem[offset + i] = data[i]


class FakeSerial:
    """`write_limit`: accept at most this many bytes per write call (None: all),
    as a UART with a full transmit buffer does; `writes` counts the calls."""

    def __init__(self, write_limit=None):
        self.rx = bytearray()
        self.tx = bytearray()
        self.write_limit = write_limit
        self.writes = 0

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        if not n:
            return 0          # nothing waiting: no new buffer (a link polls every tick)
        for i in range(n):
            buf[i] = self.rx[i]
        self.rx = self.rx[n:]
        return n

    def write(self, data):
        self.writes += 1
        n = len(data)
        lim = self.write_limit
        if lim is not None and n > lim:
            n = lim
            data = data[:n]
        self.tx.extend(data)
        return n


def make_fake_hal(storage_size=2048, nv_path=None):
    """`storage_size`: bytes of NV, a bytearray on the test's heap (tests
    read and corrupt `storage.mem`), or with `nv_path` a file of that size
    (FileStorage)."""
    b = FakeBoard()
    b.motor = FakeMotor()
    nv = FakeStorage(storage_size) if nv_path is None else FileStorage(nv_path, storage_size)
    return Hal(WrappingClock(_TICKS_START), b.motor, b, b, b, nv, FakeSerial(), b, b, b)
