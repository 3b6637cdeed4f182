"""The regimen templates run as scenarios: heparin lock to
completion, HAIC-FOLFOX through its first drugs and syringe changes. The
FUDR 28-day cycle runs as `pumpsim run configs/scenarios/fudr-14d.yaml`
(about 4 min); tests/test_programs.py runs a shortened FUDR course."""
import pytest

from simulator.runtime.inproc import Simulation
from simulator.scenario import load_scenario


def test_heparin_lock_completes_with_the_programmed_volume():
    sim = Simulation(load_scenario('heparin-lock'))
    s = sim.run()
    assert s['final_state'] == 'COMPLETE'
    assert not s['motor_running']
    assert s['device_delivered_ml'] == pytest.approx(2.0, abs=0.000217)
    assert [a['code'] for a in s['alarms']] == ['infusion_complete']


def test_haic_folfox_first_five_hours():
    sc = load_scenario('haic-folfox')
    assert sc.volume_ml == pytest.approx(28.9 + 68.0 + 13.6 + 81.6 + 3.4)  # doses at BSA 1.7, KVO
    sim = Simulation(sc)
    s = sim.run(until_s=5 * 3600)
    # oxaliplatin (2 h, 28.9 mL), leucovorin over two syringes (2 h, 68 mL),
    # 5-FU bolus started: three confirmed syringe changes so far
    changes = [e for e in s['events'] if e['event'] == 'syringe_changed']
    assert len(changes) == 3 and all(e['result'] == 'ok' for e in changes)
    assert 28.9 + 68.0 < s['device_delivered_ml'] < 28.9 + 68.0 + 13.6 + 81.6
    assert all(a['priority'] != 'high' for a in s['alarms'])
    assert s['motor_running'] and s['final_state'] in ('RUNNING', 'BOLUS')
