"""One virtual-trial task: a bench on one pump, rate, plant and patient.

`run_task(params)` is what a Dask worker runs; it never raises: a failure is
returned as status 'error' with the exception's last line, so one bad task
does not stop a sweep. Every result is a flat dict of scalars (a Parquet row).

Parameters (simulator/trials/sweep.py fills the defaults):
  bench               occlusion | soak | air | accuracy
  pump, rate_ml_h     a configs/pumps name, mL/h
  compliance_ul_mmhg  syringe + line compliance of the plant (None: the pump's)
  resistance_mmhg_s_ul catheter resistance (None: the pump's)
  noise_mmhg          pressure sensor noise, 1 sigma (None: the pump's)
  profile             patient blood-pressure profile (simulator/plant/patients.py)
  onset               occlusion: when the catheter blocks (ONSETS below)
  hours               soak and accuracy: simulated hours
  seed                plant noise, patient and profile draws
The firmware is never told the plant's compliance or resistance: they only
change the plant. air and accuracy run their benches as they are (the plant
overrides do not apply; they are recorded as None).

Occlusion onsets (times from the program start):
  fill      1-30 s: while the start-up fill pressurises the line
  settle    1-10 min: the line has just opened and is settling
  steady    1-3 h (within the first syringe): steady infusion, probes and
            their repayment included
  resume    at 1 h the pump is paused for 5-30 min; the catheter blocks
            0-60 s after the resume
  syringe   at 1 h the course is stopped, the syringe refilled and a new
            program started (a syringe change); blocks 0-60 s later
"""
import math
import os
import time
import traceback
from pathlib import Path

import numpy as np

from simulator.plant import faults
from pumphost.config.pumps import load_pump, resolve
from simulator.plant.patients import Profile, draw_patient
from simulator.runtime.inproc import Simulation
from simulator.scenario import Scenario, SCENARIO_SCHEMA
from pumphost.config.schema import check_map
from pumphost.codes import S_ALARM
from simulator.benches.occlusion import BOLUS_WINDOW_S, CLEAR_AFTER_ALARM_S, release_and_collect

BENCHES = ('occlusion', 'soak', 'air', 'accuracy')
ONSETS = ('fill', 'settle', 'steady', 'resume', 'syringe')
MAX_WAIT_S = 8 * 3600       # no alarm by then: not detected
PROFILE_PERIOD_TICKS = 10   # the profile moves the artery once a second


def _scenario(cfg, rate_ml_h, hours, seed, patient, volume_ml=None):
    data = {'name': 'sweep', 'pump': str(cfg.path), 'seed': seed, 'patient': dict(patient, bsa_m2=1.7),
            'duration': '%ds' % int(math.ceil(hours * 3600)), 'trace_period': '600s',
            'program': {'rate_ml_h': rate_ml_h,
                        'volume_ml': round(volume_ml or max(0.05, rate_ml_h * hours * 1.05), 4)}}
    path = Path('<sweep>')
    return Scenario(path, check_map(data, SCENARIO_SCHEMA, path))


def _plant_overrides(sim, p):
    plant = sim.plant
    if p.get('compliance_ul_mmhg') is not None:
        plant.c_ul_mmhg = float(p['compliance_ul_mmhg'])
    if p.get('resistance_mmhg_s_ul') is not None:
        plant.r_base = float(p['resistance_mmhg_s_ul'])
    if p.get('noise_mmhg') is not None:
        plant.noise_mmhg = float(p['noise_mmhg'])
    return {'compliance_used': plant.c_ul_mmhg, 'resistance_used': plant.r_base,
            'noise_used': plant.noise_mmhg}


def _usable_ml(cfg):
    return cfg.reservoir['nominal_volume_ml'] - cfg.reservoir['dead_space_ml'] - 0.6


def _onset_plan(cfg, rate, onset, rng):
    """(seconds to the occlusion, interruption or None)."""
    first_syringe_s = 0.6 * _usable_ml(cfg) / rate * 3600.0
    if onset == 'fill':
        return float(rng.uniform(1.0, 30.0)), None
    if onset == 'settle':
        return min(float(rng.uniform(60.0, 600.0)), first_syringe_s), None
    if onset == 'steady':
        return min(float(rng.uniform(3600.0, 3 * 3600.0)), first_syringe_s), None
    t_int = min(3600.0, first_syringe_s / 2)
    if onset == 'resume':
        pause_s = float(rng.uniform(300.0, 1800.0))
        return t_int + pause_s + float(rng.uniform(0.0, 60.0)), ('pause', t_int, pause_s)
    return t_int + 1.0 + float(rng.uniform(0.0, 60.0)), ('syringe', t_int, 1.0)


def run_occlusion(p):
    cfg = load_pump(resolve('pumps', p['pump']))
    rate = float(p['rate_ml_h'])
    seed = int(p['seed'])
    rng = np.random.default_rng([seed, 31337])
    t_occ, interrupt = _onset_plan(cfg, rate, p['onset'], rng)
    c = p.get('compliance_ul_mmhg') or cfg.compliance_ul_per_mmhg
    wait_s = min(MAX_WAIT_S, max(3600.0, 1.2 * c * 750.0 / (rate / 3.6)))
    hours = (t_occ + wait_s + CLEAR_AFTER_ALARM_S + BOLUS_WINDOW_S) / 3600.0
    # a course longer than the run: probes ahead of the schedule must not
    # end it early at the lowest rates (a real course lasts days)
    volume_ml = min(_usable_ml(cfg), max(2.0, rate * hours * 1.05))
    sim = Simulation(_scenario(cfg, rate, hours, seed, draw_patient(seed), volume_ml), seed=seed)
    used = _plant_overrides(sim, p)
    profile = Profile(p['profile'], seed, hours)
    plant = sim.plant
    profile.attach(plant)
    tick_s = sim.tick_ms / 1000.0
    k_occ = int(t_occ / tick_s)
    k_int = int(interrupt[1] / tick_s) if interrupt else -1
    k_back = int((interrupt[1] + interrupt[2]) / tick_s) if interrupt else -1
    st = {'k_alarm': None, 'k_clear': None, 'delivered_at_clear': 0.0, 'false': None, 'code': None,
          'p_alarm': None, 'probes': 0, 'phase': 0}

    def hook(s, k):
        pump = s.pump
        if k % PROFILE_PERIOD_TICKS == 0:
            profile.apply(plant, k * tick_s)
        ph = pump.occlusion.phase
        if ph != st['phase']:
            if ph == 2:
                st['probes'] += 1
            st['phase'] = ph
        if k == k_int:
            if interrupt[0] == 'pause':
                s.apply('command', 'pause')
            else:
                s.apply('command', 'stop')
        elif k == k_back:
            if interrupt[0] == 'pause':
                s.apply('command', 'resume')
            else:
                plant.refill(cfg.reservoir['nominal_volume_ml'])
                s.course_left_ml = volume_ml
                s.program()
        if k == k_occ:
            faults.inject(plant, 'downstream_occlusion')
        if st['k_alarm'] is None:
            if pump.fsm.state == S_ALARM:
                code = s.alarms[-1]['code'] if s.alarms else 'alarm'
                if k < k_occ:
                    st['false'] = code
                    st['k_alarm'] = k
                    return True
                st['k_alarm'] = k
                st['code'] = code
                st['p_alarm'] = plant.pressure_mmhg
            elif k >= k_occ and pump.state_name() == 'COMPLETE':
                st['code'] = 'completed into the occlusion'
                return True
            return False
        return release_and_collect(st, k, plant, tick_s)

    sim.hook = hook
    sim.run()
    k_end = sim.k
    detected = st['code'] == 'occlusion_downstream'
    alarmed = st['k_alarm'] is not None and st['false'] is None
    return dict(used, **{
        'onset_s': round(k_occ * tick_s, 1),
        'alarm': st['code'],
        'detected': bool(detected),
        'time_to_alarm_s': round((st['k_alarm'] - k_occ) * tick_s, 1) if alarmed else None,
        'pressure_at_alarm_mmhg': round(st['p_alarm'], 1) if alarmed else None,
        'bolus_ml': (round((plant.delivered_ul - st['delivered_at_clear']) / 1000.0, 5)
                     if st['k_clear'] is not None else None),
        'aspirated_ml': round(plant.aspirated_ul / 1000.0, 6),
        'false_alarm': st['false'],
        'false_alarms': 1 if st['false'] else 0,
        'exposure_h': round(min(k_end, k_occ) * tick_s / 3600.0, 4),
        'probes': st['probes'],
        'sim_hours': round(k_end * tick_s / 3600.0, 4),
    })


def run_soak(p):
    cfg = load_pump(resolve('pumps', p['pump']))
    rate = float(p['rate_ml_h'])
    seed = int(p['seed'])
    hours = float(p['hours'])
    sim = Simulation(_scenario(cfg, rate, hours, seed, draw_patient(seed)), seed=seed)
    used = _plant_overrides(sim, p)
    profile = Profile(p['profile'], seed, hours)
    plant = sim.plant
    profile.attach(plant)
    tick_s = sim.tick_ms / 1000.0
    st = {'probes': 0, 'phase': 0}

    def hook(s, k):
        if k % PROFILE_PERIOD_TICKS == 0:
            profile.apply(plant, k * tick_s)
        ph = s.pump.occlusion.phase
        if ph != st['phase']:
            if ph == 2:
                st['probes'] += 1
            st['phase'] = ph
        return False

    sim.hook = hook
    summary = sim.run()
    false = [a['code'] for a in summary['alarms'] if a['code'] != 'infusion_complete']
    return dict(used, **{
        'false_alarms': len(false),
        'false_alarm': ','.join(false) or None,
        'exposure_h': round(sim.k * tick_s / 3600.0, 4),
        'probes': st['probes'],
        'delivered_ml': summary['delivered_ml'],
        'aspirated_ml': round(plant.aspirated_ul / 1000.0, 6),
        'final_state': summary['final_state'],
        'sim_hours': round(sim.k * tick_s / 3600.0, 4),
    })


def run_air(p):
    from simulator.benches.air import run_bench
    # the trials run the ideal mechanism throughout (their plant overrides are the line's)
    res = run_bench(p['pump'], float(p['rate_ml_h']), seed=int(p['seed']), mechanism='ideal')
    s = res['summary']
    return {'air_detected': s['detected'], 'air_missed': s['missed'], 'false_alarms': s['false_alarms'],
            'air_max_passed_ul': s['max_air_passed_before_stop_ul'], 'targets_met': bool(s['targets_met']),
            'sim_hours': None}


def run_accuracy(p):
    from simulator.benches.accuracy import run_one
    hours = float(p['hours'])
    res, _ = run_one(str(resolve('pumps', p['pump'])), float(p['rate_ml_h']), True,
                     duration_s=hours * 3600.0, seed=int(p['seed']))
    return {'mean_error_pct': res['mean_error_pct'], 'startup_delay_s': res['startup_delay_s'],
            'false_alarms': len([a for a in res['alarms'] if a != 'infusion_complete']),
            'sim_hours': hours}


RUNNERS = {'occlusion': run_occlusion, 'soak': run_soak, 'air': run_air, 'accuracy': run_accuracy}


def run_task(params):
    """Run one task; never raises. Returns params + results + status."""
    t0 = time.perf_counter()
    out = dict(params)
    try:
        res = RUNNERS[params['bench']](params)
        out.update(res)
        out['status'] = 'ok'
        out['error'] = None
    except Exception as e:      # recorded, the sweep goes on
        out['status'] = 'error'
        out['error'] = '%s: %s | %s' % (type(e).__name__, e,
                                        traceback.format_exc().strip().splitlines()[-3].strip())
    out['wall_s'] = round(time.perf_counter() - t0, 3)
    out['worker_pid'] = os.getpid()
    return out
