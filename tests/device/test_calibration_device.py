"""Stored calibration (firmware.calibration) on the fake HAL.
Runs under pytest AND MicroPython.

The record lives in the calibration area at the end of storage (two slots),
outside the journal ring; a torn write leaves the previous record; an implausible figure
is refused; at boot the stored figures replace the nominal ones and the
Pump journals which record it uses.
"""
from hal.fake import make_fake_hal
from firmware.settings import Settings
from firmware.pump import Pump
from firmware.loop import Loop
from firmware.journal import Journal
from firmware import calibration as cal
from pumphost.codes import CAL_AREA, EV_BOOT, EV_CAL_APPLIED, EV_CAL_STORED, RECORD_SIZE


def _events(journal):
    return [r[2:] for r in journal.records()]


def test_storage_map_journal_stops_before_calibration():
    hal = make_fake_hal()
    st = hal.storage
    j = Journal(st)
    assert j.base + j.capacity * RECORD_SIZE <= st.size() - CAL_AREA
    # fill the ring several times over: the calibration area stays erased
    for i in range(3 * j.capacity):
        j.log(i, 7, i, i)
    buf = bytearray(CAL_AREA)
    st.readinto(st.size() - CAL_AREA, buf)
    assert buf == bytearray(b'\xff' * CAL_AREA)


def test_store_read_apply_and_journal():
    hal = make_fake_hal()
    s = Settings()
    j = Journal(hal.storage)
    seq, err = cal.store(hal.storage, j, 5, s, 221400, 3100, 4080, 3, 9216, 2001234)
    assert err is None and seq == 1
    rec = cal.read(hal.storage)
    assert rec['step_pl'] == 221400 and rec['zero'] == 3100 and rec['span'] == 4080
    assert rec['steps'] == 9216 and rec['mass_ug'] == 2001234 and rec['flags'] == 3
    assert (EV_CAL_STORED, 221400, 3100 * 65536 + 4080) in _events(j)
    # the journal going on does not touch the record
    for i in range(2 * j.capacity):
        j.log(i, 7, i, i)
    assert cal.read(hal.storage)['seq'] == 1
    s2 = Settings()
    assert cal.boot_settings(s2, hal.storage) is not None
    assert (s2.step_pl, s2.pressure_zero_counts, s2.pressure_span_counts_per_100mmhg) == (221400, 3100, 4080)
    assert s2.calibration_seq == 1 and s2.validate() is None
    # the Pump boots on the stored figures and journals which record
    pump = Pump(hal, s2)
    loop = Loop(pump, hal.clock)
    hal.clock.advance(100)
    loop.poll()
    assert pump.step_pl == 221400
    ev = _events(pump.journal)
    i = ev.index((EV_CAL_APPLIED, 221400, 1))
    assert ev[i - 1][0] == EV_BOOT
    # 0 mmHg at the calibrated zero
    hal.pressure.raw = 3100
    hal.clock.advance(100)
    loop.poll()
    assert pump.pressure_x10 == 0
    hal.pressure.raw = 3100 + 408   # 10 mmHg at 4080 counts per 100 mmHg
    hal.clock.advance(100)
    loop.poll()
    assert pump.pressure_x10 == 100


def test_no_record_keeps_nominal_and_journals_nothing():
    hal = make_fake_hal()
    s = Settings()
    assert cal.boot_settings(s, hal.storage) is None
    assert s.step_pl == 217070 and s.calibration_seq == 0
    pump = Pump(hal, s)
    loop = Loop(pump, hal.clock)
    hal.clock.advance(100)
    loop.poll()
    assert all(e[0] != EV_CAL_APPLIED for e in _events(pump.journal))


def test_newest_wins_and_torn_write_keeps_previous():
    hal = make_fake_hal()
    st = hal.storage
    s = Settings()
    assert cal.store(st, None, 0, s, 220000, 3000, 4000)[0] == 1
    assert cal.store(st, None, 0, s, 221000, 3000, 4000)[0] == 2
    assert cal.read(st)['step_pl'] == 221000 and cal.read(st)['slot'] == 1
    # the third write goes to slot 0; tear it half way
    assert cal.store(st, None, 0, s, 222000, 3000, 4000)[0] == 3
    assert cal.read(st)['slot'] == 0
    base = st.size() - CAL_AREA
    st.mem[base + 10] ^= 0x5A
    rec = cal.read(st)
    assert rec['seq'] == 2 and rec['step_pl'] == 221000
    # the next write replaces the torn slot, not the good one
    assert cal.store(st, None, 0, s, 223000, 3000, 4000)[0] == 3
    assert cal.read(st)['step_pl'] == 223000


def test_implausible_figures_refused():
    hal = make_fake_hal()
    s = Settings()
    for step_pl, zero, span, word in ((217070 * 12 // 10, 3000, 4000, 'step_pl'),
                                      (217070, 6000, 4000, 'pressure_zero_counts'),
                                      (217070, 3000, 2000, 'pressure_span'),
                                      (0, 3000, 4000, 'step_pl')):
        seq, err = cal.store(hal.storage, None, 0, s, step_pl, zero, span)
        assert seq == 0 and word in err, err
    assert cal.read(hal.storage) is None
    # a record that became implausible (nominal settings changed) is not applied
    assert cal.store(hal.storage, None, 0, s, 230000, 3000, 4000)[0] == 1
    s2 = Settings(step_pl=150000)
    assert cal.boot_settings(s2, hal.storage) is None
    assert s2.step_pl == 150000 and s2.calibration_seq == 0


def test_measurement_arithmetic():
    # 9216 steps weighed 1.99532 g of water: 0.2169 uL per step
    assert cal.step_pl_from_mass(9216, 1995320) == 216940   # 1995320e9 / (998000 * 9216)
    assert cal.step_pl_from_mass(0, 100) == 0
    assert cal.span_from(3000, 3000 + 12000, 3000) == 4000   # 300.0 mmHg
    assert cal.span_from(3010, 15020, 3000) == 4003

    class Sensor:
        def __init__(self):
            self.v = [2999, 3001, 3002, 3000]
            self.i = 0

        def read_raw(self):
            self.i += 1
            return self.v[self.i % 4]

    assert cal.mean_raw(Sensor(), 8) == 3001
