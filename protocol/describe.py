"""Host-side helpers over the catalogue: names, JSON form, size limits.

Why separate: the firmware needs none of this, and on MicroPython every
imported name and string costs heap.  It still runs on both runtimes (the
device tests use it to read the vectors).
"""

import binascii
import struct

from protocol import codes
from protocol.catalogue import CATALOGUE, BLOB, STRS
from protocol.messages import message_spec

NAK_NAMES = {
    codes.NAK_BAD_STATE: "bad_state",
    codes.NAK_BAD_AUTH: "bad_auth",
    codes.NAK_REPLAY: "replay",
    codes.NAK_STALE_COUNTER: "stale_counter",
    codes.NAK_BAD_PAYLOAD: "bad_payload",
    codes.NAK_UNKNOWN_TYPE: "unknown_type",
    codes.NAK_LIMIT: "limit",
    codes.NAK_BUSY: "busy",
    codes.NAK_AUTH_REQUIRED: "auth_required",
    codes.NAK_HASH_MISMATCH: "hash_mismatch",
    codes.NAK_CHUNK_ORDER: "chunk_order",
    codes.NAK_BAD_PROGRAM: "bad_program",
    codes.NAK_INTERNAL: "internal",
}

STATE_NAMES = {
    codes.STATE_IDLE: "idle", codes.STATE_LOADING: "loading",
    codes.STATE_REVIEW: "review", codes.STATE_READY: "ready",
    codes.STATE_RUNNING: "running", codes.STATE_PAUSED: "paused",
    codes.STATE_STOPPED: "stopped", codes.STATE_COMPLETE: "complete",
    codes.STATE_ALARM: "alarm", codes.STATE_FAULT: "fault",
    codes.STATE_BOLUS: "bolus", codes.STATE_KVO: "kvo", codes.STATE_DWELL: "dwell",
    codes.STATE_SYRINGE_CHANGE: "syringe_change",
}


def nak_name(reason):
    return NAK_NAMES.get(reason, "reason_%d" % reason)


def state_name(state):
    return STATE_NAMES.get(state, "state_%d" % state)


def max_len(msg_type):
    """Largest payload the layout allows (always <= frame.MAX_PAYLOAD)."""
    s = message_spec(msg_type)
    n = struct.calcsize(s[2])
    t = s[5]
    if t is None:
        return n
    if t[0] == BLOB:
        return n + t[3]
    if t[0] == STRS:
        return n + len(t[1]) * (1 + t[3])
    return n + 1 + t[2] * struct.calcsize(t[3])


def _hex(b):
    return binascii.hexlify(bytes(b)).decode()


def _bytes_fields(msg_type):
    s = message_spec(msg_type)
    out = [s[3][i] for i in range(len(s[3])) if s[4][i] is None]
    if s[5] is not None and s[5][0] == BLOB:
        out.append(s[5][1])
    return out


def to_json_fields(msg_type, fields):
    """Copy of ``fields`` with hashes/blobs as lowercase hex strings."""
    hexed = _bytes_fields(msg_type)
    out = {}
    for k in fields:
        v = fields[k]
        if k in hexed:
            v = _hex(v)
        elif isinstance(v, list):
            v = [dict(item) for item in v]
        out[k] = v
    return out


def from_json_fields(msg_type, fields):
    """Inverse of to_json_fields (hex strings back to bytes)."""
    hexed = _bytes_fields(msg_type)
    out = {}
    for k in fields:
        v = fields[k]
        if k in hexed:
            try:
                v = binascii.unhexlify(v)
            except (ValueError, TypeError):
                raise codes.ProtocolError(codes.NAK_BAD_PAYLOAD, "%s is not hex" % k)
        out[k] = v
    return out


def types():
    """All catalogue type codes, ascending (no reliance on dict order)."""
    return sorted(CATALOGUE)
