"""Checkpoint slots, torn writes and power-loss recovery on the fake HAL
(pytest and MicroPython)."""
from helpers_device import make_pump, run_ticks, start_program
from firmware.checkpoint import Checkpoint
from firmware.pump import Pump
from firmware.loop import Loop
from firmware.compat import heap_lock, heap_unlock
from pumphost.codes import AREA_SIZE, A_POWER_INTERRUPTED, RECORD_SIZE, SLOT_SIZE

RATE = 1773913          # 1.77 mL/h
VOLUME = 5000000


def _reboot(hal, settings):
    """Power cut: RAM gone; a new Pump on the same storage; POST runs."""
    hal.motor.stop()
    pump = Pump(hal, settings)
    loop = Loop(pump, hal.clock)
    run_ticks(hal, loop, 1)
    return pump, loop


def _running(ticks):
    hal, pump, loop = make_pump()
    prog = start_program(hal, pump, loop, RATE, VOLUME)
    run_ticks(hal, loop, ticks)
    return hal, pump, loop, prog


def test_slots_alternate_and_newest_wins():
    hal, pump, loop, _ = _running(200)
    ck = pump.ckpt
    seq = ck.seq
    assert seq > 2
    again = Checkpoint(hal.storage, 0)
    assert again.seq == seq and again.torn == 0
    assert again.newest[6] == pump.course.delivered_nl and again.newest[5] == pump.course.steps_commanded
    # the two slots hold seq and seq - 1, one each
    buf = bytearray(4)
    seqs = []
    for slot in (0, 1):
        hal.storage.readinto(slot * SLOT_SIZE, buf)
        seqs.append(buf[0] | buf[1] << 8 | buf[2] << 16 | buf[3] << 24)
    seqs.sort()
    assert seqs == [seq - 1, seq]


def test_torn_slot_falls_back_to_the_other():
    hal, pump, loop, _ = _running(300)
    ck = pump.ckpt
    newest_slot = ck.seq & 1
    before = Checkpoint(hal.storage, 0).newest
    # a torn write: only the first 10 bytes of a newer record landed
    base = newest_slot ^ 1
    mem = hal.storage.mem
    mem[base * SLOT_SIZE] = (ck.seq + 1) & 0xFF
    mem[base * SLOT_SIZE + 1] = ((ck.seq + 1) >> 8) & 0xFF
    for i in range(2, 10):
        mem[base * SLOT_SIZE + i] ^= 0x5A
    after = Checkpoint(hal.storage, 0)
    assert after.torn == 1
    assert after.newest == before


def test_checkpoint_write_allocates_nothing():
    hal, pump, loop, _ = _running(50)
    ck = pump.ckpt
    heap_lock()
    try:
        for _ in range(20):
            ck.write(pump)
    finally:
        heap_unlock()
    assert Checkpoint(hal.storage, 0).seq == ck.seq


def test_power_cut_boots_into_alarm_with_the_delivered_volume():
    hal, pump, loop, prog = _running(4000)
    delivered = pump.course.delivered_nl
    steps = pump.course.steps_commanded
    assert delivered > 0
    p2, l2 = _reboot(hal, pump.settings)
    assert p2.state_name() == 'ALARM'
    assert p2.alarms.active[A_POWER_INTERRUPTED]
    assert p2.course.delivered_nl == delivered and p2.course.steps_commanded == steps
    assert p2.program_digest == prog.digest()
    pos = hal.motor.pos
    run_ticks(hal, l2, 3000)          # 5 min: nothing resumes by itself
    assert p2.state_name() == 'ALARM' and hal.motor.pos == pos
    assert p2.resume() != 0           # not from ALARM
    assert p2.acknowledge() == 0 and p2.state_name() == 'PAUSED'
    assert p2.resume() == 0
    run_ticks(hal, l2, 600)
    assert p2.state_name() == 'RUNNING'
    assert hal.motor.pos > pos and p2.course.steps_commanded > steps
    assert p2.course.delivered_nl > delivered


def test_cut_while_paused_recovers_paused_program():
    hal, pump, loop, prog = _running(1000)
    assert pump.pause() == 0
    run_ticks(hal, loop, 10)
    p2, l2 = _reboot(hal, pump.settings)
    assert p2.state_name() == 'ALARM' and p2.program_digest == prog.digest()
    assert p2.course.delivered_nl == pump.course.delivered_nl


def test_clean_stop_and_idle_boot_normally():
    hal, pump, loop, _ = _running(500)
    assert pump.pause() == 0 and pump.stop() == 0
    p2, l2 = _reboot(hal, pump.settings)
    assert p2.state_name() == 'IDLE'
    assert not p2.alarms.active[A_POWER_INTERRUPTED]
    hal2, q, l3 = make_pump()        # erased storage: a first boot
    run_ticks(hal2, l3, 1)
    assert q.state_name() == 'IDLE' and q.ckpt.newest is None and q.ckpt.torn == 0


def test_torn_journal_record_is_discarded_and_recovery_still_works():
    hal, pump, loop, _ = _running(700)
    j = pump.journal
    slot = j.next_slot
    # power cut mid-journal-write: the first 7 bytes of the next record land
    mem = hal.storage.mem
    at = j.base + slot * RECORD_SIZE
    for i in range(7):
        mem[at + i] = 0x11
    p2, l2 = _reboot(hal, pump.settings)
    assert p2.journal.torn >= 1
    assert p2.state_name() == 'ALARM' and p2.course.delivered_nl == pump.course.delivered_nl


def test_program_record_corrupt_boots_into_alarm_without_program():
    hal, pump, loop, _ = _running(700)
    hal.storage.mem[2 * SLOT_SIZE + 10] ^= 0xFF   # inside the program record
    p2, l2 = _reboot(hal, pump.settings)
    assert p2.state_name() == 'ALARM' and p2.program is None
    assert p2.alarms.active[A_POWER_INTERRUPTED]
    assert p2.course.delivered_nl == pump.course.delivered_nl     # still known and journaled
    assert p2.acknowledge() == 0 and p2.resume() != 0
    assert p2.stop() == 0 and p2.state_name() == 'IDLE'


def test_journal_starts_after_the_checkpoint_area():
    hal, pump, loop = make_pump()
    assert pump.journal.base == AREA_SIZE
    assert pump.journal.capacity > 0
