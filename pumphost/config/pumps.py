"""Pump and scenario configs: schemas, loading, derived figures.

Pump files describe hardware (syringe, drive, line, sensor) and the firmware
settings that follow from it; the volume per microstep is derived here from
the NOMINAL syringe diameter (that is what the device is told), while the
plant may carry a true diameter that differs (tolerance, calibration tests).

Two kinds share the line, sensor, limits and firmware sections: `syringe`
(syringe + lead-screw drive) and `peristaltic` (reservoir + roller head +
tubing, simulator/plant/peristaltic.py). `kind` picks the schema; PumpConfig
gives both the same derived figures (step volumes, `reservoir`,
`compliance_ul_per_mmhg`).
"""
import math
from pathlib import Path

import pumphost.configs

from pumphost.config.schema import ConfigError, Field, check_map, load_yaml, fail

CONFIGS = Path(pumphost.configs.__file__).resolve().parent   # the repo's configs/, or the installed copy

N = Field

KINDS = ('syringe', 'peristaltic')

PUMP_SCHEMA = {
    'name': N('str', doc='pump model name'),
    'kind': N('str', choices=set(KINDS)),
    'description': N('str', required=False, default=''),
    'syringe': N('map', fields={
        'nominal_volume_ml': N('number', lo=1, hi=100),
        'inner_diameter_mm': N('number', lo=3, hi=40, doc='barrel inner diameter'),
        'true_inner_diameter_mm': N('number', required=False, lo=3, hi=40,
                                    doc='plant only: the real barrel, if off nominal'),
        'dead_space_ml': N('number', lo=0, hi=2),
        'compliance_ul_per_mmhg': N('number', lo=0.05, hi=10,
                                    doc='syringe and line compliance'),
    }),
    'drive': N('map', fields={
        'lead_screw_pitch_mm': N('number', lo=0.1, hi=10),
        'full_steps_per_rev': N('int', lo=24, hi=400),
        'microsteps': N('int', lo=1, hi=256),
        'backlash_mm': N('number', required=False, default=0.0, lo=0, hi=1),
    }),
    'line': N('map', fields={
        'catheter_resistance_mmhg_s_per_ul': N('number', lo=0.01, hi=100),
        'anti_reflux_valve': N('bool', required=False, default=True),
    }),
    'sensor': N('map', fields={
        'pressure_zero_counts': N('int', lo=0, hi=20000),
        'pressure_counts_per_mmhg': N('number', lo=1, hi=200),
        'pressure_noise_mmhg': N('number', lo=0, hi=20, doc='1-sigma sensor noise'),
        'true_zero_counts': N('int', required=False, lo=0, hi=20000,
                              doc='plant only: the real sensor zero, if off nominal'),
        'true_counts_per_mmhg': N('number', required=False, lo=1, hi=200,
                                  doc='plant only: the real sensor gain, if off nominal'),
    }),
    'limits': N('map', fields={
        'max_rate_ml_h': N('number', lo=1, hi=999),
        'min_rate_ml_h': N('number', lo=0.001, hi=1),
        'occlusion_delta_mmhg': N('number', lo=10, hi=500, doc='first occlusion check'),
        'pressure_hard_limit_mmhg': N('number', lo=100, hi=1000),
    }),
    'firmware': N('map', required=False, default={}, fields={
        'tick_ms': N('int', required=False, default=100, lo=10, hi=100),
        'near_empty_min': N('int', required=False, default=15, lo=1, hi=120,
                            doc='near-empty alarm: syringe time left at the current rate'),
        'pressure_stuck_s': N('int', required=False, default=30, lo=5, hi=600,
                              doc='pressure reading unchanged while delivering: stuck'),
        'infusion_error_pct': N('int', required=False, default=10, lo=2, hi=50,
                                doc='over/under infusion over 15 min: travel vs steps'),
        'battery_low_mv': N('int', required=False, default=3600, lo=2500, hi=4500),
        'battery_critical_mv': N('int', required=False, default=3400, lo=2500, hi=4500),
        'alarm_escalate_min': N('int', required=False, default=5, lo=1, hi=60,
                                doc='medium alarm unacknowledged: annunciated as high'),
        'checkpoint_s': N('int', required=False, default=60, lo=1, hi=3600),
        'startup_fill_rate_ml_h': N('number', required=False, default=10, lo=0, hi=100,
                                    doc='start-up fill of the line compliance (0 = off)'),
    }),
}

# peristaltic kind: everything but syringe and drive is shared with the syringe
PERISTALTIC_SCHEMA = {k: v for k, v in PUMP_SCHEMA.items() if k not in ('syringe', 'drive')}
PERISTALTIC_SCHEMA.update({
    'reservoir': N('map', fields={
        'nominal_volume_ml': N('number', lo=1, hi=100, doc='bag or cassette reservoir'),
        'dead_space_ml': N('number', lo=0, hi=5, doc='left in the reservoir and inlet when empty'),
    }),
    'head': N('map', fields={
        'stroke_volume_ml_per_rev': N('number', lo=0.005, hi=2, doc='nominal volume per revolution'),
        'true_stroke_volume_ml_per_rev': N('number', required=False, lo=0.005, hi=2,
                                           doc='plant only: the real tubing, if off nominal'),
        'rollers': N('int', lo=2, hi=12, doc='rollers (or finger cycles) per revolution'),
        'ripple_pct': N('number', required=False, default=15.0, lo=0, hi=90,
                        doc='flow ripple over a roller period'),
        'backflow_ul_per_mmhg': N('number', required=False, default=0.02, lo=0, hi=1,
                                  doc='volume flowing back into a pocket as its roller lifts, per mmHg '
                                      'outlet over inlet'),
        'backflow_period_fraction': N('number', required=False, default=0.08, lo=0.01, hi=0.5,
                                      doc='part of a roller period the backflow dip lasts'),
        'slip_pct_per_100mmhg': N('number', required=False, default=1.0, lo=0, hi=20,
                                  doc='stroke lost past the rollers per 100 mmHg back pressure'),
    }),
    'drive': N('map', fields={
        'full_steps_per_rev': N('int', lo=24, hi=400),
        'microsteps': N('int', lo=1, hi=256),
        'gear_ratio': N('number', required=False, default=1.0, lo=1, hi=100,
                        doc='motor revolutions per head revolution'),
    }),
    'tubing': N('map', fields={
        'compliance_ul_per_mmhg': N('number', lo=0.05, hi=10, doc='pump outlet tubing and line'),
        'upstream_compliance_ul_per_mmhg': N('number', required=False, default=1.0, lo=0.05, hi=50,
                                             doc='bag-side tubing'),
        'upstream_resistance_mmhg_s_per_ul': N('number', required=False, default=0.05, lo=0.001, hi=10),
        'bag_head_mmhg': N('number', required=False, default=30.0, lo=0, hi=300,
                           doc='reservoir height above the pump (40 cm: 30 mmHg)'),
        'collapse_mmhg': N('number', required=False, default=100.0, lo=5, hi=700,
                           doc='suction at which a pocket no longer fills'),
    }),
})

SCHEMAS = {'syringe': PUMP_SCHEMA, 'peristaltic': PERISTALTIC_SCHEMA}


class PumpConfig:
    def __init__(self, path, data):
        self.path = path
        self.data = data
        self.name = data['name']
        self.kind = data['kind']
        if self.kind == 'peristaltic':
            self._peristaltic(path, data)
        else:
            self._syringe(path, data)
        lim = data['limits']
        if lim['min_rate_ml_h'] >= lim['max_rate_ml_h']:
            fail(path, 'limits.min_rate_ml_h', lim['min_rate_ml_h'],
                 'must be below limits.max_rate_ml_h (%g)' % lim['max_rate_ml_h'])

    def _peristaltic(self, path, data):
        head, drv = data['head'], data['drive']
        self.reservoir = data['reservoir']
        self.compliance_ul_per_mmhg = data['tubing']['compliance_ul_per_mmhg']
        self.microsteps_per_rev = int(round(drv['full_steps_per_rev'] * drv['microsteps'] * drv['gear_ratio']))
        self.step_ul_nominal = head['stroke_volume_ml_per_rev'] * 1000.0 / self.microsteps_per_rev
        true_stroke = head.get('true_stroke_volume_ml_per_rev') or head['stroke_volume_ml_per_rev']
        self.step_ul_true = true_stroke * 1000.0 / self.microsteps_per_rev
        self.step_pl = int(round(self.step_ul_nominal * 1e6))
        if not 1000 <= self.step_pl <= 298000:
            fail(path, 'head.stroke_volume_ml_per_rev', head['stroke_volume_ml_per_rev'],
                 'gives %d pL per microstep; the firmware needs 1000..298000 '
                 '(change stroke volume, microsteps or gear ratio)' % self.step_pl)

    def _syringe(self, path, data):
        syr = data['syringe']
        self.reservoir = syr
        self.compliance_ul_per_mmhg = syr['compliance_ul_per_mmhg']
        drv = data['drive']
        self.microsteps_per_rev = drv['full_steps_per_rev'] * drv['microsteps']
        self.travel_per_step_mm = drv['lead_screw_pitch_mm'] / self.microsteps_per_rev
        self.step_ul_nominal = self.area_mm2(syr['inner_diameter_mm']) * self.travel_per_step_mm
        true_d = syr.get('true_inner_diameter_mm') or syr['inner_diameter_mm']
        self.step_ul_true = self.area_mm2(true_d) * self.travel_per_step_mm
        self.step_pl = int(round(self.step_ul_nominal * 1e6))
        if not 1000 <= self.step_pl <= 298000:
            fail(path, 'syringe.inner_diameter_mm', syr['inner_diameter_mm'],
                 'gives %d pL per microstep; the firmware needs 1000..298000 '
                 '(change diameter, pitch or microsteps)' % self.step_pl)

    @staticmethod
    def area_mm2(d_mm):
        return math.pi * d_mm * d_mm / 4.0

    def firmware_settings(self):
        """Integer settings for firmware.settings.Settings."""
        syr, lim, sen = self.reservoir, self.data['limits'], self.data['sensor']
        fw = self.data['firmware']
        return dict(
            tick_ms=fw['tick_ms'],
            step_pl=self.step_pl,
            syringe_volume_nl=int(round(syr['nominal_volume_ml'] * 1e6)),
            min_rate_nl_h=int(round(lim['min_rate_ml_h'] * 1e6)),
            max_rate_nl_h=int(round(lim['max_rate_ml_h'] * 1e6)),
            pressure_zero_counts=sen['pressure_zero_counts'],
            pressure_span_counts_per_100mmhg=int(round(sen['pressure_counts_per_mmhg'] * 100)),
            occlusion_delta_mmhg_x10=int(round(lim['occlusion_delta_mmhg'] * 10)),
            pressure_hard_limit_mmhg_x10=int(round(lim['pressure_hard_limit_mmhg'] * 10)),
            checkpoint_s=fw['checkpoint_s'],
            startup_fill_rate_nl_h=int(round(fw['startup_fill_rate_ml_h'] * 1e6)),
            step_travel_nm=int(round(getattr(self, 'travel_per_step_mm', 0.000391) * 1e6)),
            near_empty_s=fw['near_empty_min'] * 60,
            pressure_stuck_s=fw['pressure_stuck_s'],
            infusion_error_pct=fw['infusion_error_pct'],
            battery_low_mv=fw['battery_low_mv'],
            battery_critical_mv=fw['battery_critical_mv'],
            alarm_escalate_s=fw['alarm_escalate_min'] * 60,
            pump_kind=1 if self.kind == 'peristaltic' else 0,
        )


def resolve(kind, name_or_path):
    """A bare name means configs/<kind>/<name>.yaml; anything else is a path.
    A bare name that is not shipped is refused naming the shipped ones (the
    installed configs live in site-packages: its path would not help)."""
    p = Path(name_or_path)
    if p.suffix in ('.yaml', '.yml') or p.exists():
        return p
    shipped = CONFIGS / kind / (str(name_or_path) + '.yaml')
    if not shipped.exists():
        raise ConfigError('%s %r: not a shipped name (%s) nor a .yaml file'
                          % (kind, str(name_or_path), ', '.join(available(kind))))
    return shipped


def load_pump(name_or_path):
    path = resolve('pumps', name_or_path)
    raw = load_yaml(path)
    kind = raw.get('kind')
    if kind not in SCHEMAS:
        fail(path, 'kind', kind, 'must be one of: ' + ', '.join(sorted(SCHEMAS)))
    return PumpConfig(path, check_map(raw, SCHEMAS[kind], path))


def available(kind):
    return sorted(p.stem for p in (CONFIGS / kind).glob('*.yaml'))


__all__ = ['ConfigError', 'PumpConfig', 'load_pump', 'resolve', 'available']
