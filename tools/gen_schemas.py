"""Generate configs/schemas/*.schema.json (JSON Schema 2020-12) from the config schemas.

The loaders' Field dicts are the one schema (pumphost/config/pumps.py,
drugs.py, programs.py, simulator/scenario.py); this writes their JSON Schema
form, shipped in the wheel with the configs, so editors validate and complete
the YAML files (docs/configs.md). tests/test_config_schemas.py runs --check.
Usage: python tools/gen_schemas.py [--check]
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / 'configs' / 'schemas'


def documents():
    """file name -> schema document, one per config folder."""
    from pumphost.config import json_schema
    from pumphost.config.drugs import DRUG_SCHEMA
    from pumphost.config.programs import TEMPLATE_SCHEMA
    from pumphost.config.pumps import SCHEMAS
    from simulator.scenario import SCENARIO_SCHEMA
    return {
        'pump.schema.json': json_schema.document_by_kind(
            'HAI pump: pump config (configs/pumps)',
            'Hardware (syringe or reservoir, drive, line, sensor), limits and firmware settings '
            'of one pump model; kind picks syringe or peristaltic.',
            'kind', SCHEMAS),
        'drug.schema.json': json_schema.document(
            'HAI pump: drug library entry (configs/drugs)',
            'One drug: the id the device knows, concentrations and the allowed range, soft and '
            'hard limits. Quantities are text with a unit: 5 mg/mL, 2 mL/h, 30 mg/day, 100 U/mL.',
            DRUG_SCHEMA),
        'program.schema.json': json_schema.document(
            'HAI pump: regimen template (configs/programs)',
            'Steps with explicit units (dose 0.3 mg/kg/day, 2400 mg/m2, 680 mg; rate 1.77 mL/h; '
            'volume 3 mL; duration 46 h), compiled for one patient and pump into a device program.',
            TEMPLATE_SCHEMA),
        'scenario.schema.json': json_schema.document(
            'HAI pump: simulator scenario (configs/scenarios)',
            'A pump, a patient, the course (a template, a dose or a rate and a volume) and timed '
            'events (inject or clear a named fault, user commands).',
            SCENARIO_SCHEMA),
    }


def render(doc):
    return json.dumps(doc, indent=2, sort_keys=False) + '\n'


def main(argv):
    docs = {name: render(doc) for name, doc in documents().items()}
    if '--check' in argv:
        stale = [name for name, text in docs.items()
                 if not (OUT / name).exists() or (OUT / name).read_text() != text]
        extra = sorted(p.name for p in OUT.glob('*.schema.json') if p.name not in docs)
        if stale or extra:
            print('configs/schemas is stale (%s): run python tools/gen_schemas.py'
                  % ', '.join(stale + extra))
            return 1
        return 0
    OUT.mkdir(exist_ok=True)
    for name, text in docs.items():
        (OUT / name).write_text(text)
        print('wrote', (OUT / name).relative_to(ROOT))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
