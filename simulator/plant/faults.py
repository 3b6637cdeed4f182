"""Named faults, injected into the plant at run time or from a scenario.

As in ArduPilot's SITL, a fault is a name plus parameters; `inject` and
`clear` are the only ways the outside world disturbs the plant. Each fault is
one entry of the table below: what it does physically, its parameters with
their defaults and allowed values, and what injecting and clearing it does to
the plant. A new fault is a new entry.
"""
import math


class FaultError(ValueError):
    pass


class Param:
    """A fault parameter: its default, a check and the words for what it allows."""

    def __init__(self, default, ok, allowed):
        self.default = default
        self.ok = ok
        self.allowed = allowed


class Fault:
    """A named fault: `inject(plant, p)` and `clear(plant, p)` with `p` the
    checked parameters; `plant_level` False for the board's supply faults,
    which the runtime applies (a power cut reboots the device)."""

    def __init__(self, name, doc, params, inject, clear, plant_level=True):
        self.name = name
        self.doc = doc
        self.params = params
        self.inject = inject
        self.clear = clear
        self.plant_level = plant_level

    @property
    def defaults(self):
        return {k: v.default for k, v in self.params.items()}


def _severity_factor(s):
    return math.inf if s >= 1 else 1.0 / (1.0 - s)


def _set(attr, value):
    def apply(plant, p):
        setattr(plant, attr, value)
    return apply


def _upstream(plant, p):
    if not hasattr(plant, 'upstream_factor'):
        raise FaultError('upstream_occlusion needs a peristaltic pump (this plant has no inlet tube)')
    plant.upstream_factor = _severity_factor(p['severity'])


def _upstream_clear(plant, p):
    if hasattr(plant, 'upstream_factor'):
        plant.upstream_factor = 1.0


def _psensor(plant, p):
    m = p['mode']
    value = {'offset': p['offset_mmhg'], 'drift': p['mmhg_per_h'], 'noise': p['noise_mmhg']}.get(m, 0.0)
    plant.psensor = [m, value, plant.t_s, None]


def _power(plant, p):
    plant.mains = False
    if p['battery_mv']:
        plant.battery_mv = float(p['battery_mv'])
    plant.drain_mv_h = p['drain_mv_per_h']


def _runtime_applies(name):
    """inject and clear of a supply fault, which the runtime applies itself."""
    def inject(plant, p):
        raise FaultError('%s is applied by the runner (Simulation.apply), not to the plant' % name)

    def clear(plant, p):
        raise FaultError('%s cannot be cleared: the board has rebooted' % name)
    return inject, clear


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


PSENSOR_MODES = ('stuck', 'offset', 'drift', 'noise', 'disconnected')
_SEVERITY = Param(1.0, lambda v: 0 < v <= 1, 'in (0, 1]')
_OFF_S = Param(0.0, lambda v: 0 <= v <= 86400, 'in [0, 86400] s')

_TABLE = (
    Fault('downstream_occlusion', ('catheter blocked: severity 1.0 = no flow at all; 0 < s < 1 multiplies the '
          'catheter resistance by 1/(1-s)'), {'severity': _SEVERITY},
          lambda pl, p: setattr(pl, 'occlusion_factor', _severity_factor(p['severity'])),
          _set('occlusion_factor', 1.0)),
    Fault('syringe_removed', 'syringe taken out of the cradle', {},
          _set('syringe_present', False), _set('syringe_present', True)),
    Fault('upstream_occlusion', ('peristaltic only: bag-side tube blocked (kinked, clamp closed): severity 1.0 = '
          'no refill at all, 0 < s < 1 multiplies the inlet resistance by 1/(1-s); the '
          'pockets fill less and less and the output falls'), {'severity': _SEVERITY},
          _upstream, _upstream_clear),
    Fault('clamp_open', 'plunger clamp opened', {}, _set('clamp_closed', False), _set('clamp_closed', True)),
    Fault('motor_stall', 'the motor driver emits no steps (stalled or disconnected)', {}, _set('stalled', True), _set('stalled', False)),
    Fault('arterial_step', 'patient blood pressure shifts by offset_mmhg',
          {'offset_mmhg': Param(15.0, _number, 'a number')},
          lambda pl, p: setattr(pl.arterial, 'offset_mmhg', pl.arterial.offset_mmhg + p['offset_mmhg']),
          lambda pl, p: setattr(pl.arterial, 'offset_mmhg', pl.arterial.offset_mmhg - p['offset_mmhg'])),
    Fault('arrhythmia', ('irregular heart beats (atrial-fibrillation-like): each beat lasts the mean RR '
          'times 1 +- irregularity (uniform), pulse pressure in proportion'),
          {'irregularity': Param(0.3, lambda v: 0 < v <= 0.6, 'in (0, 0.6]')},
          lambda pl, p: pl.arterial.start_arrhythmia(pl.rng, p['irregularity']),
          lambda pl, p: pl.arterial.stop_arrhythmia()),
    Fault('arterial_drift', ('patient blood pressure drifts at mmhg_per_h until cleared (slow hypertension, or '
          'recovery when negative)'),
          {'mmhg_per_h': Param(5.0, _number, 'a number')},
          lambda pl, p: setattr(pl.arterial, 'drift_mmhg_s', p['mmhg_per_h'] / 3600.0),
          lambda pl, p: setattr(pl.arterial, 'drift_mmhg_s', 0.0)),
    Fault('power_loss', ('the power goes now and comes back after off_s: the motor stops, RAM is lost, the '
          'board reboots on the same storage (handled by the runner)'), {'off_s': _OFF_S},
          *_runtime_applies('power_loss'), plant_level=False),
    Fault('power_loss_at_next_write', ('the power goes in the middle of the next non-volatile write: only its first '
          'fraction of bytes lands (a torn record), then as power_loss (handled by the '
          'runner)'),
          {'off_s': _OFF_S, 'fraction': Param(0.5, lambda v: 0 <= v < 1, 'in [0, 1)')},
          *_runtime_applies('power_loss_at_next_write'), plant_level=False),
    Fault('air_bubble', ('a bubble of volume_ul enters the line at the syringe outlet; it reaches the air '
          'sensor after 20 uL more is pushed (plant.line.AIR_SENSOR_LINE_UL); clear: the '
          'line is primed, all air gone'),
          {'volume_ul': Param(100.0, lambda v: 0 < v <= 5000, 'in (0, 5000]')},
          lambda pl, p: pl.add_bubble(p['volume_ul']), lambda pl, p: pl.purge_air()),
    Fault('air_train', ('count bubbles of volume_ul enter the line, the first now, then one every '
          'interval seconds (a duration in scenarios); clear: the train stops'),
          {'volume_ul': Param(10.0, lambda v: 0 < v <= 5000, 'in (0, 5000]'),
           'count': Param(100, lambda v: v == int(v) and v >= 1, 'an integer >= 1'),
           'interval': Param(30.0, lambda v: v >= 0.1, '>= 0.1 s')},
          lambda pl, p: pl.start_air_train(int(p['count']), p['volume_ul'], p['interval']),
          lambda pl, p: pl.stop_air_train()),
    # what firmware/monitors.py watches
    Fault('pressure_sensor', ('the pressure sensor fails: mode stuck (frozen at its reading), offset '
          '(offset_mmhg added), drift (mmhg_per_h from now), noise (noise_mmhg more, 1 '
          'sigma), disconnected (reads 0 counts); clear: sensor healthy'),
          {'mode': Param('stuck', lambda v: v in PSENSOR_MODES, 'one of ' + ', '.join(PSENSOR_MODES)),
           'offset_mmhg': Param(-30.0, _number, 'a number'),
           'mmhg_per_h': Param(-60.0, _number, 'a number'),
           'noise_mmhg': Param(5.0, lambda v: v >= 0, '>= 0')},
          _psensor, _set('psensor', None)),
    Fault('lead_screw_slip', ('a fraction `slip` of the emitted steps do not move the plunger (worn nut, '
          'slipping coupling); negative: the plunger runs ahead of the steps'),
          {'slip': Param(0.2, lambda v: -0.5 <= v <= 1, 'in [-0.5, 1]')},
          lambda pl, p: setattr(pl, 'slip', p['slip']), _set('slip', 0.0)),
    Fault('power', ('mains lost, the pump runs on its battery: battery_mv sets the battery now (0 '
          'keeps it), drain_mv_per_h drains it; clear: mains back'),
          {'battery_mv': Param(0.0, lambda v: v == 0 or 2500 <= v <= 4500, '0 (keep) or 2500..4500'),
           'drain_mv_per_h': Param(200.0, lambda v: v >= 0, '>= 0')},
          _power, _set('mains', True)),
    Fault('syringe_diameter', ('the barrel inner diameter is diameter_mm, not the nominal one (a wrong or out- '
          'of-tolerance syringe); inject before the start; clear: nominal barrel'),
          {'diameter_mm': Param(27.0, lambda v: 3 <= v <= 40, 'in 3..40')},
          lambda pl, p: pl.set_diameter(p['diameter_mm']),
          lambda pl, p: pl.set_diameter(pl.cfg.data['syringe']['inner_diameter_mm'])),
)

FAULTS = {f.name: f for f in _TABLE}
# faults of the board's supply rather than the plant: simulator.runtime.inproc applies them
POWER_FAULTS = tuple(f.name for f in _TABLE if not f.plant_level)


def check_params(name, params):
    """The fault's parameters with defaults filled in, every one checked."""
    f = FAULTS.get(name)
    if f is None:
        raise FaultError('unknown fault %r (known: %s)' % (name, ', '.join(sorted(FAULTS))))
    for k in params:
        if k not in f.params:
            raise FaultError('fault %s has no parameter %r (allowed: %s)' % (
                name, k, ', '.join(sorted(f.params)) or 'none'))
    full = f.defaults
    full.update(params)
    for k, spec in f.params.items():
        try:
            ok = spec.ok(full[k])
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise FaultError('%s %s=%r must be %s' % (name, k, full[k], spec.allowed))
    return full


def inject(plant, name, **params):
    p = check_params(name, params)
    FAULTS[name].inject(plant, p)
    return p


def clear(plant, name, **params):
    p = check_params(name, params)
    FAULTS[name].clear(plant, p)
