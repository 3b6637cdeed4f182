"""Streaming frame decoder: bytes in, validated frames out, never raises.

Why streaming and preallocated: on the device bytes arrive one at a time
from a UART; the decoder un-stuffs COBS as they come into one buffer sized
for the largest frame, so feeding a byte that does not end a frame
allocates nothing (checked under micropython.heap_lock in the device tests).
On 0x00 it checks length, CRC-32, version and header consistency, in that
order.  Any failure is counted by kind and the partial frame is dropped: the
next 0x00 starts afresh, which is how the link resynchronises after noise.

Runs on MicroPython 1.29 and CPython 3.11.
"""

import binascii

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from protocol.frame import Frame

# Private copies of frame.py's sizes and flags: MicroPython folds private
# consts into the bytecode, so the per-byte path does no global lookups and
# the module keeps no extra globals.  A test checks they equal frame.py's.
_VERSION = const(1)
_HEADER_LEN = const(7)
_CRC_LEN = const(4)
_TRAILER_LEN = const(20)
_MAX_PAYLOAD = const(256)
_FLAG_AUTH = const(0x02)
_FLAGS_KNOWN = const(0x0F)

# Error kinds, as keys of Decoder.counts().
ERR_CRC = "crc"
ERR_COBS = "cobs"
ERR_TOO_LONG = "too_long"
ERR_SHORT = "short"
ERR_BAD_HEADER = "bad_header"
ERR_BAD_VERSION = "bad_version"
ERROR_KINDS = (ERR_CRC, ERR_COBS, ERR_TOO_LONG, ERR_SHORT, ERR_BAD_HEADER,
               ERR_BAD_VERSION)


class Decoder:
    """Streaming COBS + CRC + header decoder with bounded, preallocated state.

    * ``feed_byte(b)`` -> Frame or None: the device path; allocates nothing
      unless ``b`` is 0x00 and completes a valid frame.
    * ``feed_into(data, handler)`` -> number of frames: calls
      ``handler(frame)`` for each valid frame in ``data``; the frame views
      the decoder's buffer and is valid during the call only.
    * ``feed(data)`` -> list of detached Frame copies (host convenience);
      ``data`` may be an int (one byte) or any buffer.

    Bad input never raises: it is counted by kind (``counts()``) and dropped
    up to the next 0x00.  Empty frames (0x00 0x00) are ignored silently so a
    sender may emit a 0x00 before a frame to flush a partial one.
    """

    def __init__(self, max_payload=_MAX_PAYLOAD):
        self.max_payload = max_payload
        self._cap = _HEADER_LEN + max_payload + _TRAILER_LEN + _CRC_LEN
        self._buf = bytearray(self._cap)
        self._mv = memoryview(self._buf)
        self.frame = Frame()
        self.frames_ok = 0
        self.err_crc = 0
        self.err_cobs = 0
        self.err_too_long = 0
        self.err_short = 0
        self.err_bad_header = 0
        self.err_bad_version = 0
        self.reset()

    def reset(self):
        """Drop any partial frame (counters are kept)."""
        self._n = 0          # decoded bytes in _buf
        self._remaining = 0  # data bytes left in the current COBS block
        self._block = 0xFF   # code of the current block (0xFF: no implied 0)
        self._started = False
        self._discard = False

    def counts(self):
        """Error counters by kind, plus ``ok`` for accepted frames."""
        return {
            "ok": self.frames_ok,
            ERR_CRC: self.err_crc,
            ERR_COBS: self.err_cobs,
            ERR_TOO_LONG: self.err_too_long,
            ERR_SHORT: self.err_short,
            ERR_BAD_HEADER: self.err_bad_header,
            ERR_BAD_VERSION: self.err_bad_version,
        }

    def errors(self):
        """Total of all error counters."""
        return (self.err_crc + self.err_cobs + self.err_too_long + self.err_short
                + self.err_bad_header + self.err_bad_version)

    def feed_byte(self, b):
        """Feed one byte (int 0..255); return the completed Frame or None."""
        if b == 0:
            return self._end()
        if self._discard:
            return None
        if self._remaining == 0:
            # code byte: the block before it (if not a full 0xFF block)
            # ended with an implied 0x00 that is real data
            if self._started and self._block != 0xFF:
                if self._n >= self._cap:
                    self._discard = True
                    return None
                self._buf[self._n] = 0
                self._n += 1
            self._started = True
            self._block = b
            self._remaining = b - 1
            return None
        if self._n >= self._cap:
            self._discard = True
            return None
        self._buf[self._n] = b
        self._n += 1
        self._remaining -= 1
        return None

    def feed_into(self, data, handler):
        """Feed a buffer; call ``handler(frame)`` per valid frame."""
        count = 0
        fb = self.feed_byte
        for b in data:
            if b == 0:
                f = self._end()
                if f is not None:
                    count += 1
                    handler(f)
            else:
                fb(b)
        return count

    def feed(self, data):
        """Feed an int or a buffer; return detached copies of valid frames."""
        out = []
        if type(data) is int:
            f = self.feed_byte(data)
            if f is not None:
                out.append(f.copy())
            return out
        for b in data:
            f = self.feed_byte(b)
            if f is not None:
                out.append(f.copy())
        return out

    def _end(self):
        # Called on 0x00: close the frame in progress.
        n = self._n
        started = self._started
        discard = self._discard
        remaining = self._remaining
        self.reset()
        if discard:
            self.err_too_long += 1
            return None
        if not started:
            return None  # empty frame: idle / flush delimiter
        if remaining != 0:
            self.err_cobs += 1
            return None
        return self._check(n)

    def _check(self, n):
        buf = self._buf
        if n < _HEADER_LEN + _CRC_LEN:
            self.err_short += 1
            return None
        body = n - _CRC_LEN
        rx = buf[body] | (buf[body + 1] << 8) | (buf[body + 2] << 16) | (buf[body + 3] << 24)
        mv = self._mv
        if binascii.crc32(mv[:body]) != rx:
            self.err_crc += 1
            return None
        if buf[0] != _VERSION:
            self.err_bad_version += 1
            return None
        flags = buf[4]
        length = buf[5] | (buf[6] << 8)
        tlen = _TRAILER_LEN if flags & _FLAG_AUTH else 0
        if length > self.max_payload:
            self.err_too_long += 1
            return None
        if (flags & ~_FLAGS_KNOWN) or _HEADER_LEN + length + tlen != body:
            self.err_bad_header += 1
            return None
        f = self.frame
        f.version = buf[0]
        f.msg_type = buf[1]
        f.seq = buf[2] | (buf[3] << 8)
        f.flags = flags
        end = _HEADER_LEN + length
        f.payload = mv[_HEADER_LEN:end]
        f.trailer = mv[end:body] if tlen else None
        f.raw = mv[:body]
        self.frames_ok += 1
        return f
