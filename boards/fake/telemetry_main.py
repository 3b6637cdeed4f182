"""How fast the device's link can stream TELEMETRY (MicroPython or CPython).

The firmware's Link on the fake HAL, TELEMETRY_STREAM period 0 (as fast as
the line takes), on a serial that takes everything (no line limit), the
clock moved 1 ms per poll and a control tick every 100 ms: every poll
encodes and writes a burst of telemetry frames (firmware.link.TELE_BURST),
as a board does when asked to stream as fast as it can and the line keeps
up. What a real 115200 line allows is measured on a paced UART model by
`pumpsim bench link` (telemetry_paced). Prints one JSON line: frames, bytes, microseconds, frames/s, bytes/s.

  micropython -X heapsize=256k -m boards.fake.telemetry_main [frames]   (in the .mpy dir)
"""
import sys
import json
import time

from hal.fake import make_fake_hal
from firmware.settings import Settings
from boards.fake.hwdef import SETTINGS
from firmware.boot import boot
from firmware.link import Link
from protocol.frame import encode_frame
from protocol import messages as M
from protocol import codes as C

if hasattr(time, 'ticks_us'):
    def _now():
        return time.ticks_us()

    def _since(t0):
        return time.ticks_diff(time.ticks_us(), t0)
else:
    def _now():
        return time.perf_counter()

    def _since(t0):
        return int((time.perf_counter() - t0) * 1000000)


class CountingSerial:
    """Accepts everything, keeps only the count (an ideal, fast UART)."""

    def __init__(self):
        self.rx = bytearray()
        self.n = 0
        self.frames = 0

    def readinto(self, buf):
        n = len(self.rx)
        if n > len(buf):
            n = len(buf)
        if n:
            buf[:n] = self.rx[:n]
            self.rx = self.rx[n:]
        return n

    def write(self, data):
        self.n += len(data)
        self.frames += 1
        return len(data)


def main(n):
    hal = make_fake_hal()
    ser = CountingSerial()
    hal.serial = ser
    pump, loop, _cal = boot(hal, Settings(**SETTINGS))
    hal.clock.advance(pump.tick_ms)
    loop.poll()                               # POST
    link = Link(pump, ser, b'k' * 32, link_timeout_ms=1000000)
    ser.rx.extend(encode_frame(C.TELEMETRY_STREAM, 1, 0, M.pack(
        C.TELEMETRY_STREAM, {'enable': 1, 'period_ms': 0})))
    link.poll()                               # ACK, stream on as fast as the line takes
    ser.n = ser.frames = 0
    adv = hal.clock.advance
    poll = link.poll
    lp = loop.poll
    t0 = _now()
    for i in range(n):
        adv(1)
        lp()                                  # the control tick when due (every 100 ms)
        poll()
    us = _since(t0)
    us = us if us > 0 else 1
    print(json.dumps({'implementation': sys.implementation.name, 'frames': ser.frames,
                      'bytes': ser.n, 'us': us,
                      'frames_per_s': ser.frames * 1000000 // us,
                      'bytes_per_s': ser.n * 1000000 // us}))


if __name__ == '__main__':
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
