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
