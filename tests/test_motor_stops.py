"""The motor stops first, and nothing moves after a stop: a pause, a
high-priority alarm, a pause step, a syringe-change step, both in a pump on a
recording motor (steps leave the driver only in the interval after the tick
that queued them) and in the lockstep simulator at 20 mL/h."""
from pathlib import Path

from recording_motor import recorded_pump, run
from firmware.program import Program
from pumphost.codes import (A_SYRINGE_REMOVED, EV_ALARM, K_CONTINUOUS, K_PAUSE, K_SYRINGE,
                            S_ALARM)
from simulator.runtime.inproc import Simulation
from simulator.scenario import Scenario, SCENARIO_SCHEMA
from pumphost.config.schema import check_map

RATE_20 = 20000000      # 20 mL/h: several microsteps in every tick


def _running(rate=RATE_20, volume=20000000, steps=None):
    hal, pump, loop, motor = recorded_pump()
    run(hal, loop, motor, 1)                    # POST
    prog = Program(steps or [(K_CONTINUOUS, rate, volume)])
    assert pump.load(prog) == 0, pump.last_error
    assert pump.confirm(prog.digest()) == 0
    assert pump.start() == 0, pump.last_error
    return hal, pump, loop, motor


def test_pause_between_ticks_moves_nothing_more():
    hal, pump, loop, motor = _running()
    run(hal, loop, motor, 600)                  # past the start-up fill
    assert motor.pending > 0, 'a tick at 20 mL/h queues steps'
    pos = motor.pos
    at = motor.mark()
    assert pump.pause() == 0 and pump.state_name() == 'PAUSED'
    assert motor.pending == 0, 'the pause left %d steps queued' % motor.pending
    run(hal, loop, motor, 50)
    assert motor.moved_after(at) == 0 and motor.pos == pos


def test_high_alarm_stops_the_motor_before_it_is_journaled_or_the_state_changes():
    hal, pump, loop, motor = _running()
    run(hal, loop, motor, 600)
    hal.syringe.is_present = False              # the syringe is pulled out
    at = motor.mark()
    run(hal, loop, motor, 1)
    assert pump.state_name() == 'ALARM' and pump.alarms.active[A_SYRINGE_REMOVED]
    log = motor.log[at:]
    journal_at = [i for i, e in enumerate(log) if e[0] == 'journal' and e[1] == EV_ALARM][0]
    state_at = [i for i, e in enumerate(log) if e[0] == 'state' and e[1] == S_ALARM][0]
    stops = [i for i, e in enumerate(log) if e[0] == 'stop']
    assert stops and stops[0] < journal_at and stops[0] < state_at, log
    assert not [e for e in log[stops[0]:] if e[0] == 'move' and e[1]], log
    pos = motor.pos
    run(hal, loop, motor, 100)
    assert motor.pos == pos and motor.moved_after(at + stops[0]) == 0


def test_pause_and_syringe_change_steps_move_nothing_while_they_last():
    steps = [(K_CONTINUOUS, RATE_20, 600000, 0, 0, 0), (K_PAUSE, 0, 0, 30, 0, 0),
             (K_CONTINUOUS, RATE_20, 300000, 0, 0, 0), (K_SYRINGE, 0, 0, 0, 0, 0),
             (K_CONTINUOUS, RATE_20, 300000, 0, 0, 0)]
    hal, pump, loop, motor = _running(steps=steps)
    for state in ('DWELL', 'SYRINGE_CHANGE'):
        for _ in range(3000):
            run(hal, loop, motor, 1)
            if pump.state_name() == state:
                break
        assert pump.state_name() == state
        at = motor.mark()
        pos = motor.pos
        run(hal, loop, motor, 200 if state == 'DWELL' else 3000)    # 20 s; 5 min
        if state == 'DWELL':
            assert pump.state_name() == 'DWELL'
        assert motor.pos == pos and motor.moved_after(at) == 0, state
        if state == 'SYRINGE_CHANGE':
            assert pump.state_name() == 'SYRINGE_CHANGE' and pump.resume() == 0
    run(hal, loop, motor, 3000)
    assert pump.state_name() == 'COMPLETE'


def _sim(rate_ml_h, seed=0):
    data = {'name': 'stops', 'pump': 'bd-plastipak-50', 'seed': seed, 'duration': '2h',
            'trace_period': '60s', 'patient': {'bsa_m2': 1.7},
            'program': {'rate_ml_h': rate_ml_h, 'volume_ml': 10.0}}
    path = Path('<stops>')
    sim = Simulation(Scenario(path, check_map(data, SCENARIO_SCHEMA, path)), seed=seed)
    sim.boot()
    return sim


def test_simulated_pause_at_20_ml_h_stops_the_plunger_at_once():
    sim = _sim(20.0)
    sim.step(600)
    assert sim.pump.state_name() == 'RUNNING' and sim.hal.motor.pending > 0
    pos = sim.plant.position_steps
    assert sim.apply('command', 'pause')['result'] == 'ok'
    sim.step(100)
    assert sim.plant.position_steps == pos, 'the plunger moved %d steps after the pause' % (
        sim.plant.position_steps - pos)
