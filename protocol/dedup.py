"""Device-side duplicate filter: a retried command executes once.

Why: when a reply is lost the host resends the same command with the same
sequence number (and FLAG_RETRY).  Re-executing START or PROGRAM_LOAD twice,
or answering an authenticated retry with NAK replay, would both be wrong.
The device instead remembers the last few commands by (seq, type, length,
CRC-32 of header-with-RETRY-cleared + payload + trailer) and, for an exact
repeat that carries FLAG_RETRY or an auth trailer, resends the reply it
already sent.  A command that reuses a seq with different content, or a
plain unsigned repeat without FLAG_RETRY, is handled normally.

Use (before auth and execution)::

    cached = dedup.lookup(frame)
    if cached is not None: send(cached)  # memoryview of the old reply
    else:
        n = build_and_send_reply(...)
        dedup.store(frame, reply_buf, n)

Slots are preallocated; lookup() and store() allocate no buffers.
Runs on MicroPython 1.29 and CPython 3.11.
"""

import binascii

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

_MAX_WIRE = const(290)   # == frame.MAX_WIRE (checked by a test)
_FLAG_RETRY = const(0x04)


class DuplicateFilter:
    def __init__(self, slots=4, max_reply=_MAX_WIRE):
        self._n = slots
        self._seq = [-1] * slots
        self._type = [-1] * slots
        self._len = [-1] * slots
        self._fp = [0] * slots
        self._rlen = [0] * slots
        self._reply = [bytearray(max_reply) for _ in range(slots)]
        self._views = [memoryview(r) for r in self._reply]
        self._next = 0
        self._hdr = bytearray(5)
        self.hits = 0

    def _fingerprint(self, frame):
        # Header bytes 0..4 with RETRY masked (AUTH stays in: a signed and an
        # unsigned command differ); the length is compared separately.
        h = self._hdr
        h[0] = frame.version
        h[1] = frame.msg_type
        h[2] = frame.seq & 0xFF
        h[3] = frame.seq >> 8
        h[4] = frame.flags & ~_FLAG_RETRY
        crc = binascii.crc32(h)
        crc = binascii.crc32(frame.payload, crc)
        if frame.trailer is not None:
            crc = binascii.crc32(frame.trailer, crc)
        return crc

    def lookup(self, frame):
        """Return the cached reply (memoryview) for a duplicate, else None.

        Only a frame with FLAG_RETRY or an auth trailer can be a duplicate:
        a plain repeat of an unsigned command is executed afresh, so a host
        that restarts its seq numbering never gets a stale cached answer to
        STOP or PAUSE (SPEC.md section 5).
        """
        if not (frame.flags & _FLAG_RETRY) and frame.trailer is None:
            return None
        seq = frame.seq
        for i in range(self._n):
            if self._seq[i] == seq and self._type[i] == frame.msg_type \
                    and self._len[i] == len(frame.payload) \
                    and self._fp[i] == self._fingerprint(frame):
                self.hits += 1
                return self._views[i][:self._rlen[i]]
        return None

    def store(self, frame, reply, n=None):
        """Remember ``reply[:n]`` (wire bytes) as the answer to ``frame``."""
        if n is None:
            n = len(reply)
        i = self._next
        slot = self._reply[i]
        if n > len(slot):
            return  # not cacheable; a retry will be handled afresh
        slot[0:n] = reply[0:n] if n != len(reply) else reply
        self._rlen[i] = n
        self._seq[i] = frame.seq
        self._type[i] = frame.msg_type
        self._len[i] = len(frame.payload)
        self._fp[i] = self._fingerprint(frame)
        self._next = (i + 1) % self._n

    def clear(self):
        for i in range(self._n):
            self._seq[i] = -1
