"""Pack and unpack message payloads, with every check before packing.

Layouts come from ``protocol.catalogue``.  Every value is checked before
``struct.pack_into`` (MicroPython truncates silently).  Bad input raises
``ProtocolError`` whose ``reason`` is the NAK reason to answer with (LIMIT:
integer out of range; UNKNOWN_TYPE: type not in the catalogue; BAD_PAYLOAD:
anything else); no other exception escapes for any payload bytes.

The device fast paths ``pack_ack_into``, ``pack_nak_into`` and
``pack_status_into`` write straight into a preallocated buffer.

Runs on MicroPython 1.29 and CPython 3.11.
"""

import struct

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from protocol import codes as _c
from protocol import catalogue as _cat
from protocol.catalogue import (  # noqa: F401  (re-exported for callers)
    CATALOGUE, name, requires_auth, is_command, field_names, MAX_ALARMS,
    MAX_REVIEW_STEPS)

_MAX_PAYLOAD = const(256)   # == frame.MAX_PAYLOAD (checked by a test)
_HASH_LEN = const(32)
_STATUS_FMT = "<BIIIhI"


def _err(reason, msg):
    return _c.ProtocolError(reason, msg)


def message_spec(msg_type):
    s = CATALOGUE.get(msg_type) if type(msg_type) is int else None
    if s is None:
        raise _err(_c.NAK_UNKNOWN_TYPE, "unknown message type %r" % (msg_type,))
    return s


def _int(fname, v, r):
    if type(v) is not int:  # rejects bool on CPython too
        raise _err(_c.NAK_BAD_PAYLOAD, "%s must be an int, got %r" % (fname, v))
    if v < r[0] or v > r[1]:
        raise _err(_c.NAK_LIMIT, "%s=%d outside %d..%d" % (fname, v, r[0], r[1]))


def _ascii(fname, raw, lo, hi):
    if len(raw) < lo or len(raw) > hi:
        raise _err(_c.NAK_BAD_PAYLOAD, "%s length %d outside %d..%d" % (fname, len(raw), lo, hi))
    for c in raw:
        if c < 0x20 or c > 0x7E:
            raise _err(_c.NAK_BAD_PAYLOAD, "%s must be printable ASCII" % fname)


def _cross_check(msg_type, d):
    # Rules that involve two fields; run after every field is in range.
    if msg_type == _c.PROGRAM_LOAD and d["chunk_index"] >= d["total_chunks"]:
        raise _err(_c.NAK_BAD_PAYLOAD, "chunk_index %d >= total_chunks %d"
                   % (d["chunk_index"], d["total_chunks"]))
    # enable=1 with period_ms 0: as fast as the line takes; 1..99 ms: refused
    if msg_type == _c.TELEMETRY_STREAM and d["enable"] and \
            0 < d["period_ms"] < _cat.TELEMETRY_MIN_PERIOD_MS:
        raise _err(_c.NAK_LIMIT, "period_ms %d < %d" % (d["period_ms"], _cat.TELEMETRY_MIN_PERIOD_MS))
    if msg_type == _c.PROGRAM_REVIEW and d["first_step"] + len(d["steps"]) > d["total_steps"]:
        raise _err(_c.NAK_BAD_PAYLOAD, "steps run past total_steps")
    if msg_type == _c.JOURNAL_DATA and d["count"] and not d["data"]:
        raise _err(_c.NAK_BAD_PAYLOAD, "_c.JOURNAL_DATA count without data")


def _values(fname, names, ranges, src):
    # Checked values for one struct.pack_into call; src: dict, list or tuple.
    is_dict = type(src) is dict
    if not is_dict and not isinstance(src, (list, tuple)):
        raise _err(_c.NAK_BAD_PAYLOAD, "%s must be a dict or tuple" % fname)
    if len(src) != len(names) and not (is_dict and fname == ""):
        raise _err(_c.NAK_BAD_PAYLOAD, "%s needs %s" % (fname or "payload", ",".join(names)))
    vals = []
    for i in range(len(names)):
        if is_dict:
            if names[i] not in src:
                raise _err(_c.NAK_BAD_PAYLOAD, "missing field %s" % names[i])
            v = src[names[i]]
        else:
            v = src[i]
        r = ranges[i]
        if r is None:
            if not isinstance(v, (bytes, bytearray, memoryview)) or len(v) != _HASH_LEN:
                raise _err(_c.NAK_BAD_PAYLOAD, "%s must be %d bytes" % (names[i], _HASH_LEN))
            v = bytes(v)
        else:
            _int(names[i], v, r)
        vals.append(v)
    return vals


def pack_into(buf, pos, msg_type, fields):
    """Validate ``fields`` (a dict) and write the payload at ``buf[pos:]``.

    Returns the end position.  Unknown or missing fields, wrong types,
    out-of-range values and oversized strings, blobs or lists raise
    _c.ProtocolError.  List items may be dicts or tuples in field order.
    """
    spec = message_spec(msg_type)
    fmt, names, ranges, tail = spec[2], spec[3], spec[4], spec[5]
    if type(fields) is not dict:
        raise _err(_c.NAK_BAD_PAYLOAD, "fields must be a dict")
    all_names = field_names(msg_type)
    for k in fields:
        if k not in all_names:
            raise _err(_c.NAK_BAD_PAYLOAD, "%s has no field %r" % (spec[0], k))
    vals = _values("", names, ranges, fields)
    size = struct.calcsize(fmt)
    if pos + size > len(buf):
        raise _err(_c.NAK_BAD_PAYLOAD, "buffer too small")
    struct.pack_into(fmt, buf, pos, *vals)
    pos += size
    if tail is not None:
        pos = _pack_tail(buf, pos, tail, fields)
    _cross_check(msg_type, fields)
    return pos


def _pack_tail(buf, pos, tail, fields):
    kind = tail[0]
    if kind == _cat.STRS:
        for fname in tail[1]:
            if fname not in fields:
                raise _err(_c.NAK_BAD_PAYLOAD, "missing field %s" % fname)
            v = fields[fname]
            if type(v) is not str:
                raise _err(_c.NAK_BAD_PAYLOAD, "%s must be a str" % fname)
            raw = v.encode()
            _ascii(fname, raw, tail[2], tail[3])
            if pos + 1 + len(raw) > len(buf):
                raise _err(_c.NAK_BAD_PAYLOAD, "buffer too small")
            buf[pos] = len(raw)
            buf[pos + 1:pos + 1 + len(raw)] = raw
            pos += 1 + len(raw)
        return pos
    fname = tail[1]
    if fname not in fields:
        raise _err(_c.NAK_BAD_PAYLOAD, "missing field %s" % fname)
    v = fields[fname]
    if kind == _cat.BLOB:
        if not isinstance(v, (bytes, bytearray, memoryview)):
            raise _err(_c.NAK_BAD_PAYLOAD, "%s must be bytes" % fname)
        n = len(v)
        if n < tail[2] or n > tail[3]:
            raise _err(_c.NAK_BAD_PAYLOAD, "%s length %d outside %d..%d" % (fname, n, tail[2], tail[3]))
        if pos + n > len(buf):
            raise _err(_c.NAK_BAD_PAYLOAD, "buffer too small")
        buf[pos:pos + n] = v
        return pos + n
    # _cat.LIST
    if not isinstance(v, (list, tuple)):
        raise _err(_c.NAK_BAD_PAYLOAD, "%s must be a list" % fname)
    if len(v) > tail[2]:
        raise _err(_c.NAK_LIMIT, "%s has %d items > %d" % (fname, len(v), tail[2]))
    rfmt = tail[3]
    rsize = struct.calcsize(rfmt)
    if pos + 1 + rsize * len(v) > len(buf):
        raise _err(_c.NAK_BAD_PAYLOAD, "buffer too small")
    buf[pos] = len(v)
    pos += 1
    for item in v:
        struct.pack_into(rfmt, buf, pos, *_values(fname, tail[4], tail[5], item))
        pos += rsize
    return pos


def pack(msg_type, fields=None):
    """Return the payload bytes for ``fields`` (a dict; None for no fields)."""
    buf = bytearray(_MAX_PAYLOAD)
    n = pack_into(buf, 0, msg_type, {} if fields is None else fields)
    return bytes(buf[:n])


def unpack(msg_type, payload):
    """Parse and validate a payload; return a dict of fields.

    Strings come back as str, hashes and blobs as bytes, lists as lists of
    dicts.  Malformed input raises _c.ProtocolError with a NAK reason.
    """
    spec = message_spec(msg_type)
    fmt, names, ranges, tail = spec[2], spec[3], spec[4], spec[5]
    n = len(payload)
    size = struct.calcsize(fmt)
    if n < size:
        raise _err(_c.NAK_BAD_PAYLOAD, "%s payload too short" % spec[0])
    out = {}
    _unpack_values(out, names, ranges, struct.unpack_from(fmt, payload, 0))
    pos = size
    if tail is not None:
        pos = _unpack_tail(out, payload, pos, n, tail)
    if pos != n:
        raise _err(_c.NAK_BAD_PAYLOAD, "%s has %d extra bytes" % (spec[0], n - pos))
    _cross_check(msg_type, out)
    return out


def _unpack_values(out, names, ranges, vals):
    for i in range(len(names)):
        r = ranges[i]
        if r is not None:
            _int(names[i], vals[i], r)
        out[names[i]] = vals[i]


def _unpack_tail(out, payload, pos, n, tail):
    kind = tail[0]
    if kind == _cat.BLOB:
        ln = n - pos
        if ln < tail[2] or ln > tail[3]:
            raise _err(_c.NAK_BAD_PAYLOAD, "%s length %d outside %d..%d" % (tail[1], ln, tail[2], tail[3]))
        out[tail[1]] = bytes(payload[pos:n])
        return n
    if kind == _cat.STRS:
        for fname in tail[1]:
            if pos >= n or pos + 1 + payload[pos] > n:
                raise _err(_c.NAK_BAD_PAYLOAD, "%s runs past the payload" % fname)
            raw = bytes(payload[pos + 1:pos + 1 + payload[pos]])
            _ascii(fname, raw, tail[2], tail[3])
            out[fname] = raw.decode()
            pos += 1 + len(raw)
        return pos
    # _cat.LIST
    if pos >= n:
        raise _err(_c.NAK_BAD_PAYLOAD, "%s count missing" % tail[1])
    cnt = payload[pos]
    pos += 1
    if cnt > tail[2]:
        raise _err(_c.NAK_LIMIT, "%s has %d items > %d" % (tail[1], cnt, tail[2]))
    rsize = struct.calcsize(tail[3])
    if pos + cnt * rsize > n:
        raise _err(_c.NAK_BAD_PAYLOAD, "%s runs past the payload" % tail[1])
    items = []
    for _ in range(cnt):
        rec = {}
        _unpack_values(rec, tail[4], tail[5], struct.unpack_from(tail[3], payload, pos))
        items.append(rec)
        pos += rsize
    out[tail[1]] = items
    return pos


# --- device fast paths: no dict, no allocation beyond small ints ---------------

def pack_ack_into(buf, pos, acked_type):
    """ACK payload (1 byte) at buf[pos]; returns end position."""
    _int("acked_type", acked_type, _cat.U8)
    buf[pos] = acked_type
    return pos + 1


def pack_nak_into(buf, pos, nak_type, reason, detail=0):
    """NAK payload (4 bytes) at buf[pos:]; returns end position."""
    _int("nak_type", nak_type, _cat.U8)
    _int("reason", reason, (1, 255))
    _int("detail", detail, _cat.U16)
    struct.pack_into("<BBH", buf, pos, nak_type, reason, detail)
    return pos + 4


def pack_status_into(buf, pos, state, rate_nl_h, delivered_nl, remaining_nl,
                     pressure_mmhg_x10, uptime_s, alarms=()):
    """STATUS/TELEMETRY payload at buf[pos:]; alarms: (code, priority) pairs.

    Same bytes as pack(STATUS, {...}); for the periodic telemetry path.
    """
    if len(alarms) > MAX_ALARMS:
        raise _err(_c.NAK_LIMIT, "%d alarms > %d" % (len(alarms), MAX_ALARMS))
    if len(buf) - pos < 20 + 3 * len(alarms):
        raise _err(_c.NAK_BAD_PAYLOAD, "buffer too small")
    _int("state", state, _cat.U8)
    _int("rate_nl_h", rate_nl_h, _cat.RATE)
    _int("delivered_nl", delivered_nl, _cat.U32)
    _int("remaining_nl", remaining_nl, _cat.U32)
    _int("pressure_mmhg_x10", pressure_mmhg_x10, _cat.I16)
    _int("uptime_s", uptime_s, _cat.U32)
    struct.pack_into(_STATUS_FMT, buf, pos, state, rate_nl_h, delivered_nl,
                     remaining_nl, pressure_mmhg_x10, uptime_s)
    pos += 19
    buf[pos] = len(alarms)
    pos += 1
    for a in alarms:
        _int("alarms.code", a[0], _cat.U16)
        _int("alarms.priority", a[1], (0, 3))
        struct.pack_into("<HB", buf, pos, a[0], a[1])
        pos += 3
    return pos
