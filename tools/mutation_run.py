"""Run mutmut over the safety modules (`make mutation`), leaving out the
mutants already judged equivalent.

    .venv/bin/python tools/mutation_run.py [--max-children N] [--all] [PATTERN ...]

An equivalent mutant survives every test by definition, so it costs every
test that reaches its function, each run: the dearest mutants there are,
and running them again tells nothing new. Each is listed in
tools/mutation_equivalent.txt with why no behaviour of the device can tell
it from the original; they are left out of the run and the report counts
them as equivalent. `--all` runs them too: a listed mutant that a test now
kills (mutmut renumbers a function's mutants when the function changes) is
then flagged stale by tools/mutation_report.py.

The run continues: a mutant with a result in mutants/ is not run again
(`--rerun` runs it again, `--survivors` only the survivors, once tests
are written against them; `rm -rf mutants` starts from scratch). PATTERNs
(fnmatch, e.g. 'firmware.recovery*') restrict the run to the mutants they
match.

mutmut 3.8.1 (pinned in pyproject.toml) is driven through its own run
function, after its mutant generation, so that the names to run are known.
"""
import argparse
import fnmatch
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutation_report import equivalent  # noqa: E402


def generate(max_children):
    """mutmut's own generation step (the first part of `mutmut run`):
    trampolined copies in mutants/ and the mutant list in each .meta."""
    import mutmut.__main__ as mm
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths
    with mm.CatchOutput(spinner_title='Generating mutants'):
        copy_src_dir()
        copy_also_copy_files()
        setup_source_paths()
        mm.store_lines_covered_by_tests()
        mm.create_mutants(max_children)


def known_mutants():
    """[(name, exit code or None)] for every mutant mutmut generated."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.utils.file_utils import walk_mutatable_files
    out = []
    for path in walk_mutatable_files():
        m = SourceFileMutationData(path=path)
        m.load()
        out.extend(m.exit_code_by_key.items())
    return out


_SURVIVED = 0


def to_run(mutants, patterns, equiv, run_equivalent, rerun, survivors=False):
    names = []
    for name, result in mutants:
        if name in equiv and not run_equivalent:
            continue
        if survivors:
            if result != _SURVIVED:
                continue
        elif result is not None and not rerun:
            continue
        if patterns and not any(fnmatch.fnmatch(name, p) for p in patterns):
            continue
        names.append(name)
    return names


def main(argv):
    p = argparse.ArgumentParser(prog='mutation_run.py', description=__doc__.splitlines()[0])
    p.add_argument('--max-children', type=int, default=2, help='mutants run at once (default 2)')
    p.add_argument('--all', action='store_true', help='also run the mutants judged equivalent')
    p.add_argument('--rerun', action='store_true', help='run again the mutants that have a result')
    p.add_argument('--survivors', action='store_true',
                   help='run again only the mutants that survived (after tests were written against them)')
    p.add_argument('patterns', nargs='*', metavar='PATTERN', help="mutant names, fnmatch ('firmware.loop*')")
    a = p.parse_args(argv)
    if a.max_children < 1:
        p.exit(2, 'mutation_run.py: --max-children: %d is not allowed, at least 1\n' % a.max_children)
    import mutmut.__main__ as mm
    generate(a.max_children)
    equiv = equivalent()
    mutants = known_mutants()
    names = to_run(mutants, a.patterns, equiv, a.all, a.rerun, a.survivors)
    skipped = sum(1 for n, _ in mutants if n in equiv) if not a.all else 0
    print('%d mutants, %d to run, %d judged equivalent and left out' % (len(mutants), len(names), skipped))
    if a.patterns and not any(fnmatch.fnmatch(n, q) for n, _ in mutants for q in a.patterns):
        p.exit(2, 'mutation_run.py: PATTERN: %s matches no mutant; names look like '
                  "'firmware.loop.xǁLoopǁpoll__mutmut_3'\n" % ' '.join(a.patterns))
    if not names:
        print('nothing left to run (rm -rf mutants/ for a run from scratch)')
        return 0
    mm._run(names, a.max_children)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
