"""Pause, acknowledge and resume issued in every state, through the stateful
test's machine (tests/test_stateful.py: every invariant checked at every
control tick and after every rule), on sequences written out rather than
drawn: a random run reaches the step states (BOLUS, KVO, DWELL,
SYRINGE_CHANGE) and FAULT too rarely to count on. Each case drives a fresh
machine into the state, issues the command, checks the state it leads to,
lets 30 s pass and runs the machine's teardown."""
import pytest

import test_stateful
from test_stateful import COVERED, PumpMachine

STATES = ('IDLE', 'PROGRAMMED', 'RUNNING', 'PAUSED', 'ALARM', 'COMPLETE', 'FAULT',
          'BOLUS', 'KVO', 'DWELL', 'SYRINGE_CHANGE')
STEP_STATES = {'BOLUS': 'bolus', 'KVO': 'kvo', 'DWELL': 'dwell', 'SYRINGE_CHANGE': 'syringe_change'}
IN_PROGRAM = ('RUNNING', 'BOLUS', 'KVO', 'DWELL')

# where each command leads from each state (unlisted: nowhere, refused or
# acknowledging without a change of state)
LEADS = {
    'pause': {s: 'PAUSED' for s in IN_PROGRAM},
    'ack': {'ALARM': 'PAUSED'},
    'resume': {'PAUSED': 'RUNNING', 'SYRINGE_CHANGE': 'RUNNING'},
}


def _check(m):
    m.delivered_within_programmed()
    m.bubbles_that_passed_alarmed()
    m.relief_journaled()


def _state(m):
    return m.pump.state_name()


def _wait_until(m, state, max_s):
    sim = m.sim
    sim.step(int(max_s * 1000 / sim.tick_ms), until=lambda s: s.pump.state_name() == state)
    assert _state(m) == state, m._where()


def drive(state, rate):
    m = PumpMachine()
    m.boot(rate=rate, volume=0.5, seed=0, running=False)
    if state == 'IDLE':
        pass
    elif state in STEP_STATES:
        m.load_steps(STEP_STATES[state])
        m.start()
        _wait_until(m, state, 600)
    else:
        if state != 'FAULT':
            m.load()
        if state in ('RUNNING', 'PAUSED', 'ALARM', 'COMPLETE'):
            m.start()
            m.wait(3.0)
        if state == 'PAUSED':
            m.command('pause')
        elif state == 'ALARM':
            m.other_fault('syringe_removed', True)
            m.wait(0.5)
            m.other_fault('syringe_removed', False)    # latched, condition gone
            m.wait(0.5)
        elif state == 'COMPLETE':
            _wait_until(m, 'COMPLETE', 1800)
        elif state == 'FAULT':
            m.fault(0)
    _check(m)
    assert _state(m) == state, m._where()
    return m


@pytest.mark.parametrize('command', sorted(LEADS))
@pytest.mark.parametrize('state', STATES)
def test_command_in_every_state(state, command, monkeypatch):
    # hypothesis.event() counts only inside a hypothesis run
    monkeypatch.setattr(test_stateful, 'event', lambda *a: None)
    rate = 20.0 if state in ('COMPLETE', 'KVO') else 1.77
    m = drive(state, rate)
    m.hold_command(command)
    assert (command, state) in COVERED
    assert _state(m) == LEADS[command].get(state, state), (command, m._where())
    _check(m)
    m.wait(30.0)
    _check(m)
    m.teardown()
