"""An occlusion present when a program starts (found by tests/test_stateful.py),
on the real firmware in the simulator: the alarm comes before the program
can complete, the relief takes back what was pushed into the blocked line
(down to the pressure at start, never aspirating), so clearing it gives no
bolus; and an open line is not held back by it (a short program above the
probe rate completes)."""
from pathlib import Path

import pytest

from simulator.plant import faults
from simulator.runtime.inproc import Simulation
from simulator.scenario import Scenario, SCENARIO_SCHEMA
from pumphost.config.schema import check_map
from pumphost.codes import S_RUNNING


def _sim(rate_ml_h, volume_ml, seed=1):
    data = {'name': 'start', 'pump': 'bd-plastipak-50', 'seed': seed, 'duration': '10h',
            'trace_period': '600s', 'patient': {'bsa_m2': 1.7},
            'program': {'rate_ml_h': rate_ml_h, 'volume_ml': volume_ml}}
    sim = Simulation(Scenario(Path('<t>'), check_map(data, SCENARIO_SCHEMA, Path('<t>'))), seed=seed)
    sim.boot(program=False)
    return sim


def _run(sim, seconds, until=None):
    sim.step(int(seconds * 1000 / sim.tick_ms), until=until)
    return sim.k * sim.tick_ms / 1000.0


# rate, volume, alarm within (s): 0.1 and 1.77 by the start-up fill's 0.4 mL,
# 20 mL/h at 200 mmHg plus the flow allowance, 0.3 mL at 20 mL/h by the hold
# at the end of the program (it ends before that level)
@pytest.mark.parametrize('rate, volume, within_s', [
    (0.1, 0.5, 300), (1.77, 10.0, 300), (20.0, 1.0, 120), (20.0, 0.3, 120)])
def test_blocked_at_start_alarms_relieves_and_gives_no_bolus(rate, volume, within_s):
    sim = _sim(rate, volume)
    faults.inject(sim.plant, 'downstream_occlusion')
    sim.program(start=True)
    t = _run(sim, 600, until=lambda s: s.pump.fsm.state != S_RUNNING)
    assert sim.pump.state_name() == 'ALARM'
    assert [a['code'] for a in sim.alarms] == ['occlusion_downstream']
    assert t <= within_s
    _run(sim, 120)                                   # relief
    assert sim.hal.motor.pending == 0
    occ = sim.pump.occlusion
    pushed = occ.relieved * sim.plant.step_ul + sim.plant.pushed_ul   # before the relief
    assert occ.relieved * sim.plant.step_ul > 0.9 * pushed        # nearly all taken back
    assert sim.plant.pressure_mmhg < 10.0            # back near the pressure at start (0)
    d0 = sim.plant.delivered_ul
    faults.clear(sim.plant, 'downstream_occlusion')
    _run(sim, 600)
    assert (sim.plant.delivered_ul - d0) / 1000.0 <= 0.05
    assert sim.plant.aspirated_ul == 0


@pytest.mark.parametrize('rate, volume', [(10.0, 0.3), (20.0, 0.3), (150.0, 2.0)])
def test_open_line_short_program_completes(rate, volume):
    sim = _sim(rate, volume)
    sim.program(start=True)
    t = _run(sim, 600, until=lambda s: s.pump.fsm.state != S_RUNNING)
    assert sim.pump.state_name() == 'COMPLETE'
    assert [a['code'] for a in sim.alarms] == ['infusion_complete']
    # the hold at the end (line not yet learned) adds at most 55 s (a 45 s hold)
    assert t <= volume / rate * 3600 + 55
    assert 0 <= volume * 1e6 - sim.pump.course.delivered_nl < sim.settings.step_pl / 1000.0


def test_the_debug_view_shows_a_check_that_has_seen_nothing_at_boot_then_the_time_into_settling():
    # simulator/ui/debug.py (pumpsim's `occ` view): after POST nothing was
    # sensed yet; in IDLE the check filters the pressure but has no phase
    # running, nothing stored, no probe and no relief until a program starts
    from simulator.ui.debug import occlusion_internals
    sim = _sim(1.77, 10.0)
    seen = occlusion_internals(sim.pump)
    assert seen['filtered_mmhg'] == 0.0 and seen['slow_mmhg'] == 0.0
    _run(sim, 10)
    seen = occlusion_internals(sim.pump)
    assert seen['phase'] == 'settle' and seen['phase_s'] == 0.0 and not seen['learned']
    assert seen['probe_reference_mmhg'] == 0.0
    assert seen['stored_steps'] == 0 and seen['probe_credit_steps'] == 0
    assert seen['relief_left_steps'] == 0
    # a program started: the view counts the time into the settling
    sim.program(start=True)
    _run(sim, 10)
    seen = occlusion_internals(sim.pump)
    assert seen['phase'] == 'settle' and 9.5 <= seen['phase_s'] <= 10.0, seen
