"""What power-loss recovery (firmware.recovery) refuses to put back, and what
it keeps across a second cut. A checkpoint or program record that does not
hold together boots into the power alarm with no program and says why; one
that does is restored, and a recovered therapy survives another cut.
Fake HAL: a cut is a new Pump on the same storage; a damaged record is
written here with a CRC that checks (what a firmware bug or a different
program would leave)."""
import struct

import pytest

from helpers_device import make_pump, run_ticks
from firmware.checkpoint import FMT
from firmware.crc16 import crc16
from firmware.limits import ramp_volume_nl
from firmware.loop import Loop
from firmware.program import Program, ramp_parts, ramp_sub
from firmware.pump import Pump
from firmware.settings import Settings
from pumphost.codes import (A_OCCLUSION_DOWNSTREAM, A_POWER_INTERRUPTED, A_PRESSURE_DRIFT,
                            EV_ALARM, EV_POWER_RECOVERED, K_CONTINUOUS, K_CYCLE,
                            K_PAUSE, K_RAMP, PROGRAM_AT, SLOT_SIZE)

FAST = 36000000          # 36 mL/h: 1 uL per 100 ms tick
STEP_INDEX, PROG_CRC, ALARMS, SUB, DWELL_LEFT = 4, 14, 9, 15, 18


def _go(steps, **settings):
    hal, pump, loop = make_pump(**settings)
    run_ticks(hal, loop, 1)
    prog = Program(steps)
    assert pump.load(prog) == 0, pump.last_error
    assert pump.confirm(prog.digest()) == 0 and pump.start() == 0
    return hal, pump, loop, prog


def _reboot(hal, settings):
    hal.motor.stop()
    pump = Pump(hal, settings)
    loop = Loop(pump, hal.clock)
    run_ticks(hal, loop, 1)
    return pump, loop


def _resume(hal, p2, l2):
    assert p2.acknowledge() == 0 and p2.resume() == 0
    run_ticks(hal, l2, 1)


def _until(hal, loop, pump, state, max_ticks):
    for _ in range(max_ticks):
        run_ticks(hal, loop, 1)
        if pump.state_name() == state:
            return True
    return False


def _rewrite_newest_slot(hal, pump, **fields):
    """Change fields of the newest checkpoint slot, CRC made to match."""
    at = (pump.ckpt.seq & 1) * SLOT_SIZE
    mem = hal.storage.mem
    vals = list(struct.unpack_from(FMT, mem, at))
    for k, v in fields.items():
        vals[{'step_index': STEP_INDEX, 'prog_crc': PROG_CRC, 'alarms': ALARMS, 'sub': SUB,
                 'dwell_left': DWELL_LEFT}[k]] = v
    buf = bytearray(SLOT_SIZE)
    struct.pack_into(FMT, buf, 0, *vals)
    c = crc16(buf, 0, 60)
    buf[60] = c & 0xFF
    buf[61] = c >> 8
    buf[62:66] = mem[at:at + 4]
    mem[at:at + SLOT_SIZE] = buf


def _write_program_record(hal, body, n=None):
    """A program record of `body` (its CRC right) claiming length n."""
    n = len(body) if n is None else n
    c = crc16(body)
    rec = struct.pack('<HH', n, c) + body
    hal.storage.mem[PROGRAM_AT:PROGRAM_AT + len(rec)] = rec
    return c


def _lost(p2, why):
    assert p2.state_name() == 'ALARM' and p2.alarms.active[A_POWER_INTERRUPTED]
    assert p2.program is None
    assert p2.last_error == 'power interrupted: ' + why, p2.last_error
    ev = [r for r in p2.journal.records() if r[2] == EV_POWER_RECOVERED][-1]
    assert ev[3:] == (p2.course.delivered_nl, -1)


def _cut_running():
    hal, pump, loop, prog = _go([(K_CONTINUOUS, FAST, 2000000, 0, 0, 0),
                                 (K_CONTINUOUS, FAST, 2000000, 0, 0, 0)])
    run_ticks(hal, loop, 300)
    return hal, pump, loop, prog


def test_a_stored_program_the_checkpoint_does_not_name_is_not_restored():
    hal, pump, loop, prog = _cut_running()
    _rewrite_newest_slot(hal, pump, prog_crc=pump.ckpt.prog_crc ^ 0x5A5A)
    p2, _ = _reboot(hal, pump.settings)
    _lost(p2, 'stored program unreadable')
    assert p2.course.delivered_nl == pump.course.delivered_nl


@pytest.mark.parametrize('n,why', [(0, 'unreadable'), (1, 'unreadable'), (2, 'malformed'),
                                   (3, 'malformed'), (712, 'malformed'), (713, 'unreadable')])
def test_a_program_record_is_read_only_within_its_length_bounds(n, why):
    hal, pump, loop, prog = _cut_running()
    body = bytes((7 * i + 3) & 0xFF for i in range(n))    # no program: version byte 3
    c = _write_program_record(hal, body)
    _rewrite_newest_slot(hal, pump, prog_crc=c)
    p2, _ = _reboot(hal, pump.settings)
    _lost(p2, 'stored program ' + why)


def test_a_program_record_whose_body_does_not_match_its_crc_is_unreadable():
    hal, pump, loop, prog = _cut_running()
    hal.storage.mem[PROGRAM_AT + 4 + 5] ^= 0x01      # the header (length, crc) intact
    p2, _ = _reboot(hal, pump.settings)
    _lost(p2, 'stored program unreadable')


def test_a_checkpoint_step_beyond_the_program_is_not_restored():
    hal, pump, loop, prog = _cut_running()
    _rewrite_newest_slot(hal, pump, step_index=2)
    p2, _ = _reboot(hal, pump.settings)
    _lost(p2, 'checkpoint step 2 beyond the program')


def test_the_last_step_of_the_program_is_restored():
    hal, pump, loop, prog = _cut_running()
    _rewrite_newest_slot(hal, pump, step_index=1)
    p2, l2 = _reboot(hal, pump.settings)
    assert p2.program is not None and p2.course.index == 1
    ev = [r for r in p2.journal.records() if r[2] == EV_POWER_RECOVERED][-1]
    assert ev[3:] == (pump.course.delivered_nl, 1)


def test_a_program_the_device_no_longer_allows_is_not_restored():
    hal, pump, loop, prog = _cut_running()
    lower = Settings(max_rate_nl_h=FAST - 1)
    p2, _ = _reboot(hal, lower)
    _lost(p2, 'stored program refused: steps[0].rate_nl_h=36000000 not allowed '
              '(device limit 10000..35999999)')


def test_recovery_is_journaled_with_the_delivered_volume_and_the_step():
    hal, pump, loop, prog = _cut_running()
    p2, _ = _reboot(hal, pump.settings)
    recs = p2.journal.records()
    alarm = [r for r in recs if r[2] == EV_ALARM and r[3] == A_POWER_INTERRUPTED]
    assert len(alarm) == 1
    assert alarm[0][4] == p2.pressure_x10
    rec = [r for r in recs if r[2] == EV_POWER_RECOVERED]
    assert len(rec) == 1 and rec[0][3:] == (pump.course.delivered_nl, 0)
    assert recs.index(alarm[0]) < recs.index(rec[0])
    assert p2.program_digest == prog.digest()


@pytest.mark.parametrize('code', [A_OCCLUSION_DOWNSTREAM, A_PRESSURE_DRIFT, 20])
def test_every_alarm_code_latched_at_the_cut_comes_back(code):
    hal, pump, loop, prog = _cut_running()
    _rewrite_newest_slot(hal, pump, alarms=1 << code)
    p2, _ = _reboot(hal, pump.settings)
    al = p2.alarms
    latched = [c for c in range(1, len(al.active)) if al.active[c]]
    assert latched == sorted({code, A_POWER_INTERRUPTED})
    assert not al.acked[code] and not al.condition[code]


def test_a_recovered_therapy_survives_a_second_cut_and_completes_exactly():
    steps = [(K_CONTINUOUS, FAST, 300000, 0, 0, 0), (K_PAUSE, 0, 0, 20, 0, 0),
             (K_CONTINUOUS, FAST, 200000, 0, 0, 0), (K_CYCLE, 0, 0, 0, 2, 0),
             (K_CONTINUOUS, FAST, 2000000, 0, 0, 0)]
    # (the last step long enough for the occlusion check to see the fake's
    # flat line settle: a short one ends in a hold the fake cannot decay)
    hal, pump, loop, prog = _go(steps)
    run_ticks(hal, loop, 150)
    p2, l2 = _reboot(hal, pump.settings)
    _resume(hal, p2, l2)
    run_ticks(hal, l2, 700)            # into the cycle's second round
    assert p2.course.cyc_at == 3 and p2.state_name() == 'RUNNING', (p2.course.cyc_at, p2.state_name())
    at = (p2.course.index, p2.course.cyc_left, p2.course.delivered_nl)
    p3, l3 = _reboot(hal, p2.settings)
    assert p3.program_digest == prog.digest()
    assert (p3.course.index, p3.course.cyc_left, p3.course.delivered_nl) == at
    _resume(hal, p3, l3)
    assert _until(hal, l3, p3, 'COMPLETE', 5000), p3.state_name()
    total = 3 * (300000 + 200000) + 2000000     # the cycle repeats steps 0..2 twice more
    assert prog.total_volume_nl() == total
    assert abs(p3.course.delivered_nl - total) * 1000 <= p3.step_pl
    assert p3.course.steps_commanded == total * 1000 // p3.step_pl


@pytest.mark.parametrize('sub,back_at', [(9, 9), (10, 0), (12, 0)])
def test_a_ramp_sub_step_the_ramp_does_not_have_restarts_the_ramp(sub, back_at):
    # 10 min: 10 sub-steps (its end rate, 10 mL/h, is no duration)
    ramp = (K_RAMP, 1000000, 0, 600, 10000000, 0)
    ramp = ramp[:2] + (ramp_volume_nl(ramp),) + ramp[3:]
    assert ramp_parts(600) == 10
    hal, pump, loop, prog = _go([ramp, (K_CONTINUOUS, 10000000, 2000000, 0, 0, 0)])
    run_ticks(hal, loop, 100)
    _rewrite_newest_slot(hal, pump, sub=sub)
    p2, l2 = _reboot(hal, pump.settings)
    assert p2.course.index == 0 and p2.course.sub == back_at
    assert p2.course.rate_nl_h == ramp_sub(ramp, back_at)[0]


@pytest.mark.parametrize('left_s', [1, 0, -5])
def test_a_pause_step_lasts_the_seconds_the_checkpoint_says_were_left(left_s):
    hal, pump, loop, prog = _go([(K_CONTINUOUS, FAST, 100000, 0, 0, 0), (K_PAUSE, 0, 0, 600, 0, 0),
                                 (K_CONTINUOUS, FAST, 2000000, 0, 0, 0)])
    assert _until(hal, loop, pump, 'DWELL', 2000)
    run_ticks(hal, loop, 30)
    assert pump.pause() == 0                   # checkpointed with the time left
    _rewrite_newest_slot(hal, pump, dwell_left=left_s)
    p2, l2 = _reboot(hal, pump.settings)
    assert p2.acknowledge() == 0 and p2.resume() == 0
    ticks = 0
    for _ in range(40):
        run_ticks(hal, l2, 1)
        if p2.state_name() == 'DWELL':
            ticks += 1
    # the tick that enters the step is in DWELL; with a second left (uptime
    # counts whole seconds) it lasts into the next second, with none it ends
    # at the next tick
    if left_s > 0:
        assert 2 <= ticks <= 11, ticks
    else:
        assert ticks == 1, ticks
    assert p2.state_name() == 'RUNNING'


def test_a_cycle_not_reached_before_the_cut_still_repeats():
    # the cycle is step 1: a restored course with no cycle loaded must load
    # its count when it gets there
    steps = [(K_CONTINUOUS, FAST, 300000, 0, 0, 0), (K_CYCLE, 0, 0, 0, 1, 0),
             (K_CONTINUOUS, FAST, 2000000, 0, 0, 0)]
    hal, pump, loop, prog = _go(steps)
    run_ticks(hal, loop, 100)
    assert pump.course.index == 0 and pump.course.cyc_at == -1
    p2, l2 = _reboot(hal, pump.settings)
    _resume(hal, p2, l2)
    assert _until(hal, l2, p2, 'COMPLETE', 5000), p2.state_name()
    total = 2 * 300000 + 2000000
    assert abs(p2.course.delivered_nl - total) * 1000 <= p2.step_pl


def _line(hal, loop, n, open_at=900):
    """The fill's scripted line (tests/device/test_fill_device.py): 30 mmHg
    rising 1.085 mmHg x10 a step until the valve opens at 90 mmHg."""
    for _ in range(n):
        p = min(300 + hal.motor.pos * 1085 // 1000, open_at)
        hal.pressure.raw = 3000 + p * 4
        run_ticks(hal, loop, 1)


def _filling(rate_nl_h, volume_nl):
    hal, pump, loop = make_pump(startup_fill_rate_nl_h=10000000)
    hal.pressure.raw = 3000 + 300 * 4
    run_ticks(hal, loop, 1)
    prog = Program([(K_CONTINUOUS, rate_nl_h, volume_nl, 0, 0, 0)])
    assert pump.load(prog) == 0 and pump.confirm(prog.digest()) == 0 and pump.start() == 0
    return hal, pump, loop


def _fill_state(pump):
    f = pump.fill
    return f.left, f.steps, f.ms, f.holding


def test_a_cut_while_the_fill_pushes_goes_on_filling_at_the_fill_rate():
    hal, pump, loop = _filling(100000, 1000000)
    _line(hal, loop, 150)                        # 15 s of the 45 s to the knee
    assert pump.fill.left and not pump.fill.holding
    p2, l2 = _reboot(hal, pump.settings)
    assert _fill_state(p2) == _fill_state(pump)
    assert p2.sched.rate_nl_h == 10000000
    assert p2.acknowledge() == 0 and p2.resume() == 0
    pos = hal.motor.pos
    _line(hal, l2, 50)
    assert hal.motor.pos - pos >= 40 * 10000000 // 3600 * 100 // 217070   # at the fill rate


def test_a_cut_while_the_fill_holds_back_its_overshoot_keeps_holding():
    hal, pump, loop = _filling(1000000, 5000000)
    for _ in range(2000):
        _line(hal, loop, 1)
        if pump.fill.holding:
            break
    assert pump.fill.holding and pump.fill.left
    p2, l2 = _reboot(hal, pump.settings)
    assert _fill_state(p2) == _fill_state(pump)
    assert p2.sched.rate_nl_h == 1000000
