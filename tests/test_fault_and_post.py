"""FAULT holds the motor, keeps annunciating and keeps the watchdog fed;
POST refuses a pressure sensor outside its plausible counts, at the exact
bounds (firmware/pump.py _RAW_MIN, _RAW_MAX)."""
import pytest

from helpers_device import make_pump, run_ticks
from recording_motor import recorded_pump, run
from firmware.program import Program
from pumphost.codes import K_CONTINUOUS
from hal import LED_RED

RAW_MIN = 200           # below: sensor disconnected or shorted
RAW_MAX = 65300         # above: saturated


def _faulted_in_alarm():
    hal, pump, loop, motor = recorded_pump()
    run(hal, loop, motor, 1)
    prog = Program([(K_CONTINUOUS, 20000000, 20000000)])
    assert pump.load(prog) == 0 and pump.confirm(prog.digest()) == 0 and pump.start() == 0
    run(hal, loop, motor, 300)
    hal.syringe.is_present = False            # a high-priority alarm is latched
    run(hal, loop, motor, 2)
    assert pump.state_name() == 'ALARM'
    pump.fault()
    assert pump.state_name() == 'FAULT'
    return hal, pump, loop, motor


def test_fault_drops_any_step_queued_behind_its_back_at_every_tick():
    hal, pump, loop, motor = _faulted_in_alarm()
    pos = motor.pos
    for _ in range(50):
        hal.clock.advance(loop.tick_ms)
        motor.emit()
        motor.pending = 5                     # a driver glitch queues steps
        loop.poll()
        assert motor.pending == 0, 'the FAULT tick left queued steps'
    motor.emit()
    assert motor.pos == pos and not motor.enabled


def test_fault_keeps_annunciating_and_feeding_the_watchdog():
    hal, pump, loop, motor = _faulted_in_alarm()
    board = hal.indicators
    feeds = board.feeds
    red = set()
    buzz = set()
    for _ in range(100):                      # 10 s: a whole high burst period
        run(hal, loop, motor, 1)
        red.add(board.leds[LED_RED])
        buzz.add(board.buzzing)
    assert board.feeds - feeds == 100, 'the watchdog is fed at every FAULT tick'
    assert red == {0, 1}, 'the red light flashes in FAULT'
    assert buzz == {False, True}, 'the high-priority burst sounds in FAULT'
    assert pump.state_name() == 'FAULT'


def _post_with(raw):
    hal, pump, loop = make_pump()
    hal.pressure.read_raw = lambda: raw
    run_ticks(hal, loop, 1)
    return hal, pump, loop


@pytest.mark.parametrize('raw', [0, RAW_MIN - 1, RAW_MAX + 1, 65535])
def test_post_fails_on_an_implausible_pressure_sensor(raw):
    hal, pump, loop = _post_with(raw)
    assert pump.state_name() == 'FAULT'
    assert 'pressure sensor reads %d counts' % raw in pump.last_error, pump.last_error
    assert not hal.motor.enabled
    prog = Program([(K_CONTINUOUS, 1000000, 1000000)])
    assert pump.load(prog) != 0 and pump.program is None
    run_ticks(hal, loop, 100)
    assert pump.state_name() == 'FAULT'       # nothing leaves FAULT by itself


@pytest.mark.parametrize('raw', [RAW_MIN, RAW_MAX, 3000])
def test_post_accepts_a_sensor_within_its_bounds(raw):
    hal, pump, loop = _post_with(raw)
    assert pump.state_name() == 'IDLE', pump.last_error
    assert hal.watchdog.timeout_ms == pump.settings.watchdog_ms
