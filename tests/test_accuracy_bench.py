"""IEC 60601-2-24 accuracy bench: the trumpet arithmetic, and short runs of the
real firmware with and without the start-up fill."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from simulator.benches.accuracy import (flows_from_weights, trumpet, run_one, bench, quantise,
                                      RHO_G_ML, WINDOWS_MIN)

ROOT = Path(__file__).resolve().parent.parent


def test_flows_from_weights_uses_density_and_interval():
    # 1 mL/h for 30 s is 1/120 mL, i.e. 0.998/120 g on the balance
    w = [i * RHO_G_ML / 120.0 for i in range(5)]
    assert flows_from_weights(w, 30.0) == pytest.approx([1.0] * 4)


def test_trumpet_of_exact_flow_is_flat():
    r = trumpet([5.0] * 120, 5.0, 30.0)
    assert r['mean_error_pct'] == pytest.approx(0.0)
    assert [w['window_min'] for w in r['windows']] == list(WINDOWS_MIN)
    assert [w['samples'] for w in r['windows']] == [4, 10, 22, 38, 62]
    for w in r['windows']:
        assert w['ep_max_pct'] == pytest.approx(0.0) and w['ep_min_pct'] == pytest.approx(0.0)


def test_trumpet_single_spike_spreads_over_each_window():
    flows = [1.0] * 120
    flows[50] = 2.0            # one sample +100 %
    r = trumpet(flows, 1.0, 30.0)
    for w in r['windows']:
        assert w['ep_max_pct'] == pytest.approx(100.0 / w['samples'])
        assert w['ep_min_pct'] == pytest.approx(0.0)
    assert r['mean_error_pct'] == pytest.approx(100.0 / 120)


def test_window_longer_than_the_period_is_left_out():
    r = trumpet([1.0] * 30, 1.0, 30.0)      # 15 min analysed
    got = {w['window_min']: w['ep_max_pct'] for w in r['windows']}
    assert got[11] is not None and got[19] is None and got[31] is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 10.0), min_size=62, max_size=62), st.sampled_from([2, 31]))
def test_window_extremes_bracket_the_mean(flows, window):
    # when the windows tile the period (60 samples = 15 x 2 min, 62 = 1 x 31
    # min) the mean of the window means is A, so Ep(min) <= A <= Ep(max)
    r = trumpet(flows[:60] if window == 2 else flows, 5.0, 30.0, windows_min=(window,))
    w = r['windows'][0]
    assert w['ep_min_pct'] - 1e-9 <= r['mean_error_pct'] <= w['ep_max_pct'] + 1e-9


def test_balance_resolution_quantises():
    assert quantise(0.00123, 0.001) == pytest.approx(0.001)
    assert quantise(0.00123, 0.0) == 0.00123


@pytest.fixture(scope='module')
def low_rate_pair():
    on, flows_on = run_one('bd-plastipak-50', 0.5, True, duration_s=1800, sample_s=30, seed=2)
    off, flows_off = run_one('bd-plastipak-50', 0.5, False, duration_s=1800, sample_s=30, seed=2)
    return on, off, flows_on, flows_off


def test_startup_fill_removes_the_start_up_delay(low_rate_pair):
    on, off, _, _ = low_rate_pair
    # without the fill 0.5 mL/h must first pressurise ~0.18 mL: about 20 min
    assert off['first_flow_min'] is None or off['first_flow_min'] > 15
    assert off['startup_lag_ul'] > 150
    assert on['fill_ul'] > 150 and on['startup_fill'] and not off['startup_fill']
    assert on['first_flow_min'] <= 2
    assert abs(on['startup_lag_ul']) < 40       # within ~5 min of the ideal line
    assert on['alarms'] == [] and off['alarms'] == []


def test_second_half_flow_is_on_rate_with_the_fill(low_rate_pair):
    on, _, flows_on, _ = low_rate_pair
    assert abs(on['mean_error_pct']) < 2.0
    two = on['windows'][0]
    assert two['ep_max_pct'] < 25 and two['ep_min_pct'] > -25   # 0.5 mL/h: 2.3 steps/s


def test_bench_is_deterministic_under_seed():
    a = bench(rates='1', fill='on', duration_s=900, sample_s=30, seed=5)
    b = bench(rates='1', fill='on', duration_s=900, sample_s=30, seed=5)
    assert a == b


def test_syringe_emptying_shortens_the_run():
    r, _ = run_one('bd-plastipak-50', 150, True, duration_s=2400, sample_s=30, seed=1)
    assert r['shortened'] and r['run_min'] < 21
    assert 'infusion_complete' in r['alarms']


def test_cli_writes_outputs_and_rejects_bad_rates(tmp_path):
    out = tmp_path / 'acc'
    r = subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'bench', 'accuracy', '--rates', '2',
                        '--duration', '20min', '--startup-fill', 'on', '--out', str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / 'accuracy.json').read_text())
    assert rep['runs'][0]['rate_ml_h'] == 2.0
    assert (out / 'trumpet.csv').read_text().count('\n') == 1 + len(WINDOWS_MIN)
    assert (out / 'flow.csv').exists() and (out / 'trumpet.png').stat().st_size > 5000
    bad = subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'bench', 'accuracy', '--rates', '900',
                          '--out', str(out)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert 'Traceback' not in bad.stderr and '--rates' in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
