"""`pumpsim bench accuracy`: flow accuracy after IEC 60601-2-24 (trumpet and
start-up curves), with and without the firmware's start-up fill.

Method (docs/domain.md section 2): the real firmware drives the
simulated pump into the hepatic artery; a balance weighs what leaves the
catheter every `--sample` (30 s) for `--duration` (2 h). Per sample
Qi [mL/h] = 60 (Wi - Wi-1) / (dt_min rho), rho = 0.998 g/mL, and the
percentage error Ei = 100 (Qi - r) / r. Over the analysis period (the second
half of the run: the second hour of 2 h) the mean error is
A = 100 (mean flow - r) / r, and for each observation window P (2, 5, 11, 19,
31 min) Ep(max) and Ep(min) are the largest and smallest moving averages of Ei
over P / dt consecutive samples. A syringe that empties before the end
shortens the run (the analysis is then the second half of what ran, and
windows longer than that half are left out); the report says so.

Start-up figures over the whole run: the first sample with flow at the
balance (`first_flow_min`), and the start-up lag, r t - V(t) at the end of
the run, in uL and in minutes of the set rate (positive: behind the ideal
line; this is also what the course is short by).

The plant is a bench's by default (`--plant bench`: simulator/plant/mechanism.py,
lead-screw and microstep error, stopper stick-slip and creep, sensor
resolution and drift, weighed on a balance with resolution, noise and
evaporation); `--plant ideal` is the perfect mechanism on an ideal balance
(`--balance-resolution-mg` to round it). Buoyancy is not modelled. Deterministic under `--seed`. Writes
accuracy.json (top level: rate_ml_h, mean_error_pct, startup_delay_s,
windows "2".."31" with ep_max_pct / ep_min_pct, of the first run with the
start-up fill as configured), balance.csv (t_s, mass_g), trumpet.png (trumpet
curve and the first hour's start-up flow), trumpet.csv and flow.csv.
"""
import csv
import json
import math
from pathlib import Path

from pumphost.config.schema import ConfigError
from simulator.benches.common import bench_scenario

WINDOWS_MIN = (2, 5, 11, 19, 31)
RHO_G_ML = 0.998


def parse_rates(text, pump):
    """'min,5,max' -> mL/h values; min and max are the pump's limits."""
    lim = pump.data['limits']
    out = []
    for tok in str(text).split(','):
        tok = tok.strip()
        if tok == 'min':
            out.append(float(lim['min_rate_ml_h']))
        elif tok == 'max':
            out.append(float(lim['max_rate_ml_h']))
        else:
            try:
                v = float(tok)
            except ValueError:
                raise ConfigError('--rates: %r is not a rate (mL/h numbers, min or max, comma-separated)' % tok)
            if not lim['min_rate_ml_h'] <= v <= lim['max_rate_ml_h']:
                raise ConfigError('--rates: %g mL/h outside the pump %s (%g..%g mL/h)' % (
                    v, pump.name, lim['min_rate_ml_h'], lim['max_rate_ml_h']))
            out.append(v)
    if not out:
        raise ConfigError('--rates: empty (give mL/h numbers, min or max)')
    return out


# ------------------------------------------------------------------ analysis
def flows_from_weights(weights_g, sample_s):
    """Balance readings every sample_s -> per-interval flows Qi [mL/h]."""
    dt_min = sample_s / 60.0
    return [60.0 * (weights_g[i] - weights_g[i - 1]) / (dt_min * RHO_G_ML)
            for i in range(1, len(weights_g))]


def trumpet(flows, rate_ml_h, sample_s, windows_min=WINDOWS_MIN):
    """IEC 60601-2-24 analysis of the flows of the analysis period.

    Returns {'mean_error_pct': A, 'windows': [{window_min, samples, ep_max_pct,
    ep_min_pct}]}; a window longer than the period has None for both."""
    errs = [100.0 * (q - rate_ml_h) / rate_ml_h for q in flows]
    a = 100.0 * (sum(flows) / len(flows) - rate_ml_h) / rate_ml_h if flows else None
    rows = []
    for p in windows_min:
        m = int(round(p * 60.0 / sample_s))
        if m < 1 or m > len(errs):
            rows.append({'window_min': p, 'samples': m, 'ep_max_pct': None, 'ep_min_pct': None})
            continue
        s = sum(errs[:m])
        hi = lo = s
        for j in range(m, len(errs)):
            s += errs[j] - errs[j - m]
            hi = max(hi, s)
            lo = min(lo, s)
        rows.append({'window_min': p, 'samples': m, 'ep_max_pct': hi / m, 'ep_min_pct': lo / m})
    return {'mean_error_pct': a, 'windows': rows}


STARTUP_WINDOW_SAMPLES = 4     # 2 min at 30 s: the smallest IEC window
STARTUP_TOLERANCE_PCT = 10.0


def startup_delay_s(flows, rate_ml_h, sample_s, samples=STARTUP_WINDOW_SAMPLES,
                    tol_pct=STARTUP_TOLERANCE_PCT):
    """Start-up delay: from start until the delivered flow stays within +-10 %
    of the set rate. Per-sample flows are step-quantised at low rates (at
    0.1 mL/h a 30 s sample holds about 4 microsteps), so the flow judged is
    the 2-min moving average (4 samples); the delay is the start of the first
    such window after which every window stays within tolerance. None if the
    flow never settles."""
    if len(flows) < samples:
        return None
    avgs = [sum(flows[i:i + samples]) / samples for i in range(len(flows) - samples + 1)]
    ok_from = None
    for i in range(len(avgs) - 1, -1, -1):
        if abs(avgs[i] - rate_ml_h) <= tol_pct / 100.0 * rate_ml_h:
            ok_from = i
        else:
            break
    return None if ok_from is None else ok_from * sample_s


def quantise(w_g, resolution_g):
    return round(w_g / resolution_g) * resolution_g if resolution_g > 0 else w_g


# ------------------------------------------------------------------ runs
def _scenario(pump_name, rate_ml_h, volume_ml, duration_s, sample_s, seed):
    return bench_scenario('IEC 60601-2-24 accuracy %g mL/h' % rate_ml_h, pump_name, rate_ml_h,
                          duration_s, seed, volume_ml=volume_ml, trace_s=sample_s, drug='water')


def load_storage(path):
    """A device storage image (`pumpsim bench calibrate` writes DIR/storage.bin);
    a directory means its storage.bin."""
    p = Path(path)
    if p.is_dir():
        p = p / 'storage.bin'
    if not p.is_file():
        raise ConfigError('--calibration=%s: no storage image there (pumpsim bench calibrate '
                          'writes DIR/storage.bin)' % path)
    return p.read_bytes()


def run_one(pump_name, rate_ml_h, fill_on, duration_s=7200.0, sample_s=30.0, seed=1,
            resolution_mg=0.0, storage_image=None, plant='ideal', unit_seed=None):
    """Simulate one rate; returns the figures and the per-sample flows.
    `storage_image`: the device's non-volatile memory to boot with (bytes),
    e.g. holding a calibration record; None: erased. `plant`: 'ideal' (a
    perfect mechanism weighed on a balance of `resolution_mg`) or 'bench'
    (simulator/plant/mechanism.py: the mechanism's errors, weighed on
    BenchBalance)."""
    from firmware.table import STATE_NAMES
    from pumphost.codes import S_COMPLETE
    from pumphost.config.pumps import load_pump
    from simulator.runtime.inproc import Simulation, TRACE_COLUMNS

    pump = load_pump(pump_name)
    usable_ml = pump.reservoir['nominal_volume_ml'] - pump.reservoir['dead_space_ml']
    volume_ml = min(rate_ml_h * duration_s / 3600.0 * 1.02 + 0.01, usable_ml)
    sc = _scenario(pump_name, rate_ml_h, round(volume_ml, 6), duration_s, sample_s, seed)
    fw = sc.pump.data['firmware']
    if not fill_on:
        fw['startup_fill_rate_ml_h'] = 0
    storage = None
    if storage_image is not None:
        from simulator.runtime.sim_hal import SimStorage
        storage = SimStorage(len(storage_image))
        storage.mem[:] = storage_image
    sim = Simulation(sc, storage=storage, mechanism=plant, unit_seed=unit_seed)
    summary = sim.run()
    i_t = TRACE_COLUMNS.index('t_s')
    i_v = TRACE_COLUMNS.index('delivered_ml')
    i_s = TRACE_COLUMNS.index('state')
    samples = {}
    t_complete = None
    for row in sim.trace:
        k = row[i_t] / sample_s
        if abs(k - round(k)) < 1e-6:
            samples[int(round(k))] = row[i_v]
        if t_complete is None and row[i_s] == STATE_NAMES[S_COMPLETE]:
            t_complete = row[i_t]
    n = int(math.floor(duration_s / sample_s + 1e-9))
    if t_complete is not None:
        n = min(n, int(math.floor(t_complete / sample_s + 1e-9)))
    res_g = resolution_mg / 1000.0
    if plant == 'ideal':
        weights = [quantise(samples[i] * RHO_G_ML, res_g) for i in range(n + 1)]
    else:
        from simulator.plant.mechanism import BenchBalance
        bal = BenchBalance(None if not resolution_mg else {'resolution_mg': resolution_mg}, seed)
        weights = [bal.reading_g(samples[i] * RHO_G_ML, i * sample_s) for i in range(n + 1)]
    flows = flows_from_weights(weights, sample_s)
    half = n // 2
    result = trumpet(flows[half:], rate_ml_h, sample_s)
    t_end_h = n * sample_s / 3600.0
    v_end_ul = samples[n] * 1000.0
    lag_ul = rate_ml_h * 1000.0 * t_end_h - v_end_ul
    first = next((i for i in range(1, n + 1) if samples[i] > 1e-5), None)
    p = sim.pump
    result.update({
        'rate_ml_h': rate_ml_h,
        'startup_fill': bool(fill_on),
        'fill_rate_ml_h': sc.pump.data['firmware']['startup_fill_rate_ml_h'] if fill_on else 0,
        'fill_ul': round(p.fill.nl / 1000.0, 2),
        'fill_held_back_ul': round(p.fill.ahead * p.step_pl / 1e6, 2),
        'run_min': round(n * sample_s / 60.0, 2),
        'analysis_from_min': round(half * sample_s / 60.0, 2),
        'shortened': t_complete is not None and t_complete < duration_s,
        'first_flow_min': round(first * sample_s / 60.0, 2) if first else None,
        'delivered_ul': round(v_end_ul, 2),
        'startup_lag_ul': round(lag_ul, 2),
        'startup_lag_min': round(lag_ul / (rate_ml_h * 1000.0) * 60.0, 2),
        'alarms': [a['code'] for a in summary['alarms']],
        'seed': sim.seed,
        'plant': plant if isinstance(plant, str) else 'bench+',
        'step_pl': sim.settings.step_pl,
        'calibration_seq': sim.settings.calibration_seq,
        'startup_delay_s': startup_delay_s(flows, rate_ml_h, sample_s),
        'balance': [(round(i * sample_s, 3), w) for i, w in enumerate(weights)],
    })
    if result['mean_error_pct'] is not None:
        result['mean_error_pct'] = round(result['mean_error_pct'], 3)
    for w in result['windows']:
        for key in ('ep_max_pct', 'ep_min_pct'):
            if w[key] is not None:
                w[key] = round(w[key], 3)
    return result, flows


CALIBRATION_SEED_OFFSET = 1000   # the calibration's noise is not the run's


def calibrated_image(pump_name, plant, unit_seed, seed):
    """The device's storage after `pumpsim bench calibrate` on this unit
    (the plant drawn under `unit_seed`), its noise drawn under `seed` +
    CALIBRATION_SEED_OFFSET: the step volume, pressure zero and span, and
    the mechanism table, as measured through the HAL and a balance.
    Returns (image bytes, calibration report)."""
    import tempfile
    from simulator.benches.calibrate import calibrate
    with tempfile.TemporaryDirectory() as d:
        rep = calibrate(pump_name, d, verify_rate=0, plant_kind=plant, unit_seed=unit_seed,
                        seed=seed + CALIBRATION_SEED_OFFSET, plot=False)
        if not rep['stored']:
            raise ConfigError('calibration of unit %d refused: %s' % (unit_seed, rep['refused']))
        return (Path(d) / 'storage.bin').read_bytes(), rep


def bench(pump_name='bd-plastipak-50', rates=('min', '5', 'max'), fill='both', duration_s=7200.0,
          sample_s=30.0, seed=1, resolution_mg=0.0, storage_image=None, plant='ideal',
          compensation='off', unit_seed=None):
    """`compensation`: 'off' (nominal figures, or `storage_image` as given),
    'on' (calibrate the unit first: calibrated_image), or 'both' (the
    compensated run first). `unit_seed`: the unit (default `seed`)."""
    from pumphost.config.pumps import load_pump
    pump = load_pump(pump_name)
    rate_list = parse_rates(','.join(rates) if not isinstance(rates, str) else rates, pump)
    modes = {'on': (True,), 'off': (False,), 'both': (True, False)}[fill]
    unit = seed if unit_seed is None else unit_seed
    images = [(False, storage_image)]
    if compensation in ('on', 'both'):
        image, _ = calibrated_image(pump_name, plant, unit, seed)
        images = [(True, image)] + (images if compensation == 'both' else [])
    runs = []
    for r in rate_list:
        for comp, image in images:
            for mode in modes:
                res, flows = run_one(pump_name, r, mode, duration_s, sample_s, seed, resolution_mg,
                                     image, plant, unit)
                res['flows_ml_h'] = [round(q, 5) for q in flows]
                res['compensated'] = comp
                runs.append(res)
    return {
        'bench': 'accuracy (IEC 60601-2-24 trumpet and start-up)',
        'pump': pump.name,
        'duration_min': duration_s / 60.0,
        'sample_s': sample_s,
        'windows_min': list(WINDOWS_MIN),
        'balance_resolution_mg': resolution_mg,
        'plant': plant,
        'seed': seed,
        'unit_seed': unit,
        'compensation': compensation,
        'runs': runs,
    }


# ------------------------------------------------------------------ output
def _fmt(v, f='%+.2f'):
    return '-' if v is None else f % v


def human(report):
    lines = ['pump %s (%s plant), %g min runs, %g s samples, seed %d%s' % (
        report['pump'], report.get('plant', 'ideal'), report['duration_min'], report['sample_s'],
        report['seed'], ', unit %d' % report['unit_seed'] if report.get('unit_seed') is not None else '')]
    hdr = '%-9s %-5s %-5s %8s %9s %10s %9s %9s  %s' % (
        'rate', 'fill', 'comp', 'A %', 'lag uL', 'lag min', 'flow@min', 'fill uL',
        '  '.join('Ep%d max/min' % w for w in report['windows_min']))
    lines.append(hdr)
    for r in report['runs']:
        eps = '  '.join('%7s/%-7s' % (_fmt(w['ep_max_pct'], '%+.1f'), _fmt(w['ep_min_pct'], '%+.1f'))
                        for w in r['windows'])
        lines.append('%-9s %-5s %-5s %8s %9.1f %10.1f %9s %9.1f  %s%s' % (
            '%g' % r['rate_ml_h'], 'on' if r['startup_fill'] else 'off',
            'on' if r.get('compensated') else 'off', _fmt(r['mean_error_pct']),
            r['startup_lag_ul'], r['startup_lag_min'], _fmt(r['first_flow_min'], '%.1f'),
            r['fill_ul'], eps,
            '  (shortened: %.1f min, syringe empty)' % r['run_min'] if r['shortened'] else ''))
        if r['alarms']:
            lines.append('          alarms: %s' % ', '.join(r['alarms']))
    return '\n'.join(lines)


def primary_run(report):
    """The run the top-level figures describe: the first rate, as the pump is
    configured (start-up fill on) when that was run."""
    runs = report['runs']
    return next((r for r in runs if r['startup_fill']), runs[0])


def write(report, out_dir):
    """accuracy.json (top level: the primary run's rate_ml_h, mean_error_pct,
    startup_delay_s and windows keyed "2".."31"; every run under `runs`),
    balance.csv (t_s, mass_g of the primary run), trumpet.png, plus
    trumpet.csv and flow.csv for all runs."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    p = primary_run(report)
    top = {
        'rate_ml_h': p['rate_ml_h'],
        'mean_error_pct': p['mean_error_pct'],
        'startup_delay_s': p['startup_delay_s'],
        'startup_fill': p['startup_fill'],
        'windows': {str(w['window_min']): {'ep_max_pct': w['ep_max_pct'], 'ep_min_pct': w['ep_min_pct']}
                    for w in p['windows']},
        'analysis': 'second half of the run (the second hour of 2 h); Qi = 60 dW / (dt_min rho), '
                    'rho = %g g/mL; start-up delay: 2-min moving average within +-10 %%' % RHO_G_ML,
    }
    slim = dict(report, runs=[{k: v for k, v in r.items() if k not in ('flows_ml_h', 'balance')}
                              for r in report['runs']])
    top.update(slim)
    (out / 'accuracy.json').write_text(json.dumps(top, indent=2) + '\n')
    with open(out / 'balance.csv', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(('t_s', 'mass_g'))
        w.writerows(p['balance'])
    with open(out / 'trumpet.csv', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(('rate_ml_h', 'startup_fill', 'compensated', 'window_min', 'ep_max_pct', 'ep_min_pct',
                    'mean_error_pct'))
        for r in report['runs']:
            for win in r['windows']:
                w.writerow((r['rate_ml_h'], int(r['startup_fill']), int(bool(r.get('compensated'))),
                            win['window_min'], win['ep_max_pct'], win['ep_min_pct'], r['mean_error_pct']))
    with open(out / 'flow.csv', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(('rate_ml_h', 'startup_fill', 't_min', 'flow_ml_h', 'error_pct'))
        dt = report['sample_s'] / 60.0
        for r in report['runs']:
            for i, q in enumerate(r['flows_ml_h']):
                w.writerow((r['rate_ml_h'], int(r['startup_fill']), round((i + 1) * dt, 3), q,
                            round(100.0 * (q - r['rate_ml_h']) / r['rate_ml_h'], 3)))
    plot(report, out / 'trumpet.png')
    return out


def plot(report, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rates = sorted({r['rate_ml_h'] for r in report['runs']})
    fig, axes = plt.subplots(2, len(rates), figsize=(4.2 * len(rates), 7), squeeze=False)
    dt = report['sample_s'] / 60.0
    for c, rate in enumerate(rates):
        ax_s, ax_t = axes[0][c], axes[1][c]
        for r in (r for r in report['runs'] if r['rate_ml_h'] == rate):
            style = '-' if r['startup_fill'] else '--'
            label = 'start-up fill %s%s' % ('on' if r['startup_fill'] else 'off',
                                            ', compensated' if r.get('compensated') else '')
            t = [(i + 1) * dt for i in range(len(r['flows_ml_h']))]
            ax_s.plot(t, r['flows_ml_h'], style, lw=0.8, label=label)
            ws = [w for w in r['windows'] if w['ep_max_pct'] is not None]
            line = ax_t.plot([w['window_min'] for w in ws], [w['ep_max_pct'] for w in ws], style + 'o', ms=3,
                             label=label)[0]
            ax_t.plot([w['window_min'] for w in ws], [w['ep_min_pct'] for w in ws], style + 'o', ms=3,
                      color=line.get_color())
            if r['mean_error_pct'] is not None:
                ax_t.axhline(r['mean_error_pct'], ls=':', lw=0.8, color=line.get_color())
        ax_s.axhline(rate, color='0.5', lw=0.8)
        ax_s.set_xlim(0, min(60.0, report['duration_min']))
        ax_s.set_title('%g mL/h: start-up, flow at the balance (first hour)' % rate, fontsize=9)
        ax_s.set_xlabel('time [min]')
        ax_s.set_ylabel('flow [mL/h]')
        ax_s.legend(fontsize=7)
        ax_t.axhline(0, color='0.5', lw=0.8)
        ax_t.set_title('trumpet (analysis: 2nd half), A dotted', fontsize=9)
        ax_t.set_xlabel('observation window [min]')
        ax_t.set_ylabel('Ep max / min [%]')
        ax_t.legend(fontsize=7)
    fig.suptitle('%s: IEC 60601-2-24 accuracy, seed %d' % (report['pump'], report['seed']), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ------------------------------------------------------------------ CLI
def cmd_accuracy(a):
    from pumphost.config.schema import parse_duration_s
    try:
        duration_s = parse_duration_s(a.duration)
        sample_s = parse_duration_s(a.sample)
    except (ValueError, ConfigError) as e:
        raise ConfigError('--duration=%s --sample=%s: %s' % (a.duration, a.sample, e))
    if not 60 <= duration_s <= 7 * 86400:
        raise ConfigError('--duration=%s: allowed 1min..7d' % a.duration)
    if not 1 <= sample_s <= duration_s / 4:
        raise ConfigError('--sample=%s: allowed 1 s..a quarter of --duration' % a.sample)
    if a.balance_resolution_mg < 0:
        raise ConfigError('--balance-resolution-mg=%g: must be >= 0' % a.balance_resolution_mg)
    rates = a.rates if a.rate is None else repr(float(a.rate))
    fill = a.startup_fill or ('on' if a.rate is not None else 'both')
    comp = a.compensation or ('both' if a.rate is not None and not a.calibration else 'off')
    if a.calibration and comp != 'off':
        raise ConfigError('--compensation=%s with --calibration: the storage image is the calibration '
                          '(allowed: off)' % comp)
    image = load_storage(a.calibration) if a.calibration else None
    if a.balance:   # a real pump under a real balance: weigh in real time
        from simulator.benches import accuracy_balance
        report = accuracy_balance.bench(a.balance, a.rate, duration_s, sample_s, a.balance_baud)
    else:
        report = bench(a.pump, rates, fill, duration_s, sample_s, a.seed, a.balance_resolution_mg,
                       image, a.plant, comp, a.unit_seed)
    out = write(report, a.out)
    print(human(report))
    print('written   %s/accuracy.json, balance.csv, trumpet.png, trumpet.csv, flow.csv' % out)
    if a.max_error_pct is not None:
        bad = [r for r in report['runs'] if r['startup_fill'] and r['mean_error_pct'] is not None
               and abs(r['mean_error_pct']) > a.max_error_pct]
        for r in bad:
            print('FAIL      %g mL/h: A = %+.2f %% beyond +-%g %%' % (r['rate_ml_h'], r['mean_error_pct'],
                                                                     a.max_error_pct))
        return 1 if bad else 0
    return 0


def register(bench):
    p = bench.add_parser('accuracy', help='IEC 60601-2-24 flow accuracy: trumpet and start-up curves',
                         description=__doc__.split('\n\n')[0])
    p.add_argument('--pump', default='bd-plastipak-50', help='configs/pumps name or a YAML path')
    p.add_argument('--rate', type=float, default=None,
                   help='one rate in mL/h (the IEC run); the top-level figures describe it')
    p.add_argument('--rates', default='min,5,max',
                   help='several rates instead: mL/h, comma-separated; min and max are the pump limits')
    p.add_argument('--startup-fill', choices=('on', 'off', 'both'), default=None,
                   help='firmware start-up fill as configured (on), disabled (off), or both '
                        '(default: on with --rate, both with --rates)')
    p.add_argument('--duration', default='2h', help='run length with a unit (default 2h)')
    p.add_argument('--sample', default='30s', help='balance sample period (default 30s)')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--plant', choices=('bench', 'ideal'), default='bench',
                   help='bench (default): the mechanism\'s errors (lead screw, microsteps, stopper '
                        'stick-slip and creep, sensor) weighed on a real balance '
                        '(simulator/plant/mechanism.py, docs/plant.md); ideal: a perfect mechanism')
    p.add_argument('--balance-resolution-mg', type=float, default=0.0,
                   help='balance readability in mg (default: ideal plant 0, bench plant 0.1)')
    p.add_argument('--max-error-pct', type=float, default=None,
                   help='exit 1 if |A| exceeds this for a run with the start-up fill on')
    p.add_argument('--calibration', default=None, metavar='PATH',
                   help='boot the device on this storage image (DIR/storage.bin of pumpsim bench '
                        'calibrate, or DIR): its stored calibration replaces the nominal figures')
    p.add_argument('--compensation', choices=('off', 'on', 'both'), default=None,
                   help='calibrate this unit first (pumpsim bench calibrate: step volume, lead-screw and '
                        'microstep table) and run the firmware on it (on), run nominal (off), or both, '
                        'the compensated run first (default: both with --rate, off with --rates)')
    p.add_argument('--unit-seed', type=int, default=None,
                   help='the unit (the plant\'s screw and microstep phases) when not --seed; the '
                        'calibration always draws its noise under another seed')
    p.add_argument('--balance', default=None, metavar='URL',
                   help='weigh a real pump on an MT-SICS balance at this pyserial URL (needs '
                        '--rate, the rate the pump runs at; takes --duration of wall time)')
    p.add_argument('--balance-baud', type=int, default=9600)
    p.add_argument('--out', default='out/bench-accuracy', help='output directory')
    p.set_defaults(func=cmd_accuracy)
