"""The started program's record in the checkpoint area: length, crc16,
the encoding, and nothing past it (the journal ring starts where the area
ends). Runs under pytest AND MicroPython."""
from firmware.checkpoint import Checkpoint
from firmware.crc16 import crc16
from hal.fake import FakeStorage
from pumphost.codes import AREA_SIZE, PROGRAM_AT, PROGRAM_MAX


def _encoding(n):
    b = bytearray(n)
    for i in range(n):
        b[i] = (i * 7 + 3) & 0xFF
    return bytes(b)


def _u16(mem, at):
    return mem[at] | (mem[at + 1] << 8)


def test_a_program_record_is_length_crc_and_encoding_and_nothing_after():
    for n in (5, 100, PROGRAM_MAX):       # PROGRAM_MAX: the record ends where the area does
        storage = FakeStorage()
        ck = Checkpoint(storage, 0)
        enc = _encoding(n)
        ck.save_program(enc)
        mem = storage.mem
        assert _u16(mem, PROGRAM_AT) == n and _u16(mem, PROGRAM_AT + 2) == crc16(enc)
        assert bytes(mem[PROGRAM_AT + 4:PROGRAM_AT + 4 + n]) == enc
        assert mem[PROGRAM_AT + 4 + n] == 0xFF, n         # the byte after it still erased
        assert ck.prog_crc == crc16(enc)
    assert PROGRAM_AT + 4 + PROGRAM_MAX == AREA_SIZE


def test_an_encoding_longer_than_the_area_holds_is_refused_and_nothing_written():
    storage = FakeStorage()
    ck = Checkpoint(storage, 0)
    before = bytes(storage.mem)
    try:
        ck.save_program(_encoding(PROGRAM_MAX + 1))
    except ValueError as e:
        assert str(e) == 'program encoding too long for the checkpoint area', str(e)
    else:
        raise AssertionError('a %d-byte encoding was stored' % (PROGRAM_MAX + 1))
    assert bytes(storage.mem) == before and ck.prog_crc == 0


# ------------------------------------------------------------------ slots
import struct
from firmware.checkpoint import FMT
from firmware.loop import Loop
from firmware.program import Program
from firmware.pump import Pump
from firmware.settings import Settings
from hal.fake import make_fake_hal
from helpers_device import make_pump, run_ticks, start_program
from pumphost.codes import (A_AIR_IN_LINE, A_OCCLUSION_DOWNSTREAM, A_POWER_INTERRUPTED,
                            A_SYRINGE_NEAR_EMPTY, K_CONTINUOUS, S_IDLE, SLOT_SIZE)

_ERASED = b'\xff' * SLOT_SIZE


def _slot_bytes(storage, slot):
    return bytes(storage.mem[slot * SLOT_SIZE:(slot + 1) * SLOT_SIZE])


def _put_slot(storage, slot, seq, copy=None, state=S_IDLE):
    """A slot as a firmware (this one, or another) would leave it: the
    fields, their crc16 and the trailing copy of seq."""
    buf = bytearray(SLOT_SIZE)
    struct.pack_into(FMT, buf, 0, seq, 0, state, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0)
    c = crc16(buf, 0, 60)
    buf[60] = c & 0xFF
    buf[61] = c >> 8
    struct.pack_into('<I', buf, 62, seq if copy is None else copy)
    storage.write(slot * SLOT_SIZE, buf)


def _boot(hal):
    pump = Pump(hal, Settings())
    loop = Loop(pump, hal.clock)
    run_ticks(hal, loop, 1)
    return pump, loop


def _load(pump):
    assert pump.load(Program([(K_CONTINUOUS, 1000000, 2000000)])) == 0, pump.last_error


def test_the_first_checkpoint_on_erased_storage_is_seq_1_in_slot_1():
    hal, pump, loop = make_pump()
    assert (pump.ckpt.seq, pump.ckpt.newest, pump.ckpt.torn) == (0, None, 0)
    run_ticks(hal, loop, 1)                # POST -> IDLE: a state change, the first write
    assert pump.ckpt.seq == 1
    assert _slot_bytes(hal.storage, 0) == _ERASED and _slot_bytes(hal.storage, 1) != _ERASED
    again = Checkpoint(hal.storage)        # the area starts at 0 unless told otherwise
    assert again.seq == 1 and again.newest[2] == pump.fsm.state


def test_a_slot_whose_trailing_seq_copy_differs_is_torn():
    hal, pump, loop = make_pump()
    run_ticks(hal, loop, 1)
    _load(pump)
    pump.stop()                            # seq 1 (slot 1, POST), 2 (slot 0), 3 (slot 1)
    assert pump.ckpt.seq == 3
    hal.storage.mem[SLOT_SIZE + 62] ^= 0x01   # slot 1's copy of seq: 2 for 3, crc still good
    ck = Checkpoint(hal.storage, 0)
    assert (ck.seq, ck.torn) == (2, 1)
    hal.storage.mem[62] ^= 0x01               # and slot 0's
    ck = Checkpoint(hal.storage, 0)
    assert (ck.seq, ck.newest, ck.torn) == (0, None, 2)


def test_the_newer_of_two_slots_is_the_one_less_than_half_the_seq_range_ahead():
    from hal.fake import FakeStorage
    cases = [
        ((5, 6), 6),                          # plainly newer
        ((6, 5), 6),
        ((7, 7), 7),                          # a tie is not newer: slot 0, read first, stays
        ((5, 5 + (1 << 29) - 1), 5 + (1 << 29) - 1),   # within half the 2**30 range: newer
        ((5, 5 + (1 << 29)), 5),              # half the range ahead: not newer
        ((5 + (1 << 29), 5), 5 + (1 << 29)),
        (((1 << 30) - 1, 2), 2),              # across the wrap
    ]
    for (s0, s1), newest in cases:
        st = FakeStorage()
        _put_slot(st, 0, s0, state=1)
        _put_slot(st, 1, s1, state=2)
        ck = Checkpoint(st, 0)
        assert ck.seq == newest and ck.newest[2] == (1 if newest == s0 else 2), (s0, s1, ck.seq)
    st = FakeStorage()
    _put_slot(st, 0, 7, state=1)
    _put_slot(st, 1, 7, state=2)
    assert Checkpoint(st, 0).newest[2] == 1


def test_seq_wraps_to_2_after_2_to_the_30_minus_1_and_slots_keep_alternating():
    hal = make_fake_hal()
    _put_slot(hal.storage, 0, (1 << 30) - 2)
    pump, loop = _boot(hal)                 # POST -> IDLE writes the next
    assert pump.state_name() == 'IDLE' and pump.ckpt.seq == (1 << 30) - 1
    assert struct.unpack_from('<I', hal.storage.mem, SLOT_SIZE)[0] == (1 << 30) - 1
    _load(pump)
    assert pump.ckpt.seq == 2 and struct.unpack_from('<I', hal.storage.mem, 0)[0] == 2
    assert Checkpoint(hal.storage, 0).seq == 2


def test_a_slot_left_with_a_seq_above_2_to_the_31_is_read_and_the_next_write_wraps():
    # another firmware's seq: unsigned, as stored
    hal = make_fake_hal()
    _put_slot(hal.storage, 1, 0x80000001)
    assert Checkpoint(hal.storage, 0).seq == 0x80000001
    pump, loop = _boot(hal)                 # POST -> IDLE writes the next
    assert pump.state_name() == 'IDLE' and pump.ckpt.seq == 2 and struct.unpack_from('<I', hal.storage.mem, 0)[0] == 2


def test_alarms_latched_at_a_cut_come_back_and_no_others():
    hal, pump, loop = make_pump()
    start_program(hal, pump, loop, 1000000, 2000000)
    run_ticks(hal, loop, 20)
    pump.advise(A_SYRINGE_NEAR_EMPTY)             # latched, delivery goes on
    pump.raise_alarm(A_OCCLUSION_DOWNSTREAM)      # code 1: ALARM, a checkpoint
    assert pump.state_name() == 'ALARM'
    p2, _ = _boot(hal)
    on = [c for c in range(1, len(p2.alarms.active)) if p2.alarms.active[c]]
    assert on == sorted([A_OCCLUSION_DOWNSTREAM, A_POWER_INTERRUPTED, A_SYRINGE_NEAR_EMPTY]), on


def test_a_cut_before_any_start_boots_normally_even_in_alarm():
    hal, pump, loop = make_pump()
    run_ticks(hal, loop, 1)
    _load(pump)
    pump.raise_alarm(A_AIR_IN_LINE)              # PROGRAMMED -> ALARM: a checkpoint, not started
    assert pump.state_name() == 'ALARM'
    p2, _ = _boot(hal)
    assert p2.state_name() == 'IDLE' and not p2.alarms.active[A_POWER_INTERRUPTED]


def test_a_recovered_course_keeps_the_sub_nl_remainder_and_the_scheduler_phase():
    hal, pump, loop = make_pump()
    start_program(hal, pump, loop, 1773913, 5000000)
    run_ticks(hal, loop, 203)
    c = pump.course
    assert c.pl_rem and pump.sched.phase()       # both mid-way at the cut
    p2, _ = _boot(hal)
    assert p2.state_name() == 'ALARM'
    assert (p2.course.delivered_nl, p2.course.pl_rem) == (c.delivered_nl, c.pl_rem)
    assert p2.sched.phase() == pump.sched.phase()
