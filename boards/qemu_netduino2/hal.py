"""The lockstep bridge of boards/bridge/hal.py over this board's UARTs (qemu
netduino2, an STM32F205).

USART1 (the REPL's UART, sys.stdin/stdout.buffer) carries the bridge
messages: the host's header (clock, sensor snapshot) and the device's
10-byte reply, the reply preceded by b'R'. The pump's serial protocol runs
on USART2, driven through its registers (machine.mem32): a tick or link
message's `n` says how many bytes the host put on that line, and the
reply's `n` how many the device wrote to it; the host reads exactly those,
so the line stays in lockstep too.

Most ticks come as a short header, b't' + pressure u16 + motor position
change i8 + plunger travel change i8 (5 bytes instead of 20): the rest as in
the previous header, the clock one more step of the same size. Every byte
qemu's USART delivers costs wall time (its data register holds one byte).

Non-volatile memory is the host's (an FRAM on the far side of a wire; the
board has 128 KB of RAM and no file system): a read is b'S' + offset u32 +
length u16 on USART1, answered b'\\x00' if those bytes are all erased (0xff),
else b'\\x01' and the bytes; a write is b'W' + offset + length + the bytes,
unanswered.
"""
import struct
import sys

from machine import mem32
from micropython import const

from hal import Hal
from boards.bridge.hal import Bridge, BridgeMotor, BridgeBoard, IN_FMT, IN_SIZE, OUT_SIZE, K_TICK, K_LINK
from hal.ticks import WrappingClock

_SR = const(0)
_DR = const(4)
_CR1 = const(12)
_RXNE = const(0x20)
_CR1_ON = const(0x200C)      # UE | TE | RE
_K_READ = const(83)          # 'S'
_K_WRITE = const(87)         # 'W'
_K_SHORT_TICK = const(116)   # 't'
_BLOCK = const(256)
_INIT_MAX = const(2048)      # the init message's JSON; serial bytes come on USART2


class UsartSerial:
    """The HAL serial on a USART's registers: polled, nothing buffered beyond
    the data register. `pending`: bytes the host announced on the line that
    the device has not read yet."""

    def __init__(self, base):
        self.sr = base + _SR      # addresses above 2**30 are long ints here: computed once
        self.dr = base + _DR
        mem32[base + _CR1] = _CR1_ON
        self.pending = 0
        self.tx_n = 0
        self.txv = memoryview(b'')   # the reply carries no serial bytes on USART1
        self.rx_overflow = 0
        self.tx_overflow = 0

    def feed(self, mv):
        pass                       # the bytes come on the USART itself

    def readinto(self, buf):
        n = self.pending
        if n > len(buf):
            n = len(buf)
        sr = self.sr
        dr = self.dr
        for i in range(n):
            while not mem32[sr] & _RXNE:
                pass
            buf[i] = mem32[dr] & 0xFF
        self.pending -= n
        return n

    def write(self, data):
        dr = self.dr
        for b in data:
            mem32[dr] = b
        n = len(data)
        self.tx_n += n
        return n


class HostStorage:
    """NV kept by the host, reached over the bridge UART (the module doc).
    Reads go through one cached 256-byte block: a boot scans the whole
    journal ring record by record, and every byte on the emulated UART
    costs wall time; the host answers an all-erased block with one byte.
    Writes go through at once and drop the cache."""

    def __init__(self, bridge, size):
        self.br = bridge
        self.nv_size = size
        self._h = bytearray(7)
        self._blk = -1
        self._cache = bytearray(_BLOCK)
        self._flag = bytearray(1)

    def size(self):
        return self.nv_size

    def _fetch(self, offset, buf):
        br = self.br
        n = len(buf)
        struct.pack_into('<BIH', self._h, 0, _K_READ, offset, n)
        br.tx.write(self._h)
        br.read_exact(memoryview(self._flag))
        if self._flag[0]:
            br.read_exact(memoryview(buf))
        else:
            for i in range(n):
                buf[i] = 0xFF

    def readinto(self, offset, buf):
        n = len(buf)
        blk = offset - offset % _BLOCK
        if offset + n > blk + _BLOCK or blk + _BLOCK > self.nv_size:
            self._fetch(offset, buf)
            return n
        if blk != self._blk:
            self._blk = -1
            self._fetch(blk, self._cache)
            self._blk = blk
        c = self._cache
        a = offset - blk
        for i in range(n):
            buf[i] = c[a + i]
        return n

    def write(self, offset, data):
        struct.pack_into('<BIH', self._h, 0, _K_WRITE, offset, len(data))
        tx = self.br.tx
        tx.write(self._h)
        tx.write(data)
        self._blk = -1


class UartBridge(Bridge):
    """boards.bridge.hal.Bridge with the host on USART1 and the pump's line
    on USART2 (`link_uart`, its base address)."""

    def __init__(self, link_uart):
        self.rx = sys.stdin.buffer
        self.tx = sys.stdout.buffer
        self.clock = WrappingClock()
        self.motor = BridgeMotor()
        self.board = BridgeBoard()
        self.link_uart = link_uart
        self.serial = None
        self.storage = None
        self._hdr = bytearray(IN_SIZE)
        self._out = bytearray(OUT_SIZE)
        self._in = bytearray(_INIT_MAX)
        self._inv = memoryview(self._in)
        self.ran = False
        self._fed0 = 0
        self._prev = None           # the last header's fields
        self._dt = 0                # its clock step
        self._short = bytearray(4)

    def read_exact(self, mv):
        self._read_exact(mv)

    def _read_header(self):
        """A full header, or a short tick (the module doc)."""
        h = self._hdr
        hv = memoryview(h)
        self._read_exact(hv[:1])
        if h[0] == _K_SHORT_TICK:
            s = self._short
            self._read_exact(memoryview(s))
            _k, ticks, _raw, flags, travel, pos, mv, _n = self._prev
            dpos = s[2] - 256 if s[2] > 127 else s[2]
            dtravel = s[3] - 256 if s[3] > 127 else s[3]
            struct.pack_into(IN_FMT, h, 0, K_TICK, self.clock.ticks_add(ticks, self._dt),
                             s[0] | s[1] << 8, flags, travel + dtravel, pos + dpos, mv, 0)
        else:
            self._read_exact(hv[1:])
        cur = struct.unpack_from(IN_FMT, h, 0)
        if self._prev is not None:
            self._dt = self.clock.ticks_diff(cur[1], self._prev[1])
        self._prev = cur

    def hal(self, storage):
        """`storage`: {'size': NV bytes}."""
        self.serial = UsartSerial(self.link_uart)
        self.storage = HostStorage(self, int(storage['size']))
        b = self.board
        return Hal(self.clock, self.motor, b, b, b, self.storage, self.serial, b, b, b)

    def _payload(self, kind, n):
        if kind == K_TICK or kind == K_LINK:
            if self.serial is not None:
                self.serial.pending += n
            return self._inv[:0]
        if n > _INIT_MAX:
            raise ValueError('bridge: message of %d bytes' % n)
        payload = self._inv[:n]
        self._read_exact(payload)
        return payload

    def reply(self, state, data=None):
        self.tx.write(b'R')
        Bridge.reply(self, state, data)
