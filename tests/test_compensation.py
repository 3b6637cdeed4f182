"""Mechanism compensation on the bench plant: the calibration bench measures
a unit through the HAL and a balance, the firmware runs on what it stored
(docs/accuracy.md). The unit here is not the default one, and the
calibration's noise is not the run's."""
import math
import subprocess
import sys
from pathlib import Path

from simulator.benches import compensation as C
from simulator.benches.calibrate import calibrate

ROOT = Path(__file__).resolve().parents[1]
UNIT = 4   # barrel -0.81 %, screw 5.7 um, microstep 0.016: nominal Ep2 -4.7 %


def test_compensation_meets_the_targets_where_nominal_does_not():
    row = C.run_unit('bd-plastipak-50', UNIT, 1.0)
    nom, comp = row['nominal'], row['compensated']
    # the mechanism shows in the nominal trumpet ...
    assert min(nom['ep2_min_pct'], -nom['ep2_max_pct']) < -C.TARGET_EP2_PCT, nom
    assert not nom['meets']
    # ... and the compensated firmware takes it out: IEC 60601-2-24 mean
    # error and every 2-min window
    assert abs(comp['mean_error_pct']) <= C.TARGET_A_PCT, comp
    assert -C.TARGET_EP2_PCT <= comp['ep2_min_pct'] and comp['ep2_max_pct'] <= C.TARGET_EP2_PCT, comp
    assert comp['alarms'] == [] and nom['alarms'] == []


def test_calibration_bench_measures_the_hidden_unit(tmp_path):
    from simulator.plant.mechanism import BenchMechanism
    from pumphost.config.pumps import load_pump
    params = C.unit_params(UNIT)
    r = calibrate('bd-plastipak-50', tmp_path, verify_rate=0, plant_kind=params, unit_seed=UNIT,
                  seed=UNIT + 1000)
    assert r['stored'], r['refused']
    t = r['mechanism_table']
    pump = load_pump('bd-plastipak-50')
    mech = BenchMechanism(pump, params, UNIT)   # the truth, for the test only
    travel_um = mech.pitch_um / mech.steps_per_rev
    assert abs(t['amplitude_steps']['rev1'] - params['lead_screw_error_um'] / travel_um) < 0.03 * 12.8
    ustep = params['microstep_error_fraction'] * mech.full_step_um / travel_um
    assert abs(t['amplitude_steps']['cycle1'] - ustep) < 0.25 * ustep + 0.02
    # the table against the screw as drawn, at the motor count (the first
    # push takes up the backlash, so the carriage's count is the motor's
    # less the backlash)
    backlash = int(round(pump.data['drive']['backlash_mm'] / pump.travel_per_step_mm))
    worst = 0.0
    for i, e in enumerate(t['screw']):
        p = i * t['rev'] // len(t['screw']) - backlash
        true = params['lead_screw_error_um'] / travel_um * math.sin(2 * math.pi * p / mech.steps_per_rev
                                                                     + mech.screw_phase)
        worst = max(worst, abs(e / 256.0 - true))
    assert worst < 0.6, worst   # microsteps, of a 14.6-microstep error
    # the step volume from whole revolutions: the barrel's error, not the screw's
    true_pl = pump.step_ul_nominal * (1 + params['barrel_diameter_error_pct'] / 100.0) ** 2 * 1e6
    assert abs(r['step_pl']['measured'] - true_pl) / true_pl < 0.001


def test_compensation_bench_cli_rejects_bad_input():
    for args, word in ((['--units', '0'], '--units'), (['--rate', '500'], '--rate'),
                       (['--pump', 'peristaltic-050'], '--pump')):
        r = subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'bench', 'compensation'] + args,
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and word in r.stderr and 'Traceback' not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_accuracy_compensation_with_a_storage_image_refused(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'bench', 'accuracy', '--rate', '1',
                        '--calibration', str(tmp_path), '--compensation', 'on', '--out', str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and '--compensation' in r.stderr and 'Traceback' not in r.stderr, r.stderr
