"""Program files for pumpctl: a regimen template with its patient, compiled
and checked on the host exactly as the device will check it.

A program file is a regimen template (configs/programs/*.yaml, the same
step language) plus what the template leaves open. Give ONE of:

  template: haic-folfox              # a shipped template, by name or path
  steps: [...]                       # steps written out, as in a template
  program: {drug, concentration_mg_per_ml, rate_ml_h, volume_ml}
                                     # one course: a rate and a volume, or
  program: {drug, concentration_mg_per_ml, dose_mg_per_m2, duration}

and optionally:

  patient: {weight_kg: 61.2, height_cm: 170}   # or bsa_m2; doses per kg, per m2
  pump: bd-plastipak-50              # configs/pumps name or path (default)
  kvo: 0.5 mL/h                      # keep-vein-open after the last step
  override_soft_limits: false        # soft limits knowingly exceeded (journaled)
  on_link_loss: continue             # or stop: pause, medium alarm, on link loss

Every step names its drug and concentration: the program carries them to the
pump, which refuses a drug it does not know, a concentration outside its
range and anything above a hard limit (above a soft limit, unless the
override is set). docs/program-files.md has the whole language.
"""
from pumphost.config.course import PATIENT
from pumphost.config.programs import (TEMPLATE_SCHEMA, COURSE_FIELDS, compile_data,
                                      course_template)
from pumphost.config.pumps import load_pump, resolve
from pumphost.config.schema import ConfigError, Field as N, check_map, load_yaml

DEFAULT_PUMP = 'bd-plastipak-50'

# the patient's size, as a scenario states it (doses per kg or per m2)
PATIENT_FIELDS = {k: PATIENT.fields[k] for k in ('bsa_m2', 'height_cm', 'weight_kg')}

PROGRAM_FILE_SCHEMA = {
    'name': N('str', required=False, default=''),
    'description': N('str', required=False, default=''),
    'template': N('str', required=False, doc='a configs/programs name or a path'),
    'steps': N('list', required=False, item=TEMPLATE_SCHEMA['steps'].item),
    'program': N('map', required=False, fields=COURSE_FIELDS),
    'kvo': N('str', required=False),
    'patient': N('map', required=False, default={}, fields=PATIENT_FIELDS),
    'pump': N('str', required=False, default=DEFAULT_PUMP, doc='a configs/pumps name or a path'),
    'override_soft_limits': N('bool', required=False),
    'on_link_loss': N('str', required=False, choices={'continue', 'stop'}),
}

EXAMPLE = """\
# HAIC-FOLFOX for this patient (doses from the template, per m2):
template: haic-folfox
patient: {height_cm: 170, weight_kg: 61.2}
on_link_loss: stop

# or one drug at a rate:
program: {drug: floxuridine, concentration_mg_per_ml: 5, rate_ml_h: 0.175, volume_ml: 40}

# or steps written out (see docs/program-files.md):
steps:
  - {drug: fluorouracil, concentration: 50 mg/mL, dose: 400 mg/m2, kind: bolus, duration: 15 min}
  - {kind: syringe_change}
  - {drug: saline, concentration: 9 mg/mL, rate: 1 mL/h, duration: 2 h}
kvo: 0.5 mL/h
"""


def is_template_name(text):
    """True if text names a shipped template rather than a file."""
    p = resolve('programs', text)
    return p.exists() and str(p) != str(text)


def read_program_file(path, patient=None, pump=None, host_check=True):
    """Program file (or a shipped template's name) -> (Compiled, description).

    `patient` (weight_kg, height_cm, bsa_m2) and `pump` given on the command
    line win over the file's. host_check=False skips the host's limit checks
    (to see the pump refuse on its own). ConfigError: one line naming file, key, value
    and what is allowed."""
    if is_template_name(path):
        data = check_map({'template': path}, PROGRAM_FILE_SCHEMA, path)
    else:
        data = check_map(load_yaml(path), PROGRAM_FILE_SCHEMA, path)
    given = [k for k in ('template', 'steps', 'program') if data[k] is not None]
    if len(given) != 1:
        raise ConfigError('%s: give one of template:, steps: or program: (got %s)'
                          % (path, ', '.join(given) or 'none'))
    pat = {k: v for k, v in data['patient'].items() if v is not None}
    pat.update({k: v for k, v in (patient or {}).items() if v is not None})
    pump_cfg = load_pump(resolve('pumps', pump or data['pump']))
    root = 'steps'
    where = path
    if data['template'] is not None:
        where = resolve('programs', data['template'])
        tpl = check_map(load_yaml(where), TEMPLATE_SCHEMA, where)
        if data['kvo'] is not None:
            tpl['kvo'] = data['kvo']
    elif data['program'] is not None:
        tpl = course_template(path, data['program'])
        tpl['kvo'] = data['kvo']
        root = 'program'
    else:
        # the steps were checked with the file (TEMPLATE_SCHEMA's own step schema)
        tpl = {'name': data['name'] or 'steps', 'description': data['description'],
               'steps': data['steps'], 'kvo': data['kvo'], 'override_soft_limits': False,
               'on_link_loss': 'continue'}
    for k in ('override_soft_limits', 'on_link_loss'):
        if data[k] is not None:
            tpl[k] = data[k]
    compiled = compile_data(where, tpl, pat, pump_cfg, root=root, check=host_check)
    desc = ', '.join('%s %.4g %s (%.4g mL)' % (name, amount, unit, vol)
                     for name, (amount, unit, vol) in sorted(compiled.per_drug.items()))
    if tpl['on_link_loss'] == 'stop':
        desc += '; stops on link loss'
    return compiled, desc
