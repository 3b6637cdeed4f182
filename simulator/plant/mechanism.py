"""A syringe driver and a balance as a bench sees them, not as drawn.

The ideal plant (simulator/plant/line.py) moves exactly step_ul per microstep and
the accuracy bench weighs with a perfect balance: its trumpet is flat by
construction. `BenchMechanism` adds the effects that shape the trumpets
published for commercial syringe pumps, each a named parameter (table
below, and docs/plant.md with the sources and what each does to a trumpet):

  barrel_diameter_error_pct   true barrel diameter off the nominal one (+ wider)
  lead_screw_error_um         once-per-revolution lead-screw (and nut) position
                              error, amplitude; phase drawn from the seed
  microstep_error_fraction    microstep angle error, as a fraction of a full
                              step, repeating every 4 full steps (one electrical
                              cycle of a two-phase stepper); phase from the seed
  stopper_static_ul           stick-slip of the rubber stopper: plunger travel
  stopper_dynamic_ul          (as volume) stored in the stopper before it
                              breaks free, and what stays stored while it slides
  stick_slip_below_ul_s       stick-slip only below this flow; above it the
                              stopper slides steadily (Stribeck)
  creep_ul_per_mmhg           stopper and barrel creep under line pressure:
  creep_tau_s                 volume absorbed per mmHg, with its time constant
  adc_bits                    pressure ADC resolution (of the 16-bit count scale)
  sensor_offset_drift_mmhg_h  pressure sensor zero drift

`BenchBalance`: resolution, noise, evaporation, sampling period.

Named configurations: MECHANISMS['ideal'] (every effect off) and
MECHANISMS['bench'] (the defaults); `make_mechanism(name)` gives None for
'ideal', so the ideal plant is exactly plant.py's. The plant calls
`displace(plant, moved_steps, dt_s)` for the volume a move puts into the
line and `pressure_raw(raw, t_s, counts_per_mmhg)` for the sensor.
"""
import math

import numpy as np

BENCH_DEFAULTS = {
    'barrel_diameter_error_pct': 0.0,
    'lead_screw_error_um': 5.0,
    'microstep_error_fraction': 0.03,
    'stopper_static_ul': 1.2,
    'stopper_dynamic_ul': 0.7,
    'stick_slip_below_ul_s': 0.5,
    'creep_ul_per_mmhg': 0.1,
    'creep_tau_s': 600.0,
    'adc_bits': 12,
    'sensor_offset_drift_mmhg_h': 0.2,
}
IDEAL = {
    'barrel_diameter_error_pct': 0.0,
    'lead_screw_error_um': 0.0,
    'microstep_error_fraction': 0.0,
    'stopper_static_ul': 0.0,
    'stopper_dynamic_ul': 0.0,
    'stick_slip_below_ul_s': 0.0,
    'creep_ul_per_mmhg': 0.0,
    'creep_tau_s': 600.0,
    'adc_bits': 16,
    'sensor_offset_drift_mmhg_h': 0.0,
}
MECHANISMS = {'ideal': IDEAL, 'bench': BENCH_DEFAULTS}

BALANCE_DEFAULTS = {
    'resolution_mg': 0.1,       # a five-place analytical balance
    'noise_mg': 0.05,           # 1 sigma, per reading
    'evaporation_mg_h': 0.3,    # from the collecting vessel, under an oil layer
    'sample_s': 30.0,           # IEC 60601-2-24
}
IDEAL_BALANCE = {'resolution_mg': 0.0, 'noise_mg': 0.0, 'evaporation_mg_h': 0.0, 'sample_s': 30.0}


SIGNED = ('barrel_diameter_error_pct',)   # a barrel may be narrower than nominal


def check(params, defaults, what):
    """Merge `params` over `defaults`; one clear line for an unknown name or
    a negative value (where a sign makes no sense)."""
    out = dict(defaults)
    for k, v in (params or {}).items():
        if k not in defaults:
            raise ValueError('%s parameter %r unknown (known: %s)' % (what, k, ', '.join(sorted(defaults))))
        if not isinstance(v, (int, float)) or (v < 0 and k not in SIGNED):
            raise ValueError('%s %s=%r not allowed (a number >= 0)' % (what, k, v))
        if k in SIGNED and not -10 <= v <= 10:
            raise ValueError('%s %s=%r not allowed (-10..10)' % (what, k, v))
        out[k] = v
    if out.get('stopper_dynamic_ul', 0) > out.get('stopper_static_ul', 0):
        raise ValueError('%s stopper_dynamic_ul=%g above stopper_static_ul=%g (kinetic friction '
                         'is below static)' % (what, out['stopper_dynamic_ul'], out['stopper_static_ul']))
    if 'adc_bits' in out and not 8 <= out['adc_bits'] <= 16:
        raise ValueError('%s adc_bits=%r not allowed (8..16)' % (what, out['adc_bits']))
    return out


class BenchMechanism:
    def __init__(self, pump_cfg, params=None, seed=0):
        p = check(params, BENCH_DEFAULTS, 'mechanism')
        self.p = p
        rng = np.random.default_rng([seed, 0x6d656368])
        drv = pump_cfg.data['drive']
        self.steps_per_rev = drv['full_steps_per_rev'] * drv['microsteps']
        self.microsteps = drv['microsteps']
        self.pitch_um = drv['lead_screw_pitch_mm'] * 1000.0
        d_nom = pump_cfg.data['syringe'].get('true_inner_diameter_mm') or \
            pump_cfg.data['syringe']['inner_diameter_mm']
        d = d_nom * (1.0 + p['barrel_diameter_error_pct'] / 100.0)
        self.area_mm2 = math.pi * d * d / 4.0
        self.ul_per_um = self.area_mm2 / 1000.0
        self.screw_phase = rng.uniform(0, 2 * math.pi)
        self.ustep_phase = rng.uniform(0, 2 * math.pi)
        self.full_step_um = self.pitch_um / drv['full_steps_per_rev']
        self.moved = 0                # steps that reached the plunger (after backlash)
        self._t = 0.0                 # plant time of the last creep update
        self.windup_ul = 0.0          # plunger travel stored in the stopper
        self.creep_ul = 0.0           # volume taken by creep under pressure
        self.slipping = False
        self.quantum = 1 << (16 - int(p['adc_bits']))

    def position_um(self, steps):
        """Plunger position for a motor count: nominal travel plus the lead
        screw's once-per-revolution error and the microstep angle error."""
        p = self.p
        x = steps * self.pitch_um / self.steps_per_rev
        if p['lead_screw_error_um']:
            x += p['lead_screw_error_um'] * math.sin(2 * math.pi * steps / self.steps_per_rev
                                                     + self.screw_phase)
        if p['microstep_error_fraction']:
            cyc = 4 * self.microsteps        # one electrical cycle
            x += p['microstep_error_fraction'] * self.full_step_um * math.sin(
                2 * math.pi * steps / cyc + self.ustep_phase)
        return x

    def displace(self, plant, moved, dt_s):
        """Volume into the line for `moved` steps (past the backlash) over
        dt_s: travel through the (errored) screw, then the stopper's
        stick-slip and creep."""
        p = self.p
        a = self.moved
        self.moved = a + moved
        dv = (self.position_um(a + moved) - self.position_um(a)) * self.ul_per_um
        # the time since the last move: at low rates a step comes every few
        # ticks, and the stopper's speed is that step over the whole gap, not
        # over the tick it lands in (creep goes on between steps too)
        now = plant.t_s + dt_s
        dt = max(now - self._t, dt_s)
        self._t = now
        if p['stopper_static_ul'] and dv > 0:
            dv = self._stick_slip(dv, dt)
        elif dv < 0:
            # backing off: what is wound up in the stopper comes back first
            back = min(self.windup_ul, -dv)
            self.windup_ul -= back
            dv += back
        if p['creep_ul_per_mmhg']:
            target = p['creep_ul_per_mmhg'] * max(plant.pressure_mmhg, 0.0)
            step = (target - self.creep_ul) * (1.0 - math.exp(-dt / p['creep_tau_s']))
            self.creep_ul += step
            dv -= step
        return dv

    def held_ul(self):
        """Plunger travel (as volume) the stopper holds back: wound up in
        its rubber, or taken by creep. A travel sensor on the carriage sees
        it; the line does not."""
        return self.windup_ul + self.creep_ul

    def _stick_slip(self, dv, dt_s):
        p = self.p
        if dv / dt_s >= p['stick_slip_below_ul_s']:
            # fast enough to slide steadily: the stopper holds its dynamic
            # wind-up (winding up to it first: a forward push never draws
            # fluid back) and passes the rest
            total = self.windup_ul + dv
            held = min(total, p['stopper_dynamic_ul'])
            self.windup_ul = held
            self.slipping = True
            return total - held
        self.windup_ul += dv
        if self.windup_ul >= p['stopper_static_ul']:
            # breaks free and slides until only the dynamic wind-up is left
            out = self.windup_ul - p['stopper_dynamic_ul']
            self.windup_ul = p['stopper_dynamic_ul']
            return out
        return 0.0

    def pressure_raw(self, raw, t_s, counts_per_mmhg):
        p = self.p
        if p['sensor_offset_drift_mmhg_h']:
            raw += int(p['sensor_offset_drift_mmhg_h'] * t_s / 3600.0 * counts_per_mmhg)
        q = self.quantum
        if q > 1:
            raw = (raw // q) * q
        return 0 if raw < 0 else (65535 if raw > 65535 else raw)


def make_mechanism(name_or_params, pump_cfg, seed=0):
    """None for 'ideal' (plant.py as it is), else a BenchMechanism: 'bench'
    for the defaults, or a dict of parameters over the defaults."""
    if name_or_params in (None, 'ideal'):
        return None
    if name_or_params == 'bench':
        return BenchMechanism(pump_cfg, None, seed)
    if isinstance(name_or_params, dict):
        return BenchMechanism(pump_cfg, name_or_params, seed)
    raise ValueError('mechanism %r unknown (ideal, bench, or a dict of parameters)' % (name_or_params,))


class BenchBalance:
    """Readings of the collected mass: evaporation loses mass at a steady
    rate, each reading has noise and is rounded to the resolution."""

    def __init__(self, params=None, seed=0):
        self.p = check(params, BALANCE_DEFAULTS, 'balance')
        self.rng = np.random.default_rng([seed, 0x62616c])

    def reading_g(self, mass_g, t_s):
        p = self.p
        m = mass_g - p['evaporation_mg_h'] * t_s / 3600.0 / 1000.0
        if p['noise_mg']:
            m += self.rng.standard_normal() * p['noise_mg'] / 1000.0
        res = p['resolution_mg'] / 1000.0
        return round(m / res) * res if res > 0 else m
