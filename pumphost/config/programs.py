"""Regimen templates (configs/programs/*.yaml) -> a device Program.

The host computes; the device re-checks (firmware.limits) everything that
matters for safety. A template lists steps with explicit units:

  steps:
    - {drug: floxuridine, concentration: 5 mg/mL, dose: 0.3 mg/kg/day, duration: 14 d}
    - {drug: fluorouracil, concentration: 50 mg/mL, dose: 400 mg/m2, kind: bolus, duration: 15 min}
    - {drug: heparin, concentration: 10 U/mL, rate: 0.175 mL/h, duration: 14 d}
    - {kind: pause, duration: 1 h}
    - {kind: ramp, drug: saline, concentration: 9 mg/mL, from: 1 mL/h, to: 5 mL/h, duration: 30 min}
    - {kind: cycle, times: 3, steps: [...]}        # the body runs times + 1 times
  kvo: 0.1 mL/h                                   # optional, capped at the last rate
  override_soft_limits: false                     # soft limits knowingly exceeded
  on_link_loss: continue                          # or stop: pause (medium alarm) when
                                                  # the host link is lost

Doses: mg/kg/day (needs weight), mg/m2 over the step (needs BSA, or height
and weight: Mosteller), mg or U (absolute), mg/day. A step whose volume does
not fit the syringe is split with syringe_change steps; a new drug always
starts a new syringe. Every error is one line naming file, field, value and
what is allowed (ConfigError: pumpsim and pumpctl exit 2).
"""
from firmware.program import Program
from firmware.settings import Settings
from firmware.limits import ramp_volume_nl
from pumphost.config import units
from pumphost.config.pumps import resolve
from pumphost.config.dose import bsa_mosteller_m2
from pumphost.config.drugs import load_library, find
from pumphost.config.schema import ConfigError, Field as N, check_map, load_yaml, fail
from pumphost.codes import FLAG_OVERRIDE, FLAG_STOP_ON_LINK_LOSS, K_BOLUS, K_CONTINUOUS, K_CYCLE, K_KVO, K_PAUSE, K_RAMP, K_SYRINGE

KIND_NAMES = {K_CONTINUOUS: 'continuous', K_RAMP: 'ramp', K_BOLUS: 'bolus', K_PAUSE: 'pause',
              K_KVO: 'kvo', K_SYRINGE: 'syringe_change', K_CYCLE: 'cycle'}
FILL_RESERVE_NL = 500000
STEP_KINDS = {'continuous', 'bolus', 'ramp', 'pause', 'syringe_change', 'cycle'}

_STEP = {
    'kind': N('str', required=False, default='continuous', choices=STEP_KINDS),
    'drug': N('str', required=False),
    'concentration': N('str', required=False),
    'dose': N('str', required=False),
    'rate': N('str', required=False),
    'volume': N('str', required=False),
    'duration': N('str', required=False),
    'from': N('str', required=False),
    'to': N('str', required=False),
    'times': N('int', required=False, lo=1, hi=1000),
    'note': N('str', required=False),
}
_STEP['steps'] = N('list', required=False, item=N('map', fields=_STEP))   # a cycle's body

TEMPLATE_SCHEMA = {
    'name': N('str'),
    'description': N('str', required=False, default=''),
    'steps': N('list', item=N('map', fields=_STEP)),
    'kvo': N('str', required=False),
    'override_soft_limits': N('bool', required=False, default=False),
    'on_link_loss': N('str', required=False, default='continue', choices={'continue', 'stop'},
                      doc='stop: the pump pauses with a medium alarm when the host link is lost'),
}


class Compiled:
    def __init__(self, program, lines, per_drug):
        self.program = program
        self.lines = lines          # human description, one line per step
        self.per_drug = per_drug    # drug name -> (amount, unit, volume_ml)


def _steps_raw(path, key, items):
    if key == 'program':   # the single-course form: one step, named as written
        return [(key, it) for it in items]
    return [('%s[%d]' % (key, i), it) for i, it in enumerate(items)]


class _Compiler:
    def __init__(self, path, patient, pump, library, override):
        self.path = path
        self.patient = patient or {}
        self.pump = pump
        self.lib = library
        syr = getattr(pump, 'reservoir', None) or pump.data['syringe']
        # what one syringe may be programmed for: less the dead space and a
        # reserve for the start-up fill (at most 0.4 mL, pushed but not dose)
        # and drive backlash, so the plunger never bottoms out inside a step
        self.usable_nl = int(round((syr['nominal_volume_ml'] - syr['dead_space_ml']) * 1e6)) - FILL_RESERVE_NL
        self.settings = Settings(**pump.firmware_settings())
        self.steps = []
        self.drugs = []          # device entries
        self.slot_of = {}        # (drug id, conc milli) -> slot
        self.syringe = None      # slot in the syringe
        self.in_syringe = 0
        self.last_rate = 0
        self.lines = []
        self.per_drug = {}
        self.flags = FLAG_OVERRIDE if override else 0
        self.check = True        # False: the host's limit checks skipped (the pump's remain)

    # ------------------------------------------------------------ helpers
    def q(self, key, text, kind):
        if text is None:
            raise ConfigError('%s: %s: missing (%s, e.g. %s)' % (self.path, key, kind.replace('_', ' '),
                                                                 units.EXAMPLES[kind]))
        try:
            return units.quantity(text, kind)
        except units.UnitError as e:
            fail(self.path, key, text, str(e))

    def weight(self, key):
        w = self.patient.get('weight_kg')
        if w is None:
            raise ConfigError('%s: %s: a dose per kg needs patient.weight_kg' % (self.path, key))
        return w

    def bsa(self, key):
        p = self.patient
        if p.get('bsa_m2') is not None:
            return p['bsa_m2']
        if p.get('height_cm') is not None and p.get('weight_kg') is not None:
            return bsa_mosteller_m2(p['height_cm'], p['weight_kg'])
        raise ConfigError('%s: %s: a dose per m2 needs patient.bsa_m2, or height_cm and weight_kg'
                          % (self.path, key))

    def slot(self, key, s):
        if s['drug'] is None:
            raise ConfigError('%s: %s.drug: missing (a drug from configs/drugs, e.g. saline)' % (self.path, key))
        drug = find(self.lib, s['drug'], self.path, key + '.drug')
        conc, amount = self.q(key + '.concentration', s['concentration'], 'concentration')
        want = 'mass' if drug.dose_unit == 'mg' else 'iu'
        if amount != want:
            fail(self.path, key + '.concentration', s['concentration'],
                 '%s is dosed in %s' % (drug.name, drug.dose_unit))
        if not drug.conc_min <= conc <= drug.conc_max:
            fail(self.path, key + '.concentration', s['concentration'],
                 'outside the library range for %s (%g..%g %s/mL)' % (
                     drug.name, drug.conc_min, drug.conc_max, drug.dose_unit))
        ident = (drug.id, int(round(conc * 1000)))
        if ident not in self.slot_of:
            if len(self.drugs) >= 3:
                fail(self.path, key + '.drug', s['drug'], 'at most 3 drug/concentration pairs per program')
            self.slot_of[ident] = len(self.drugs)
            self.drugs.append(drug.device_entry(conc))
        return self.slot_of[ident], drug, conc

    def check_rate(self, key, field, rate_ml_h, drug):
        lim = self.pump.data['limits']
        if not lim['min_rate_ml_h'] <= rate_ml_h <= lim['max_rate_ml_h']:
            raise ConfigError('%s: %s.%s: computed rate %.4g mL/h outside the pump %s (%g..%g mL/h)' % (
                self.path, key, field, rate_ml_h, self.pump.name, lim['min_rate_ml_h'], lim['max_rate_ml_h']))
        self.limit(key + '.' + field, '%.4g mL/h' % rate_ml_h, rate_ml_h, drug, 'rate', 'mL/h')

    def limit(self, key, shown, value, drug, name, unit, factor=1.0):
        if not self.check:
            return
        hard = drug.hard[name] * factor
        soft = drug.soft[name] * factor
        if value > hard * (1 + 1e-9):
            raise ConfigError('%s: %s = %s: above the hard limit %s %g %s for %s' % (
                self.path, key, shown, name, hard, unit, drug.name))
        if value > soft * (1 + 1e-9) and not self.flags & FLAG_OVERRIDE:
            raise ConfigError('%s: %s = %s: above the soft limit %s %g %s for %s '
                              '(set override_soft_limits: true to give it anyway)' % (
                                  self.path, key, shown, name, soft, unit, drug.name))

    def patient_limit(self, key, text, value, drug, name):
        pair = drug.patient.get(name)
        if not pair or not self.check:
            return
        soft, hard = pair
        unit = units.EXAMPLES[name].split(' ', 1)[1].replace('mg', drug.dose_unit)
        if value > hard * (1 + 1e-9):
            fail(self.path, key, text, 'above the hard limit %g %s for %s' % (hard, unit, drug.name))
        if value > soft * (1 + 1e-9) and not self.flags & FLAG_OVERRIDE:
            fail(self.path, key, text, 'above the soft limit %g %s for %s (set override_soft_limits: '
                 'true to give it anyway)' % (soft, unit, drug.name))

    def emit(self, step, line):
        self.steps.append(step)
        self.lines.append(line)

    def change_syringe(self, why):
        self.emit((K_SYRINGE, 0, 0, 0, 0, 0), 'syringe change (%s): wait for the nurse' % why)
        self.syringe = None
        self.in_syringe = 0

    # ------------------------------------------------------------ steps
    def delivering(self, key, s, kind):
        sl, drug, conc = self.slot(key, s)
        dur = self.q(key + '.duration', s['duration'], 'duration')[0] if s['duration'] else None
        rate = vol = None
        if s['dose'] is not None:
            try:
                dk = units.dose_kind(s['dose'])
            except units.UnitError as e:
                fail(self.path, key + '.dose', s['dose'], str(e))
            value, amount = units.quantity(s['dose'], dk)
            if amount != ('mass' if drug.dose_unit == 'mg' else 'iu'):
                fail(self.path, key + '.dose', s['dose'], '%s is dosed in %s' % (drug.name, drug.dose_unit))
            if s['rate'] is not None or s['volume'] is not None:
                fail(self.path, key, s['dose'], 'give a dose, or a rate/volume, not both')
            if dk in ('dose_per_kg_day', 'dose_per_day'):
                self.patient_limit(key + '.dose', s['dose'], value, drug, 'dose_per_kg_day') \
                    if dk == 'dose_per_kg_day' else None
                per_h = value * (self.weight(key) if dk == 'dose_per_kg_day' else 1.0)
                rate = per_h / conc
                if dur is None:
                    raise ConfigError('%s: %s.duration: missing (a dose per day runs for a duration)' % (
                        self.path, key))
            else:
                if dk == 'dose_per_m2':
                    self.patient_limit(key + '.dose', s['dose'], value, drug, 'dose_per_m2')
                    value *= self.bsa(key)
                vol = value / conc
                if dur is None:
                    raise ConfigError('%s: %s.duration: missing (the time to give %s over)' % (
                        self.path, key, s['dose']))
                rate = vol / dur
        else:
            if s['rate'] is not None:
                rate = self.q(key + '.rate', s['rate'], 'rate')[0]
            if s['volume'] is not None:
                vol = self.q(key + '.volume', s['volume'], 'volume')[0]
            if rate is None and vol is not None and dur:
                rate = vol / dur
            if rate is None or (vol is None and dur is None):
                raise ConfigError('%s: %s: give a dose with a duration, or a rate with a volume or '
                                  'a duration, or a volume with a duration' % (self.path, key))
        self.check_rate(key, 'rate' if s['rate'] else ('dose' if s['dose'] else 'volume'), rate, drug)
        rate_nl_h = int(round(rate * 1e6))
        if vol is None:
            vol_nl = rate_nl_h * int(round(dur * 3600)) // 3600
        else:
            vol_nl = int(round(vol * 1e6))
        amount = vol_nl / 1e6 * conc
        tot = self.per_drug.setdefault(drug.name, [0.0, drug.dose_unit, 0.0])
        tot[0] += amount
        tot[2] += vol_nl / 1e6
        self.limit('%s (total for %s)' % (key, drug.name), '%.4g %s' % (tot[0], drug.dose_unit),
                   tot[0], drug, 'dose_per_cycle', drug.dose_unit)
        self.limit('%s (total volume of %s)' % (key, drug.name), '%.4g mL' % tot[2], tot[2], drug,
                   'vtbi', 'mL')
        if self.syringe is not None and self.syringe != sl:
            self.change_syringe('%s next' % drug.name)
        left = vol_nl
        while left > 0:
            room = self.usable_nl - self.in_syringe
            if room <= 0:
                self.change_syringe('syringe empty')
                room = self.usable_nl
            part = left if left <= room else room
            self.emit((kind, rate_nl_h, part, 0, 0, sl), '%s %s %g %s/mL: %.4f mL at %.4f mL/h' % (
                KIND_NAMES[kind], drug.name, conc, drug.dose_unit, part / 1e6, rate_nl_h / 1e6))
            self.in_syringe += part
            self.syringe = sl
            left -= part
        self.last_rate = rate_nl_h

    def ramp(self, key, s):
        sl, drug, conc = self.slot(key, s)
        r0 = self.q(key + '.from', s['from'], 'rate')[0]
        r1 = self.q(key + '.to', s['to'], 'rate')[0]
        dur = self.q(key + '.duration', s['duration'], 'duration')[0]
        self.check_rate(key, 'from', r0, drug)
        self.check_rate(key, 'to', r1, drug)
        step = (K_RAMP, int(round(r0 * 1e6)), 0, int(round(dur * 3600)), int(round(r1 * 1e6)), sl)
        vol = ramp_volume_nl(step)
        if self.syringe is not None and self.syringe != sl:
            self.change_syringe('%s next' % drug.name)
        if self.in_syringe + vol > self.usable_nl:
            self.change_syringe('room for the ramp')
        self.emit(step[:2] + (vol,) + step[3:], 'ramp %s %.4f -> %.4f mL/h over %g h: %.4f mL' % (
            drug.name, r0, r1, dur, vol / 1e6))
        self.in_syringe += vol
        self.syringe = sl
        self.last_rate = step[4]

    def run(self, items, key, in_cycle=False):
        for k, s in _steps_raw(self.path, key, items):
            kind = s['kind']
            if kind == 'continuous':
                self.delivering(k, s, K_CONTINUOUS)
            elif kind == 'bolus':
                self.delivering(k, s, K_BOLUS)
            elif kind == 'ramp':
                self.ramp(k, s)
            elif kind == 'pause':
                d = self.q(k + '.duration', s['duration'], 'duration')[0]
                self.emit((K_PAUSE, 0, 0, int(round(d * 3600)), 0, 0), 'pause %g h' % d)
            elif kind == 'syringe_change':
                self.change_syringe('as programmed')
            else:
                if in_cycle:
                    fail(self.path, k + '.kind', 'cycle', 'cycles do not nest')
                if not s['steps'] or s['times'] is None:
                    raise ConfigError('%s: %s: a cycle needs steps: [...] and times: N (repeats)' % (self.path, k))
                first = len(self.steps)
                syr0 = self.in_syringe
                tot0 = {name: list(t) for name, t in self.per_drug.items()}
                self.run(s['steps'], k + '.steps', True)
                self.emit((K_CYCLE, 0, 0, 0, (first << 16) | s['times'], 0),
                          'repeat steps %d.. %d more times' % (first, s['times']))
                self.repeated(k, s['times'], syr0, tot0, first)

    def repeated(self, key, times, syr0, tot0, first):
        """Account for a cycle's repeats: the syringe (when the body changes
        none) and each drug's totals, checked again against their limits."""
        if not any(st[0] == K_SYRINGE for st in self.steps[first:]):
            self.in_syringe += (self.in_syringe - syr0) * times
            if self.in_syringe > self.usable_nl:
                raise ConfigError('%s: %s: repeated %d more times the body needs %.4g mL from one '
                                  'syringe (%.4g mL usable): put a syringe_change in the body, or '
                                  'fewer repeats' % (self.path, key, times, self.in_syringe / 1e6,
                                                     self.usable_nl / 1e6))
        for name, tot in self.per_drug.items():
            t0 = tot0.get(name, [0.0, tot[1], 0.0])
            tot[0] += (tot[0] - t0[0]) * times
            tot[2] += (tot[2] - t0[2]) * times
            drug = find(self.lib, name, self.path, key)
            self.limit('%s (total for %s)' % (key, name), '%.4g %s' % (tot[0], tot[1]), tot[0], drug,
                       'dose_per_cycle', tot[1])
            self.limit('%s (total volume of %s)' % (key, name), '%.4g mL' % tot[2], tot[2], drug,
                       'vtbi', 'mL')

    def kvo(self, text):
        rate = self.q('kvo', text, 'rate')[0]
        if not 0.1 <= rate <= 20:
            fail(self.path, 'kvo', text, 'KVO must be 0.1..20 mL/h')
        if self.syringe is None:
            fail(self.path, 'kvo', text, 'needs a delivering last step')
        r = min(int(round(rate * 1e6)), self.last_rate)
        room = self.usable_nl - self.in_syringe
        if room > 0:
            self.emit((K_KVO, r, room, 0, 0, self.syringe), 'kvo %.4f mL/h until the syringe is empty'
                      % (r / 1e6))


def compile_template(template, patient=None, pump=None, library=None, override=None):
    """template: a configs/programs name or path. Returns Compiled."""
    path = resolve('programs', template)
    data = check_map(load_yaml(path), TEMPLATE_SCHEMA, path)
    return compile_data(path, data, patient, pump, library, override)


def compile_data(path, data, patient=None, pump=None, library=None, override=None,
                 root='steps', check=True):
    """A template already read and checked against TEMPLATE_SCHEMA (`path`
    names it in errors): the same compiler for templates, pumpctl program
    files and scenario courses, so every host path checks the same library
    with the same words. Returns Compiled."""
    from pumphost.config.pumps import load_pump
    if pump is None:
        pump = load_pump(resolve('pumps', 'bd-plastipak-50'))
    library = library or load_library()
    c = _Compiler(path, patient, pump, library,
                  data['override_soft_limits'] if override is None else override)
    c.check = check
    if not data['steps']:
        fail(path, 'steps', [], 'at least one step')
    if data['on_link_loss'] == 'stop':
        c.flags |= FLAG_STOP_ON_LINK_LOSS
    c.run(data['steps'], root)
    if data['kvo']:
        c.kvo(data['kvo'])
    if len(c.steps) > 32:
        raise ConfigError('%s: steps: compiles to %d device steps (at most 32): use a cycle or '
                          'a larger syringe' % (path, len(c.steps)))
    prog = Program(c.steps, c.drugs, c.flags)
    err = prog.validate(c.settings) if check else None
    if err is not None:   # the device's own check, run on the host first
        raise ConfigError('%s: the pump would refuse this program: %s'
                          % (path, device_error_words(err, library)))
    return Compiled(prog, c.lines, {k: tuple(v) for k, v in c.per_drug.items()})


# the single-course form of a scenario or program file (`program:`), one
# template step: a drug with a dose per m2 over a duration, or a rate and a volume
COURSE_FIELDS = {
    'drug': N('str', required=False, doc='a drug from configs/drugs (name or alias)'),
    'concentration_mg_per_ml': N('number', required=False, lo=0.0001, hi=1000),
    'dose_mg_per_m2': N('number', required=False, lo=0.001, hi=100000),
    'duration': N('duration', required=False, lo=60, hi=60 * 86400),
    'rate_ml_h': N('number', required=False, lo=0.001, hi=999),
    'volume_ml': N('number', required=False, lo=0.01, hi=5000),
}


def course_template(path, prog, key='program'):
    """The single-course form -> one template step (units written out), so
    it compiles, and is checked, exactly as a template is."""
    dose = prog.get('dose_mg_per_m2') is not None
    rate = prog.get('rate_ml_h') is not None or prog.get('volume_ml') is not None
    if dose == rate:
        raise ConfigError('%s: %s: give either a dose (dose_mg_per_m2, concentration_mg_per_ml, '
                          'duration) or a rate (rate_ml_h, volume_ml), not %s'
                          % (path, key, 'both' if dose else 'neither'))
    if not prog.get('drug'):
        raise ConfigError('%s: %s.drug: missing (the pump checks every program against its drug '
                          'library: name the drug, e.g. floxuridine, or saline)' % (path, key))
    if prog.get('concentration_mg_per_ml') is None:
        raise ConfigError('%s: %s.concentration_mg_per_ml: missing (the drug\'s limits are '
                          'checked at its concentration, e.g. 5)' % (path, key))
    step = {'drug': prog['drug'], 'concentration': '%r mg/mL' % prog['concentration_mg_per_ml']}
    if dose:
        if prog.get('duration') is None:
            raise ConfigError('%s: %s.duration: missing (needed with a dose)' % (path, key))
        step['dose'] = '%r mg/m2' % prog['dose_mg_per_m2']
        step['duration'] = '%r s' % prog['duration']
    else:
        for k in ('rate_ml_h', 'volume_ml'):
            if prog.get(k) is None:
                raise ConfigError('%s: %s.%s: missing (give rate_ml_h and volume_ml, or a dose)'
                                  % (path, key, k))
        step['rate'] = '%r mL/h' % prog['rate_ml_h']
        step['volume'] = '%r mL' % prog['volume_ml']
    return check_map({'name': prog.get('drug'), 'steps': [step]}, TEMPLATE_SCHEMA, path)


_LIMIT_WORDS = {'rate_nl_h': ('rate', 1e6, 'mL/h'), 'vtbi_nl': ('volume to be infused', 1e6, 'mL'),
                'dose_day': ('dose in 24 h', 1e3, None), 'dose_cycle': ('dose per cycle', 1e3, None)}


def device_error_words(text, library=None):
    """A device refusal (firmware.limits / firmware.dose_limits wording, or
    what the link sends back) in plain words: drug names for ids, mL and
    mL/h for nL, mg or U for milli-units. Unknown wording is returned as is."""
    import re
    if library is None:
        try:
            library = load_library()
        except ConfigError:
            library = {}
    by_id = {d.id: d for d in library.values()}

    def drug(m):
        d = by_id.get(int(m.group(1)))
        return d.name if d else 'drug %s' % m.group(1)

    def limit(m):
        name, scale, unit = _LIMIT_WORDS[m.group(2)]
        d = by_id.get(int(m.group(4)))
        unit = unit or ((d.dose_unit if d else 'units') + ('/day' if 'day' in m.group(2) else ''))
        return '%s limit %s %g %s for %s' % (m.group(1), name, int(m.group(3)) / scale, unit,
                                             d.name if d else 'drug %s' % m.group(4))
    t = re.sub(r'(hard|soft) limit (rate_nl_h|vtbi_nl|dose_day|dose_cycle) (\d+) for drug (\d+)',
               limit, text)
    t = re.sub(r'(\d+) nL since', lambda m: '%g mL since' % (int(m.group(1)) / 1e6), t)
    t = re.sub(r'the syringe holds (\d+)', lambda m: 'the syringe holds %g mL' % (int(m.group(1)) / 1e6), t)
    t = re.sub(r'rate_nl_h=(\d+)', lambda m: 'rate=%g mL/h' % (int(m.group(1)) / 1e6), t)
    t = re.sub(r'volume_nl=(\d+)', lambda m: 'volume=%g mL' % (int(m.group(1)) / 1e6), t)
    t = re.sub(r'drugs\[\d+\] dose (per cycle|in 24 h)=(\d+)',
               lambda m: 'dose %s=%g' % (m.group(1), int(m.group(2)) / 1e3), t)
    t = re.sub(r'for drug (\d+)', lambda m: 'for ' + drug(m), t)
    t = re.sub(r'drugs\[\d+\]\.id=(\d+) not allowed', lambda m: 'drug id %s not allowed' % m.group(1), t)
    return t
