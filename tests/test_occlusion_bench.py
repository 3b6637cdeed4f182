"""Occlusion and soak benches at reduced duration (the full 14-day soak is
`pumpsim bench soak --hours 336`)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.benches.occlusion import run_occlusion, run_soak, soak_events
from pumphost.config.pumps import load_pump
from simulator.plant import faults
from simulator.plant import SyringePlant

ROOT = Path(__file__).resolve().parent.parent


def test_occlusion_bench_cli_at_1_77(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'bench', 'occlusion', '--pump',
                        'bd-plastipak-50', '--rate', '1.77', '--out', str(tmp_path), '--seed', '3'],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads((tmp_path / 'occlusion.json').read_text())
    assert res['plant'] == 'bench'          # the realistic plant is the default
    assert res['alarm'] == 'occlusion_downstream'
    assert 0 < res['time_to_alarm_s'] <= 180
    assert res['pressure_at_alarm_mmhg'] < 300      # far below a fixed 300 mmHg threshold
    assert 0 <= res['bolus_ml'] <= 0.05
    assert res['aspirated_ml'] == 0
    assert res['relief_steps'] > 0
    assert (tmp_path / 'occlusion.png').stat().st_size > 10000


def test_occlusion_bench_at_0_1_within_20_min():
    res, _ = run_occlusion('bd-plastipak-50', 0.1, seed=2)
    assert res['alarm'] == 'occlusion_downstream'
    assert res['time_to_alarm_s'] <= 1200
    assert res['bolus_ml'] <= 0.05
    assert res['aspirated_ml'] == 0


def test_occlusion_bench_deterministic_under_seed():
    a, _ = run_occlusion('bd-plastipak-50', 1.77, seed=5)
    b, _ = run_occlusion('bd-plastipak-50', 1.77, seed=5)
    for k in ('time_to_alarm_s', 'pressure_at_alarm_mmhg', 'bolus_ml'):
        assert a[k] == b[k]


@pytest.mark.parametrize('rate', [1.77, 0.1])
def test_soak_17h_with_bp_steps_and_drift_has_no_false_alarm(rate):
    res = run_soak('bd-plastipak-50', rate, 17, seed=4)
    names = {e[2] for e in soak_events(17)}
    assert names == {'arterial_step', 'arterial_drift'}   # steps and a drift in 17 h
    assert res['false_alarms'] == []
    assert res['final_state'] == 'RUNNING'
    assert res['occlusion_probes'] >= 1   # the +15 mmHg step made it ask the line


def test_bad_rate_is_one_line_exit_2(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'bench', 'occlusion', '--pump',
                        'bd-plastipak-50', '--rate', '500', '--out', str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert '--rate=500' in r.stderr and 'Traceback' not in r.stderr


def test_plant_reverse_withdraws_with_backlash_and_counts_aspiration():
    cfg = load_pump('bd-plastipak-50')
    pl = SyringePlant(cfg, seed=0)
    faults.inject(pl, 'downstream_occlusion')
    pl.advance(0.1, 1000)
    stored = pl.stored_ul
    assert stored > 0
    pl.advance(0.1, -pl.backlash_steps)       # reversal: the gap opens, no fluid moves
    assert pl.stored_ul == pytest.approx(stored)
    pl.advance(0.1, -100)
    assert pl.stored_ul == pytest.approx(stored - 100 * pl.step_ul)
    assert pl.aspirated_ul == 0
    pl.advance(0.1, -10000)                   # far more than stored: aspiration counted
    assert pl.stored_ul == 0
    assert pl.aspirated_ul > 0


def test_soak_whose_course_ends_inside_it_is_not_met(monkeypatch):
    # the rest of the soak would be untested: a course that ends early (the
    # device's count ahead of the schedule) misses the soak, no false alarm
    from simulator.benches import occlusion
    monkeypatch.setattr(occlusion, 'soak_course_ml', lambda cfg, rate, hours: 0.3)
    res = occlusion.run_soak('bd-plastipak-50', 1.77, 1.0, seed=1)
    assert res['false_alarms'] == []
    assert res['course_ended_h'] is not None and res['course_ended_h'] < 1.0
    assert not res['met']


def test_soak_course_outlasts_the_run():
    cfg = load_pump('bd-plastipak-50')
    from simulator.benches.occlusion import soak_course_ml
    # 5 % over the run plus what the line holds at the 750 mmHg limit (2 uL/mmHg)
    assert soak_course_ml(cfg, 0.1, 17) == pytest.approx(0.1 * 17 * 1.05 + 1.5)
