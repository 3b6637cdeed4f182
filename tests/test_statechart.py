"""The device engine and `transitions` agree on every (state, trigger) pair."""
from pathlib import Path

import pytest

from pumphost import codes
from firmware import table as T
from firmware.fsm import Machine
from simulator.statechart import GuardModel, build_machine, mermaid

ROOT = Path(__file__).resolve().parent.parent


def table_consistent():
    assert len(T.STATE_NAMES) == len(set(T.STATE_NAMES))
    assert len(T.TRIGGER_NAMES) == len(set(T.TRIGGER_NAMES))
    for name in T.STATE_NAMES:
        assert getattr(codes, 'S_' + name) == T.STATE_NAMES.index(name)
    for name in T.TRIGGER_NAMES:
        assert getattr(codes, 'T_' + name.upper()) == T.TRIGGER_NAMES.index(name)


def test_constants_match_names():
    table_consistent()


@pytest.mark.parametrize('verdict', [True, False])
def test_engines_agree_on_every_pair(verdict):
    for s in range(len(T.STATE_NAMES)):
        for t in range(len(T.TRIGGER_NAMES)):
            dev_model = GuardModel(verdict)
            dev = Machine(dev_model, len(T.STATE_NAMES), len(T.TRIGGER_NAMES), T.transitions(), s)
            fired = dev.fire(t)
            host_model = GuardModel(verdict)
            build_machine(host_model, initial=T.STATE_NAMES[s])
            before = host_model.state
            result = host_model.trigger(T.TRIGGER_NAMES[t])
            pair = (T.STATE_NAMES[s], T.TRIGGER_NAMES[t])
            assert T.STATE_NAMES[dev.state] == host_model.state, pair
            assert bool(fired) == bool(result), pair
            # the same guards evaluated and actions run, in the same order
            assert dev_model.calls == host_model.calls, pair
            if not fired:
                assert host_model.state == before


def test_the_motor_never_runs_outside_delivering_states():
    # only rows into a DELIVERING state may start motion
    starters = {'on_start', 'on_resume', 'on_syringe_changed'}
    for sources, trigger, dest, guard, action in T.transitions():
        if action in starters:
            assert dest in T.DELIVERING
        if dest not in T.DELIVERING:
            assert action not in starters


def test_docs_diagram_is_current():
    doc = (ROOT / 'docs' / 'state-machine.md').read_text()
    assert mermaid() in doc, 'run `make diagram` to regenerate docs/state-machine.md'
