"""Authentication trailer for therapy-changing commands.

A command that changes therapy carries, after its payload and before the
CRC, a 20-byte trailer::

    counter u32 (little-endian) | mac[16]
    mac = HMAC-SHA256(key, header' | payload | counter)[:16]

where ``header'`` is the 7-byte frame header as sent (FLAG_AUTH set) with the
FLAG_RETRY bit cleared, so a retry resends the same trailer.  128 bits of MAC
follow RFC 2104's advice (at least half the hash, at least 80 bits).

Why a counter: the device accepts a counter only if it is strictly greater
than the last accepted one, which defeats replay of a captured START or
PROGRAM_LOAD.  The host learns the device's last accepted counter from
DEVICE_INFO.auth_counter and continues above it; the firmware must persist
``Verifier.last_counter`` (see SPEC.md).

Which types need it is decided by ``messages.requires_auth``; PAUSE and STOP
never do, because stopping delivery must always be possible.

Runs on MicroPython 1.29 and CPython 3.11.
"""

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from protocol.hmac_sha256 import HmacKey, compare_digest
from protocol import frame as _frame
from protocol import codes as _codes

MAC_LEN = const(16)
TRAILER_LEN = const(20)        # == frame.AUTH_TRAILER_LEN (checked by a test)
_COUNTER_LEN = const(4)
_HEADER_LEN = const(7)
_FLAG_AUTH = const(0x02)
_FLAG_RETRY = const(0x04)
_COUNTER_MAX = const(0xFFFFFFFF)


def _mac(key, hdr, version, msg_type, seq, flags, payload, counter_bytes):
    # hdr: 7-byte scratch; RETRY masked, AUTH forced so signer and verifier
    # agree on the bytes whatever the caller passed.
    flags = (flags & ~_FLAG_RETRY) | _FLAG_AUTH
    _frame.pack_header_into(hdr, 0, version, msg_type, seq, flags, len(payload))
    return key.digest((hdr, payload, counter_bytes))[:MAC_LEN]


class Signer:
    """Host side: produce auth trailers with a strictly increasing counter.

    ``counter`` is the last counter used; start it at the device's
    DEVICE_INFO.auth_counter.
    """

    def __init__(self, key, counter=0):
        self._key = HmacKey(key)
        self._hdr = bytearray(_HEADER_LEN)
        self.counter = counter

    def sign(self, msg_type, seq, flags, payload=b"", version=_frame.VERSION):
        """Return the 20-byte trailer for a new frame (uses the next counter)."""
        if self.counter >= _COUNTER_MAX:
            raise _codes.ProtocolError(_codes.NAK_LIMIT, "auth counter exhausted: rotate the key")
        self.counter += 1
        c = self.counter
        cb = bytes((c & 0xFF, (c >> 8) & 0xFF, (c >> 16) & 0xFF, (c >> 24) & 0xFF))
        return cb + _mac(self._key, self._hdr, version, msg_type, seq, flags,
                         payload, cb)

    def encode(self, msg_type, seq, payload=b"", flags=0):
        """Sign and encode; return (wire bytes, trailer).

        Keep the trailer to retry: ``frame.encode_frame(t, seq,
        flags | FLAG_AUTH | FLAG_RETRY, payload, trailer)``.
        """
        flags = (flags & ~_FLAG_RETRY) | _FLAG_AUTH
        trailer = self.sign(msg_type, seq, flags, payload)
        return _frame.encode_frame(msg_type, seq, flags, payload, trailer), trailer

    def __repr__(self):
        return "Signer(counter=%d)" % self.counter


class Verifier:
    """Device side: check an auth trailer; the key never leaves this object.

    ``check(frame)`` returns 0 when the frame is authentic and fresh (and
    then records its counter), else a NAK reason:

    * NAK_AUTH_REQUIRED - no trailer
    * NAK_BAD_AUTH      - MAC mismatch (wrong key or altered frame)
    * NAK_REPLAY        - counter equal to the last accepted one
    * NAK_STALE_COUNTER - counter below the last accepted one

    The MAC is checked before the counter, so a forger learns nothing about
    the counter.  The firmware journals non-zero results and persists
    ``last_counter`` after each acceptance.
    """

    def __init__(self, key, last_counter=0):
        self._key = HmacKey(key)
        self._hdr = bytearray(_HEADER_LEN)
        self.last_counter = last_counter
        self.last_rejected_counter = None

    def check(self, frame):
        """Verify a decoded ``frame.Frame``; return 0 or a NAK reason."""
        return self.check_parts(frame.version, frame.msg_type, frame.seq,
                                frame.flags, frame.payload, frame.trailer)

    def check_parts(self, version, msg_type, seq, flags, payload, trailer):
        """Same as check() on the individual fields."""
        if trailer is None or not (flags & _FLAG_AUTH) or len(trailer) != TRAILER_LEN:
            return _codes.NAK_AUTH_REQUIRED
        cb = bytes(trailer[0:_COUNTER_LEN])
        try:
            mac = _mac(self._key, self._hdr, version, msg_type, seq, flags, payload, cb)
        except _codes.ProtocolError:  # header fields out of range: cannot be authentic
            return _codes.NAK_BAD_AUTH
        if not compare_digest(mac, trailer[_COUNTER_LEN:TRAILER_LEN]):
            return _codes.NAK_BAD_AUTH
        counter = cb[0] | (cb[1] << 8) | (cb[2] << 16) | (cb[3] << 24)
        if counter == self.last_counter:
            self.last_rejected_counter = counter
            return _codes.NAK_REPLAY
        if counter < self.last_counter:
            self.last_rejected_counter = counter
            return _codes.NAK_STALE_COUNTER
        self.last_counter = counter
        return 0

    def __repr__(self):
        return "Verifier(last_counter=%d)" % self.last_counter
