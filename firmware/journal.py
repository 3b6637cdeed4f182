"""Append-only event journal in non-volatile storage.

Fixed 20-byte records: seq u32, time_s u32, event u16, a i32, b i32, crc16.
The storage area is a ring; the record with the highest valid sequence number
is the newest. A torn record (power cut mid-write) fails its CRC and is
ignored at boot, so the journal never shows half an event.
"""
import struct
from firmware.compat import const
from firmware.crc16 import crc16

_RECORD_SIZE = const(20)
_FMT = '<IIHii'
_I32_MAX = const(0x7FFFFFFF)
_I32_MIN = -0x80000000

# Event codes (what a record's `event` means) are in pumphost.codes (EV_*);
# the modules that log one keep a private copy.

# Storage map: the journal ring owns [base, size - _CAL_AREA); the last
# _CAL_AREA bytes hold the calibration record (firmware/calibration.py).
_CAL_AREA = const(64)


def _clamp_i32(v):
    if v > _I32_MAX:
        return _I32_MAX
    if v < _I32_MIN:
        return _I32_MIN
    return v


class Journal:
    def __init__(self, storage, base=0, capacity=None):
        self.storage = storage
        self.base = base
        if capacity is None:
            capacity = (storage.size() - _CAL_AREA - base) // _RECORD_SIZE
        self.capacity = capacity
        self._buf = bytearray(_RECORD_SIZE)
        self.next_seq = 1
        self.next_slot = 0
        self.torn = 0
        self._scan()

    def _read(self, slot, buf):
        """Decode slot into buf; returns seq, 0 if erased, -1 if torn."""
        self.storage.readinto(self.base + slot * _RECORD_SIZE, buf)
        crc = buf[18] | (buf[19] << 8)
        if crc != crc16(buf, 0, 18):
            erased = True
            for i in range(_RECORD_SIZE):
                if buf[i] != 0 and buf[i] != 0xFF:
                    erased = False
                    break
            return 0 if erased else -1
        return struct.unpack_from('<I', buf, 0)[0]

    def _scan(self):
        buf = self._buf
        best = 0
        best_slot = -1
        for slot in range(self.capacity):
            seq = self._read(slot, buf)
            if seq < 0:
                self.torn += 1
            elif seq > best:
                best = seq
                best_slot = slot
        self.next_seq = best + 1
        self.next_slot = (best_slot + 1) % self.capacity

    def log(self, time_s, event, a=0, b=0):
        """Append one record. Allocation-free on unix; values are clamped to
        i32 before packing (struct.pack truncates silently on MicroPython)."""
        buf = self._buf
        struct.pack_into(_FMT, buf, 0, self.next_seq & 0xFFFFFFFF,
                         time_s & 0xFFFFFFFF, event & 0xFFFF,
                         _clamp_i32(a), _clamp_i32(b))
        crc = crc16(buf, 0, 18)
        buf[18] = crc & 0xFF
        buf[19] = crc >> 8
        self.storage.write(self.base + self.next_slot * _RECORD_SIZE, buf)
        self.next_seq += 1
        self.next_slot += 1
        if self.next_slot >= self.capacity:
            self.next_slot = 0

    def records(self):
        """All valid records oldest first, as tuples
        (seq, time_s, event, a, b). Host/diagnostic use: allocates."""
        out = []
        buf = bytearray(_RECORD_SIZE)
        for slot in range(self.capacity):
            if self._read(slot, buf) > 0:
                out.append(struct.unpack_from(_FMT, buf, 0))
        out.sort(key=lambda r: r[0])
        return out
