"""Firmware behaviour on the fake HAL. Runs under pytest AND MicroPython."""
from helpers_device import make_pump, run_ticks, start_program
from firmware.program import Program
from firmware.delivery import StepScheduler
from firmware.crc16 import crc16
from firmware.compat import heap_lock, heap_unlock
from pumphost.codes import A_MOTOR_STALL, A_OCCLUSION_DOWNSTREAM, K_CONTINUOUS
from pumphost import codes


def test_crc16_check_value():
    assert crc16(b'123456789') == 0x29B1


def test_post_goes_idle():
    hal, pump, loop = make_pump()
    run_ticks(hal, loop, 1)
    assert pump.state_name() == 'IDLE'


def test_post_fails_on_bad_settings():
    hal, pump, loop = make_pump(tick_ms=500)
    run_ticks(hal, loop, 1)
    assert pump.state_name() == 'FAULT'
    assert 'tick_ms=500' in pump.last_error


def test_scheduler_exact_over_14_days():
    # 1.77 mL/h on a 50 mL syringe for 14 days at 100 ms: floor(n*N/D) exactly
    tick_ms = 100
    step_pl = 217070
    rate = 1773913
    s = StepScheduler(tick_ms, step_pl)
    s.set_rate(rate)
    n_ticks = 14 * 24 * 36000
    total = 0
    for _ in range(n_ticks // 1000):
        for _ in range(1000):
            total += s.next_steps()
    expected = rate * tick_ms * n_ticks // (3600 * step_pl)
    assert abs(total - expected) <= 1, (total, expected)


def test_runs_10000_ticks_and_delivers_programmed_steps():
    hal, pump, loop = make_pump()
    rate = 1773913
    start_program(hal, pump, loop, rate, 40000000)
    run_ticks(hal, loop, 10000)
    assert pump.state_name() == 'RUNNING'
    expected = rate * 100 * 10000 // (3600 * 217070)
    assert abs(pump.course.steps_commanded - expected) <= 1
    assert hal.motor.pos == pump.course.steps_commanded


def test_stops_at_vtbi_exactly():
    hal, pump, loop = make_pump()
    start_program(hal, pump, loop, 100000000, 1000000)  # 100 mL/h, 1 mL
    run_ticks(hal, loop, 400)
    assert pump.state_name() == 'COMPLETE'
    want_steps = 1000000 * 1000 // 217070   # rounded down: never over the program
    assert hal.motor.pos == want_steps
    assert abs(pump.course.delivered_nl - 1000000) <= 217


def test_occlusion_alarm_stops_motor_first_and_latches():
    hal, pump, loop = make_pump()
    start_program(hal, pump, loop, 1773913, 40000000)
    run_ticks(hal, loop, 3000)
    # pressure climbs as behind a blocked line: +2 counts per tick (0.05 mmHg)
    base = hal.pressure.raw
    pos_at_ramp = hal.motor.pos
    pos_at_alarm = None
    for i in range(20000):
        hal.pressure.raw = base + 2 * i
        run_ticks(hal, loop, 1)
        if pump.state_name() == 'ALARM':
            pos_at_alarm = hal.motor.pos
            break
    assert pos_at_alarm is not None
    assert pump.alarms.active[A_OCCLUSION_DOWNSTREAM]
    run_ticks(hal, loop, 200)
    # after the alarm only the bounded back-off (pressure relief): never
    # forward, never more than pushed since the ramp began plus backlash
    pos_relieved = hal.motor.pos
    assert pos_at_ramp - 64 - 8 <= pos_relieved < pos_at_alarm
    run_ticks(hal, loop, 100)
    assert hal.motor.pos == pos_relieved  # relief done: nothing moves
    assert pump.state_name() == 'ALARM'   # nothing resumes by itself
    # ack while the condition persists keeps ALARM
    pump.acknowledge()
    assert pump.state_name() == 'ALARM'
    # occlusion clears: pressure back to baseline, ack -> PAUSED, resume needed
    hal.pressure.raw = base
    run_ticks(hal, loop, 100)
    pump.acknowledge()
    assert pump.state_name() == 'PAUSED'
    run_ticks(hal, loop, 50)
    assert hal.motor.pos == pos_relieved
    assert pump.resume() == 0
    run_ticks(hal, loop, 50)
    assert hal.motor.pos > pos_relieved


def test_stall_detected():
    hal, pump, loop = make_pump()
    start_program(hal, pump, loop, 100000000, 10000000)
    run_ticks(hal, loop, 20)
    hal.motor.stalled = True
    run_ticks(hal, loop, 20)
    assert pump.state_name() == 'ALARM'
    assert pump.alarms.active[A_MOTOR_STALL]


def test_program_over_hard_limit_refused_by_device():
    hal, pump, loop = make_pump()
    run_ticks(hal, loop, 1)
    bad = Program([(K_CONTINUOUS, 999000000, 1000000)])
    assert pump.load(bad) != 0
    assert 'rate_nl_h=999000000' in pump.last_error
    assert pump.state_name() == 'IDLE'
    too_big = Program([(K_CONTINUOUS, 1000000, 60000000)])
    assert pump.load(too_big) != 0
    assert 'volume_nl' in pump.last_error


def test_start_needs_confirmation_of_the_same_hash():
    hal, pump, loop = make_pump()
    run_ticks(hal, loop, 1)
    prog = Program([(K_CONTINUOUS, 1000000, 1000000)])
    assert pump.load(prog) == 0
    assert pump.start() != 0
    assert pump.confirm(b'\x00' * 32) != 0
    assert pump.start() != 0
    assert pump.confirm(prog.digest()) == 0
    assert pump.start() == 0


def test_every_state_change_is_journaled():
    hal, pump, loop = make_pump()
    start_program(hal, pump, loop, 1000000, 1000000)
    pump.pause()
    recs = pump.journal.records()
    states = [(r[3], r[4] >> 8) for r in recs if r[2] == 2]
    assert (codes.S_POST, codes.S_IDLE) in states
    assert (codes.S_RUNNING, codes.S_PAUSED) in states


def test_steady_tick_allocates_nothing():
    # runs for real under MicroPython (heap_lock raises MemoryError on any
    # allocation); on CPython heap_lock is a no-op and this checks behaviour only
    hal, pump, loop = make_pump(checkpoint_s=1)
    start_program(hal, pump, loop, 1773913, 40000000)
    run_ticks(hal, loop, 50)
    clock = hal.clock
    poll = loop.poll
    err = None
    heap_lock()
    try:
        for _ in range(3000):  # 300 s: crosses checkpoints and indicator phases
            clock.now = (clock.now + 100) & 0x3FFFFFFF
            poll()
    except MemoryError as e:
        err = e
    heap_unlock()
    assert err is None, 'control tick allocated'
    assert pump.state_name() == 'RUNNING'
