"""Program files: the examples in `pumpctl load --help` and in
docs/program-files.md compile; what the device cannot take is one line."""
import re
from pathlib import Path

import pytest

from pumphost.codes import K_BOLUS, K_CYCLE, K_KVO, K_SYRINGE
from pumphost.config.schema import ConfigError
from pumphost.programfile import EXAMPLE, read_program_file

ROOT = Path(__file__).resolve().parent.parent
PATIENT = {'bsa_m2': 1.7, 'weight_kg': 70}


def _write(tmp_path, text, name='p.yaml'):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_help_examples_compile(tmp_path):
    docs = [d.strip() for d in re.split(r'\n\s*\n(?=#)', EXAMPLE) if d.strip()]
    assert len(docs) == 3
    for i, doc in enumerate(docs):
        compiled, desc = read_program_file(_write(tmp_path, doc, 'e%d.yaml' % i), PATIENT)
        assert compiled.program.drugs and desc


def test_doc_examples_compile(tmp_path):
    text = (ROOT / 'docs' / 'program-files.md').read_text()
    blocks = re.findall(r'```yaml\n(.*?)```', text, re.S)
    assert len(blocks) >= 4
    kinds = set()
    for i, block in enumerate(blocks):
        compiled, _ = read_program_file(_write(tmp_path, block, 'd%d.yaml' % i), PATIENT)
        kinds |= {s[0] for s in compiled.program.steps}
    assert {K_BOLUS, K_CYCLE, K_KVO, K_SYRINGE} <= kinds


@pytest.mark.parametrize('text,words', [
    ('program: {drug: floxuridine, concentration_mg_per_ml: 5, rate_ml_h: 20, volume_ml: 10}',
     'program.rate = 20 mL/h: above the hard limit rate 10 mL/h for floxuridine'),
    ('program: {drug: fluorouracil, concentration_mg_per_ml: 50, dose_mg_per_m2: 4000, duration: 46h}',
     'above the hard limit 3600 mg/m2 for fluorouracil'),
    ('program: {drug: aspirin, concentration_mg_per_ml: 5, rate_ml_h: 1, volume_ml: 1}', 'unknown drug'),
    ('steps:\n' + ''.join('  - {drug: saline, concentration: 9 mg/mL, rate: %d mL/h, volume: 1 mL}\n'
                          % (i + 1) for i in range(33)), 'at most 32'),
    ('steps:\n  - kind: cycle\n    times: 2\n    steps:\n      - kind: cycle\n        times: 2\n'
     '        steps: [{kind: pause, duration: 1 h}]\n', 'cycles do not nest'),
    ('steps:\n' + ''.join('  - {drug: %s, concentration: %s, rate: 1 mL/h, volume: 1 mL}\n' % d for d in
                          [('saline', '9 mg/mL'), ('heparin', '100 U/mL'), ('floxuridine', '5 mg/mL'),
                           ('fluorouracil', '50 mg/mL')]), 'at most 3 drug'),
    ('template: haic-folfox\nsteps: []\n', 'give one of template:, steps: or program:'),
    ('program: {drug: saline, concentration_mg_per_ml: 9, rate_ml_h: 1, volume_ml: 1}\nbogus: 1\n', 'bogus'),
])
def test_what_cannot_be_sent_is_one_line(tmp_path, text, words):
    with pytest.raises(ConfigError) as e:
        read_program_file(_write(tmp_path, text), PATIENT)
    msg = str(e.value)
    assert words in msg and '\n' not in msg, msg
