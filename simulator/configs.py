"""Pump and scenario configs: schemas, loading, derived figures.

Pump files describe hardware (syringe, drive, line, sensor) and the firmware
settings that follow from it; the volume per microstep is derived here from
the NOMINAL syringe diameter (that is what the device is told), while the
plant may carry a true diameter that differs (tolerance, calibration tests).
"""
import math
from pathlib import Path

from simulator.schema import ConfigError, Field, check_map, load_yaml, fail

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / 'configs'

N = Field

PUMP_SCHEMA = {
    'name': N('str', doc='pump model name'),
    'kind': N('str', choices={'syringe'}),
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
    }),
    'limits': N('map', fields={
        'max_rate_ml_h': N('number', lo=1, hi=999),
        'min_rate_ml_h': N('number', lo=0.001, hi=1),
        'occlusion_delta_mmhg': N('number', lo=10, hi=500, doc='first occlusion check'),
        'pressure_hard_limit_mmhg': N('number', lo=100, hi=1000),
    }),
    'firmware': N('map', required=False, default={}, fields={
        'tick_ms': N('int', required=False, default=100, lo=10, hi=100),
        'occlusion_settle_s': N('int', required=False, default=300, lo=0, hi=3600),
        'checkpoint_s': N('int', required=False, default=60, lo=1, hi=3600),
        'startup_fill_rate_ml_h': N('number', required=False, default=10, lo=0, hi=100,
                                    doc='start-up fill of the line compliance (0 = off)'),
    }),
}


class PumpConfig:
    def __init__(self, path, data):
        self.path = path
        self.data = data
        self.name = data['name']
        syr = data['syringe']
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
        lim = data['limits']
        if lim['min_rate_ml_h'] >= lim['max_rate_ml_h']:
            fail(path, 'limits.min_rate_ml_h', lim['min_rate_ml_h'],
                 'must be below limits.max_rate_ml_h (%g)' % lim['max_rate_ml_h'])

    @staticmethod
    def area_mm2(d_mm):
        return math.pi * d_mm * d_mm / 4.0

    def firmware_settings(self):
        """Integer settings for firmware.settings.Settings."""
        syr, lim, sen = self.data['syringe'], self.data['limits'], self.data['sensor']
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
            occlusion_settle_s=fw['occlusion_settle_s'],
            pressure_hard_limit_mmhg_x10=int(round(lim['pressure_hard_limit_mmhg'] * 10)),
            checkpoint_s=fw['checkpoint_s'],
            startup_fill_rate_nl_h=int(round(fw['startup_fill_rate_ml_h'] * 1e6)),
        )


def resolve(kind, name_or_path):
    """A bare name means configs/<kind>/<name>.yaml; anything else is a path."""
    p = Path(name_or_path)
    if p.suffix in ('.yaml', '.yml') or p.exists():
        return p
    return CONFIGS / kind / (str(name_or_path) + '.yaml')


def load_pump(name_or_path):
    path = resolve('pumps', name_or_path)
    data = check_map(load_yaml(path), PUMP_SCHEMA, path)
    return PumpConfig(path, data)


def available(kind):
    return sorted(p.stem for p in (CONFIGS / kind).glob('*.yaml'))


__all__ = ['ConfigError', 'PumpConfig', 'load_pump', 'resolve', 'available']
