"""Report of a sweep (simulator/trials/sweep.py): per cell figures, targets, plots.

Occlusion cells are (pump, rate, compliance, resistance), pooled over seeds,
noise, patient profiles and onsets: tasks, detected by the occlusion monitor
(not the ceiling, not missed), time to alarm (median, p95, max over the
detected; a cell with a miss has no p95), pressure at alarm, bolus after
clearing (p95, max), aspirated volume. False alarms are pooled per (pump,
rate) over soak tasks and the time before the occlusion of occlusion tasks:
count per patient-day with an exact (Garwood) 95 % Poisson interval.

Targets (spec `targets`, all optional):
  tta_p95_s: {rate: seconds}     p95 time to alarm for every cell at that rate
  bolus_ml: [[up_to_rate, ml], ...]  max bolus for every cell up to that rate
  detected_pct: 100              cells' detection by the occlusion monitor
  false_alarms_max: 0            over at least min_soak_patient_days
  min_soak_patient_days: 365
Writes report.md, report.json, cells.csv, false_alarms.csv, errors.csv and
heatmap_tta_p95_<pump>.png (rate x compliance), tta_vs_rate.png.
"""
import json
import math
from pathlib import Path

from simulator.trials.sweep import load_results

CELL = ['pump', 'rate_ml_h', 'compliance_used', 'resistance_used']


def _poisson_cdf(k, mu):
    term = math.exp(-mu)
    s = term
    for i in range(1, k + 1):
        term *= mu / i
        s += term
    return s


def poisson_ci(k, exposure, conf=0.95):
    """Exact (Garwood) interval for a rate with k events over `exposure`."""
    if exposure <= 0:
        return (None, None)
    a = (1 - conf) / 2

    def solve(target, k_, lo, hi):
        for _ in range(200):
            mid = (lo + hi) / 2
            if _poisson_cdf(k_, mid) > target:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    hi_mu = solve(a, k, 0.0, 10.0 * k + 20.0)
    lo_mu = 0.0 if k == 0 else solve(1 - a, k - 1, 0.0, 10.0 * k + 20.0)
    return (lo_mu / exposure, hi_mu / exposure)


def _q(vals, q):
    import numpy as np
    return float(np.percentile(vals, q)) if len(vals) else None


def occlusion_cells(df):
    rows = []
    occ = df[(df['bench'] == 'occlusion') & (df['status'] == 'ok')]
    for key, g in occ.groupby(CELL, dropna=False):
        det = g[g['detected'] == True]   # noqa: E712 (pandas column)
        tta = det['time_to_alarm_s'].dropna().tolist()
        bol = g['bolus_ml'].dropna().tolist()
        all_det = len(det) == len(g)
        rows.append(dict(zip(CELL, key), **{
            'tasks': len(g), 'detected': len(det),
            'detected_pct': round(100.0 * len(det) / len(g), 2),
            'missed_or_ceiling': len(g) - len(det) - int((g['false_alarms'] > 0).sum()),
            'false_before_occlusion': int((g['false_alarms'] > 0).sum()),
            'tta_median_s': _q(tta, 50), 'tta_p95_s': _q(tta, 95) if all_det else None,
            'tta_max_s': max(tta) if tta and all_det else None,
            'p_alarm_max_mmhg': float(det['pressure_at_alarm_mmhg'].max()) if len(det) else None,
            'bolus_p95_ml': _q(bol, 95), 'bolus_max_ml': max(bol) if bol else None,
            'aspirated_max_ml': float(g['aspirated_ml'].max()),
            'alarms_other': ','.join(sorted(set(str(a) for a in g['alarm'].dropna()) - {'occlusion_downstream'})),
        }))
    return rows


def false_alarm_rows(df):
    rows = []
    ok = df[(df['status'] == 'ok') & df['bench'].isin(['soak', 'occlusion'])]
    if not len(ok):
        return rows
    for (pump, rate), g in ok.groupby(['pump', 'rate_ml_h']):
        days = float(g['exposure_h'].sum()) / 24.0
        k = int(g['false_alarms'].sum())
        lo, hi = poisson_ci(k, days)
        soak_days = float(g[g['bench'] == 'soak']['exposure_h'].sum()) / 24.0
        rows.append({'pump': pump, 'rate_ml_h': rate, 'patient_days': round(days, 2),
                     'soak_patient_days': round(soak_days, 2), 'false_alarms': k,
                     'per_patient_day': round(k / days, 5) if days else None,
                     'ci95_low': lo, 'ci95_high': hi,
                     'codes': ','.join(sorted(set(str(c) for c in g['false_alarm'].dropna())))})
    return rows


def _fmt(v, f='%.1f'):
    return '-' if v is None or (isinstance(v, float) and math.isnan(v)) else (f % v if isinstance(v, (int, float)) else str(v))


def check_targets(cells, fa_rows, targets):
    if not targets:
        return None, []
    lines = []
    ok = True
    want_det = targets.get('detected_pct')
    if want_det is not None and cells:
        bad = [c for c in cells if c['detected_pct'] < want_det]
        ok &= not bad
        lines.append('detection by the occlusion monitor >= %g %% in every cell: %d of %d cells below%s' % (
            want_det, len(bad), len(cells), (' (e.g. %s %g mL/h C=%g R=%g: %g %%)' % (
                bad[0]['pump'], bad[0]['rate_ml_h'], bad[0]['compliance_used'], bad[0]['resistance_used'],
                bad[0]['detected_pct'])) if bad else ''))
    for rate, lim in sorted((targets.get('tta_p95_s') or {}).items(), key=lambda kv: float(kv[0])):
        sel = [c for c in cells if abs(c['rate_ml_h'] - float(rate)) < 1e-9]
        if not sel:
            continue
        worst = max((c['tta_p95_s'] if c['tta_p95_s'] is not None else math.inf) for c in sel)
        ok &= worst <= lim
        lines.append('time to alarm p95 at %g mL/h <= %g s: worst cell %s s' % (float(rate), lim, _fmt(worst)))
    for up_to, lim in targets.get('bolus_ml') or []:
        sel = [c for c in cells if c['rate_ml_h'] <= up_to + 1e-9 and c['bolus_max_ml'] is not None]
        if not sel:
            continue
        worst = max(c['bolus_max_ml'] for c in sel)
        ok &= worst <= lim
        lines.append('bolus after clearing <= %g mL up to %g mL/h: worst %.4f mL' % (lim, up_to, worst))
    if 'false_alarms_max' in targets:
        k = sum(r['false_alarms'] for r in fa_rows)
        days = sum(r['patient_days'] for r in fa_rows)
        soak_days = sum(r['soak_patient_days'] for r in fa_rows)
        need = targets.get('min_soak_patient_days', 0)
        lo, hi = poisson_ci(k, days)
        ok &= k <= targets['false_alarms_max'] and soak_days >= need
        lines.append('false alarms <= %d over >= %g soak patient-days: %d in %.1f patient-days '
                     '(%.1f of soak), 95 %% CI %s..%s per patient-day' % (
                         targets['false_alarms_max'], need, k, days, soak_days, _fmt(lo, '%.4f'), _fmt(hi, '%.4f')))
    return bool(ok), lines


def _plots(out, df, cells):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    written = []
    for pump in sorted(set(c['pump'] for c in cells)):
        sel = [c for c in cells if c['pump'] == pump]
        rates = sorted(set(c['rate_ml_h'] for c in sel))
        comps = sorted(set(c['compliance_used'] for c in sel))
        if len(rates) < 1 or len(comps) < 1:
            continue
        grid = np.full((len(comps), len(rates)), np.nan)
        for i, cc in enumerate(comps):
            for j, r in enumerate(rates):
                v = [c['tta_p95_s'] if c['tta_p95_s'] is not None else np.inf
                     for c in sel if c['compliance_used'] == cc and c['rate_ml_h'] == r]
                if v:
                    grid[i, j] = max(v) / 60.0     # worst over resistances
        fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(rates), 1.5 + 0.6 * len(comps)))
        shown = np.where(np.isinf(grid), np.nan, grid)
        im = ax.imshow(shown, origin='lower', aspect='auto', cmap='viridis')
        for i in range(len(comps)):
            for j in range(len(rates)):
                v = grid[i, j]
                ax.text(j, i, 'miss' if np.isinf(v) else ('' if np.isnan(v) else '%.1f' % v),
                        ha='center', va='center', fontsize=7, color='w')
        ax.set_xticks(range(len(rates)), ['%g' % r for r in rates], fontsize=7)
        ax.set_yticks(range(len(comps)), ['%g' % c for c in comps], fontsize=7)
        ax.set_xlabel('rate [mL/h]')
        ax.set_ylabel('compliance [uL/mmHg]')
        ax.set_title('%s: p95 time to alarm [min], worst over R' % pump, fontsize=8)
        fig.colorbar(im, ax=ax)
        fig.tight_layout()
        name = 'heatmap_tta_p95_%s.png' % pump
        fig.savefig(Path(out) / name, dpi=100)
        plt.close(fig)
        written.append(name)
    occ = df[(df['bench'] == 'occlusion') & (df['status'] == 'ok') & (df['detected'] == True)]  # noqa: E712
    if len(occ):
        fig, ax = plt.subplots(figsize=(7, 4))
        for pump, g in occ.groupby('pump'):
            ax.scatter(g['rate_ml_h'], g['time_to_alarm_s'] / 60.0, s=6, alpha=0.5, label=pump)
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel('rate [mL/h]')
        ax.set_ylabel('time to alarm [min]')
        ax.legend(fontsize=7)
        ax.grid(True, which='both', lw=0.3)
        fig.tight_layout()
        fig.savefig(Path(out) / 'tta_vs_rate.png', dpi=100)
        plt.close(fig)
        written.append('tta_vs_rate.png')
    return written


def throughput(out, df, meta):
    """How the run's time grew with its tasks: tasks finished against wall
    time (result files' times, the run's start = last result - wall), and
    how busy the workers were (task time / (wall x workers))."""
    files = sorted(Path(out, 'results').glob('*.parquet'), key=lambda f: f.stat().st_mtime)
    if not files or not meta.get('wall_s') or meta.get('skipped_done'):
        return None
    t_end = files[-1].stat().st_mtime
    t0 = t_end - meta['wall_s']
    times = [f.stat().st_mtime - t0 for f in files]
    busy = float(df['wall_s'].sum()) / (meta['wall_s'] * max(1, meta.get('workers') or 1))
    half = len(times) // 2
    rate2 = (len(times) - half) / (times[-1] - times[half]) if len(times) > 3 and times[-1] > times[half] else None
    res = {'first_result_s': round(times[0], 2), 'tasks': len(times), 'wall_s': meta['wall_s'],
           'tasks_per_s_second_half': round(rate2, 3) if rate2 else None,
           'worker_busy_pct': round(100.0 * busy, 1)}
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(times, range(1, len(times) + 1), lw=1)
    ax.set_xlabel('wall time [s]')
    ax.set_ylabel('tasks finished')
    ax.set_title('%d tasks, %d workers, %.0f %% busy' % (len(times), meta.get('workers') or 0,
                                                       res['worker_busy_pct']), fontsize=9)
    ax.grid(True, lw=0.3)
    fig.tight_layout()
    fig.savefig(Path(out) / 'throughput.png', dpi=100)
    plt.close(fig)
    return res


def write_report(out, spec):
    import pandas as pd
    out = Path(out)
    df = load_results(out)
    if not len(df):
        return {'met': None, 'errors': 0, 'lines': ['no results']}
    errors = df[df['status'] != 'ok']
    cells = occlusion_cells(df) if 'detected' in df else []
    fa = false_alarm_rows(df) if 'false_alarms' in df else []
    met, tlines = check_targets(cells, fa, (spec or {}).get('targets'))
    pd.DataFrame(cells).to_csv(out / 'cells.csv', index=False)
    pd.DataFrame(fa).to_csv(out / 'false_alarms.csv', index=False)
    errors[['task_id', 'bench', 'pump', 'rate_ml_h', 'error']].to_csv(out / 'errors.csv', index=False)
    plots = _plots(out, df, cells) if cells else []
    meta = json.loads((out / 'sweep.json').read_text()) if (out / 'sweep.json').exists() else {}
    ok = df[df['status'] == 'ok']
    sim_h = float(ok['sim_hours'].fillna(0).sum()) if 'sim_hours' in ok else 0.0
    lines = ['results: %d task(s), %d ok, %d error(s), %.1f patient-hours simulated' % (
        len(df), len(ok), len(errors), sim_h)] + tlines
    tp = throughput(out, df, meta)
    if tp:
        lines.append('throughput: %(tasks)d tasks in %(wall_s)s s, first result after %(first_result_s)s s, '
                     '%(tasks_per_s_second_half)s tasks/s over the second half, workers %(worker_busy_pct)s %% busy' % tp)
        plots.append('throughput.png')
    rep = {'spec': spec.get('name') if spec else None, 'tasks': len(df), 'errors': int(len(errors)),
           'throughput': tp,
           'patient_hours': round(sim_h, 2), 'targets_met': met, 'target_lines': tlines,
           'cells': cells, 'false_alarms': fa, 'sweep': meta, 'plots': plots}
    (out / 'report.json').write_text(json.dumps(rep, indent=2, default=str) + '\n')
    md = ['# Sweep %s' % (spec.get('name') if spec else ''), '',
          '%d task(s), %d error(s), %.1f patient-hours; run: %s' % (len(df), len(errors), sim_h,
                                                                     json.dumps(meta)), '']
    if tlines:
        md += ['## Targets: %s' % ('met' if met else 'NOT met'), ''] + ['- ' + s for s in tlines] + ['']
    if cells:
        md += ['## Occlusion cells (pooled over seeds, noise, profiles, onsets)', '',
               '| pump | rate mL/h | C uL/mmHg | R mmHg*s/uL | tasks | detected % | tta median s | '
               'tta p95 s | tta max s | p at alarm max | bolus p95 mL | bolus max mL | false before | other alarms |',
               '|' + '---|' * 14]
        for c in cells:
            md.append('| %s | %g | %g | %g | %d | %g | %s | %s | %s | %s | %s | %s | %d | %s |' % (
                c['pump'], c['rate_ml_h'], c['compliance_used'], c['resistance_used'], c['tasks'],
                c['detected_pct'], _fmt(c['tta_median_s']), _fmt(c['tta_p95_s']), _fmt(c['tta_max_s']),
                _fmt(c['p_alarm_max_mmhg']), _fmt(c['bolus_p95_ml'], '%.4f'), _fmt(c['bolus_max_ml'], '%.4f'),
                c['false_before_occlusion'], c['alarms_other'] or '-'))
        md.append('')
    if fa:
        md += ['## False alarms (soak + time before the occlusion)', '',
               '| pump | rate mL/h | patient-days | of which soak | false alarms | per patient-day | 95 % CI | codes |',
               '|' + '---|' * 8]
        for r in fa:
            md.append('| %s | %g | %.2f | %.2f | %d | %s | %s..%s | %s |' % (
                r['pump'], r['rate_ml_h'], r['patient_days'], r['soak_patient_days'], r['false_alarms'],
                _fmt(r['per_patient_day'], '%.4f'), _fmt(r['ci95_low'], '%.4f'), _fmt(r['ci95_high'], '%.4f'),
                r['codes'] or '-'))
        md.append('')
    other = df[(df['status'] == 'ok') & df['bench'].isin(['air', 'accuracy'])]
    if len(other):
        md += ['## Air and accuracy tasks', '', other.drop(columns=[c for c in other.columns if other[c].isna().all()])
               .to_string(index=False), '']
    if len(errors):
        md += ['## Errors', ''] + ['- %s %s %s: %s' % (r.task_id, r.bench, r.pump, r.error)
                                   for r in errors.itertuples()] + ['']
    md += ['Plots: ' + ', '.join(plots)] if plots else []
    (out / 'report.md').write_text('\n'.join(md) + '\n')
    return {'met': met, 'errors': int(len(errors)), 'lines': lines}
