"""A self-contained fake HAL for device-side tests (MicroPython and CPython).

No plant physics: the pressure reads whatever the test sets, the motor emits
commanded steps at once (unless told to stall), storage is a bytearray. The
clock starts close to the 2**30 wrap so every long test crosses it. The simple
sensors and panel share one `FakeBoard` object (their method names do not
collide) to keep the small test heap free for the firmware.
"""
from hal import Hal
from hal.board_state import BoardState

_TICKS_MAX = 0x3FFFFFFF
_TICKS_HALF = 0x20000000


class FakeClock:
    def __init__(self, start=_TICKS_MAX - 5000):
        self.now = start

    def ticks_ms(self):
        return self.now

    def ticks_diff(self, a, b):
        return ((a - b + _TICKS_HALF) & _TICKS_MAX) - _TICKS_HALF

    def ticks_add(self, t, delta_ms):
        return (t + delta_ms) & _TICKS_MAX

    def advance(self, ms):
        self.now = (self.now + ms) & _TICKS_MAX


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


class FileStorage:
    """NV in a file: a board's NV is its own chip (FRAM, flash), not on the
    heap, and neither is this; for runs that measure the firmware's heap.
    Starts erased (0xff)."""

    def __init__(self, path, size):
        ff = b'\xff' * 64   # written in blocks: no size-long temporary
        f = open(path, 'wb')
        for _ in range(size // 64):
            f.write(ff)
        f.write(ff[:size % 64])
        f.close()
        self.file = open(path, 'r+b')
        self._size = size

    def size(self):
        return self._size

    def readinto(self, offset, buf):
        f = self.file
        f.seek(offset)
        return f.readinto(buf)

    def write(self, offset, data):
        f = self.file
        f.seek(offset)
        f.write(data)


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
    return Hal(FakeClock(), b.motor, b, b, b, nv, FakeSerial(), b, b, b)
