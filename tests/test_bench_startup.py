"""`pumpsim bench startup`: the start-up delay over several seeds."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_startup_bench_runs_each_seed_and_summarises(tmp_path):
    out = tmp_path / 'st'
    r = subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'bench', 'startup', '--rate', '1',
                        '--seeds', '3', '--duration', '20min', '--out', str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / 'startup.json').read_text())
    assert [x['seed'] for x in rep['runs']] == [1, 2, 3] and rep['plant'] == 'bench'
    delays = sorted(x['startup_delay_s'] for x in rep['runs'])
    assert None not in delays
    assert rep['median_s'] == delays[1] and rep['worst_s'] == delays[-1]
    assert 'start-up delay: median' in r.stdout


def test_startup_bench_refuses_bad_arguments():
    for args, field in ((['--seeds', '0'], '--seeds'), (['--rate', '900'], '--rate')):
        r = subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'bench', 'startup'] + args,
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and field in r.stderr and 'Traceback' not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
