"""`pumpsim bench startup`: the start-up delay across seeds.

One seed says little: the arterial pressure, the sensor noise, the lead
screw's phase and the stopper's stick-slip all move the moment the flow
settles. This runs the accuracy bench's start-up part (the firmware as
configured, start-up fill on) for `--seeds` seeds (default 20) at one rate
and reports every seed's delay and their median, 90th percentile and worst.

Start-up delay (bench_accuracy.startup_delay_s): from the start until the
flow at the balance, as a 2-min moving average of the 30 s samples (the
smallest IEC 60601-2-24 observation window), stays within +-10 % of the set
rate for the rest of the run. Writes startup.json.
"""
import json
from pathlib import Path

from pumphost.config.schema import ConfigError
from simulator.benches.common import duration_option


def bench(pump_name='bd-plastipak-50', rate_ml_h=1.0, seeds=20, duration_s=2400.0, plant='bench',
          first_seed=1):
    from simulator.benches.accuracy import run_one
    rows = []
    for seed in range(first_seed, first_seed + seeds):
        r, _ = run_one(pump_name, rate_ml_h, True, duration_s, 30.0, seed, plant=plant)
        rows.append({'seed': seed, 'startup_delay_s': r['startup_delay_s'],
                     'first_flow_min': r['first_flow_min'], 'alarms': r['alarms']})
    delays = sorted(d['startup_delay_s'] for d in rows if d['startup_delay_s'] is not None)
    unsettled = sum(1 for d in rows if d['startup_delay_s'] is None)

    def pct(q):
        if not delays:
            return None
        return delays[min(len(delays) - 1, int(q * len(delays)))]
    return {
        'bench': 'start-up delay across seeds',
        'pump': pump_name, 'plant': plant, 'rate_ml_h': rate_ml_h,
        'duration_s': duration_s, 'seeds': seeds,
        'median_s': pct(0.5), 'p90_s': pct(0.9),
        'worst_s': None if unsettled else (delays[-1] if delays else None),
        'never_settled': unsettled,
        'runs': rows,
    }


def human(rep):
    lines = ['%s (%s plant) at %g mL/h, %d seeds, %g min runs' % (
        rep['pump'], rep['plant'], rep['rate_ml_h'], rep['seeds'], rep['duration_s'] / 60.0)]
    lines.append('  ' + ' '.join('%s' % ('-' if r['startup_delay_s'] is None else '%g' % r['startup_delay_s'])
                                 for r in rep['runs']))
    lines.append('start-up delay: median %s s, 90th percentile %s s, worst %s s%s' % (
        rep['median_s'], rep['p90_s'], rep['worst_s'],
        ', %d never settled' % rep['never_settled'] if rep['never_settled'] else ''))
    return '\n'.join(lines)


def cmd_startup(a):
    if not 1 <= a.seeds <= 200:
        raise ConfigError('--seeds=%d: allowed 1..200' % a.seeds)
    if not 0.01 <= a.rate <= 150:
        raise ConfigError('--rate=%g: allowed 0.01..150 mL/h' % a.rate)
    duration_s = duration_option('--duration', a.duration)
    rep = bench(a.pump, a.rate, a.seeds, duration_s, a.plant, a.first_seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'startup.json').write_text(json.dumps(rep, indent=2) + '\n')
    print(human(rep))
    print('written   %s/startup.json' % out)
    return 0


def register(bench):
    p = bench.add_parser('startup', help='start-up delay across seeds',
                         description=__doc__.split('\n\n')[0])
    p.add_argument('--pump', default='bd-plastipak-50')
    p.add_argument('--rate', type=float, default=1.0, help='mL/h (default 1)')
    p.add_argument('--seeds', type=int, default=20, help='how many seeds (default 20)')
    p.add_argument('--first-seed', type=int, default=1)
    p.add_argument('--duration', default='40min', help='run length (default 40min)')
    p.add_argument('--plant', choices=('bench', 'ideal'), default='bench')
    p.add_argument('--out', default='out/bench-startup')
    p.set_defaults(func=cmd_startup)
