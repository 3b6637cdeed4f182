"""The wheel, installed in a fresh venv outside the repository, runs:
pumpctl and pumpsim from a temporary directory, named pumps, drugs,
templates and scenarios from the installed package, the JSON Schemas and
protocol data shipped, the MicroPython runtime compiling the device packages
out of site-packages (tools/wheel_check.py; also `make wheel-check`)."""
import importlib.util
from pathlib import Path

from pumphost.config.pumps import load_pump

ROOT = Path(__file__).resolve().parent.parent


def _wheel_check():
    spec = importlib.util.spec_from_file_location('wheel_check', ROOT / 'tools' / 'wheel_check.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_installed_wheel_runs_outside_the_repository(tmp_path):
    wc = _wheel_check()
    lines = []
    probe = wc.check(tmp_path, log=lines.append)   # raises Failed naming the step
    site = probe['site']
    assert not site.startswith(str(ROOT)) and str(tmp_path) in site
    assert probe['configs'] == str(Path(site) / 'pumphost' / 'configs')
    assert 'bd-plastipak-50' in probe['pumps'] and 'haic-folfox' in probe['programs']
    assert {'fluorouracil', 'oxaliplatin', 'heparin'} <= set(probe['drugs'])
    # the installed copy derives what the repository derives
    assert probe['pump_step_pl'] == load_pump('bd-plastipak-50').step_pl
    assert probe['template_steps'] > 0
    assert probe['micropython_state'] == 'IDLE'
    assert any(line.startswith('named') for line in lines)

