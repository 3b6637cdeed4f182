"""tools/mutation_run.py: which mutants `make mutation` runs (mutmut itself
is not needed for this: it is installed by the target, not by make test)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))

import mutation_run  # noqa: E402

A1 = 'firmware.air.xǁAirMonitorǁupdate__mutmut_1'
A2 = 'firmware.air.xǁAirMonitorǁupdate__mutmut_2'
L1 = 'firmware.loop.xǁLoopǁpoll__mutmut_1'
L2 = 'firmware.loop.xǁLoopǁpoll__mutmut_2'
MUTANTS = [(A1, None), (A2, 1), (L1, None), (L2, 0)]


def test_a_run_continues_and_leaves_out_the_equivalent_mutants():
    assert mutation_run.to_run(MUTANTS, [], {}, False, False) == [A1, L1]
    assert mutation_run.to_run(MUTANTS, [], {L1: 'why'}, False, False) == [A1]


def test_patterns_restrict_the_run_and_rerun_takes_mutants_with_a_result():
    assert mutation_run.to_run(MUTANTS, ['firmware.loop*'], {}, False, False) == [L1]
    assert mutation_run.to_run(MUTANTS, ['firmware.loop*'], {}, False, True) == [L1, L2]
    assert mutation_run.to_run(MUTANTS, [], {L2: 'why'}, False, True) == [A1, A2, L1]


def test_all_runs_the_equivalent_mutants_too():
    assert mutation_run.to_run(MUTANTS, [], {A1: 'why', L2: 'why'}, True, True) == [A1, A2, L1, L2]


def test_the_equivalent_list_parses_names_real_modules_and_carries_each_change_digest():
    entries = mutation_run.equivalent_entries()
    assert len(entries) > 50
    for name, (digest, why) in entries.items():
        assert '__mutmut_' in name and why, name
        assert digest is not None and len(digest) == 8 and int(digest, 16) >= 0, name
        module = name.split('.x')[0]
        assert (ROOT / (module.replace('.', '/') + '.py')).exists(), name


DIFF = """--- firmware/alarms.py
+++ firmware/alarms.py
@@ -1,3 +1,3 @@
     x = 1
-    if p > audible:
+    if p >= audible:
"""


def test_a_change_digest_is_of_the_change_not_its_indentation_or_context():
    d = mutation_run.change_digest(DIFF)
    assert d == mutation_run.change_digest(DIFF.replace('    if', 'if').replace('x = 1', 'y = 2'))
    assert d != mutation_run.change_digest(DIFF.replace('+    if p >= audible:', '+    if p > visual:'))


def test_a_bad_child_count_is_one_line_and_exit_2():
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'mutation_run.py'), '--max-children', '0'],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2
    assert r.stderr.strip() == 'mutation_run.py: --max-children: 0 is not allowed, at least 1'
    assert 'Traceback' not in r.stderr


def test_survivors_runs_again_only_the_mutants_that_survived_and_are_not_equivalent():
    assert mutation_run.to_run(MUTANTS, [], {}, False, False, True) == [L2]
    assert mutation_run.to_run(MUTANTS, [], {L2: 'why'}, False, False, True) == []
