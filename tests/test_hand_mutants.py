"""The hand-applied safety mutants (tools/hand_mutants.py) stay evidence:
each one's edit applies to today's source exactly once, and one that no
longer matches is an error, never skipped. Running them is a bench
(docs/testing.md); this only checks that they still mean something."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location('hand_mutants', ROOT / 'tools' / 'hand_mutants.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


hm = _tool()


@pytest.mark.parametrize('key', sorted(hm.MUTANTS))
def test_every_mutant_changes_todays_source(key):
    out = hm.mutated(lambda f: (ROOT / f).read_text(), key)
    assert out
    for path, text in out.items():
        assert text != (ROOT / path).read_text()


def test_an_edit_that_no_longer_matches_is_an_error(tmp_path, monkeypatch):
    (tmp_path / 'm.py').write_text('x = 1\nx = 1\n')
    monkeypatch.setitem(hm.MUTANTS, 'gone', ('no match', [('m.py', 'y = 2\n', 'y = 3\n')]))
    monkeypatch.setitem(hm.MUTANTS, 'twice', ('two matches', [('m.py', 'x = 1\n', 'x = 2\n')]))
    for key in ('gone', 'twice'):
        with pytest.raises(hm.StaleMutant, match=key):
            hm.apply(tmp_path, key)
    assert (tmp_path / 'm.py').read_text() == 'x = 1\nx = 1\n'


def test_a_stale_mutant_stops_the_run_before_any_test_runs(monkeypatch, capsys):
    monkeypatch.setitem(hm.MUTANTS, 'gone', ('no match', [('firmware/loop.py', 'no such line\n', '')]))
    ran = []
    monkeypatch.setattr(hm, 'run', lambda *a, **k: ran.append(a) or 'KILLED')
    assert hm.main(['c', 'gone']) == 2
    assert ran == []
    assert 'STALE mutant gone' in capsys.readouterr().err
