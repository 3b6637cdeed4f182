"""Virtual trials: `pumpsim sweep SPEC.yaml --out DIR` runs benches on Dask.

A spec (configs/sweeps/) lists runs; each run is one bench over a grid (every
combination of the listed values) or a random sample (`random: N`, each task
draws one value per axis: a list is a choice, {uniform: [lo, hi]} a number)
of pumps, rates, plant parameters, patient profiles and seeds:

    name: ci-small
    runs:
      - bench: occlusion            # occlusion | soak | air | accuracy
        grid:                       # or: random: 20 (with the same axes)
          pump: [bd-plastipak-50]
          rate_ml_h: [min, 0.1, 1.77, max]   # min/max: the pump's limits
          compliance_ul_mmhg: [1, 3]
          resistance_mmhg_s_ul: [2, 20]
          noise_mmhg: [3]
          profile: [steady, mixed]  # simulator/plant/patients.py
          onset: [fill, steady]     # simulator/trials/tasks.py
        seeds: 2                    # 1..2, or a list
        hours: 24                   # soak and accuracy
    targets: {...}                  # optional, checked by the report

Tasks run on a Dask cluster: a local one (one single-threaded worker process
per core) unless `--scheduler ADDRESS` names an existing one. Each result is
written as it finishes to DIR/results/<task id>.parquet (the id is a hash of
the task's parameters): a rerun skips tasks already done; a failed task is
written with status 'error' and its error, does not stop the sweep, and is
run again by a rerun. At the end DIR/sweep.json (wall time, patient-hours
per wall-second) and the report (simulator/trials/report.py) are written.
"""
import hashlib
import itertools
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import yaml

from pumphost.config.schema import ConfigError
from simulator.trials.tasks import BENCHES, ONSETS
from simulator.plant.patients import PROFILES

AXES = ('pump', 'rate_ml_h', 'compliance_ul_mmhg', 'resistance_mmhg_s_ul', 'noise_mmhg',
        'profile', 'onset')
DEFAULTS = {'compliance_ul_mmhg': None, 'resistance_mmhg_s_ul': None, 'noise_mmhg': None,
            'profile': 'steady', 'onset': 'steady'}
RANGES = {'compliance_ul_mmhg': (0.1, 10.0), 'resistance_mmhg_s_ul': (0.5, 100.0),
          'noise_mmhg': (0.0, 10.0)}
MAX_TASKS = 100000


def _err(spec_path, where, value, allowed):
    return ConfigError('%s: %s=%r not allowed: %s' % (spec_path, where, value, allowed))


def _pump_limits(name, spec_path, where):
    from pumphost.config.pumps import load_pump, resolve
    try:
        cfg = load_pump(resolve('pumps', name))
    except ConfigError:
        raise _err(spec_path, where, name, 'a configs/pumps name or a pump YAML path')
    lim = cfg.data['limits']
    return lim['min_rate_ml_h'], lim['max_rate_ml_h']


def _check_value(spec_path, where, axis, v):
    if axis == 'profile' and v not in PROFILES:
        raise _err(spec_path, where, v, 'one of ' + ', '.join(PROFILES))
    if axis == 'onset' and v not in ONSETS:
        raise _err(spec_path, where, v, 'one of ' + ', '.join(ONSETS))
    if axis in RANGES and v is not None:
        lo, hi = RANGES[axis]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            raise _err(spec_path, where, v, 'a number %g..%g (or null: the pump\'s own)' % (lo, hi))


def _rate(spec_path, where, pump, v):
    lo, hi = _pump_limits(pump, spec_path, where)
    if v == 'min':
        return float(lo)
    if v == 'max':
        return float(hi)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise _err(spec_path, where, v, 'min, max or a rate %g..%g mL/h for pump %s' % (lo, hi, pump))
    return float(v)


def task_id(params):
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:16]


def _finish(spec_path, where, params, bench, hours):
    p = dict(DEFAULTS)
    p.update(params)
    p['rate_ml_h'] = _rate(spec_path, where + '.rate_ml_h', p['pump'], p['rate_ml_h'])
    p['bench'] = bench
    p['hours'] = hours
    p['task_id'] = task_id(p)
    return p


def _seeds(spec_path, where, v):
    if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 100000:
        return list(range(1, v + 1))
    if isinstance(v, list) and v and all(isinstance(s, int) and not isinstance(s, bool) for s in v):
        return v
    raise _err(spec_path, where, v, 'a count 1..100000 or a list of integers')


def expand(spec, spec_path='<spec>'):
    """The spec's tasks (dicts of parameters with a task_id), checked."""
    if not isinstance(spec, dict) or not isinstance(spec.get('runs'), list) or not spec['runs']:
        raise _err(spec_path, 'runs', (spec or {}).get('runs') if isinstance(spec, dict) else spec,
                   'a non-empty list of runs')
    unknown = set(spec) - {'name', 'description', 'runs', 'targets'}
    if unknown:
        raise _err(spec_path, sorted(unknown)[0], spec[sorted(unknown)[0]],
                   'keys are name, description, runs, targets')
    tasks = []
    for i, run in enumerate(spec['runs']):
        where = 'runs[%d]' % i
        if not isinstance(run, dict):
            raise _err(spec_path, where, run, 'a map with bench and grid or random')
        bad = set(run) - {'bench', 'grid', 'random', 'seeds', 'hours', 'axes'}
        if bad:
            k = sorted(bad)[0]
            raise _err(spec_path, '%s.%s' % (where, k), run[k], 'keys are bench, grid, random, axes, seeds, hours')
        bench = run.get('bench')
        if bench not in BENCHES:
            raise _err(spec_path, where + '.bench', bench, 'one of ' + ', '.join(BENCHES))
        hours = run.get('hours')
        if bench in ('soak', 'accuracy'):
            if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours <= 24 * 60:
                raise _err(spec_path, where + '.hours', hours, 'simulated hours, 0 < hours <= 1440')
            hours = float(hours)
        else:
            hours = None
        if ('grid' in run) == ('random' in run):
            raise _err(spec_path, where, sorted(run), 'exactly one of grid (a map of axes) or random (a count, with axes)')
        axes = run.get('grid') if 'grid' in run else run.get('axes')
        if not isinstance(axes, dict) or 'pump' not in axes or 'rate_ml_h' not in axes:
            raise _err(spec_path, where + ('.grid' if 'grid' in run else '.axes'), axes,
                       'a map of axes with at least pump and rate_ml_h (axes: %s)' % ', '.join(AXES))
        for k, vals in axes.items():
            if k not in AXES:
                raise _err(spec_path, '%s.%s' % (where, k), vals, 'axes are ' + ', '.join(AXES))
            if 'grid' in run and (not isinstance(vals, list) or not vals):
                raise _err(spec_path, '%s.grid.%s' % (where, k), vals, 'a non-empty list')
            for v in (vals if isinstance(vals, list) else []):
                if k not in ('pump', 'rate_ml_h'):
                    _check_value(spec_path, '%s.%s' % (where, k), k, v)
        if 'grid' in run:
            seeds = _seeds(spec_path, where + '.seeds', run.get('seeds', 1))
            keys = list(axes)
            for combo in itertools.product(*(axes[k] for k in keys)):
                for seed in seeds:
                    params = dict(zip(keys, combo), seed=seed)
                    tasks.append(_finish(spec_path, where, params, bench, hours))
        else:
            n = run['random']
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_TASKS:
                raise _err(spec_path, where + '.random', n, 'a task count 1..%d' % MAX_TASKS)
            seeds = run.get('seeds', [1])
            base = _seeds(spec_path, where + '.seeds', seeds)[0]
            rng = np.random.default_rng([base, i, 2718])
            for j in range(n):
                params = {'seed': base * 1000003 + j}
                for k, vals in axes.items():
                    if isinstance(vals, list) and vals:
                        params[k] = vals[int(rng.integers(len(vals)))]
                    elif isinstance(vals, dict) and list(vals) == ['uniform'] and len(vals['uniform']) == 2:
                        lo, hi = vals['uniform']
                        v = round(float(rng.uniform(lo, hi)), 3)
                        _check_value(spec_path, '%s.axes.%s' % (where, k), k, v)
                        params[k] = v
                    else:
                        raise _err(spec_path, '%s.axes.%s' % (where, k), vals,
                                   'a non-empty list (a choice) or {uniform: [lo, hi]}')
                tasks.append(_finish(spec_path, where, params, bench, hours))
        if len(tasks) > MAX_TASKS:
            raise _err(spec_path, 'runs', len(tasks), 'at most %d tasks' % MAX_TASKS)
    return tasks


def load_spec(path):
    from pumphost.config.pumps import resolve
    try:
        p = resolve('sweeps', path)
    except ConfigError:
        p = Path(path)
    if not Path(p).is_file():
        raise ConfigError('%s: no such sweep spec (a configs/sweeps name or a YAML path)' % path)
    try:
        spec = yaml.safe_load(Path(p).read_text())
    except yaml.YAMLError as e:
        raise ConfigError('%s: not valid YAML: %s' % (p, str(e).splitlines()[0]))
    return spec, str(p)


# ------------------------------------------------------------ results
def _results_dir(out):
    d = Path(out) / 'results'
    d.mkdir(parents=True, exist_ok=True)
    return d


def done_ids(out):
    """Task ids with an ok result already written (a rerun skips them)."""
    import pyarrow.parquet as pq
    ids = set()
    for f in _results_dir(out).glob('*.parquet'):
        try:
            t = pq.read_table(f, columns=['task_id', 'status'])
        except Exception:       # a file torn by a killed run: run the task again
            continue
        if t.num_rows and t.column('status')[0].as_py() == 'ok':
            ids.add(t.column('task_id')[0].as_py())
    return ids


def write_result(out, row):
    import pyarrow as pa
    import pyarrow.parquet as pq
    d = _results_dir(out)
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
    table = pa.Table.from_pylist([clean])
    tmp = d / ('.%s.tmp' % row['task_id'])
    pq.write_table(table, tmp)
    os.replace(tmp, d / ('%s.parquet' % row['task_id']))


def load_results(out):
    import pandas as pd
    import pyarrow.parquet as pq
    files = sorted(_results_dir(out).glob('*.parquet'))
    if not files:
        return pd.DataFrame()
    frames = [pq.read_table(f).to_pandas() for f in files]
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------ cluster
def _client(scheduler, workers):
    from dask.distributed import Client, LocalCluster
    if scheduler:
        return Client(scheduler, timeout='20s'), None
    n = workers or os.cpu_count() or 1
    # one single-threaded process per core: the simulation is pure Python
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=':0', silence_logs=40)
    return Client(cluster), cluster


def run_sweep(spec, spec_path, out, scheduler=None, workers=None, progress=True, limit=None):
    """Run the spec's tasks not yet done; returns the sweep.json dict."""
    from dask.distributed import as_completed
    tasks = expand(spec, spec_path)
    if limit is not None:
        tasks = tasks[:limit]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done = done_ids(out)
    todo = [t for t in tasks if t['task_id'] not in done]
    wall0 = time.perf_counter()
    client, cluster = _client(scheduler, workers)
    n_err = 0
    sim_h = 0.0
    try:
        from simulator.trials.tasks import run_task
        n_workers = len(client.scheduler_info().get('workers', {}))
        futures = {client.submit(run_task, t, key='sweep-%s' % t['task_id'], pure=False): t
                   for t in todo}
        bar = None
        if progress and todo:
            from tqdm import tqdm
            bar = tqdm(total=len(todo), unit='task', desc='sweep', smoothing=0.1)
        for fut in as_completed(futures):
            t = futures[fut]
            try:
                row = fut.result()
            except Exception as e:      # the worker died or could not run it
                row = dict(t, status='error', error='%s: %s' % (type(e).__name__, e))
            if row.get('status') != 'ok':
                n_err += 1
            sim_h += row.get('sim_hours') or 0.0
            write_result(out, row)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(errors=n_err, refresh=False)
        if bar is not None:
            bar.close()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    wall = time.perf_counter() - wall0
    meta = {'spec': spec_path, 'name': spec.get('name'), 'tasks': len(tasks), 'run_now': len(todo),
            'skipped_done': len(tasks) - len(todo), 'errors_now': n_err,
            'scheduler': scheduler or 'local', 'workers': n_workers,
            'wall_s': round(wall, 2), 'patient_hours_now': round(sim_h, 2),
            'patient_hours_per_wall_s': round(sim_h / wall, 3) if wall > 0 and todo else None}
    (out / 'sweep.json').write_text(json.dumps(meta, indent=2) + '\n')
    return meta


def cmd_sweep(a):
    from simulator.trials.report import write_report
    spec, spec_path = load_spec(a.spec)
    expand(spec, spec_path)     # bad input: one line, nothing run
    if a.workers is not None and not 1 <= a.workers <= 64:
        raise ConfigError('--workers=%r not allowed: 1..64' % a.workers)
    if a.limit is not None and a.limit < 1:
        raise ConfigError('--limit=%r not allowed: at least 1' % a.limit)
    if a.report_only:
        meta = json.loads((Path(a.out) / 'sweep.json').read_text()) if (Path(a.out) / 'sweep.json').exists() else None
        rep = write_report(a.out, spec)
        for line in rep['lines']:
            print(line)
        print('written    %s/report.md, report.json, cells.csv, *.png (from %s)' % (
            a.out, 'the results so far' if meta is None else 'the last run'))
        return 0 if rep['met'] in (True, None) and not rep['errors'] else 1
    meta = run_sweep(spec, spec_path, a.out, scheduler=a.scheduler, workers=a.workers,
                     progress=not a.no_progress, limit=a.limit)
    rep = write_report(a.out, spec)
    print('sweep %s: %d task(s), %d run now (%d skipped, already done), %d error(s) now; '
          '%.1f patient-h in %.1f s wall (%s patient-h per wall-s) on %d worker(s)' % (
              meta['name'], meta['tasks'], meta['run_now'], meta['skipped_done'], meta['errors_now'],
              meta['patient_hours_now'], meta['wall_s'], meta['patient_hours_per_wall_s'], meta['workers']))
    for line in rep['lines']:
        print(line)
    print('written    %s/results/*.parquet, sweep.json, report.md, report.json, cells.csv, *.png' % a.out)
    return 0 if rep['met'] in (True, None) and not rep['errors'] else 1


def register(top):
    s = top.add_parser('sweep', help='virtual trials: a grid or random sample of benches on Dask')
    s.add_argument('spec', help='configs/sweeps name or a YAML path')
    s.add_argument('--out', required=True, help='output directory (a rerun skips finished tasks)')
    s.add_argument('--scheduler', default=None, help='address of a running dask scheduler '
                   '(default: a local cluster, one worker process per core)')
    s.add_argument('--workers', type=int, default=None, help='local cluster: worker processes (default: cores)')
    s.add_argument('--limit', type=int, default=None, help='run only the first N tasks of the spec')
    s.add_argument('--no-progress', action='store_true', help='no progress bar')
    s.add_argument('--report-only', action='store_true',
                   help='write the report from the results in --out (e.g. of an interrupted run)')
    s.set_defaults(func=cmd_sweep)
