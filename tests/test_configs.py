"""Configs load, and bad ones fail with one clear line and exit status 2."""
import subprocess
import sys
from pathlib import Path

import pytest

from pumphost.config.pumps import available, load_pump
from simulator.scenario import load_scenario
from pumphost.config.schema import ConfigError, parse_duration_s

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize('name', available('pumps'))
def test_every_pump_config_loads(name):
    p = load_pump(name)
    s = p.firmware_settings()
    from firmware.settings import Settings
    assert Settings(**s).validate() is None


def test_plastipak_50_step_volume():
    # 26.6 mm barrel, 1.25 mm / 3200 microsteps: 0.217 uL per microstep
    assert abs(load_pump('bd-plastipak-50').step_ul_nominal - 0.2171) < 0.0005


@pytest.mark.parametrize('name', available('scenarios'))
def test_every_scenario_loads(name):
    load_scenario(name)


def test_demo_is_the_worked_example():
    s = load_scenario('demo')
    assert abs(s.volume_ml - 81.6) < 1e-9
    assert abs(s.rate_ml_h - 1.7739) < 1e-4


def test_durations_need_units():
    assert parse_duration_s('46h') == 46 * 3600
    assert parse_duration_s('30min') == 1800
    for bad in (46, '46', 'h', '3 weeks'):
        with pytest.raises(ValueError):
            parse_duration_s(bad)


PUMP = (ROOT / 'configs' / 'pumps' / 'bd-plastipak-50.yaml').read_text()


@pytest.mark.parametrize('old,new,expect', [
    ('inner_diameter_mm: 26.6', 'inner_diameter_mm: -3', ['syringe.inner_diameter_mm', '-3', '3..40']),
    ('microsteps: 16', 'microsteps: 16.5', ['drive.microsteps', '16.5', 'integer']),
    ('kind: syringe', 'kind: pneumatic', ['kind', 'pneumatic', 'syringe']),
    ('  backlash_mm: 0.02\n', '  backlash_mm: 0.02\n  colour: red\n', ['drive.colour', 'unknown key']),
    ('  dead_space_ml: 0.20\n', '', ['syringe.dead_space_ml', 'missing']),
])
def test_bad_pump_config_names_key_value_and_allowed(tmp_path, old, new, expect):
    assert old in PUMP
    bad = tmp_path / 'bad.yaml'
    bad.write_text(PUMP.replace(old, new))
    with pytest.raises(ConfigError) as e:
        load_pump(bad)
    msg = str(e.value)
    assert str(bad) in msg
    for part in expect:
        assert part in msg, msg


def run_cli(*args):
    return subprocess.run([sys.executable, '-m', 'simulator.ui.cli'] + list(args), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_bad_scenario_exits_2_with_one_line(tmp_path):
    sc = (ROOT / 'configs' / 'scenarios' / 'demo.yaml').read_text()
    bad = tmp_path / 'bad.yaml'
    bad.write_text(sc.replace('concentration_mg_per_ml: 50', 'concentration_mg_per_ml: fifty'))
    r = run_cli('run', str(bad), '--out', str(tmp_path / 'o'))
    assert r.returncode == 2
    assert 'Traceback' not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert 'program.concentration_mg_per_ml' in lines[0] and "'fifty'" in lines[0]
    assert not (tmp_path / 'o').exists()  # nothing ran


def test_cli_bad_pump_referenced_by_scenario(tmp_path):
    pump = tmp_path / 'p.yaml'
    pump.write_text(PUMP.replace('compliance_ul_per_mmhg: 2.0', 'compliance_ul_per_mmhg: 0'))
    sc = (ROOT / 'configs' / 'scenarios' / 'demo.yaml').read_text()
    scf = tmp_path / 's.yaml'
    scf.write_text(sc.replace('pump: bd-plastipak-50', 'pump: %s' % pump))
    r = run_cli('run', str(scf), '--out', str(tmp_path / 'o'))
    assert r.returncode == 2
    assert 'syringe.compliance_ul_per_mmhg = 0' in r.stderr
    assert 'Traceback' not in r.stderr


def test_cli_missing_file(tmp_path):
    r = run_cli('run', str(tmp_path / 'nope.yaml'), '--out', str(tmp_path / 'o'))
    assert r.returncode == 2 and 'file not found' in r.stderr


def test_scenario_rate_outside_pump_limits(tmp_path):
    sc = (ROOT / 'configs' / 'scenarios' / 'demo.yaml').read_text()
    bad = tmp_path / 'fast.yaml'
    bad.write_text(sc.replace('duration: 46h\nevents', 'duration: 10min\nevents'))
    with pytest.raises(ConfigError) as e:
        load_scenario(bad)
    assert 'outside the pump' in str(e.value)
