"""Program model and device-side limits (runs on MicroPython and CPython)."""
from helpers_device import make_pump, run_ticks
from firmware.program import Program, decode
from firmware.druglib import LIB
from firmware.limits import ramp_volume_nl
from pumphost.codes import EV_OVERRIDE, EV_STATE, FLAG_OVERRIDE, K_BOLUS, K_CONTINUOUS, K_CYCLE, K_KVO, K_PAUSE, K_RAMP, K_SYRINGE

FUDR = 1


def entry(drug_id, conc):
    for e in LIB:
        if e[0] == drug_id:
            return (drug_id, conc) + tuple(e[3:])
    raise AssertionError(drug_id)


def booted(**kw):
    hal, pump, loop = make_pump(**kw)
    run_ticks(hal, loop, 1)
    return hal, pump, loop


def go(pump, prog):
    assert pump.load(prog) == 0, pump.last_error
    assert pump.confirm(prog.digest()) == 0
    assert pump.start() == 0, pump.last_error


def states_seen(pump):
    return [r[4] // 256 for r in pump.journal.records() if r[2] == EV_STATE]


def test_encoding_round_trips_and_is_versioned():
    prog = Program([(K_CONTINUOUS, 175000, 1000000, 0, 0, 0), (K_PAUSE, 0, 0, 60, 0, 0)],
                   [entry(FUDR, 5000)], FLAG_OVERRIDE)
    data = prog.encode()
    assert data[0] == 2 and data[1] == FLAG_OVERRIDE and data[2] == 1 and data[3] == 2
    back = decode(data, len(data))
    assert back.encode() == data and back.digest() == prog.digest()
    assert decode(data[:-1], len(data) - 1) is None
    assert decode(b'\x01' + data[1:], len(data)) is None


def test_continuous_pause_then_kvo_runs_through_states():
    hal, pump, loop = booted()
    prog = Program([(K_CONTINUOUS, 36000000, 100000), (K_PAUSE, 0, 0, 5, 0, 0),
                    (K_CONTINUOUS, 36000000, 100000), (K_KVO, 1000000, 20000)])
    go(pump, prog)
    run_ticks(hal, loop, 150)
    assert pump.state_name() in ('RUNNING', 'DWELL', 'KVO')
    run_ticks(hal, loop, 900)
    assert pump.state_name() == 'COMPLETE'
    seen = states_seen(pump)
    for name in (10, 9, 6):    # DWELL, KVO, COMPLETE
        assert name in seen, seen
    assert abs(pump.course.delivered_nl - 220000) * 1000 <= pump.step_pl


def test_bolus_step_runs_in_bolus_state_and_pause_holds_motor():
    hal, pump, loop = booted()
    go(pump, Program([(K_BOLUS, 36000000, 50000), (K_PAUSE, 0, 0, 30, 0, 0),
                      (K_CONTINUOUS, 3600000, 10000)]))
    run_ticks(hal, loop, 3)
    assert pump.state_name() == 'BOLUS'
    for _ in range(100):
        run_ticks(hal, loop, 1)
        if pump.state_name() == 'DWELL':
            break
    assert pump.state_name() == 'DWELL'
    pos = hal.motor.pos
    run_ticks(hal, loop, 200)
    assert hal.motor.pos == pos and pump.state_name() == 'DWELL'
    run_ticks(hal, loop, 150)
    assert pump.state_name() in ('RUNNING', 'COMPLETE')


def test_ramp_steps_through_sub_rates_and_delivers_its_volume():
    hal, pump, loop = booted()
    step = (K_RAMP, 3600000, 0, 180, 36000000, 0)
    vol = ramp_volume_nl(step)
    go(pump, Program([step[:2] + (vol,) + step[3:]]))
    rates = []
    for _ in range(2000):
        run_ticks(hal, loop, 10)
        if pump.course.rate_nl_h not in rates:
            rates.append(pump.course.rate_nl_h)
        if pump.state_name() == 'COMPLETE':
            break
    assert pump.state_name() == 'COMPLETE'
    assert len(rates) == 3 and rates == sorted(rates)
    assert abs(pump.course.delivered_nl - vol) * 1000 <= pump.step_pl


def test_cycle_repeats_its_body():
    hal, pump, loop = booted()
    prog = Program([(K_BOLUS, 36000000, 20000), (K_PAUSE, 0, 0, 2, 0, 0),
                    (K_CYCLE, 0, 0, 0, (0 << 16) | 2, 0)])
    go(pump, prog)
    assert prog.total_volume_nl() == 60000
    run_ticks(hal, loop, 400)
    assert pump.state_name() == 'COMPLETE'
    assert states_seen(pump).count(8) == 3   # BOLUS entered three times
    assert abs(pump.course.delivered_nl - 60000) * 1000 <= pump.step_pl


def test_syringe_change_waits_for_confirmation():
    hal, pump, loop = booted()
    go(pump, Program([(K_CONTINUOUS, 36000000, 50000), (K_SYRINGE, 0, 0, 0, 0, 0),
                      (K_CONTINUOUS, 36000000, 50000)]))
    run_ticks(hal, loop, 100)
    assert pump.state_name() == 'SYRINGE_CHANGE'
    run_ticks(hal, loop, 3000)
    assert pump.state_name() == 'SYRINGE_CHANGE'   # nothing resumes by itself
    hal.syringe.is_present = False
    run_ticks(hal, loop, 2)
    assert pump.resume() != 0
    hal.syringe.is_present = True
    run_ticks(hal, loop, 2)
    pump.acknowledge()
    if pump.state_name() == 'PAUSED':     # the removal alarmed: resume from the pause
        assert pump.resume() == 0
        run_ticks(hal, loop, 2)
    # still waiting: the change itself needs its own confirmation
    assert pump.state_name() == 'SYRINGE_CHANGE'
    assert pump.resume() == 0
    run_ticks(hal, loop, 100)
    assert pump.state_name() == 'COMPLETE'


def test_device_refuses_hard_limits_without_host_checks():
    hal, pump, loop = booted()
    e = entry(FUDR, 5000)
    cases = [
        Program([(K_CONTINUOUS, 20000000, 1000000)], [e]),             # rate 20 mL/h > 10
        Program([(K_CONTINUOUS, 1000000, 1000000)], [entry(FUDR, 20000)]),   # conc 20 mg/mL
        Program([(K_CONTINUOUS, 1000000, 1000000)], [(99, 5000) + e[2:]]),   # unknown drug
        Program([(K_CONTINUOUS, 1000000, 1000000)], [e[:6] + (999000000,) + e[7:]]),  # fake entry
        Program([(K_CONTINUOUS, 900000, 21000000)], [entry(FUDR, 10000)], FLAG_OVERRIDE),  # 216 mg/day
        Program([(K_CONTINUOUS, 1000000, 1000000), (K_KVO, 2000000, 100000)]),   # kvo above rate
        Program([(K_CONTINUOUS, 1000000, 1000000, 0, 0, 0), (K_CONTINUOUS, 1000000, 1000000, 0, 0, 1)],
                [e, entry(5, 10000)]),                                  # drug change, no syringe change
        Program([(K_CONTINUOUS, 1000000, 30000000), (K_CONTINUOUS, 1000000, 30000000)]),  # > syringe
    ]
    for prog in cases:
        assert pump.load(prog) == 2, prog.steps
        assert 'not allowed' in pump.last_error or 'differ' in pump.last_error, pump.last_error
        assert pump.state_name() == 'IDLE'
    assert 'rate_nl_h=20000000' in (pump.load(cases[0]) and pump.last_error)
    assert 'hard limit dose_day 90000' in (pump.load(cases[4]) and pump.last_error)


def test_soft_limit_needs_override_and_is_journaled():
    hal, pump, loop = booted()
    steps = [(K_CONTINUOUS, 3000000, 3000000)]          # 3 mL/h: soft 2, hard 10
    assert pump.load(Program(steps, [entry(FUDR, 1000)])) == 2
    assert 'soft limit rate_nl_h' in pump.last_error
    prog = Program(steps, [entry(FUDR, 1000)], FLAG_OVERRIDE)
    assert pump.load(prog) == 0, pump.last_error
    ov = [r for r in pump.journal.records() if r[2] == EV_OVERRIDE]
    assert len(ov) == 1 and ov[0][3] == FUDR * 256 + 0 and ov[0][4] == 3000000


def test_load_time_modules_leave_the_heap_on_micropython():
    """The state table's rows, both check stages, the drug library and the
    program codec are loaded by the call that needs them and, on MicroPython,
    unloaded after it (compat.call_transient): the running pump carries none
    of them. On CPython nothing is unloaded; the program runs on both."""
    import sys
    for m in ('druglib', 'limits'):   # imported by this test module itself
        sys.modules.pop('firmware.' + m, None)
    hal, pump, loop = booted()
    go(pump, Program([(K_CONTINUOUS, 175000, 1000000, 0, 0, 0)], [entry(FUDR, 5000)]))
    run_ticks(hal, loop, 10)
    assert pump.state_name() == 'RUNNING'
    left = [m for m in ('table', 'limits', 'dose_limits', 'druglib', 'program_codec')
            if 'firmware.' + m in sys.modules]
    if sys.implementation.name == 'micropython':
        assert left == [], left
