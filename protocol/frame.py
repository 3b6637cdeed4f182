"""Frame layer: header + payload [+ auth trailer] + CRC-32, COBS, 0x00.

Wire form of one frame (see SPEC.md)::

    COBS( header(7) | payload(len) | [trailer(20) if FLAG_AUTH] | crc32(4) ) 0x00

    header = version u8, type u8, seq u16, flags u8, len u16   (little-endian)
    crc32  = binascii.crc32(header | payload | trailer), little-endian

Why these choices:

* COBS lets 0x00 delimit frames, so a receiver that joins mid-stream or sees
  line noise loses at most the frame in progress and resynchronises at the
  next 0x00.
* CRC-32 (ISO-HDLC, exactly ``binascii.crc32``) exists natively on both
  runtimes, so the device does not run a CRC loop in bytecode, and it keeps
  Hamming distance 5 up to ~2974 bits, which covers the largest frame.
* The length field is redundant with the COBS delimiter; it is checked so a
  frame whose CRC collides is still very unlikely to be accepted.
* The streaming decoder is in ``protocol.decoder`` (kept apart so each
  module compiles within a small MicroPython heap).

Runs on MicroPython 1.29 and CPython 3.11.
"""

import binascii
import struct

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from protocol import cobs
from protocol.codes import ProtocolError, NAK_BAD_PAYLOAD, NAK_LIMIT

VERSION = const(1)
HEADER_FMT = "<BBHBH"
HEADER_LEN = const(7)
CRC_LEN = const(4)
AUTH_TRAILER_LEN = const(20)     # u32 counter + 16-byte truncated HMAC
MAX_PAYLOAD = const(256)
# Largest unencoded frame: header + payload + trailer + crc.
MAX_RAW = const(287)
# Worst-case COBS size of MAX_RAW bytes (n + n // 254 + 1), no delimiter.
MAX_ENCODED = const(289)
# Worst-case bytes on the wire for one frame, delimiter included.
MAX_WIRE = const(290)

FLAG_REPLY = const(0x01)   # device reply to the command with the same seq
FLAG_AUTH = const(0x02)    # an auth trailer follows the payload
FLAG_RETRY = const(0x04)   # resend of a command already sent with this seq
FLAG_EVENT = const(0x08)   # unsolicited device frame (telemetry stream)
FLAGS_KNOWN = const(0x0F)  # other bits must be zero


def _check_u(name, value, hi):
    # struct.pack on MicroPython silently truncates: check first.
    # type() and not isinstance(): True must not pass as 1 on CPython either.
    if type(value) is not int or value < 0 or value > hi:
        raise ProtocolError(NAK_LIMIT, "%s out of range 0..%d: %r" % (name, hi, value))


def pack_header_into(buf, pos, version, msg_type, seq, flags, length):
    """Range-check and write the 7-byte header at ``buf[pos:]``."""
    _check_u("version", version, 0xFF)
    _check_u("msg_type", msg_type, 0xFF)
    _check_u("seq", seq, 0xFFFF)
    _check_u("flags", flags, FLAGS_KNOWN)
    _check_u("length", length, MAX_PAYLOAD)
    struct.pack_into(HEADER_FMT, buf, pos, version, msg_type, seq, flags, length)


class Frame:
    """One decoded frame.

    Fields: ``version``, ``msg_type``, ``seq``, ``flags``, ``payload``
    (memoryview or bytes), ``trailer`` (20 bytes or None), ``raw``
    (header + payload + trailer, CRC excluded).  A frame handed out by a
    Decoder views the decoder's buffer and is valid only until the next byte
    is fed: call ``copy()`` to keep it.
    """

    def __init__(self, msg_type=0, seq=0, flags=0, payload=b"", trailer=None,
                 version=VERSION, raw=None):
        self.version = version
        self.msg_type = msg_type
        self.seq = seq
        self.flags = flags
        self.payload = payload
        self.trailer = trailer
        self.raw = raw

    def copy(self):
        """Detached copy whose buffers are bytes."""
        return Frame(self.msg_type, self.seq, self.flags, bytes(self.payload),
                     None if self.trailer is None else bytes(self.trailer),
                     self.version, None if self.raw is None else bytes(self.raw))

    def __repr__(self):
        return "Frame(type=0x%02x, seq=%d, flags=0x%02x, len=%d%s)" % (
            self.msg_type, self.seq, self.flags, len(self.payload),
            ", auth" if self.trailer is not None else "")


class Encoder:
    """Frame encoder writing into a caller's bytearray without allocating.

    Header, payload, trailer and CRC are assembled in one preallocated
    scratch buffer and COBS-encoded from there.
    """

    def __init__(self):
        self._hdr = bytearray(HEADER_LEN)
        self._raw = bytearray(MAX_RAW)
        self.buf = bytearray(MAX_WIRE)

    def encode_into(self, out, pos, msg_type, seq, flags, payload=b"",
                    trailer=None, version=VERSION):
        """Encode one frame plus its 0x00 delimiter into ``out[pos:]``.

        Returns the end position.  ``out`` needs MAX_WIRE free bytes for the
        largest frame.  FLAG_AUTH must be set exactly when ``trailer`` is
        given.  Raises ProtocolError on out-of-range arguments.
        """
        n = len(payload)
        if n > MAX_PAYLOAD:
            raise ProtocolError(NAK_LIMIT, "payload %d bytes > %d" % (n, MAX_PAYLOAD))
        if (type(flags) is int and flags & FLAG_AUTH) != (0 if trailer is None else FLAG_AUTH):
            raise ProtocolError(NAK_BAD_PAYLOAD, "FLAG_AUTH must be set iff a trailer is given")
        if trailer is not None and len(trailer) != AUTH_TRAILER_LEN:
            raise ProtocolError(NAK_BAD_PAYLOAD, "auth trailer must be %d bytes" % AUTH_TRAILER_LEN)
        hdr = self._hdr
        raw = self._raw
        pack_header_into(hdr, 0, version, msg_type, seq, flags, n)
        crc = binascii.crc32(hdr)
        raw[0:HEADER_LEN] = hdr
        end = HEADER_LEN + n
        if n:
            crc = binascii.crc32(payload, crc)
            raw[HEADER_LEN:end] = payload
        if trailer is not None:
            crc = binascii.crc32(trailer, crc)
            raw[end:end + AUTH_TRAILER_LEN] = trailer
            end += AUTH_TRAILER_LEN
        raw[end] = crc & 0xFF
        raw[end + 1] = (crc >> 8) & 0xFF
        raw[end + 2] = (crc >> 16) & 0xFF
        raw[end + 3] = (crc >> 24) & 0xFF
        pos = cobs.encode_into(raw, out, pos, end + CRC_LEN)
        out[pos] = 0
        return pos + 1

    def encode(self, msg_type, seq, flags, payload=b"", trailer=None,
               version=VERSION):
        """Encode into ``self.buf``; return the number of wire bytes."""
        return self.encode_into(self.buf, 0, msg_type, seq, flags, payload,
                                trailer, version)


def encode_frame(msg_type, seq, flags, payload=b"", trailer=None, version=VERSION):
    """Return the wire bytes of one frame, 0x00 delimiter included."""
    enc = Encoder()
    n = enc.encode(msg_type, seq, flags, payload, trailer, version)
    return bytes(enc.buf[:n])
