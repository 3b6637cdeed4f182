"""Therapy checkpoints in non-volatile storage: where the therapy stands.

Storage layout (the journal ring starts at _AREA_SIZE; calibration keeps
the last bytes, see firmware/journal.py):

    0      slot 0   (_SLOT_SIZE bytes)
    66     slot 1
    132    program record: u16 length, u16 crc16, encoding (the started
           program's canonical bytes, what the confirm hash covers; at most
           _PROGRAM_MAX bytes: 4 + 3 drugs * 38 + 32 steps * 18 = 694)

Slot: seq u32, uptime_s u32, state u8, flags u8, step_index u16,
steps_commanded i32, delivered_nl i32, step_left i32, pl_rem u16,
alarm mask u32 (latched alarms, bit = code), scheduler phase u32, fill left
i32, fill steps i32, fill ms i32, program crc16 u16, ramp sub-step u8,
cycle step u8 (255 none), cycle repeats left u16, pause-step seconds left i32,
programmed volume up to the current step i32; crc16 of bytes 0..59, seq
again u32 (bytes 62..65).

Record `seq` goes to slot seq % 2, so a write never touches the newest
valid slot: a power cut in the middle of a write (a torn slot) loses at most
that write, and the other slot still holds the previous one. A slot counts
only if its CRC matches AND its trailing seq copy equals the leading one; a
storage that programs bytes in order (FRAM, EEPROM, a flash page) writes the
copy last, so a torn slot is rejected even when a CRC collision would let
it through.

When: in every control tick that commands motor steps (write-ahead: before
the motor moves, so after a cut the device knows the delivered volume to
within the steps of one tick, never less than was moved), at every state
change, and when the start-up fill holds. Nothing is written in ticks
without motion (0.1 mL/h on a 50 mL syringe: one write per 7.8 s).

Storage assumption: the checkpoint area is byte-writable NV with high write
endurance (FRAM: 10^12 to 10^14 writes per byte). At the device's top rate
(150 mL/h, every tick moves) that is 10 writes/s, 5 per slot: 1.6e8 writes
per slot in a year, far inside FRAM's endurance. NOR flash (10^5 erase
cycles) would need a log-structured area instead: with 4 KB sectors of 75
slots, 10 writes/s erase a sector every 7.5 s, so 64 sectors (256 KB) last
10^5 * 64 * 7.5 s = 1.5 years of continuous top-rate infusion; EEPROM
(10^6 cycles) with two slots would last 2.3 days at the top rate.

Allocation-free `write()` (preallocated buffer, small ints only): the
control tick calls it under heap_lock. Decoding the slot and the program
at boot is firmware.recovery's (imported only then); so are the names of
the slot's fields. Few public names here: each costs device heap.
"""
import struct
from firmware.compat import const
from firmware.crc16 import crc16

# codes from pumphost.codes (private: no heap; tests/test_device_codes.py checks them)
_N_ALARMS = const(21)

_SLOT_SIZE = const(66)
_PROGRAM_AT = const(132)         # 2 * _SLOT_SIZE
_PROGRAM_MAX = const(712)        # the largest program encoding (694), with room
_AREA_SIZE = const(848)          # slots + program record (4 + _PROGRAM_MAX)
FMT = '<IIBBHiiiHIIiiiHBBHii'   # 60 bytes, then crc16, then seq again
_CRC_AT = const(60)
_SEQ2_AT = const(62)
_SEQ_MASK = const(0x3FFFFFFF)   # seq wraps at 2**30 (a small int everywhere)

_F_STARTED = const(1)    # a started therapy (not stopped, not complete)
_F_HOLDING = const(2)    # start-up fill repaying its overshoot

# journal event (journal.py owns 1..19, link 20..23, calibration 30..31):
# a = delivered_nl restored, b = step index restored (-1: program lost)

_I32_MAX = const(0x7FFFFFFF)


def _i32(v):
    if v > _I32_MAX:
        return _I32_MAX
    if v < -_I32_MAX:
        return -_I32_MAX
    return v


class Checkpoint:
    def __init__(self, storage, base=0):
        self.storage = storage
        self.base = base
        self._buf = bytearray(_SLOT_SIZE)
        self.seq = 0          # seq of the newest valid slot (0: none)
        self.torn = 0         # slots found neither valid nor erased at boot
        self.newest = None    # decoded newest valid slot (FMT fields), or None
        self.prog_crc = 0     # crc16 of the started program's encoding
        buf = self._buf
        for slot in (0, 1):
            storage.readinto(base + slot * _SLOT_SIZE, buf)
            seq = struct.unpack_from('<I', buf, 0)[0]
            if ((buf[_CRC_AT] | (buf[_CRC_AT + 1] << 8)) == crc16(buf, 0, _CRC_AT)
                    and struct.unpack_from('<I', buf, _SEQ2_AT)[0] == seq and seq):
                # newer in serial-number order (seq wraps)
                if self.newest is None or 0 < ((seq - self.seq) & _SEQ_MASK) < 0x20000000:
                    self.newest = struct.unpack_from(FMT, buf, 0)
                    self.seq = seq
            elif buf != b'\xff' * _SLOT_SIZE:
                self.torn += 1
        if self.newest is not None:
            self.prog_crc = self.newest[14]

    def save_program(self, enc):
        """Store a program's encoding (at start: a command, not the tick;
        allocates). The slots written afterwards name it by its crc16."""
        n = len(enc)
        if n > _PROGRAM_MAX:
            raise ValueError('program encoding too long for the checkpoint area')
        rec = bytearray(4 + n)
        c = crc16(enc)
        struct.pack_into('<HH', rec, 0, n, c)
        rec[4:] = enc
        self.storage.write(self.base + _PROGRAM_AT, rec)
        self.prog_crc = c

    def write(self, pump):
        """Write where the therapy stands (the pump's state, its course, the
        scheduler's phase, the fill) into the next slot. Allocation-free."""
        buf = self._buf
        seq = self.seq + 1
        if seq > _SEQ_MASK:
            seq = 2        # 2**30 - 1 went to slot 1: keep alternating
        mask = 0
        active = pump.alarms.active
        for code in range(1, _N_ALARMS):
            if active[code]:
                mask |= 1 << code
        fill = pump.fill
        c = pump.course
        struct.pack_into(FMT, buf, 0, seq, pump.uptime_s & _SEQ_MASK,
                         pump.fsm.state & 0xFF,
                         (_F_STARTED if pump.started else 0) | (_F_HOLDING if fill.holding else 0),
                         c.index & 0xFFFF, _i32(c.steps_commanded),
                         _i32(c.delivered_nl), _i32(c.left),
                         c.pl_rem & 0xFFFF, mask & _SEQ_MASK, pump.sched.phase() & _SEQ_MASK,
                         _i32(fill.left), _i32(fill.steps), _i32(fill.ms),
                         self.prog_crc & 0xFFFF, c.sub & 0xFF, c.cyc_at & 0xFF,
                         c.cyc_left & 0xFFFF, _i32(c.dwell_end - pump.uptime_s),
                         _i32(c.cum_nl))
        crc = crc16(buf, 0, _CRC_AT)
        buf[_CRC_AT] = crc & 0xFF
        buf[_CRC_AT + 1] = crc >> 8
        struct.pack_into('<I', buf, _SEQ2_AT, seq)
        self.storage.write(self.base + (seq & 1) * _SLOT_SIZE, buf)
        self.seq = seq
