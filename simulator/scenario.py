"""Scenario files: pump, patient, the course to give, and timed events.

The course is given either as a dose (mg/m2 over a duration, with BSA or
height and weight, and a concentration) or as a rate and volume; units are in
every key. Events happen at a time with a unit: inject or clear a named fault,
or a user command (ack, pause, resume, stop).
"""
from simulator.plant import faults
from pumphost.config.pumps import load_pump, resolve
from pumphost.config.dose import bsa_mosteller_m2
from pumphost.config.course import PATIENT
from pumphost.config.programs import COURSE_FIELDS
from pumphost.config.schema import ConfigError, Field as N, check_map, load_yaml, fail

COMMANDS = {'ack', 'pause', 'resume', 'stop', 'start'}

EVENT_FIELDS = {
    'at': N('duration', lo=0, doc='time since start, with a unit'),
    'inject': N('str', required=False, choices=set(faults.FAULTS)),
    'clear': N('str', required=False, choices=set(faults.FAULTS)),
    'command': N('str', required=False, choices=COMMANDS),
    'for': N('duration', required=False, lo=0.1, doc='clear the fault after this long'),
    'params': N('map', required=False, default={}, fields={
        'mode': N('str', required=False, choices=set(faults.PSENSOR_MODES)),
        'noise_mmhg': N('number', required=False, lo=0, hi=50),
        'slip': N('number', required=False, lo=-0.5, hi=1),
        'battery_mv': N('number', required=False, lo=0, hi=4500),
        'drain_mv_per_h': N('number', required=False, lo=0, hi=100000),
        'diameter_mm': N('number', required=False, lo=3, hi=40),
        'severity': N('number', required=False, lo=0.01, hi=1),
        'offset_mmhg': N('number', required=False, lo=-100, hi=100),
        'irregularity': N('number', required=False, lo=0.01, hi=0.6),
        'mmhg_per_h': N('number', required=False, lo=-100, hi=100),
        'volume_ul': N('number', required=False, lo=0.1, hi=5000),
        'count': N('int', required=False, lo=1, hi=100000),
        'interval': N('duration', required=False, lo=0.1, hi=86400),
        'off_s': N('duration', required=False, lo=0, hi=86400),
        'fraction': N('number', required=False, lo=0, hi=0.999),
    }),
}

SCENARIO_SCHEMA = {
    'name': N('str'),
    'description': N('str', required=False, default=''),
    'pump': N('str', doc='a configs/pumps name or a path'),
    'seed': N('int', required=False, default=0, lo=0, hi=2**31 - 1),
    'duration': N('duration', lo=1, hi=60 * 86400, doc='how long to simulate'),
    'trace_period': N('duration', required=False, default='10s', lo=0.1, hi=3600),
    'syringe_fill_ml': N('number', required=False, lo=0.5, hi=100),
    'patient': PATIENT,
    'program': N('map', fields={
        'template': N('str', required=False, doc='a configs/programs name or path'),
        'override_soft_limits': N('bool', required=False, default=False),
        **COURSE_FIELDS,
    }),
    'events': N('list', required=False, default=[], item=N('map', fields=EVENT_FIELDS)),
}


class Scenario:
    def __init__(self, path, data):
        self.path = path
        self.data = data
        self.name = data['name']
        self.seed = data['seed']
        self.duration_s = data['duration']
        self.trace_period_s = data['trace_period']
        self.pump = load_pump(resolve('pumps', data['pump']))
        self.patient = data['patient']
        self._course(path, data['program'])
        syr = self.pump.reservoir
        self.syringe_fill_ml = data['syringe_fill_ml'] or syr['nominal_volume_ml']
        if self.syringe_fill_ml > syr['nominal_volume_ml']:
            fail(path, 'syringe_fill_ml', self.syringe_fill_ml,
                 'must be at most the syringe (%g mL)' % syr['nominal_volume_ml'])
        self.events = self._events(path, data['events'])
        p = self.patient
        if p['diastolic_mmhg'] >= p['systolic_mmhg']:
            fail(path, 'patient.diastolic_mmhg', p['diastolic_mmhg'],
                 'must be below patient.systolic_mmhg (%g)' % p['systolic_mmhg'])

    def _course(self, path, prog):
        """A drug named (or a dose, which is always of a drug): compiled and
        checked against the drug library exactly as a template is, the
        whole course in one device program with its syringe changes. Only a
        bare rate and volume with no drug (a bench run of water) skips the
        library."""
        self.compiled = None
        if prog['template'] is not None:
            return self._template(path, prog)
        if prog['drug'] is not None or prog['dose_mg_per_m2'] is not None:
            from pumphost.config.programs import compile_data, course_template
            data = course_template(path, prog)
            data['override_soft_limits'] = prog['override_soft_limits']
            return self._compiled(compile_data(path, data, self.patient, self.pump,
                                               root='program'))
        self.drug = 'none (no drug named: no library check)'
        for k in ('dose_mg_per_m2', 'concentration_mg_per_ml', 'duration'):
            if prog[k] is not None:
                raise ConfigError('%s: program.%s: a dose needs program.drug' % (path, k))
        for k in ('rate_ml_h', 'volume_ml'):
            if prog[k] is None:
                raise ConfigError('%s: program.%s: missing (needed with a rate)' % (path, k))
        vol, rate = prog['volume_ml'], prog['rate_ml_h']
        self.dose_mg = None
        self.bsa = None
        lim = self.pump.data['limits']
        if not lim['min_rate_ml_h'] <= rate <= lim['max_rate_ml_h']:
            raise ConfigError('%s: program: computed rate %.4f mL/h outside the pump %s (%g..%g mL/h)' % (
                path, rate, self.pump.name, lim['min_rate_ml_h'], lim['max_rate_ml_h']))
        self.volume_ml = vol
        self.rate_ml_h = rate

    def _compiled(self, c):
        self.compiled = c
        self.drug = ', '.join(sorted(c.per_drug))
        self.volume_ml = c.program.total_nl / 1e6
        rates = [s[1] for s in c.program.steps if s[1]]
        self.rate_ml_h = rates[0] / 1e6
        self.dose_mg = None
        self.bsa = None
        for name, (amount, unit, _vol) in c.per_drug.items():
            if unit == 'mg' and len(c.per_drug) == 1:
                self.dose_mg = amount

    def _template(self, path, prog):
        """A regimen template (configs/programs) with this patient: the whole
        course in one device program, syringe changes inside."""
        from pumphost.config.programs import compile_template
        other = [k for k in ('dose_mg_per_m2', 'concentration_mg_per_ml', 'duration',
                             'rate_ml_h', 'volume_ml') if prog[k] is not None]
        if other:
            raise ConfigError('%s: program.template: give a template or a dose/rate, not both (%s)' % (
                path, ', '.join(other)))
        self._compiled(compile_template(prog['template'], self.patient, self.pump,
                                        override=prog['override_soft_limits'] or None))

    def bsa_m2(self, path):
        p = self.patient
        if p['bsa_m2'] is not None:
            return p['bsa_m2']
        if p['height_cm'] is not None and p['weight_kg'] is not None:
            return bsa_mosteller_m2(p['height_cm'], p['weight_kg'])
        raise ConfigError('%s: patient: a dose per m2 needs patient.bsa_m2, or height_cm and weight_kg' % path)

    def _events(self, path, events):
        out = []
        for i, e in enumerate(events):
            key = 'events[%d]' % i
            kinds = [k for k in ('inject', 'clear', 'command') if e[k] is not None]
            if len(kinds) != 1:
                raise ConfigError('%s: %s: needs exactly one of inject, clear, command (got %s)' % (
                    path, key, ', '.join(kinds) or 'none'))
            params = {k: v for k, v in e['params'].items() if v is not None}
            if kinds[0] != 'command':
                try:
                    faults.check_params(e[kinds[0]], params)
                except faults.FaultError as err:
                    raise ConfigError('%s: %s.params: %s' % (path, key, err))
            if e['at'] > self.duration_s:
                fail(path, key + '.at', e['at'], 'must be within the scenario duration (%gs)' % self.duration_s)
            out.append((e['at'], i, kinds[0], e[kinds[0]], params))
            if e['for'] is not None:
                if kinds[0] != 'inject':
                    fail(path, key + '.for', e['for'], 'only an inject event can have a duration')
                out.append((e['at'] + e['for'], i, 'clear', e['inject'], params))
        out.sort(key=lambda ev: (ev[0], ev[1]))
        return out


def load_scenario(name_or_path):
    path = resolve('scenarios', name_or_path)
    data = check_map(load_yaml(path), SCENARIO_SCHEMA, path)
    return Scenario(path, data)
