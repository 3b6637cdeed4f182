"""The shipped JSON Schemas (configs/schemas) are current with the config
schemas, every shipped YAML validates against its own, and known-bad configs
fail them on the key that is wrong, as the loaders refuse them."""
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from pumphost.config.json_schema import unit_of
from pumphost.config.pumps import available, load_pump
from pumphost.config.schema import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / 'configs' / 'schemas'
FOLDERS = {'pumps': 'pump', 'drugs': 'drug', 'programs': 'program', 'scenarios': 'scenario'}
SHIPPED = [(folder, name) for folder in FOLDERS for name in available(folder)]


def validator(kind):
    schema = json.loads((SCHEMAS / ('%s.schema.json' % kind)).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(kind, data):
    return sorted(validator(kind).iter_errors(data), key=lambda e: list(e.absolute_path))


def test_committed_schemas_are_current():
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'gen_schemas.py'), '--check'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize('folder,name', SHIPPED)
def test_every_shipped_config_validates_and_names_its_schema(folder, name):
    path = ROOT / 'configs' / folder / (name + '.yaml')
    kind = FOLDERS[folder]
    assert errors(kind, yaml.safe_load(path.read_text())) == []
    # the first line points yaml-language-server (VS Code and others) at it
    first = path.read_text().splitlines()[0]
    assert first == '# yaml-language-server: $schema=../schemas/%s.schema.json' % kind
    assert (path.parent / ('../schemas/%s.schema.json' % kind)).resolve().exists()


def _pump():
    return yaml.safe_load((ROOT / 'configs' / 'pumps' / 'bd-plastipak-50.yaml').read_text())


def _peristaltic():
    return yaml.safe_load((ROOT / 'configs' / 'pumps' / 'peristaltic-050.yaml').read_text())


def _set(data, dotted, value):
    *parents, last = dotted.split('.')
    for p in parents:
        data = data[p]
    if value is _DROP:
        del data[last]
    else:
        data[last] = value


_DROP = object()


@pytest.mark.parametrize('base,key,value', [
    (_pump, 'syringe.inner_diameter_mm', -3),           # below the range
    (_pump, 'drive.microsteps', 16.5),                   # not an integer
    (_pump, 'drive.microsteps', 300),                    # above the range
    (_pump, 'kind', 'pneumatic'),                        # not a choice
    (_pump, 'drive.colour', 'red'),                      # unknown key
    (_pump, 'syringe.dead_space_ml', _DROP),             # required key missing
    (_pump, 'line.anti_reflux_valve', 'yes'),            # not a boolean
    (_peristaltic, 'head.rollers', 1),                   # the peristaltic variant's own range
    (_peristaltic, 'syringe', {'nominal_volume_ml': 50}),   # a syringe key on a peristaltic pump
])
def test_bad_pump_fails_schema_and_loader_alike(tmp_path, base, key, value):
    data = base()
    _set(data, key, value)
    errs = errors('pump', data)
    assert errs, 'schema accepted %s = %r' % (key, value)
    where = {'.'.join(str(p) for p in e.absolute_path) for e in errs}
    parent = key.rsplit('.', 1)[0] if '.' in key else ''
    assert key in where or parent in where or (value is _DROP and parent in where), where
    # the loader refuses the same file, naming the key
    bad = tmp_path / 'bad.yaml'
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=key.split('.')[-1] if value is not _DROP else 'dead_space_ml'):
        load_pump(bad)


@pytest.mark.parametrize('kind,name,edit,where', [
    ('scenario', 'demo', lambda d: d.update(duration='46'), 'duration'),               # no unit
    ('scenario', 'demo', lambda d: d.update(duration='46 weeks'), 'duration'),         # unknown unit
    ('scenario', 'demo', lambda d: d['events'][0].update(inject='gremlins'), 'events.0.inject'),
    ('scenario', 'demo', lambda d: d['patient'].update(systolic_mmhg=400), 'patient.systolic_mmhg'),
    ('drug', 'heparin', lambda d: d.update(dose_unit='mL'), 'dose_unit'),
    ('drug', 'heparin', lambda d: d.update(id=0), 'id'),
    ('program', 'haic-folfox', lambda d: d['steps'][0].update(kind='drip'), 'steps.0.kind'),
    ('program', 'fudr-14d', lambda d: d.update(on_link_loss='panic'), 'on_link_loss'),
])
def test_bad_configs_fail_their_schema(kind, name, edit, where):
    folder = {v: k for k, v in FOLDERS.items()}[kind]
    data = yaml.safe_load((ROOT / 'configs' / folder / (name + '.yaml')).read_text())
    edit(data)
    paths = {'.'.join(str(p) for p in e.absolute_path) for e in errors(kind, data)}
    assert where in paths, paths


def test_a_cycle_body_is_checked_like_the_steps_around_it():
    data = {'name': 'x', 'steps': [{'kind': 'cycle', 'times': 2, 'steps': [
        {'kind': 'pause', 'duration': '1 h'}, {'kind': 'pause', 'duraton': '1 h'}]}]}
    paths = {'.'.join(str(p) for p in e.absolute_path) for e in errors('program', data)}
    assert paths == {'steps.0.steps.1'}


def test_descriptions_carry_units_ranges_and_docs():
    pump = json.loads((SCHEMAS / 'pump.schema.json').read_text())
    rate = pump['$defs']['syringe']['properties']['limits']['properties']['max_rate_ml_h']
    assert rate['minimum'] == 1 and rate['maximum'] == 999
    assert 'mL/h' in rate['description']
    comp = pump['$defs']['syringe']['properties']['syringe']['properties']['compliance_ul_per_mmhg']
    assert 'syringe and line compliance' in comp['description'] and 'uL/mmHg' in comp['description']
    scen = json.loads((SCHEMAS / 'scenario.schema.json').read_text())
    dur = scen['properties']['duration']
    assert dur['type'] == 'string' and 'pattern' in dur
    assert 'how long to simulate' in dur['description'] and '60d' in dur['description']
    assert unit_of('catheter_resistance_mmhg_s_per_ul') == 'mmHg*s/uL'
    assert unit_of('name') is None
