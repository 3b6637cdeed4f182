"""Air-in-line bench: `pumpsim bench air --pump PUMP --rate ML_H --out DIR`.

Each case is a fresh lockstep run of the real firmware (simulator.runtime.inproc's
Simulation on a scenario built here) with air injected through the named
faults `air_bubble` / `air_train` at INJECT_S, after the drive's backlash is
taken up. The plant logs where each bubble sits (true plunger-displacement
coordinates) and, with every motion interval while air is near the sensor,
the motor's count, so the bench can tell, interpolating within a tick, when a
bubble's front reached the sensor and when the air past the sensor reached
the device's limit; the device's alarm tick is when the motor stopped (the
firmware stops it in the tick that raises the alarm; the bench checks that
the plunger did not move afterwards).

The limit instant is judged as the firmware counts air: motor steps since
the front reached the sensor times its nominal step volume (the firmware has
no other measure of volume). On the ideal plant that is the true air; on the
bench plant (the default, docs/plant.md) the true volume per step differs
(lead-screw and microstep error, stopper stick-slip and creep, barrel; on a
peristaltic head, slip and backflow against the line pressure), so the bench
reports separately how much true air had passed at the stop, its difference
from the limit and from the count, and the cause.

Cases: single bubbles under and over `air_bubble_limit_nl` (40, 45, 50, 55,
100, 200 uL), a train of small bubbles that passes the accumulated limit
within the window, and one that stays well under it. Expected outcome per
bubble: 'alarm' at or over the limit; 'none' if at least two ticks' volume
under it (one boolean sample per tick: the device measures a bubble to within
two ticks' volume, never under); 'either' in between.

Writes DIR/air.json; exit 1 if a target is missed.
"""
import json
from pathlib import Path

from firmware.settings import Settings
from pumphost.config.pumps import load_pump
from simulator.runtime.inproc import Simulation
from simulator.benches.common import add_plant_option, bench_scenario, pump_config

INJECT_S = 60.0
BUBBLES_UL = (40, 45, 50, 55, 100, 200)
SINGLE = 'air_in_line'
ACCUM = 'air_accumulated'


def _scenario(pump, rate_ml_h, seed, duration_s, event, name):
    res = pump_config(pump).reservoir     # the syringe, or a peristaltic pump's bag
    return bench_scenario(name, pump, rate_ml_h, round(duration_s, 1), seed,
                          volume_ml=res['nominal_volume_ml'] - res['dead_space_ml'] - 0.5,
                          events=[event], trace_s=3600, drug='saline')


def _time_at(motion, target_ul):
    """Time the plunger displacement first reached target_ul (linear within
    the tick), from the plant's motion log; None if it never did."""
    for t0, t1, p0, p1, _s0, _s1 in motion:
        if p1 > p0 and p0 < target_ul <= p1:
            return t0 + (t1 - t0) * (target_ul - p0) / (p1 - p0)
    return None


def _steps_at(motion, target_ul):
    """The motor's count when the true displacement first reached target_ul
    (linear within the tick); None if it never did."""
    for _t0, _t1, p0, p1, s0, s1 in motion:
        if p1 > p0 and p0 < target_ul <= p1:
            return s0 + (s1 - s0) * (target_ul - p0) / (p1 - p0)
    return None


def _time_at_steps(motion, target_steps):
    """Time the motor's count first reached target_steps; None if never."""
    for t0, t1, _p0, _p1, s0, s1 in motion:
        if s1 > s0 and s0 < target_steps <= s1:
            return t0 + (t1 - t0) * (target_steps - s0) / (s1 - s0)
    return None


def _steps_by(motion, t_s):
    """The motor's count at the end of the last logged interval by t_s."""
    n = None
    for _t0, t1, _p0, _p1, _s0, s1 in motion:
        if t1 > t_s + 1e-6:
            break
        n = s1
    return n


def _air_passed_ul(bubbles, pushed_ul):
    return sum(max(0.0, min(pushed_ul, b['tail_ul']) - b['front_ul']) for b in bubbles)


def _run(scenario, seed, mechanism=None):
    sim = Simulation(scenario, seed=seed, mechanism=mechanism)
    sim.plant.air_record = {'bubbles': [], 'motion': []}
    summary = sim.run()
    alarms = [a for a in summary['alarms'] if a['code'] in (SINGLE, ACCUM)]
    first = alarms[0] if alarms else None
    out = {'alarms': [a['code'] for a in summary['alarms']],
           'got_alarm': first['code'] if first else None}
    rec = sim.plant.air_record
    if first:
        t_stop = first['t_s']
        rows = [r for r in sim.trace if abs(r[0] - t_stop) < 1e-6]
        pushed_stop_ul = rows[0][6] * 1000.0 if rows else None
        out['t_stop_s'] = t_stop
        out['pushed_at_stop_ul'] = pushed_stop_ul
        # the plunger must not have moved after the alarm tick
        out['motor_stopped'] = (pushed_stop_ul is not None
                                and abs(sim.plant.pushed_ul - pushed_stop_ul) < 0.002)
    out['device_bubble_ul'] = sim.pump.air.bubble_nl / 1000.0
    out['device_window_ul'] = sim.pump.air.window_nl / 1000.0
    out['step_ul'] = sim.pump.air.step_pl / 1e6     # the firmware's step volume
    return sim, rec, out


def true_volume_cause(pump, mechanism):
    """Why the true air past the sensor differs from the firmware's count
    (motor steps x nominal step) on this plant."""
    cfg = pump_config(pump)
    if cfg.kind == 'peristaltic':
        return ('peristaltic head: the rollers slip back against the line pressure and the '
                'line flows back into each pocket as a roller lifts (simulator/plant/'
                'peristaltic.py); the firmware counts the nominal stroke per step')
    if mechanism in (None, 'ideal'):
        if abs(cfg.step_ul_true / cfg.step_ul_nominal - 1.0) > 1e-9:
            return 'the true barrel diameter differs from the nominal one (pump config)'
        return 'none: the ideal mechanism moves exactly the nominal step volume'
    return ('bench mechanism (simulator/plant/mechanism.py, docs/plant.md): lead-screw error '
            '(once per revolution), microstep angle error, the stopper\'s stick-slip wind-up and '
            'creep under pressure, true barrel diameter; the firmware counts nominal steps '
            '(uncalibrated here)')


def single_case(pump, rate_ml_h, seed, volume_ul, limit_ul, tick_ul, mechanism=None):
    rate_ul_s = rate_ml_h / 3.6
    from simulator.plant.line import AIR_SENSOR_LINE_UL
    duration = INJECT_S + (AIR_SENSOR_LINE_UL + volume_ul + 5.0) / rate_ul_s * 1.1 + 30.0
    event = {'at': '%gs' % INJECT_S, 'inject': 'air_bubble', 'params': {'volume_ul': float(volume_ul)}}
    sc = _scenario(pump, rate_ml_h, seed, duration, event, 'bubble %g uL' % volume_ul)
    sim, rec, out = _run(sc, seed, mechanism)
    b = rec['bubbles'][0]
    if volume_ul >= limit_ul:
        expected = SINGLE
    elif volume_ul <= limit_ul - 2 * tick_ul:
        expected = None
    else:
        expected = 'either'
    motion = rec['motion']
    t_front = _time_at(motion, b['front_ul'])
    s_front = _steps_at(motion, b['front_ul'])
    over = volume_ul >= limit_ul
    # the limit as the firmware counts it, and as true air
    t_limit = (_time_at_steps(motion, s_front + limit_ul / out['step_ul'])
               if over and s_front is not None else None)
    t_true = _time_at(motion, b['front_ul'] + limit_ul) if over else None
    r = {'case': 'bubble', 'volume_ul': volume_ul, 'expected_alarm': expected,
         'got_alarm': out['got_alarm'], 'alarms': out['alarms'],
         't_inject_s': INJECT_S,
         't_front_at_sensor_s': _r(t_front), 't_limit_counted_s': _r(t_limit),
         't_limit_true_s': _r(t_true)}
    if out['got_alarm']:
        t_stop = out['t_stop_s']
        passed = _air_passed_ul([b], out['pushed_at_stop_ul'])
        s_stop = _steps_by(motion, t_stop)
        counted = (s_stop - s_front) * out['step_ul'] if None not in (s_stop, s_front) else None
        r.update({
            't_stop_s': t_stop,
            'time_front_to_stop_s': _r(t_stop - t_front) if t_front is not None else None,
            'time_limit_to_stop_s': _r(t_stop - t_limit) if t_limit is not None else None,
            'time_true_limit_to_stop_s': _r(t_stop - t_true) if t_true is not None else None,
            'air_passed_before_stop_ul': _r(passed),
            'air_counted_before_stop_ul': _r(counted),
            # negative: stopped before its own count reached the limit (the
            # firmware counts the whole tick the front arrived in: safe side)
            'counted_minus_limit_ul': _r(counted - limit_ul) if counted is not None else None,
            'true_minus_limit_ul': _r(passed - limit_ul),
            # true displacement against the count over the same steps
            'true_vs_counted_pct': (_r(100.0 * ((out['pushed_at_stop_ul'] - b['front_ul']) / counted - 1.0))
                                    if counted else None),
            'motor_stopped': out['motor_stopped'],
            'device_measured_ul': out['device_bubble_ul'],
        })
        if expected == SINGLE and t_limit is None:
            # the firmware's count includes the whole tick the front arrived
            # in (never under the bubble): it stopped before its own limit
            # instant, on the safe side
            r['stopped_before_limit'] = True
    else:
        r['air_passed_ul'] = _r(_air_passed_ul([b], sim.plant.pushed_ul))
    r['ok'] = _case_ok(r, expected)
    return r


def train_case(pump, rate_ml_h, seed, kind, acc_limit_ul, window_min, limit_ul, mechanism=None):
    """kind 'accumulating': 25 uL bubbles, 1.5x the accumulated limit per
    window; 'under': 10 uL bubbles, at most 0.3x the limit per window and at
    most 20 % air. Bubbles stay apart (liquid gap at least the bubble)."""
    rate_ul_s = rate_ml_h / 3.6
    window_s = window_min * 60.0
    if kind == 'accumulating':
        vol = limit_ul / 2.0
        interval = window_s / (1.5 * acc_limit_ul / vol)
        if rate_ul_s * interval < 2 * vol:
            return {'case': 'train_accumulating', 'status': 'not_applicable',
                    'reason': ('at %g mL/h the pump pushes %.0f uL in %d min: %.0f uL of air '
                               'in separate bubbles cannot reach the %.0f uL limit; the '
                               'single-bubble limit is the guard at this rate') % (
                                   rate_ml_h, rate_ul_s * window_s, window_min,
                                   rate_ul_s * window_s / 2, acc_limit_ul),
                    'ok': True}
        expected = ACCUM
    else:
        vol = limit_ul / 5.0
        interval = max(window_s / (0.3 * acc_limit_ul / vol), 5 * vol / rate_ul_s)
        expected = None
    run_s = window_s + 120.0
    count = int(run_s // interval) + 1
    event = {'at': '%gs' % INJECT_S, 'inject': 'air_train',
             'params': {'volume_ul': vol, 'count': count, 'interval': '%gs' % interval}}
    sc = _scenario(pump, rate_ml_h, seed, INJECT_S + run_s + 60.0, event, 'train %s' % kind)
    sim, rec, out = _run(sc, seed, mechanism)
    r = {'case': 'train_' + kind, 'bubble_ul': _r(vol), 'interval_s': _r(interval),
         'bubbles_per_window': _r(window_s / interval),
         'air_per_window_ul': _r(vol * window_s / interval),
         'expected_alarm': expected, 'got_alarm': out['got_alarm'], 'alarms': out['alarms']}
    bubbles = rec['bubbles']
    motion = rec['motion']
    if expected:
        # where the air that passed the sensor reached the limit: counted
        # as the firmware does (steps x its step) and as true air
        r['t_limit_counted_s'] = _r(_train_limit_counted(motion, bubbles, acc_limit_ul, out['step_ul']))
        r['t_limit_true_s'] = _r(_train_limit_true(motion, bubbles, acc_limit_ul))
        r['t_first_front_s'] = _r(_time_at(motion, bubbles[0]['front_ul']))
    if out['got_alarm']:
        passed = _air_passed_ul(bubbles, out['pushed_at_stop_ul'])
        r.update({'t_stop_s': out['t_stop_s'],
                  'air_passed_before_stop_ul': _r(passed),
                  'true_minus_limit_ul': _r(passed - acc_limit_ul) if expected else None,
                  'motor_stopped': out['motor_stopped'],
                  'device_window_ul': out['device_window_ul']})
        if expected and r.get('t_limit_counted_s') is not None:
            r['time_limit_to_stop_s'] = _r(out['t_stop_s'] - r['t_limit_counted_s'])
        elif expected:
            r['stopped_before_limit'] = True   # the count ran ahead: stopped before its limit
        if expected and r.get('t_limit_true_s') is not None:
            r['time_true_limit_to_stop_s'] = _r(out['t_stop_s'] - r['t_limit_true_s'])
    else:
        r['air_passed_ul'] = _r(_air_passed_ul(bubbles, sim.plant.pushed_ul))
        r['device_window_ul_at_end'] = out['device_window_ul']
    r['ok'] = _case_ok(r, expected)
    return r


def _train_limit_true(motion, bubbles, limit_ul):
    """Time the true air past the sensor, bubble after bubble, reached limit_ul."""
    total = 0.0
    for b in bubbles:
        v = b['tail_ul'] - b['front_ul']
        if total + v >= limit_ul:
            return _time_at(motion, b['front_ul'] + limit_ul - total)
        total += v
    return None


def _train_limit_counted(motion, bubbles, limit_ul, step_ul):
    """Time the firmware's count of the air (motor steps while each bubble
    passed, times its step volume) reached limit_ul."""
    total = 0.0
    for b in bubbles:
        s0 = _steps_at(motion, b['front_ul'])
        if s0 is None:
            return None
        s1 = _steps_at(motion, b['tail_ul'])
        v = None if s1 is None else (s1 - s0) * step_ul
        if v is None or total + v >= limit_ul:
            return _time_at_steps(motion, s0 + (limit_ul - total) / step_ul)
        total += v
    return None


def _case_ok(r, expected):
    got = r['got_alarm']
    if expected == 'either':
        return got in (None, SINGLE) and (got is None or r.get('motor_stopped', False))
    if expected is None:
        return got is None
    return got == expected and r.get('motor_stopped', False)


def _r(x):
    return None if x is None else round(x, 4)


def run_bench(pump, rate_ml_h, seed=0, mechanism='bench'):
    cfg = load_pump(pump)
    st = Settings(**cfg.firmware_settings())
    tick_s = st.tick_ms / 1000.0
    limit_ul = st.air_bubble_limit_nl / 1000.0
    acc_ul = st.air_accum_limit_nl / 1000.0
    tick_ul = rate_ml_h / 3.6 * tick_s
    cases = [single_case(pump, rate_ml_h, seed, v, limit_ul, tick_ul, mechanism) for v in BUBBLES_UL]
    cases.append(train_case(pump, rate_ml_h, seed, 'accumulating', acc_ul, st.air_window_min, limit_ul,
                            mechanism))
    cases.append(train_case(pump, rate_ml_h, seed, 'under', acc_ul, st.air_window_min, limit_ul, mechanism))
    run = [c for c in cases if c.get('status') != 'not_applicable']
    want = [c for c in run if c['expected_alarm'] not in (None, 'either')]
    detected = [c for c in want if c['got_alarm'] == c['expected_alarm']]
    missed = [c for c in want if c['got_alarm'] != c['expected_alarm']]
    false = [c for c in run if c['expected_alarm'] is None and c['got_alarm']]
    singles = [c for c in detected if c['case'] == 'bubble']
    t_lim = [c['time_limit_to_stop_s'] for c in singles if c.get('time_limit_to_stop_s') is not None]
    t_front = [c['time_front_to_stop_s'] for c in singles if c.get('time_front_to_stop_s') is not None]
    passed = [c['air_passed_before_stop_ul'] for c in singles]
    early = [c for c in singles if c.get('stopped_before_limit')]
    within_tick = all(t <= tick_s + 1e-6 for t in t_lim) and len(t_lim) + len(early) == len(singles)
    past = [c['true_minus_limit_ul'] for c in singles if c.get('true_minus_limit_ul') is not None]
    cnt = [c['counted_minus_limit_ul'] for c in singles if c.get('counted_minus_limit_ul') is not None]
    vs = [c['true_vs_counted_pct'] for c in singles if c.get('true_vs_counted_pct') is not None]
    summary = {
        'detected': len(detected), 'missed': len(missed), 'false_alarms': len(false),
        'expected_alarms': len(want),
        'max_time_limit_to_stop_s': max(t_lim) if t_lim else None,
        'max_time_front_to_stop_s': max(t_front) if t_front else None,
        'max_air_passed_before_stop_ul': max(passed) if passed else None,
        'stopped_before_limit': len(early),
        'all_stopped': all(c.get('motor_stopped') for c in run if c['got_alarm']),
        'stopped_within_one_tick_of_limit': within_tick,
        'limit_judged_on': ('the firmware\'s count: motor steps since the front reached the sensor '
                            'x its nominal step volume'),
        'counted_minus_limit_ul': [min(cnt), max(cnt)] if cnt else None,
        'true_minus_limit_ul': [min(past), max(past)] if past else None,
        'true_vs_counted_pct': [min(vs), max(vs)] if vs else None,
        'true_volume_cause': true_volume_cause(pump, mechanism),
    }
    acc = [c for c in detected if c['case'] == 'train_accumulating']
    if acc:   # reported, not judged: the count is +-1 tick per bubble (firmware/air.py)
        summary['accumulated_time_limit_to_stop_s'] = acc[0].get('time_limit_to_stop_s')
        summary['accumulated_true_minus_limit_ul'] = acc[0].get('true_minus_limit_ul')
    summary['targets_met'] = (not missed and not false and within_tick
                              and summary['all_stopped'] and all(c['ok'] for c in cases))
    return {
        'bench': 'air', 'pump': pump, 'rate_ml_h': rate_ml_h, 'seed': seed, 'plant': mechanism or 'ideal',
        'tick_s': tick_s, 'tick_volume_ul': round(tick_ul, 4),
        'bubble_limit_ul': limit_ul, 'accumulated_limit_ul': acc_ul,
        'window_min': st.air_window_min, 'sensor_line_ul': _sensor_line_ul(),
        'method': ('bubble volume = volume pushed over ticks that start or end with air at '
                   'the sensor (never under the true volume, at most 2 ticks over); accumulated '
                   '= ticks that end with air, per-minute bins over the window plus the '
                   'current minute'),
        'summary': summary, 'cases': cases,
    }


def _sensor_line_ul():
    from simulator.plant.line import AIR_SENSOR_LINE_UL
    return AIR_SENSOR_LINE_UL


def cmd_air(a):
    res = run_bench(a.pump, a.rate, a.seed, a.plant)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'air.json').write_text(json.dumps(res, indent=1))
    from simulator.benches.plots import plot_air
    plot_air(out / 'air.png', res)
    s = res['summary']
    print('air bench  %s at %g mL/h (tick %g uL)' % (a.pump, a.rate, res['tick_volume_ul']))
    for c in res['cases']:
        if c.get('status') == 'not_applicable':
            print('  %-20s n/a: %s' % (c['case'], c['reason']))
            continue
        what = '%s %g uL' % (c['case'], c['volume_ul']) if c['case'] == 'bubble' else c['case']
        extra = ''
        if c['got_alarm']:
            if c.get('counted_minus_limit_ul') is not None:
                after = 'counted %+.3f uL of the limit' % c['counted_minus_limit_ul']
            elif c.get('stopped_before_limit'):
                after = 'before the limit'
            else:
                after = '%s s after the limit' % c.get('time_limit_to_stop_s')
            front = ('stop %.1f s after the front, ' % c['time_front_to_stop_s']
                     if c.get('time_front_to_stop_s') is not None else '')
            extra = '  %s%s, %.2f uL truly passed' % (front, after, c['air_passed_before_stop_ul'])
            if c.get('time_limit_to_stop_s') is not None:
                extra += ' (%s s after the counted limit)' % c['time_limit_to_stop_s']
        print('  %-20s expected %-15s got %-15s%s%s' % (what, c['expected_alarm'], c['got_alarm'],
                                                       extra, '' if c['ok'] else '  FAIL'))
    print('detected %d/%d, missed %d, false alarms %d, max counted limit->stop %s s, targets %s' % (
        s['detected'], s['expected_alarms'], s['missed'], s['false_alarms'],
        s['max_time_limit_to_stop_s'], 'met' if s['targets_met'] else 'MISSED'))
    if s['true_minus_limit_ul'] is not None:
        print('true air past the sensor at the stop: %+.2f..%+.2f uL of the limit, %+.2f..%+.2f %% of the '
              'count; cause: %s' % tuple(s['true_minus_limit_ul'] + s['true_vs_counted_pct']
                                         + [s['true_volume_cause']]))
    if s.get('accumulated_true_minus_limit_ul') is not None:
        print('accumulated: %s s after the counted limit, true air %+.1f uL of the limit (not judged: '
              'the count is +-1 tick per bubble)' % (s['accumulated_time_limit_to_stop_s'],
                                                     s['accumulated_true_minus_limit_ul']))
    print('written    %s, air.png' % (out / 'air.json'))
    return 0 if s['targets_met'] else 1


def register(bench):
    p = bench.add_parser('air', help='air-in-line bench: bubbles under/over the limits -> DIR/air.json')
    p.add_argument('--pump', default='bd-plastipak-50', help='configs/pumps name or a YAML path')
    p.add_argument('--rate', type=float, default=1.77, help='infusion rate, mL/h')
    p.add_argument('--out', required=True, help='output directory')
    p.add_argument('--seed', type=int, default=0)
    add_plant_option(p)
    p.set_defaults(func=cmd_air)
