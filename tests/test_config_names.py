"""A bare config name resolves to the shipped file; an unknown one is refused
in one line listing the shipped names (exit 2 from pumpsim)."""
import subprocess
import sys

import pytest

from pumphost.config.pumps import CONFIGS, available, resolve
from pumphost.config.schema import ConfigError


def test_a_shipped_name_resolves_to_the_shipped_file():
    assert resolve('pumps', 'bd-plastipak-50') == CONFIGS / 'pumps' / 'bd-plastipak-50.yaml'


@pytest.mark.parametrize('kind', ['pumps', 'programs', 'scenarios'])
def test_an_unknown_name_lists_the_shipped_ones(kind):
    with pytest.raises(ConfigError) as e:
        resolve(kind, 'no-such-thing')
    msg = str(e.value)
    assert "'no-such-thing'" in msg and kind in msg
    for name in available(kind):
        assert name in msg


def test_pumpsim_refuses_an_unknown_scenario_name_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'run', 'demo-typo',
                        '--out', str(tmp_path / 'o')], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.count('\n') == 1 and 'demo-typo' in r.stderr and 'demo,' in r.stderr
    assert 'Traceback' not in r.stderr
