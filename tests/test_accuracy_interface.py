"""`pumpsim bench accuracy --rate` as its interface promises: files, keys, the
targets at 1 mL/h, and figures that agree with an independent computation
from balance.csv."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope='module')
def bench_1ml(tmp_path_factory):
    out = tmp_path_factory.mktemp('acc')
    r = subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'bench', 'accuracy', '--pump',
                        'bd-plastipak-50', '--rate', '1', '--plant', 'ideal', '--out', str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def test_files_and_keys(bench_1ml):
    d = json.loads((bench_1ml / 'accuracy.json').read_text())
    for key in ('rate_ml_h', 'mean_error_pct', 'startup_delay_s', 'windows'):
        assert key in d
    assert sorted(d['windows'], key=int) == ['2', '5', '11', '19', '31']
    for w in d['windows'].values():
        assert set(w) >= {'ep_max_pct', 'ep_min_pct'}
    assert (bench_1ml / 'trumpet.png').stat().st_size > 10000
    with open(bench_1ml / 'balance.csv') as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ['t_s', 'mass_g']
    assert len(rows) == 241  # every 30 s for 120 min, both ends


def test_targets_at_1_ml_h(bench_1ml):
    d = json.loads((bench_1ml / 'accuracy.json').read_text())
    assert abs(d['mean_error_pct']) <= 0.5
    assert -2.0 <= d['windows']['2']['ep_min_pct'] <= d['windows']['2']['ep_max_pct'] <= 2.0
    assert d['startup_delay_s'] is not None and d['startup_delay_s'] <= 120


def test_json_agrees_with_independent_computation_from_balance(bench_1ml):
    d = json.loads((bench_1ml / 'accuracy.json').read_text())
    with open(bench_1ml / 'balance.csv') as f:
        rows = list(csv.DictReader(f))
    t = np.array([float(r['t_s']) for r in rows])
    w = np.array([float(r['mass_g']) for r in rows])
    rate = d['rate_ml_h']
    q = 60.0 * np.diff(w) / (np.diff(t) / 60.0 * 0.998)       # mL/h per interval
    second_hour = q[t[1:] > 3600.0 + 1e-9]
    assert len(second_hour) == 120
    a = 100.0 * (second_hour.mean() - rate) / rate
    assert d['mean_error_pct'] == pytest.approx(a, abs=2e-3)
    e = 100.0 * (second_hour - rate) / rate
    for p_min, m in ((2, 4), (5, 10), (11, 22), (19, 38), (31, 62)):
        ma = np.convolve(e, np.ones(m) / m, mode='valid')
        assert d['windows'][str(p_min)]['ep_max_pct'] == pytest.approx(ma.max(), abs=2e-3)
        assert d['windows'][str(p_min)]['ep_min_pct'] == pytest.approx(ma.min(), abs=2e-3)
