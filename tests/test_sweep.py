"""pumpsim sweep: virtual trials on a local Dask cluster and on a separate
scheduler + worker (processes on 127.0.0.1 started and stopped here)."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.ui.cli import main
from simulator.trials.sweep import expand, load_results
from simulator.trials.tasks import run_task
from simulator.trials.report import poisson_ci

TINY = """
name: tiny
runs:
  - bench: occlusion
    grid:
      pump: [bd-plastipak-50]
      rate_ml_h: [1.77]
      compliance_ul_mmhg: [1, 3]
      resistance_mmhg_s_ul: [5]
      profile: [steady]
      onset: [settle]
    seeds: 1
  - bench: accuracy
    grid:
      pump: [bd-plastipak-50]
      rate_ml_h: [5]
    hours: 0.0001
targets:
  detected_pct: 100
  tta_p95_s: {1.77: 180}
"""


def _spec(tmp_path, text=TINY):
    p = tmp_path / 'spec.yaml'
    p.write_text(text)
    return str(p)


def test_local_cluster_runs_records_a_failure_and_a_rerun_skips_finished(tmp_path, capsys):
    out = tmp_path / 'out'
    rc = main(['sweep', _spec(tmp_path), '--out', str(out), '--workers', '2', '--no-progress'])
    df = load_results(out)
    assert len(df) == 3
    occ = df[df['bench'] == 'occlusion']
    assert list(occ['status']) == ['ok', 'ok']
    assert occ['detected'].all() and (occ['time_to_alarm_s'] <= 180).all()
    # 0.0001 h (0.36 s) is under the scenario minimum of 1 s: that task fails, is
    # recorded with its error, and the others still ran
    bad = df[df['bench'] == 'accuracy']
    assert list(bad['status']) == ['error'] and bad['error'].iloc[0]
    assert rc == 1
    meta = json.loads((out / 'sweep.json').read_text())
    assert meta['run_now'] == 3 and meta['errors_now'] == 1 and meta['workers'] == 2
    rep = json.loads((out / 'report.json').read_text())
    assert [c['detected_pct'] for c in rep['cells']] == [100.0, 100.0]
    assert rep['targets_met'] is True
    assert (out / 'heatmap_tta_p95_bd-plastipak-50.png').stat().st_size > 1000
    # a rerun skips the two finished tasks and runs the failed one again
    main(['sweep', _spec(tmp_path), '--out', str(out), '--workers', '1', '--no-progress'])
    meta = json.loads((out / 'sweep.json').read_text())
    assert (meta['skipped_done'], meta['run_now']) == (2, 1)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_sweep_through_a_separate_scheduler_and_worker(tmp_path):
    port = _free_port()
    addr = 'tcp://127.0.0.1:%d' % port
    dask = [sys.executable, '-m', 'dask']
    log = open(tmp_path / 'cluster.log', 'w')
    sched = subprocess.Popen(dask + ['scheduler', '--host', '127.0.0.1', '--port', str(port),
                                     '--no-dashboard'], stdout=log, stderr=subprocess.STDOUT)
    worker = subprocess.Popen(dask + ['worker', addr, '--nworkers', '1', '--nthreads', '1',
                                      '--no-dashboard', '--host', '127.0.0.1'],
                              stdout=log, stderr=subprocess.STDOUT, cwd=str(Path(__file__).parents[1]))
    try:
        from dask.distributed import Client
        deadline = time.monotonic() + 60
        while True:     # wait for the worker to register
            try:
                with Client(addr, timeout='5s') as c:
                    if c.scheduler_info()['workers']:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / 'cluster.log').read_text()
            time.sleep(0.5)
        spec = TINY.split('  - bench: accuracy')[0] + 'targets:\n  detected_pct: 100\n'
        out = tmp_path / 'out'
        rc = main(['sweep', _spec(tmp_path, spec), '--out', str(out), '--scheduler', addr, '--no-progress'])
        assert rc == 0
        df = load_results(out)
        assert list(df['status']) == ['ok', 'ok'] and df['detected'].all()
        # the tasks ran in the separate worker process, not here
        assert os.getpid() not in set(df['worker_pid'])
        assert json.loads((out / 'sweep.json').read_text())['scheduler'] == addr
    finally:
        for p in (worker, sched):
            p.terminate()
        for p in (worker, sched):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


@pytest.mark.parametrize('text, names', [
    ('runs: []\n', 'runs'),
    ('runs:\n  - bench: fly\n    grid: {pump: [bd-plastipak-50], rate_ml_h: [1]}\n', 'bench'),
    ('runs:\n  - bench: occlusion\n    grid: {pump: [bd-plastipak-50], rate_ml_h: [999]}\n', 'rate_ml_h'),
    ('runs:\n  - bench: occlusion\n    grid: {pump: [bd-plastipak-50], rate_ml_h: [1], profile: [calm]}\n',
     'profile'),
    ('runs:\n  - bench: soak\n    grid: {pump: [bd-plastipak-50], rate_ml_h: [1]}\n', 'hours'),
])
def test_bad_spec_one_line_exit_2_nothing_run(tmp_path, capsys, text, names):
    out = tmp_path / 'out'
    assert main(['sweep', _spec(tmp_path, text), '--out', str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and names in err[0]
    assert not out.exists()


def test_random_sample_is_seeded_and_ids_are_stable():
    spec = {'runs': [{'bench': 'occlusion', 'random': 5, 'seeds': [3], 'axes': {
        'pump': ['bd-plastipak-50'], 'rate_ml_h': ['min', 0.1], 'compliance_ul_mmhg': {'uniform': [1, 3]}}}]}
    a, b = expand(spec), expand(spec)
    assert [t['task_id'] for t in a] == [t['task_id'] for t in b]
    assert len({t['task_id'] for t in a}) == 5
    assert all(1 <= t['compliance_ul_mmhg'] <= 3 and t['rate_ml_h'] in (0.01, 0.1) for t in a)


def test_a_task_never_raises():
    r = run_task({'bench': 'occlusion', 'pump': 'no-such-pump', 'rate_ml_h': 1.0, 'seed': 1})
    assert r['status'] == 'error' and 'no-such-pump' in r['error']


def test_poisson_interval():
    lo, hi = poisson_ci(0, 365.0)
    assert lo == 0.0 and abs(hi * 365.0 - 3.689) < 0.01     # exact 97.5 % bound for 0 events
    lo, hi = poisson_ci(10, 1.0)
    assert abs(lo - 4.795) < 0.01 and abs(hi - 18.39) < 0.02
