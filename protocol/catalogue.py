"""Message catalogue: type code -> name, auth requirement and payload layout.

Why a data table: it is the single source for the packer and unpacker in
``messages``, for the generated table in SPEC.md and for the vectors, so
they cannot drift apart.  It is its own module so that each module compiles
within a small MicroPython heap.

A layout is ``(name, requires_auth, fmt, names, ranges, tail)``:

* ``fmt`` / ``names``: the fixed little-endian prefix, one name per value;
* ``ranges``: per value ``(lo, hi)`` for integers, ``None`` for a 32-byte
  hash (``32s``);
* ``tail``: ``None``, ``(BLOB, name, min_len, max_len)`` (rest of payload),
  ``(LIST, name, max_count, fmt, names, ranges)`` (u8 count + records) or
  ``(STRS, names, min_len, max_len)`` (u8-length printable ASCII strings).

Units are in the field names (``_nl``, ``_nl_h``, ``_ms``, ``_s``,
``_mmhg_x10``); there are no floats.

Runs on MicroPython 1.29 and CPython 3.11.
"""

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from protocol import codes as _c

MAX_RATE_NL_H = const(999000000)   # 999 mL/h, the generic pump maximum
MAX_ALARMS = const(8)              # active alarms carried in one STATUS
MAX_REVIEW_STEPS = const(16)       # steps per PROGRAM_REVIEW page
MAX_STR = const(32)                # DEVICE_INFO strings
MAX_CHUNK = const(254)             # PROGRAM_LOAD data bytes per chunk
MAX_JOURNAL_DATA = const(247)      # JOURNAL_DATA blob bytes
MAX_JOURNAL_COUNT = const(64)      # records asked for by one JOURNAL_READ
AUDIO_PAUSE_MAX_S = const(120)     # IEC 60601-1-8: audio pause at most 2 min
TELEMETRY_MIN_PERIOD_MS = const(100)   # enable=1, period 0: as fast as the line takes
TELEMETRY_MAX_PERIOD_MS = const(60000)
HASH_LEN = const(32)
MAX_ERROR_TEXT = const(200)        # LAST_ERROR text

BLOB = "blob"
LIST = "list"
STRS = "strs"

U8 = (0, 0xFF)
U16 = (0, 0xFFFF)
U32 = (0, 0xFFFFFFFF)
I16 = (-0x8000, 0x7FFF)
RATE = (0, MAX_RATE_NL_H)

def _build():
    # Locals, not globals: on MicroPython every module global costs heap.
    e = ()  # no fields
    sfmt = "<BIIIhI"
    snames = ("state", "rate_nl_h", "delivered_nl", "remaining_nl",
              "pressure_mmhg_x10", "uptime_s")
    sranges = (U8, RATE, U32, U32, I16, U32)
    alarms = (LIST, "alarms", MAX_ALARMS, "<HB", ("code", "priority"), (U16, (0, 3)))
    return {
        _c.HELLO: ("HELLO", False, "<", e, e, None),
        _c.STATUS_REQ: ("STATUS_REQ", False, "<", e, e, None),
        _c.LAST_ERROR_REQ: ("LAST_ERROR_REQ", False, "<", e, e, None),
        _c.PROGRAM_LOAD: (
            "PROGRAM_LOAD", True, "<BB", ("chunk_index", "total_chunks"),
            ((0, 254), (1, 255)), (BLOB, "data", 1, MAX_CHUNK)),
        _c.PROGRAM_REVIEW_REQ: (
            "PROGRAM_REVIEW_REQ", False, "<B", ("first_step",), (U8,), None),
        _c.CONFIRM: ("CONFIRM", True, "<32s", ("program_hash",), (None,), None),
        _c.START: ("START", True, "<", e, e, None),
        _c.PAUSE: ("PAUSE", False, "<", e, e, None),
        _c.RESUME: ("RESUME", True, "<", e, e, None),
        _c.STOP: ("STOP", False, "<", e, e, None),
        _c.ACK_ALARM: ("ACK_ALARM", True, "<H", ("alarm_code",), (U16,), None),
        _c.AUDIO_PAUSE: (
            "AUDIO_PAUSE", True, "<H", ("duration_s",), ((1, AUDIO_PAUSE_MAX_S),), None),
        _c.JOURNAL_READ: (
            "JOURNAL_READ", False, "<IB", ("offset", "count"),
            (U32, (1, MAX_JOURNAL_COUNT)), None),
        _c.TELEMETRY_STREAM: (
            "TELEMETRY_STREAM", False, "<BH", ("enable", "period_ms"),
            ((0, 1), (0, TELEMETRY_MAX_PERIOD_MS)), None),
        _c.ACK: ("ACK", False, "<B", ("acked_type",), (U8,), None),
        _c.NAK: (
            "NAK", False, "<BBH", ("nak_type", "reason", "detail"),
            (U8, (1, 255), U16), None),
        _c.DEVICE_INFO: (
            "DEVICE_INFO", False, "<BBHI",
            ("proto_version", "pump_kind", "max_payload", "auth_counter"),
            (U8, U8, U16, U32), (STRS, ("fw_version", "serial"), 1, MAX_STR)),
        _c.STATUS: ("STATUS", False, sfmt, snames, sranges, alarms),
        _c.TELEMETRY: ("TELEMETRY", False, sfmt, snames, sranges, alarms),
        _c.LAST_ERROR: ("LAST_ERROR", False, "<", e, e, (STRS, ("text",), 1, MAX_ERROR_TEXT)),
        _c.PROGRAM_REVIEW: (
            "PROGRAM_REVIEW", False, "<32sIIBB",
            ("program_hash", "total_volume_nl", "duration_s", "total_steps", "first_step"),
            (None, U32, U32, U8, U8),
            (LIST, "steps", MAX_REVIEW_STEPS, "<BIII",
             ("kind", "rate_nl_h", "volume_nl", "duration_s"), (U8, RATE, U32, U32))),
        _c.JOURNAL_DATA: (
            "JOURNAL_DATA", False, "<IIB", ("offset", "total", "count"),
            (U32, U32, U8), (BLOB, "data", 0, MAX_JOURNAL_DATA)),
    }


CATALOGUE = _build()
del _build


def name(msg_type):
    """Message name, or 'UNKNOWN_0x..' for a type not in the catalogue."""
    s = CATALOGUE.get(msg_type)
    return s[0] if s is not None else "UNKNOWN_0x%02x" % msg_type


def requires_auth(msg_type):
    """True for commands that need an auth trailer.

    PAUSE and STOP never do: stopping delivery must always be possible.
    """
    s = CATALOGUE.get(msg_type)
    return s is not None and s[1]


def is_command(msg_type):
    """True for a known host -> device type."""
    return msg_type in CATALOGUE and msg_type < _c.DEVICE_TO_HOST


def field_names(msg_type):
    """Names of the fields of a message, in wire order."""
    s = CATALOGUE.get(msg_type)
    if s is None:
        return ()
    t = s[5]
    if t is None:
        return s[3]
    return s[3] + (t[1] if t[0] == STRS else (t[1],))


