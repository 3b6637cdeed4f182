"""Numeric codes shared by every protocol module: message types, NAK reasons,
wire state codes, alarm priorities, pump kinds, and the one exception type.
Their names (for logs and UIs) are in ``describe``, to keep this module small.

Why a separate module: ``frame``, ``auth`` and ``messages`` all need the NAK
reasons, and the firmware can import these constants without loading the
message catalogue.  The numbers are wire values: never renumber one, only add.
"""

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x


class ProtocolError(ValueError):
    """Bad input to a pack/unpack/encode function.

    ``reason`` is the NAK reason the device should answer with, so a link
    handler can do ``except ProtocolError as e: nak(e.reason)``.
    """

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason
        self.message = message


# --- message types ----------------------------------------------------------
# 0x01..0x7F: host -> device (commands and queries)
HELLO = const(0x01)
STATUS_REQ = const(0x02)
LAST_ERROR_REQ = const(0x03)  # why the last command was refused, in words
PROGRAM_LOAD = const(0x10)
PROGRAM_REVIEW_REQ = const(0x11)
CONFIRM = const(0x12)
START = const(0x20)
PAUSE = const(0x21)
RESUME = const(0x22)
STOP = const(0x23)
ACK_ALARM = const(0x30)
AUDIO_PAUSE = const(0x31)
JOURNAL_READ = const(0x40)
TELEMETRY_STREAM = const(0x41)
# 0x80..0xFF: device -> host (replies and events)
ACK = const(0x80)
NAK = const(0x81)
DEVICE_INFO = const(0x82)
STATUS = const(0x83)
TELEMETRY = const(0x84)
LAST_ERROR = const(0x85)
PROGRAM_REVIEW = const(0x90)
JOURNAL_DATA = const(0xC0)

DEVICE_TO_HOST = const(0x80)  # bit set in every device -> host type

# --- NAK reasons (u8) ---------------------------------------------------------
NAK_BAD_STATE = const(1)       # command not allowed in the current state
NAK_BAD_AUTH = const(2)        # MAC did not verify (wrong key or tampering)
NAK_REPLAY = const(3)          # counter equal to the last accepted one
NAK_STALE_COUNTER = const(4)   # counter lower than the last accepted one
NAK_BAD_PAYLOAD = const(5)     # payload length/layout/field invalid
NAK_UNKNOWN_TYPE = const(6)    # type not in the catalogue or wrong direction
NAK_LIMIT = const(7)           # value outside a protocol or device limit
NAK_BUSY = const(8)            # device cannot take it now; retry later, new seq
NAK_AUTH_REQUIRED = const(9)   # type needs an auth trailer and had none
NAK_HASH_MISMATCH = const(10)  # CONFIRM hash differs from the loaded program
NAK_CHUNK_ORDER = const(11)    # PROGRAM_LOAD chunk out of sequence
NAK_BAD_PROGRAM = const(12)    # program bytes rejected by the firmware
NAK_INTERNAL = const(13)       # firmware fault while handling the command

# --- wire state codes (STATUS.state) -----------------------------------------
# The firmware maps its own state machine onto these; hosts show them.
STATE_IDLE = const(0)       # no program
STATE_LOADING = const(1)    # PROGRAM_LOAD chunks arriving
STATE_REVIEW = const(2)     # program complete, awaiting CONFIRM
STATE_READY = const(3)      # confirmed, awaiting START
STATE_RUNNING = const(4)
STATE_PAUSED = const(5)
STATE_STOPPED = const(6)    # stopped by command; program abandoned
STATE_COMPLETE = const(7)   # program delivered
STATE_ALARM = const(8)      # delivery halted by an alarm
STATE_FAULT = const(9)      # unrecoverable fault, delivery disabled
STATE_BOLUS = const(10)     # a bolus step (motor runs)
STATE_KVO = const(11)       # keep-vein-open after the last step (motor runs)
STATE_DWELL = const(12)     # a program pause step (motor held)
STATE_SYRINGE_CHANGE = const(13)  # waits for the user to confirm a new syringe

# --- alarm priorities (IEC 60601-1-8) ---------------------------------------
PRIORITY_INFO = const(0)
PRIORITY_LOW = const(1)
PRIORITY_MEDIUM = const(2)
PRIORITY_HIGH = const(3)

# --- pump kinds (DEVICE_INFO.pump_kind) --------------------------------------
PUMP_UNKNOWN = const(0)
PUMP_SYRINGE = const(1)
PUMP_PERISTALTIC = const(2)
PUMP_SIMULATED = const(3)
