"""Codec speed: telemetry frames per second, encode and decode.

Runs unchanged on CPython and MicroPython, from the repo root:

    python boards/fake/codec_main.py [frames]
    MICROPYPATH=. micropython boards/fake/codec_main.py [frames]

Why: the device streams TELEMETRY every period and decodes every byte from
the UART in bytecode; this shows the headroom on each runtime.  It prints
numbers only: no timing is asserted anywhere (machines differ).
"""

import sys

try:
    _here = __file__.replace("\\", "/")
    _root = (_here.rsplit("/", 1)[0] if "/" in _here else ".") + "/../.."
    if _root not in sys.path:
        sys.path.append(_root)
except NameError:
    pass

import time  # noqa: E402

from protocol import codes, messages  # noqa: E402
from protocol.decoder import Decoder  # noqa: E402
from protocol.frame import Encoder, MAX_WIRE, FLAG_EVENT, FLAG_AUTH  # noqa: E402
from protocol.auth import Signer, Verifier  # noqa: E402

if hasattr(time, "ticks_us"):
    def _now_us():
        return time.ticks_us()

    def _elapsed_us(t0):
        return time.ticks_diff(time.ticks_us(), t0)
else:
    def _now_us():
        return time.perf_counter()

    def _elapsed_us(t0):
        return int((time.perf_counter() - t0) * 1000000)


def _rate(n, us):
    return (n * 1000000) // (us if us > 0 else 1)


def main(argv):
    n = int(argv[1]) if len(argv) > 1 else 2000
    enc = Encoder()
    dec = Decoder()
    out = bytearray(MAX_WIRE)
    payload = bytearray(26)
    alarms = ((0x0101, 3), (0x0203, 1))
    got = [0]

    def on_frame(f):
        got[0] += 1

    # encode only
    t0 = _now_us()
    for i in range(n):
        messages.pack_status_into(payload, 0, 4, 1770000, 8850000 + i, 72750000 - i,
                                  1125, 18000 + i, alarms)
        k = enc.encode_into(out, 0, codes.TELEMETRY, i & 0xFFFF, FLAG_EVENT, payload)
    t_enc = _elapsed_us(t0)
    wire = bytes(out[:k])

    # decode only (feed_into over the whole frame)
    t0 = _now_us()
    for i in range(n):
        dec.feed_into(wire, on_frame)
    t_dec = _elapsed_us(t0)

    # encode + decode + unpack, the full round trip
    got[0] = 0
    t0 = _now_us()
    for i in range(n):
        messages.pack_status_into(payload, 0, 4, 1770000, i, 72750000, 1125, i, alarms)
        k = enc.encode_into(out, 0, codes.TELEMETRY, i & 0xFFFF, FLAG_EVENT, payload)
        for j in range(k):
            f = dec.feed_byte(out[j])
        messages.unpack(f.msg_type, f.payload)
    t_rt = _elapsed_us(t0)
    assert dec.errors() == 0

    # signed command: sign + encode + decode + verify
    key = b"hai-pump-test-key-do-not-deploy!"
    s, v = Signer(key), Verifier(key)
    m_auth = max(1, n // 4)
    t0 = _now_us()
    for i in range(m_auth):
        tr = s.sign(codes.START, i & 0xFFFF, FLAG_AUTH, b"")
        k = enc.encode_into(out, 0, codes.START, i & 0xFFFF, FLAG_AUTH, b"", tr)
        for j in range(k):
            f = dec.feed_byte(out[j])
        assert v.check(f) == 0
    t_auth = _elapsed_us(t0)

    impl = sys.implementation.name
    print("runtime: %s %s" % (impl, ".".join([str(x) for x in sys.implementation.version[:3]])))
    print("telemetry frame: %d payload bytes, %d wire bytes" % (len(payload), len(wire)))
    print("encode (pack_status_into + Encoder): %d frames/s" % _rate(n, t_enc))
    print("decode (Decoder.feed_into):          %d frames/s" % _rate(n, t_dec))
    print("encode+decode+unpack (feed_byte):    %d frames/s" % _rate(n, t_rt))
    print("signed START sign+encode+decode+verify: %d frames/s" % _rate(m_auth, t_auth))
    return 0


if __name__ == "__main__":
    main(sys.argv)
