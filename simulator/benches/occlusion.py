"""Occlusion and soak benches, on the real firmware in lockstep.

`pumpsim bench occlusion`: the IEC 60601-2-24 method. Infuse until the line
is at steady state, block the catheter (fault `downstream_occlusion`),
record the time from occlusion to alarm and the line pressure at alarm, let
the firmware relieve the stored pressure, then clear the occlusion with the
pump stopped and collect what reaches the patient over the next minutes (the
bolus). Writes occlusion.json and occlusion.png.

`pumpsim bench soak`: a normal infusion with pulsatile arterial pressure,
sensor noise and blood-pressure changes (steps of +-15 mmHg and slow drifts
of +-3 mmHg/h, repeating daily): every alarm other than infusion complete is
a false alarm, and a course that ends inside the soak (the device's count
ahead of the schedule) misses it too: the rest went untested. Default 336 h.
Writes soak.json and soak.png.

Both are deterministic under --seed; exit status 1 when a target is missed.
"""
import json
import math
from pathlib import Path

from simulator.plant import faults
from pumphost.config.pumps import load_pump, resolve
from simulator.runtime.inproc import Simulation
from simulator.benches.common import add_plant_option, bench_scenario
from pumphost.config.schema import ConfigError
from pumphost.codes import S_ALARM

TARGET_TTA_S = {1.77: 180.0, 0.1: 1200.0}   # time to alarm targets, default plant
TARGET_BOLUS_ML = 0.05
BOLUS_WINDOW_S = 600        # collect after the occlusion clears
CLEAR_AFTER_ALARM_S = 120   # relief is done within seconds


def _scenario(pump, rate_ml_h, hours, seed, trace_s=10.0, volume_ml=None):
    """A course at the rate for `hours`, no events."""
    return bench_scenario('bench', pump, rate_ml_h, math.ceil(hours * 3600), seed, volume_ml=volume_ml,
                          trace_s=trace_s, patient={'bsa_m2': 1.7})


def soak_course_ml(cfg, rate_ml_h, hours):
    """A course that outlasts the soak: the run at the rate, 5 % over, plus
    what the line can hold (its compliance up to the hard pressure limit),
    because the firmware's count leads the schedule by what the start-up
    fill and the occlusion probes pushed into the line."""
    held_ml = cfg.compliance_ul_per_mmhg * cfg.data['limits']['pressure_hard_limit_mmhg'] / 1000.0
    return round(rate_ml_h * hours * 1.05 + held_ml, 4)


def release_and_collect(st, k, plant, tick_s):
    """After the alarm (tick st['k_alarm']): clear the occlusion with the pump
    stopped CLEAR_AFTER_ALARM_S later, then collect what reaches the patient
    for BOLUS_WINDOW_S (st['k_clear'], st['delivered_at_clear']). True when
    the window is over (a bench hook's "stop")."""
    if st['k_clear'] is None:
        if k >= st['k_alarm'] + CLEAR_AFTER_ALARM_S / tick_s:
            faults.clear(plant, 'downstream_occlusion')
            st['k_clear'] = k
            st['delivered_at_clear'] = plant.delivered_ul
        return False
    return k >= st['k_clear'] + BOLUS_WINDOW_S / tick_s


def steady_state_s(pump_cfg, rate_ml_h):
    """Time to pressurise the line up to arterial pressure at the set rate
    (no start-up fill), doubled, plus 30 min of steady infusion."""
    c = pump_cfg.compliance_ul_per_mmhg
    fill_s = c * 100.0 / (rate_ml_h / 3.6)
    return int(2 * fill_s + 1800)


def run_occlusion(pump, rate_ml_h, seed=1, mechanism='bench'):
    cfg = load_pump(resolve('pumps', pump))
    t_occ = steady_state_s(cfg, rate_ml_h)
    max_tta = max(4 * 3600, 3 * cfg.compliance_ul_per_mmhg * 700 / (rate_ml_h / 3.6))
    hours = (t_occ + max_tta + CLEAR_AFTER_ALARM_S + BOLUS_WINDOW_S) / 3600.0
    sim = Simulation(_scenario(pump, rate_ml_h, hours, seed, trace_s=60.0), seed=seed, mechanism=mechanism)
    tick_s = sim.tick_ms / 1000.0
    k_occ = int(t_occ / tick_s)
    st = {'k_alarm': None, 'k_clear': None, 'delivered_at_clear': None, 'p_alarm': None,
          'sensed_alarm': None, 'alarm_code': None, 'probes_before': None}
    trace = []   # (t_s, line pressure, sensed pressure, delivered_ml, plunger_ml, state)
    plant = sim.plant
    pump_ = sim.pump
    window = int(1.0 / tick_s)

    def hook(s, k):
        if k == k_occ:
            faults.inject(plant, 'downstream_occlusion')
        if k >= k_occ - 600 * window and k % window == 0:
            trace.append((round(k * tick_s, 1), round(plant.pressure_mmhg, 2),
                          pump_.pressure_x10 / 10.0, round(plant.delivered_ul / 1000.0, 6),
                          round(plant.pushed_ul / 1000.0, 6), pump_.state_name()))
        if st['k_alarm'] is None:
            if k >= k_occ and pump_.fsm.state == S_ALARM:
                st['k_alarm'] = k
                st['p_alarm'] = plant.pressure_mmhg
                st['sensed_alarm'] = pump_.pressure_x10 / 10.0
                st['alarm_code'] = s.alarms[-1]['code'] if s.alarms else None
            elif pump_.fsm.state == S_ALARM:
                st['k_alarm'] = -1     # alarm before the occlusion: a false alarm
                return True
            return False
        return release_and_collect(st, k, plant, tick_s)

    sim.hook = hook
    summary = sim.run()
    ok_alarm = st['k_alarm'] is not None and st['k_alarm'] > 0
    res = {
        'bench': 'occlusion',
        'method': ('IEC 60601-2-24: infuse to steady state, block the catheter fully, '
                   'time to alarm and line pressure at alarm; the firmware then backs the '
                   'plunger off (pressure relief); the occlusion is cleared %d s after the alarm '
                   'with the pump stopped and the volume reaching the patient over %d s is the '
                   'bolus' % (CLEAR_AFTER_ALARM_S, BOLUS_WINDOW_S)),
        'pump': cfg.name, 'rate_ml_h': rate_ml_h, 'seed': seed, 'plant': mechanism,
        'occluded_at_s': round(k_occ * tick_s, 1),
        'alarm': st['alarm_code'] if ok_alarm else ('false alarm before occlusion' if st['k_alarm'] == -1 else None),
        'time_to_alarm_s': round((st['k_alarm'] - k_occ) * tick_s, 1) if ok_alarm else None,
        'pressure_at_alarm_mmhg': round(st['p_alarm'], 1) if ok_alarm else None,
        'sensed_pressure_at_alarm_mmhg': st['sensed_alarm'] if ok_alarm else None,
        'bolus_ml': (round((plant.delivered_ul - st['delivered_at_clear']) / 1000.0, 5)
                     if st['k_clear'] is not None else None),
        'relief_steps': pump_.occlusion.relieved,
        'relief_ml': round(pump_.occlusion.relieved * plant.step_ul / 1000.0, 5),
        'aspirated_ml': round(plant.aspirated_ul / 1000.0, 6),
        'fixed_300mmhg_threshold_would_take_s': round(
            cfg.compliance_ul_per_mmhg * 300.0 / (rate_ml_h / 3.6)),
        'alarms': summary['alarms'],
        'final_state': summary['final_state'],
        'wall_seconds': summary['wall_seconds'],
    }
    tgt = TARGET_TTA_S.get(round(rate_ml_h, 2))
    res['targets'] = {'time_to_alarm_s': tgt, 'bolus_ml': TARGET_BOLUS_ML, 'aspirated_ml': 0.0}
    res['met'] = bool(ok_alarm and (tgt is None or res['time_to_alarm_s'] <= tgt)
                      and res['bolus_ml'] is not None and res['bolus_ml'] <= TARGET_BOLUS_ML
                      and plant.aspirated_ul == 0.0)
    return res, trace


def plot_occlusion(path, res, trace):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    t0 = res['occluded_at_s']
    t = [(r[0] - t0) / 60.0 for r in trace]
    fig, (ax_p, ax_v) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    ax_p.plot(t, [r[2] for r in trace], lw=0.5, color='0.6', label='sensed (device)')
    ax_p.plot(t, [r[1] for r in trace], lw=1.0, color='C3', label='line (plant)')
    ax_p.set_ylabel('pressure [mmHg]')
    ax_v.plot(t, [r[3] for r in trace], color='C2', label='delivered (patient side)')
    ax_v.plot(t, [r[4] for r in trace], color='C1', lw=0.8, ls='--', label='plunger')
    ax_v.set_ylabel('volume [mL]')
    ax_v.set_xlabel('minutes from occlusion')
    for ax in (ax_p, ax_v):
        ax.axvline(0, color='k', lw=0.8, ls=':')
        if res['time_to_alarm_s'] is not None:
            ax.axvline(res['time_to_alarm_s'] / 60.0, color='C3', lw=0.8, ls='--')
            ax.axvline((res['time_to_alarm_s'] + CLEAR_AFTER_ALARM_S) / 60.0, color='C0', lw=0.8, ls='--')
        ax.legend(loc='upper left', fontsize=8)
    ax_p.set_title('%s at %g mL/h: alarm after %s s at %s mmHg, bolus %s mL (occluded at 0, '
                   'alarm red, cleared blue)' % (res['pump'], res['rate_ml_h'], res['time_to_alarm_s'],
                                                 res['pressure_at_alarm_mmhg'], res['bolus_ml']),
                   fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def soak_events(hours):
    """Daily blood-pressure pattern (seconds, action, fault, params): a +15
    step at 2 h and back at 8 h, a -15 step at 10 h and back at 14 h, a slow
    +3 mmHg/h drift from 15 h to 21 h (+18 mmHg) and back down from 21 h to
    24 h... (-6 mmHg/h for 3 h)."""
    ev = []
    day = 0
    while day * 24 < hours:
        b = day * 86400
        ev += [(b + 2 * 3600, 'inject', 'arterial_step', {'offset_mmhg': 15.0}),
               (b + 8 * 3600, 'clear', 'arterial_step', {'offset_mmhg': 15.0}),
               (b + 10 * 3600, 'inject', 'arterial_step', {'offset_mmhg': -15.0}),
               (b + 14 * 3600, 'clear', 'arterial_step', {'offset_mmhg': -15.0}),
               (b + 15 * 3600, 'inject', 'arterial_drift', {'mmhg_per_h': 3.0}),
               (b + 21 * 3600, 'inject', 'arterial_drift', {'mmhg_per_h': -6.0}),
               (b + 24 * 3600 - 1, 'clear', 'arterial_drift', {})]
        day += 1
    return [e for e in ev if e[0] < hours * 3600]


def run_soak(pump, rate_ml_h, hours, seed=1, plot=None, mechanism='bench'):
    cfg = load_pump(resolve('pumps', pump))
    course_ml = soak_course_ml(cfg, rate_ml_h, hours)
    sim = Simulation(_scenario(pump, rate_ml_h, hours, seed, trace_s=600.0, volume_ml=course_ml),
                     seed=seed, mechanism=mechanism)
    tick_s = sim.tick_ms / 1000.0
    events = [(int(round(t / tick_s)), a, n, p) for t, a, n, p in soak_events(hours)]
    state = {'i': 0, 'probes': 0, 'phase': 0}
    plant = sim.plant
    occ = sim.pump.occlusion

    def hook(s, k):
        ph = occ.phase
        if ph != state['phase']:
            if ph == 2:     # the detector started a probe
                state['probes'] += 1
            state['phase'] = ph
        i = state['i']
        while i < len(events) and events[i][0] == k:
            _, action, name, params = events[i]
            (faults.inject if action == 'inject' else faults.clear)(plant, name, **params)
            i += 1
        state['i'] = i
        return False

    sim.hook = hook
    summary = sim.run()
    false_alarms = [a for a in summary['alarms'] if a['code'] != 'infusion_complete']
    # a course that ends inside the soak leaves the rest of it untested: the
    # course outlasts the run unless the device's count ran ahead of it
    ended = [a['t_s'] for a in summary['alarms'] if a['code'] == 'infusion_complete']
    ended_s = ended[-1] if ended and summary['course']['complete'] else None
    res = {
        'bench': 'soak', 'pump': cfg.name, 'rate_ml_h': rate_ml_h, 'hours': hours, 'seed': seed, 'plant': mechanism,
        'method': ('normal infusion, pulsatile artery 120/80 at 72 bpm, sensor noise, daily '
                   '+15 mmHg step (2-8 h), -15 mmHg step (10-14 h), +3 mmHg/h drift (15-21 h) '
                   'and -6 mmHg/h back (21-24 h); syringe changes by the runner; every alarm '
                   'other than infusion_complete counts as false'),
        'false_alarms': false_alarms,
        'alarms': summary['alarms'],
        'occlusion_probes': state['probes'],
        'course_ml': course_ml,
        'course_ended_h': round(ended_s / 3600.0, 2) if ended_s is not None else None,
        'device_counted_ml': summary['course']['device_counted_ml'],
        'delivered_ml': summary['delivered_ml'],
        'final_state': summary['final_state'],
        'aspirated_ml': round(plant.aspirated_ul / 1000.0, 6),
        'wall_seconds': summary['wall_seconds'],
    }
    res['met'] = not false_alarms and ended_s is None
    if plot is not None:   # the whole soak: pressure, rate with state bands, events, alarms
        from simulator.ui.report import plot_trace
        plot_trace(plot, summary, sim.trace)
    return res


def cmd_occlusion(a):
    res, trace = run_occlusion(a.pump, a.rate, seed=a.seed, mechanism=a.plant)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'occlusion.json').write_text(json.dumps(res, indent=2) + '\n')
    plot_occlusion(out / 'occlusion.png', res, trace)
    print('occlusion at %g mL/h: time to alarm %s s, pressure at alarm %s mmHg, bolus %s mL, '
          'aspirated %s mL -> %s' % (a.rate, res['time_to_alarm_s'], res['pressure_at_alarm_mmhg'],
                                     res['bolus_ml'], res['aspirated_ml'], 'met' if res['met'] else 'MISSED'))
    print('written    %s/occlusion.json, occlusion.png' % out)
    return 0 if res['met'] else 1


def cmd_soak(a):
    if not 0 < a.hours <= 60 * 24:
        raise ConfigError('--hours=%r not allowed: 0 < hours <= 1440' % a.hours)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    res = run_soak(a.pump, a.rate, a.hours, seed=a.seed, plot=out / 'soak.png', mechanism=a.plant)
    (out / 'soak.json').write_text(json.dumps(res, indent=2) + '\n')
    print('soak %g h at %g mL/h: %d false alarm(s), %d probe(s), delivered %.3f mL -> %s' % (
        a.hours, a.rate, len(res['false_alarms']), res['occlusion_probes'], res['delivered_ml'],
        'met' if res['met'] else 'MISSED'))
    if res['course_ended_h'] is not None:
        print('the course (%g mL) ended at %g h, before the soak: the device counted %g mL, the '
              'set rate %g mL' % (res['course_ml'], res['course_ended_h'], res['device_counted_ml'],
                                  round(a.rate * res['course_ended_h'], 3)))
    print('written    %s/soak.json, soak.png' % out)
    return 0 if res['met'] else 1


def register(bench):
    o = bench.add_parser('occlusion', help='IEC 60601-2-24 occlusion: time to alarm, pressure, bolus')
    o.add_argument('--pump', required=True, help='configs/pumps name or a YAML path')
    o.add_argument('--rate', type=float, required=True, help='mL/h')
    o.add_argument('--out', required=True, help='output directory')
    o.add_argument('--seed', type=int, default=1)
    add_plant_option(o)
    o.set_defaults(func=cmd_occlusion)
    s = bench.add_parser('soak', help='long normal infusion with blood-pressure changes: false alarms')
    s.add_argument('--pump', required=True, help='configs/pumps name or a YAML path')
    s.add_argument('--rate', type=float, required=True, help='mL/h')
    s.add_argument('--hours', type=float, default=336.0,
                   help='simulated hours (default 336: 14 days, a FUDR course)')
    s.add_argument('--out', required=True, help='output directory')
    s.add_argument('--seed', type=int, default=1)
    add_plant_option(s)
    s.set_defaults(func=cmd_soak)
