"""How fast the device's link can stream TELEMETRY (MicroPython or CPython).

The firmware's Link on the fake HAL, telemetry period forced to 1 ms (the
protocol's own minimum is 100 ms), the clock moved
1 ms per poll and a control tick every 100 ms: every poll encodes and
writes one STATUS frame, as a board does when asked to stream as fast as
it can. Prints one JSON line: frames, bytes, microseconds, frames/s, bytes/s.

  micropython -X heapsize=256k -m bench_telemetry [frames]   (in the .mpy dir)
"""
import sys
import json
import time

from hal.fake import make_fake_hal
from firmware.settings import Settings
from firmware.pump import Pump
from firmware.loop import Loop
from firmware.link import Link
from protocol.frame import encode_frame
from protocol import messages as M
from protocol import codes as C
from protocol.catalogue import TELEMETRY_MIN_PERIOD_MS

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
    pump = Pump(hal, Settings())
    loop = Loop(pump, hal.clock)
    hal.clock.advance(pump.tick_ms)
    loop.poll()                               # POST
    link = Link(pump, ser, b'k' * 32, link_timeout_ms=1000000)
    ser.rx.extend(encode_frame(C.TELEMETRY_STREAM, 1, 0, M.pack(
        C.TELEMETRY_STREAM, {'enable': 1, 'period_ms': TELEMETRY_MIN_PERIOD_MS})))
    link.poll()                               # ACK, stream on at the protocol's minimum
    # Capacity, not protocol: the wire format refuses periods under
    # TELEMETRY_MIN_PERIOD_MS (100 ms, 10 frames/s); to see what the link
    # could sustain, set the period the handler keeps to 1 ms.
    link._tele_period = 1
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
