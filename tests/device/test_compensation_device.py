"""Mechanism compensation (firmware.compensation, the table record in
firmware.calibration) on the fake HAL. Runs under pytest AND MicroPython.

The table round-trips through NV with its CRC; a table outside its band is
refused when stored and rejected at boot (journaled, nominal motion); a torn
one likewise, unless the other slot holds a good one; the compensated tick
allocates nothing; the motor stays within the band of the volume's steps and
every figure on the way stays a small int.
"""
from hal.fake import make_fake_hal
from firmware.settings import Settings
from firmware.loop import Loop
from firmware.boot import boot
from firmware.compat import heap_lock, heap_unlock
from firmware.delivery import StepScheduler
from firmware.compensation import Compensation
from firmware.program import Program
from firmware import calibration as cal
from pumphost.codes import CAL_AREA, EV_COMP_APPLIED, EV_COMP_REJECTED, EV_CAL_STORED, K_CONTINUOUS

REV = 3200
CYC = 64
SMALL = 1 << 30


def _tables(amp_screw=3277, amp_ustep=123):
    """A lead screw of 12.8 microsteps (5 um) and a microstep error of 0.48
    microstep, as the bench plant's defaults, in 1/256 microstep: a
    triangle over the revolution and over the cycle (no floats on a board)."""
    screw = []
    for i in range(32):
        k = i if i < 16 else 32 - i
        screw.append(amp_screw - amp_screw * k // 8)
    ustep = []
    for i in range(16):
        k = i if i < 8 else 16 - i
        ustep.append(amp_ustep - amp_ustep * k // 4)
    return tuple(screw), tuple(ustep)


def _events(journal):
    return [r[2:] for r in journal.records()]


def _boot_running(hal, rate_nl_h=1773913):
    s = Settings()
    pump, loop, _ = boot(hal, s)
    hal.clock.advance(100)
    loop.poll()
    prog = Program([(K_CONTINUOUS, rate_nl_h, 40000000)])
    assert pump.load(prog) == 0, pump.last_error
    assert pump.confirm(prog.digest()) == 0
    assert pump.start() == 0, pump.last_error
    return pump, loop


def _run(hal, loop, n):
    for _ in range(n):
        hal.clock.advance(100)
        loop.poll()


def test_table_round_trip_and_applied_at_boot():
    hal = make_fake_hal()
    screw, ustep = _tables()
    seq, err = cal.store_table(hal.storage, None, 0, REV, CYC, screw, ustep)
    assert err is None and seq == 1
    t = cal.read_table(hal.storage)
    assert t['rev'] == REV and t['cycle'] == CYC and tuple(t['screw']) == screw and tuple(t['ustep']) == ustep
    # the next one goes to the other slot, the newest wins
    assert cal.store_table(hal.storage, None, 0, REV, CYC, screw[1:] + screw[:1], ustep)[0] == 2
    assert cal.read_table(hal.storage)['slot'] == 1
    pump, loop = _boot_running(hal)
    assert pump.course.comp is not None and pump.course.comp.screw[0] == screw[1]
    assert (EV_COMP_APPLIED, 2, REV) in _events(pump.journal)
    assert pump.settings.compensation_seq == 2


def test_table_outside_its_band_refused_when_stored():
    hal = make_fake_hal()
    screw, ustep = _tables()
    bad = list(screw)
    bad[5] = cal.SCREW_BAND + 1
    seq, err = cal.store_table(hal.storage, None, 0, REV, CYC, tuple(bad), ustep)
    assert seq == 0 and 'screw[5]' in err and str(cal.SCREW_BAND) in err
    bad = list(ustep)
    bad[3] = -cal.USTEP_BAND - 1
    seq, err = cal.store_table(hal.storage, None, 0, REV, CYC, screw, tuple(bad))
    assert seq == 0 and 'microstep[3]' in err
    seq, err = cal.store_table(hal.storage, None, 0, REV, 60, screw, ustep)   # 60 does not divide 3200
    assert seq == 0 and 'cycle' in err
    seq, err = cal.store_table(hal.storage, None, 0, REV, CYC, screw[:30], ustep)
    assert seq == 0 and 'entries' in err
    assert cal.read_table(hal.storage) is None


def _write_raw(storage, slot, screw, ustep, seq=1):
    """A record with a good CRC whatever its entries: what a broken bench
    tool or a bit flip before the CRC was made would leave."""
    import struct
    buf = bytearray(cal.TREC)
    struct.pack_into('<2sBBIHHBB', buf, 0, b'CM', cal.VERSION, len(screw), seq, REV, CYC, len(ustep), 0)
    for i in range(len(screw)):
        struct.pack_into('<h', buf, 14 + 2 * i, screw[i])
    for i in range(len(ustep)):
        struct.pack_into('<h', buf, 14 + 2 * cal.SCREW_N + 2 * i, ustep[i])
    crc = cal.crc16(buf, 0, cal.TREC - 2)
    buf[cal.TREC - 2] = crc & 0xFF
    buf[cal.TREC - 1] = crc >> 8
    storage.write(storage.size() - CAL_AREA + 2 * cal.SLOT + slot * cal.TSLOT, buf)


def test_stored_table_outside_band_rejected_at_boot_runs_nominal():
    hal = make_fake_hal()
    screw, ustep = _tables()
    bad = list(screw)
    bad[7] = 20000          # 78 microsteps: a broken screw or a broken measurement
    _write_raw(hal.storage, 0, tuple(bad), ustep)
    pump, loop = _boot_running(hal)
    assert pump.course.comp is None and pump.settings.compensation is None
    assert (EV_COMP_REJECTED, cal.REJ_BAND, 0) in _events(pump.journal)
    _run(hal, loop, 3000)
    assert hal.motor.pos == pump.course.steps_commanded   # nominal: one motor step per step


def test_torn_table_rejected_unless_the_other_slot_is_good():
    hal = make_fake_hal()
    screw, ustep = _tables()
    assert cal.store_table(hal.storage, None, 0, REV, CYC, screw, ustep)[0] == 1
    assert cal.store_table(hal.storage, None, 0, REV, CYC, ustep + ustep, ustep)[0] == 2   # slot 1
    base = hal.storage.size() - CAL_AREA + 2 * cal.SLOT
    hal.storage.mem[base + cal.TSLOT + 20] ^= 0x5A       # tear the newest
    t = cal.read_table(hal.storage)
    assert t['seq'] == 1 and tuple(t['screw']) == screw
    hal.storage.mem[base + 20] ^= 0x5A                   # and the older
    assert cal.read_table(hal.storage) == cal.REJ_TORN
    pump, loop = _boot_running(hal)
    assert pump.course.comp is None
    assert (EV_COMP_REJECTED, cal.REJ_TORN, 0) in _events(pump.journal)


def test_no_table_no_module_no_entry():
    hal = make_fake_hal()
    pump, loop = _boot_running(hal)
    assert pump.course.comp is None
    ev = _events(pump.journal)
    assert all(e[0] not in (EV_COMP_APPLIED, EV_COMP_REJECTED) for e in ev)


def test_compensated_tick_allocates_nothing_and_stays_in_band():
    hal = make_fake_hal()
    screw, ustep = _tables()
    assert cal.store_table(hal.storage, None, 0, REV, CYC, screw, ustep)[0] == 1
    pump, loop = _boot_running(hal, 20000000)       # 20 mL/h: about 2.6 steps a tick
    _run(hal, loop, 50)
    heap_lock()
    try:
        _run(hal, loop, 2000)
    finally:
        heap_unlock()
    c = pump.course
    assert pump.state_name() == 'RUNNING'
    volume_steps = c.cum_steps - c.left
    # the motor follows the carriage's table, the volume its steps: apart by
    # less than the table's swing, and not equal (the table is in use)
    assert abs(c.steps_commanded - pump.fill.steps - volume_steps) <= 2 * (3277 + 123) // 256 + 1
    assert c.steps_commanded - pump.fill.steps != volume_steps
    # the table is read at the shaft's phase: the motor's count
    assert c.comp.phase == hal.motor.pos % REV


def test_phase_follows_the_shaft_across_a_pause_and_a_back_off():
    hal = make_fake_hal()
    screw, ustep = _tables()
    assert cal.store_table(hal.storage, None, 0, REV, CYC, screw, ustep)[0] == 1
    pump, loop = _boot_running(hal, 20000000)
    _run(hal, loop, 300)
    assert pump.pause() == 0
    _run(hal, loop, 2)
    hal.motor.pos -= 37          # the shaft turned back (a pressure relief, by hand)
    assert pump.resume() == 0
    _run(hal, loop, 5)
    assert pump.course.comp.phase == hal.motor.pos % REV


def _extreme(rev, cyc, ns, nu):
    screw = tuple(cal.SCREW_BAND if i % 2 else -cal.SCREW_BAND for i in range(ns))
    ustep = tuple(cal.USTEP_BAND if i % 2 else -cal.USTEP_BAND for i in range(nu))
    assert cal.table_check(rev, cyc, screw, ustep) is None
    return Compensation(rev, screw, cyc, ustep)


def test_small_ints_over_a_course_at_the_band_and_the_highest_rate():
    # 150 mL/h on a 50 mL syringe at 100 ms: the most steps a tick (the
    # scheduler's), over whole revolutions; the state is the shaft phase
    # and a remainder, so what holds over these holds over 14 days. The
    # largest product is (b - a) * f in the interpolation: 2 * band times a
    # span of at most 65535 / 4 steps.
    assert 2 * cal.SCREW_BAND * (65535 // 4) < SMALL
    s = StepScheduler(100, 217070)
    s.set_rate(150000000)
    band = 2 * (cal.SCREW_BAND + cal.USTEP_BAND) // 256 + 1
    for comp in (_extreme(REV, CYC, 32, 16), _extreme(65520, 4680, 4, 4)):
        comp.sync(0)
        moved = 0
        given = 0
        for _ in range(4 * comp.rev // 19 + 1):
            n = s.next_steps()
            m = comp.steps(n)
            comp.turn(m)
            moved += m
            given += n
            assert 0 <= comp.phase < comp.rev and -SMALL < comp.rem < SMALL and 0 <= m < SMALL
            assert abs(moved - given) <= band, (moved, given)
    # the course's counts at 150 mL/h for 14 days, band included
    assert 150000000 * 14 * 24 * 1000 // 217070 + band < SMALL
