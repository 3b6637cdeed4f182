"""HAL backend that mirrors a host simulator over two pipes (device side).

Runs in a `micropython` process started by `simulator/runtime/bridge.py`. The
host owns the virtual clock and the plant; this process owns the firmware,
its non-volatile storage (a file) and its serial link handler. They keep in
LOCKSTEP by strict request/reply over the pipes, one exchange per event:

  host -> device  header IN_FMT (20 bytes) + `n` bytes of serial data
      kind      b'T' tick (run the control loop, then the link),
                b'L' link only (serial bytes arrived between ticks),
                b'I' init (payload: JSON configuration), b'Q' query
                (reply payload: JSON), b'X' exit
      ticks     the virtual clock (wraps at 2**30 like a board)
      raw       pressure ADC counts (sampled once per tick by the host)
      flags     bit0 air at sensor, bit1 syringe present, bit2 clamp
                closed, bit3 on mains
      travel_um plunger travel left, position motor step counter,
      batt_mv   battery voltage, n serial bytes that follow (host -> device)

  device -> host  header OUT_FMT (10 bytes) + `n` bytes
      pending   signed steps commanded for the next tick (0: stopped)
      motor     bit0 enabled, bit1 forward, bit2 buzzer, bit3 loop ran
      leds      bit i = LED i on
      state     firmware state number
      fed       watchdog feeds during this exchange (mod 256)
      n         serial bytes the device wrote (device -> host), or the
                JSON answer of b'Q'

Every sensor read between two exchanges returns the snapshot of the last
message; every motor call updates state that goes back in the reply, so the
firmware sees exactly what the in-process sim HAL (simulator/runtime/sim_hal.py) gives it.
Serial: bounded receive and transmit buffers like a UART's (overflow drops
bytes and is counted).
"""
import struct

from hal import Hal
from hal.pending_motor import PendingStepMotor
from hal.board_state import BoardState
from hal.file_storage import FileStorage
from hal.ticks import WrappingClock

IN_FMT = '<BIHBiiHH'
IN_SIZE = 20
OUT_FMT = '<iBBBBH'
OUT_SIZE = 10
MAX_IN = 4096        # serial bytes per host message (the host splits larger)
RX_CAP = 8192
TX_CAP = 8192

K_INIT = 73      # 'I'
K_TICK = 84      # 'T'
K_LINK = 76      # 'L'
K_QUERY = 81     # 'Q'
K_EXIT = 88      # 'X'


class BridgeMotor(PendingStepMotor):
    """Same semantics as simulator.runtime.sim_hal.SimMotor: `pending` is what the plant
    emits over the next tick; the host takes it when the tick starts and
    reports the emitted position back in `pos`."""

    def __init__(self):
        PendingStepMotor.__init__(self)
        self.pos = 0

    def position(self):
        return self.pos


class BridgeBoard(BoardState):
    """Pressure, air, syringe, power (snapshot from the host each tick),
    indicators (LED bits sent back) and watchdog."""


class BridgeSerial:
    """UART-like: bounded buffers, never blocks, overflow drops bytes."""

    def __init__(self):
        self.rx = bytearray(RX_CAP)
        self.rx_pos = 0
        self.rx_n = 0
        self.tx = bytearray(TX_CAP)
        self.txv = memoryview(self.tx)
        self.tx_n = 0
        self.rx_overflow = 0
        self.tx_overflow = 0

    def feed(self, mv):
        """Bytes from the host's side of the line."""
        if self.rx_pos == self.rx_n:
            self.rx_pos = self.rx_n = 0
        n = len(mv)
        room = RX_CAP - self.rx_n
        if n > room:
            self.rx_overflow += n - room
            n = room
        self.rx[self.rx_n:self.rx_n + n] = mv[:n]
        self.rx_n += n

    def readinto(self, buf):
        n = self.rx_n - self.rx_pos
        if n > len(buf):
            n = len(buf)
        if n:
            p = self.rx_pos
            buf[:n] = self.rx[p:p + n]
            self.rx_pos = p + n
        return n

    def write(self, data):
        n = len(data)
        room = TX_CAP - self.tx_n
        if n > room:
            self.tx_overflow += n - room
            n = room
        self.tx[self.tx_n:self.tx_n + n] = data[:n] if n < len(data) else data
        self.tx_n += n
        return n


class Bridge:
    """The pipe end: receive a host message into the mirrors, send a reply."""

    def __init__(self, rx_path, tx_path):
        self.rx = open(rx_path, 'rb')
        self.tx = open(tx_path, 'wb')
        self.clock = WrappingClock()   # set from the host's clock each message
        self.motor = BridgeMotor()
        self.board = BridgeBoard()
        self.serial = BridgeSerial()
        self.storage = None
        self._hdr = bytearray(IN_SIZE)
        self._out = bytearray(OUT_SIZE)
        self._in = bytearray(MAX_IN)
        self._inv = memoryview(self._in)
        self.ran = False
        self._fed0 = 0

    def hal(self, storage_path):
        self.storage = FileStorage(storage_path)
        b = self.board
        return Hal(self.clock, self.motor, b, b, b, self.storage, self.serial, b, b, b)

    def _read_exact(self, mv):
        got = 0
        n = len(mv)
        while got < n:
            r = self.rx.readinto(mv[got:])
            if not r:
                raise EOFError
            got += r

    def _read_header(self):
        self._read_exact(memoryview(self._hdr))

    def _payload(self, kind, n):
        """The `n` bytes that follow a header (a board whose serial line is
        a UART of its own takes a tick's or link message's bytes from it)."""
        if n > MAX_IN:
            raise ValueError('bridge: message of %d bytes' % n)
        payload = self._inv[:n]
        self._read_exact(payload)
        return payload

    def recv(self):
        """Block for the next host message; returns (kind, payload view).
        Tick messages: the host has taken the pending steps (the plant
        emitted them over the tick that just ended)."""
        self._read_header()
        kind, ticks, raw, flags, travel, pos, mv, n = struct.unpack_from(IN_FMT, self._hdr, 0)
        payload = self._payload(kind, n)
        self.clock.now = ticks
        b = self.board
        b.raw = raw
        b.air = bool(flags & 1)
        b.is_present = bool(flags & 2)
        b.clamp = bool(flags & 4)
        b.mains = bool(flags & 8)
        b.travel_um = travel
        b.mv = mv
        m = self.motor
        m.pos = pos
        if kind == K_TICK:
            m.pending = 0
        self._fed0 = b.feeds
        self.ran = False
        if kind == K_TICK or kind == K_LINK:
            self.serial.feed(payload)
        return kind, payload

    def reply(self, state, data=None):
        m = self.motor
        b = self.board
        s = self.serial
        flags = ((1 if m.enabled else 0) | (2 if m.forward else 0) | (4 if b.buzzing else 0)
                 | (8 if self.ran else 0))
        serial = data is None
        if serial:
            n = s.tx_n
            data = s.txv[:n]
        else:
            n = len(data)
        struct.pack_into(OUT_FMT, self._out, 0, m.pending, flags, b.leds, state,
                         (b.feeds - self._fed0) & 0xFF, n)
        self.tx.write(self._out)
        if n:
            self.tx.write(data)
        if serial:
            s.tx_n = 0
