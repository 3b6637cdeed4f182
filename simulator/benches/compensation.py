"""`pumpsim bench compensation`: the mechanism compensation across units.

Each unit is a bench plant (simulator/plant/mechanism.py) drawn under its
unit seed: the screw's and the microsteps' phases and, with `--spread`
(default), its barrel diameter error (-1..+1 %), lead-screw error (2..8 um)
and microstep error (1..5 % of a full step), drawn here from the same seed
and never given to the firmware. Per unit: `pumpsim bench calibrate`
measures it through the HAL and a balance (its noise under the unit seed +
1000), then the IEC 60601-2-24 accuracy run (seed = the unit seed) runs
nominal and on the calibrated device. Reports, per unit and over all, the
mean error A and the 2-min window's Ep max / min, against the targets
(|A| <= 0.5 %, every 2-min window within +-2 %). Writes DIR/compensation.json.
"""
import json
from pathlib import Path

import numpy as np

from pumphost.config.schema import ConfigError
from simulator.benches.common import duration_option

TARGET_A_PCT = 0.5
TARGET_EP2_PCT = 2.0
SPREAD = {'barrel_diameter_error_pct': (-1.0, 1.0), 'lead_screw_error_um': (2.0, 8.0),
          'microstep_error_fraction': (0.01, 0.05)}


def unit_params(unit_seed, spread=True):
    """The unit's mechanism parameters over the bench defaults."""
    if not spread:
        return 'bench'
    rng = np.random.default_rng([unit_seed, 0x756e6974])
    return {k: round(float(rng.uniform(lo, hi)), 4) for k, (lo, hi) in SPREAD.items()}


def _figures(res):
    w2 = res['windows'][0]
    return {'mean_error_pct': res['mean_error_pct'], 'ep2_max_pct': w2['ep_max_pct'],
            'ep2_min_pct': w2['ep_min_pct'], 'step_pl': res['step_pl'], 'alarms': res['alarms'],
            'meets': (res['mean_error_pct'] is not None and abs(res['mean_error_pct']) <= TARGET_A_PCT
                      and w2['ep_max_pct'] is not None and w2['ep_max_pct'] <= TARGET_EP2_PCT
                      and w2['ep_min_pct'] >= -TARGET_EP2_PCT)}


def run_unit(pump_name, unit_seed, rate_ml_h, duration_s=7200.0, spread=True):
    from simulator.benches.accuracy import calibrated_image, run_one
    plant = unit_params(unit_seed, spread)
    image, cal = calibrated_image(pump_name, plant, unit_seed, unit_seed)
    out = {'unit_seed': unit_seed, 'plant': plant,
           'measured': {'step_pl': cal['step_pl']['measured'],
                        'line_tau_s': cal['mechanism_table']['line_tau_s'],
                        'amplitude_steps': cal['mechanism_table']['amplitude_steps']}}
    for label, img in (('nominal', None), ('compensated', image)):
        res, _ = run_one(pump_name, rate_ml_h, True, duration_s, 30.0, unit_seed, 0.0, img, plant, unit_seed)
        out[label] = _figures(res)
    return out


def bench(pump_name='bd-plastipak-50', rate_ml_h=1.0, units=10, first=1, duration_s=7200.0, spread=True):
    rows = [run_unit(pump_name, u, rate_ml_h, duration_s, spread) for u in range(first, first + units)]
    summary = {}
    for label in ('nominal', 'compensated'):
        f = [r[label] for r in rows]
        summary[label] = {
            'meets': sum(1 for x in f if x['meets']),
            'worst_abs_mean_error_pct': max(abs(x['mean_error_pct']) for x in f),
            'worst_ep2_max_pct': max(x['ep2_max_pct'] for x in f),
            'worst_ep2_min_pct': min(x['ep2_min_pct'] for x in f)}
    return {'bench': 'mechanism compensation across units', 'pump': pump_name, 'rate_ml_h': rate_ml_h,
            'units': list(range(first, first + units)), 'spread': spread,
            'duration_min': duration_s / 60.0,
            'targets': {'abs_mean_error_pct': TARGET_A_PCT, 'ep2_pct': TARGET_EP2_PCT},
            'rows': rows, 'summary': summary}


def human(r):
    lines = ['pump %s at %g mL/h, units %d..%d (%s), %g min runs' % (
        r['pump'], r['rate_ml_h'], r['units'][0], r['units'][-1],
        'spread drawn per unit' if r['spread'] else 'bench defaults', r['duration_min']),
        '%-5s %-34s %-26s %s' % ('unit', 'plant (hidden from the firmware)', 'nominal A / Ep2 %',
                                 'compensated A / Ep2 %')]
    for row in r['rows']:
        p = row['plant']
        plant = 'defaults' if p == 'bench' else 'barrel %+.2f%% screw %.1fum ustep %.3f' % (
            p['barrel_diameter_error_pct'], p['lead_screw_error_um'], p['microstep_error_fraction'])
        cells = []
        for label in ('nominal', 'compensated'):
            x = row[label]
            cells.append('%+6.2f  %+5.2f/%+5.2f %s' % (x['mean_error_pct'], x['ep2_max_pct'], x['ep2_min_pct'],
                                                      'ok ' if x['meets'] else 'OUT'))
        lines.append('%-5d %-34s %-26s %s' % (row['unit_seed'], plant, cells[0], cells[1]))
    for label in ('nominal', 'compensated'):
        s = r['summary'][label]
        lines.append('%-12s %d of %d units meet |A| <= %g %% and Ep2 within +-%g %%; worst |A| %.2f %%, '
                     'Ep2 %+.2f/%+.2f %%' % (label, s['meets'], len(r['rows']), TARGET_A_PCT, TARGET_EP2_PCT,
                                              s['worst_abs_mean_error_pct'], s['worst_ep2_max_pct'],
                                              s['worst_ep2_min_pct']))
    return '\n'.join(lines)


def cmd_compensation(a):
    from pumphost.config.pumps import load_pump
    pump = load_pump(a.pump)
    if pump.kind != 'syringe':
        raise ConfigError('--pump=%s: a %s pump has no lead screw to compensate (allowed: a syringe pump)'
                          % (a.pump, pump.kind))
    lim = pump.data['limits']
    if not lim['min_rate_ml_h'] <= a.rate <= lim['max_rate_ml_h']:
        raise ConfigError('--rate=%g: outside the pump %s (%g..%g mL/h)' % (
            a.rate, pump.name, lim['min_rate_ml_h'], lim['max_rate_ml_h']))
    if not 1 <= a.units <= 200:
        raise ConfigError('--units=%d: allowed 1..200' % a.units)
    duration_s = duration_option('--duration', a.duration)
    if not 600 <= duration_s <= 86400:
        raise ConfigError('--duration=%s: allowed 10min..24h' % a.duration)
    r = bench(a.pump, a.rate, a.units, a.first, duration_s, not a.no_spread)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'compensation.json').write_text(json.dumps(r, indent=2) + '\n')
    print(human(r))
    print('written      %s/compensation.json' % out)
    return 0


def register(bench_parser):
    p = bench_parser.add_parser('compensation', help='mechanism compensation (calibrated lead-screw and microstep '
                                'table) across plant units', description=__doc__.split('\n\n')[0])
    p.add_argument('--pump', default='bd-plastipak-50', help='configs/pumps name or a YAML path (syringe)')
    p.add_argument('--rate', type=float, default=1.0, help='mL/h (default 1)')
    p.add_argument('--units', type=int, default=10, help='how many units (default 10)')
    p.add_argument('--first', type=int, default=1, help='first unit seed (default 1)')
    p.add_argument('--duration', default='2h', help='accuracy run length (default 2h, as IEC 60601-2-24)')
    p.add_argument('--no-spread', action='store_true',
                   help='every unit at the bench defaults (only the phases differ)')
    p.add_argument('--out', default='out/bench-compensation', help='output directory')
    p.set_defaults(func=cmd_compensation)
