"""Named faults, injected into the plant at run time or from a scenario.

As in ArduPilot's SITL, a fault is a name plus parameters; `inject` and
`clear` are the only ways the outside world disturbs the plant. Each entry
documents what it does physically.
"""
import math

# name -> (doc, parameters with defaults)
FAULTS = {
    'downstream_occlusion': (
        'catheter blocked: severity 1.0 = no flow at all; 0 < s < 1 multiplies '
        'the catheter resistance by 1/(1-s)', {'severity': 1.0}),
    'syringe_removed': ('syringe taken out of the cradle', {}),
    'upstream_occlusion': ('peristaltic only: bag-side tube blocked (kinked, clamp closed): severity 1.0 = '
                           'no refill at all, 0 < s < 1 multiplies the inlet resistance by 1/(1-s); the '
                           'pockets fill less and less and the output falls', {'severity': 1.0}),
    'clamp_open': ('plunger clamp opened', {}),
    'motor_stall': ('the motor driver emits no steps (stalled or disconnected)', {}),
    'arterial_step': ('patient blood pressure shifts by offset_mmhg', {'offset_mmhg': 15.0}),
    'arrhythmia': ('irregular heart beats (atrial-fibrillation-like): each beat lasts the mean RR '
                   'times 1 +- irregularity (uniform), pulse pressure in proportion',
                   {'irregularity': 0.3}),
    'arterial_drift': ('patient blood pressure drifts at mmhg_per_h until cleared '
                       '(slow hypertension, or recovery when negative)', {'mmhg_per_h': 5.0}),
    'power_loss': ('the power goes now and comes back after off_s: the motor stops, RAM is '
                   'lost, the board reboots on the same storage (handled by the runner)',
                   {'off_s': 0.0}),
    'power_loss_at_next_write': ('the power goes in the middle of the next non-volatile write: '
                                 'only its first fraction of bytes lands (a torn record), then as '
                                 'power_loss (handled by the runner)', {'off_s': 0.0, 'fraction': 0.5}),
    'air_bubble': ('a bubble of volume_ul enters the line at the syringe outlet; it reaches '
                   'the air sensor after 20 uL more is pushed (plant.line.AIR_SENSOR_LINE_UL); '
                   'clear: the line is primed, all air gone', {'volume_ul': 100.0}),
    'air_train': ('count bubbles of volume_ul enter the line, the first now, then one every '
                  'interval seconds (a duration in scenarios); clear: the train stops',
                  {'volume_ul': 10.0, 'count': 100, 'interval': 30.0}),
    # what firmware/monitors.py watches
    'pressure_sensor': ('the pressure sensor fails: mode stuck (frozen at its reading), offset '
                        '(offset_mmhg added), drift (mmhg_per_h from now), noise (noise_mmhg more, '
                        '1 sigma), disconnected (reads 0 counts); clear: sensor healthy',
                        {'mode': 'stuck', 'offset_mmhg': -30.0, 'mmhg_per_h': -60.0,
                         'noise_mmhg': 5.0}),
    'lead_screw_slip': ('a fraction `slip` of the emitted steps do not move the plunger (worn nut, '
                        'slipping coupling); negative: the plunger runs ahead of the steps',
                        {'slip': 0.2}),
    'power': ('mains lost, the pump runs on its battery: battery_mv sets the battery now '
              '(0 keeps it), drain_mv_per_h drains it; clear: mains back',
              {'battery_mv': 0.0, 'drain_mv_per_h': 200.0}),
    'syringe_diameter': ('the barrel inner diameter is diameter_mm, not the nominal one (a '
                         'wrong or out-of-tolerance syringe); inject before the start; clear: '
                         'nominal barrel', {'diameter_mm': 27.0}),
}

# faults of the board's supply rather than the plant: simulator.runtime.inproc applies them
POWER_FAULTS = ('power_loss', 'power_loss_at_next_write')


PSENSOR_MODES = ('stuck', 'offset', 'drift', 'noise', 'disconnected')


_MONITOR_FAULTS = ('pressure_sensor', 'lead_screw_slip', 'power', 'syringe_diameter')


def _inject_monitor_fault(plant, name, p):
    if name == 'pressure_sensor':
        m = p['mode']
        value = {'offset': p['offset_mmhg'], 'drift': p['mmhg_per_h'],
                 'noise': p['noise_mmhg']}.get(m, 0.0)
        plant.psensor = [m, value, plant.t_s, None]
    elif name == 'lead_screw_slip':
        plant.slip = p['slip']
    elif name == 'power':
        plant.mains = False
        if p['battery_mv']:
            plant.battery_mv = float(p['battery_mv'])
        plant.drain_mv_h = p['drain_mv_per_h']
    elif name == 'syringe_diameter':
        plant.set_diameter(p['diameter_mm'])


def _clear_monitor_fault(plant, name):
    if name == 'pressure_sensor':
        plant.psensor = None
    elif name == 'lead_screw_slip':
        plant.slip = 0.0
    elif name == 'power':
        plant.mains = True
    elif name == 'syringe_diameter':
        plant.set_diameter(plant.cfg.data['syringe']['inner_diameter_mm'])


class FaultError(ValueError):
    pass


def check_params(name, params):
    if name not in FAULTS:
        raise FaultError('unknown fault %r (known: %s)' % (name, ', '.join(sorted(FAULTS))))
    allowed = FAULTS[name][1]
    for k in params:
        if k not in allowed:
            raise FaultError('fault %s has no parameter %r (allowed: %s)' % (
                name, k, ', '.join(sorted(allowed)) or 'none'))
    full = dict(allowed)
    full.update(params)
    if name in ('downstream_occlusion', 'upstream_occlusion') and not 0 < full['severity'] <= 1:
        raise FaultError('%s severity=%r must be in (0, 1]' % (name, full['severity']))
    if name in POWER_FAULTS and not (0 <= full['off_s'] <= 86400 and 0 <= full.get('fraction', 0) < 1):
        raise FaultError('%s off_s=%r must be in [0, 86400] s, fraction=%r in [0, 1)' % (
            name, full['off_s'], full.get('fraction')))
    if name in ('air_bubble', 'air_train'):
        if not 0 < full['volume_ul'] <= 5000:
            raise FaultError('%s volume_ul=%r must be in (0, 5000]' % (name, full['volume_ul']))
        if name == 'air_train' and (full['count'] != int(full['count']) or full['count'] < 1):
            raise FaultError('air_train count=%r must be an integer >= 1' % full['count'])
        if name == 'air_train' and not full['interval'] >= 0.1:
            raise FaultError('air_train interval=%r must be >= 0.1 s' % full['interval'])
    if name == 'pressure_sensor' and full['mode'] not in PSENSOR_MODES:
        raise FaultError('pressure_sensor mode=%r must be one of %s' % (
            full['mode'], ', '.join(PSENSOR_MODES)))
    if name == 'lead_screw_slip' and not -0.5 <= full['slip'] <= 1:
        raise FaultError('lead_screw_slip slip=%r must be in [-0.5, 1]' % full['slip'])
    if name == 'power' and not (full['battery_mv'] == 0 or 2500 <= full['battery_mv'] <= 4500):
        raise FaultError('power battery_mv=%r must be 0 (keep) or 2500..4500' % full['battery_mv'])
    if name == 'arrhythmia' and not 0 < full['irregularity'] <= 0.6:
        raise FaultError('arrhythmia irregularity=%r must be in (0, 0.6]' % full['irregularity'])
    if name == 'syringe_diameter' and not 3 <= full['diameter_mm'] <= 40:
        raise FaultError('syringe_diameter diameter_mm=%r must be in 3..40' % full['diameter_mm'])
    return full


def inject(plant, name, **params):
    p = check_params(name, params)
    if name in POWER_FAULTS:
        raise FaultError('%s is applied by the runner (Simulation.apply), not to the plant' % name)
    if name in _MONITOR_FAULTS:
        _inject_monitor_fault(plant, name, p)
        return p
    if name == 'downstream_occlusion':
        s = p['severity']
        plant.occlusion_factor = math.inf if s >= 1 else 1.0 / (1.0 - s)
    elif name == 'upstream_occlusion':
        if not hasattr(plant, 'upstream_factor'):
            raise FaultError('upstream_occlusion needs a peristaltic pump (this plant has no inlet tube)')
        s = p['severity']
        plant.upstream_factor = math.inf if s >= 1 else 1.0 / (1.0 - s)
    elif name == 'syringe_removed':
        plant.syringe_present = False
    elif name == 'clamp_open':
        plant.clamp_closed = False
    elif name == 'motor_stall':
        plant.stalled = True
    elif name == 'arterial_step':
        plant.arterial.offset_mmhg += p['offset_mmhg']
    elif name == 'arrhythmia':
        plant.arterial.start_arrhythmia(plant.rng, p['irregularity'])
    elif name == 'arterial_drift':
        plant.arterial.drift_mmhg_s = p['mmhg_per_h'] / 3600.0
    elif name == 'air_bubble':
        plant.add_bubble(p['volume_ul'])
    elif name == 'air_train':
        plant.start_air_train(int(p['count']), p['volume_ul'], p['interval'])
    return p


def clear(plant, name, **params):
    p = check_params(name, params)
    if name in POWER_FAULTS:
        raise FaultError('%s cannot be cleared: the board has rebooted' % name)
    if name in _MONITOR_FAULTS:
        _clear_monitor_fault(plant, name)
        return
    if name == 'downstream_occlusion':
        plant.occlusion_factor = 1.0
    elif name == 'upstream_occlusion':
        if hasattr(plant, 'upstream_factor'):
            plant.upstream_factor = 1.0
    elif name == 'syringe_removed':
        plant.syringe_present = True
    elif name == 'clamp_open':
        plant.clamp_closed = True
    elif name == 'motor_stall':
        plant.stalled = False
    elif name == 'arterial_step':
        plant.arterial.offset_mmhg -= p['offset_mmhg']
    elif name == 'arrhythmia':
        plant.arterial.stop_arrhythmia()
    elif name == 'arterial_drift':
        plant.arterial.drift_mmhg_s = 0.0
    elif name == 'air_bubble':
        plant.purge_air()
    elif name == 'air_train':
        plant.stop_air_train()
