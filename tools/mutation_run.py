"""Run mutmut over the safety modules (`make mutation`), leaving out the
mutants already judged equivalent.

    .venv/bin/python tools/mutation_run.py [--max-children N] [--all] [PATTERN ...]

An equivalent mutant survives every test by definition, so it costs every
test that reaches its function, each run: the dearest mutants there are,
and running them again tells nothing new. Each is listed in
tools/mutation_equivalent.txt with why no behaviour of the device can tell
it from the original, after the digest of the change that reason was
written about; a listed mutant is left out of the run (and counted as
equivalent by the report) only while its change still has that digest:
mutmut numbers a function's mutants afresh when the function changes, and
an entry must not then skip another mutant. A mismatch is run and named. `--all` runs them too: a listed mutant that a test now
kills (mutmut renumbers a function's mutants when the function changes) is
then flagged stale by tools/mutation_report.py.

The run continues: a mutant with a result in mutants/ is not run again
(`--rerun` runs it again, `--survivors` only the survivors, once tests
are written against them; `rm -rf mutants` starts from scratch). PATTERNs
(fnmatch, e.g. 'firmware.recovery*') restrict the run to the mutants they
match.

mutmut 3.8.1 (pinned in pyproject.toml): its generation step first, so that
the names to run are known, then `mutmut run NAME...` with them.
"""
import argparse
import fnmatch
import hashlib
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutation_report import EQUIVALENT, equivalent_entries  # noqa: E402


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
    """[(name, exit code or None, source path)] for every mutant mutmut generated."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.utils.file_utils import walk_mutatable_files
    out = []
    for path in walk_mutatable_files():
        m = SourceFileMutationData(path=path)
        m.load()
        out.extend((name, result, path) for name, result in m.exit_code_by_key.items())
    return out


def change_digest(diff):
    """8 hex digits of a mutant's change: the lines its diff removes and
    adds, without their indentation."""
    lines = [ln[0] + ln[1:].strip() for ln in diff.splitlines()
             if ln[:1] in '-+' and not ln.startswith(('---', '+++'))]
    return hashlib.sha1('\n'.join(lines).encode()).hexdigest()[:8]


def confirmed_equivalent(mutants, entries):
    """(names whose listed digest matches their change now, [(name, why
    not)] for the listed ones that do not)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    path_of = {name: path for name, _, path in mutants}
    ok, changed = set(), []
    for name, (digest, _) in sorted(entries.items()):
        if name not in path_of:
            changed.append((name, 'no such mutant now'))
        elif digest is None:
            changed.append((name, 'no digest listed'))
        else:
            now = change_digest(get_diff_for_mutant(name, path=path_of[name]))
            if now == digest:
                ok.add(name)
            else:
                changed.append((name, 'its change is not the one judged (%s, listed %s)' % (now, digest)))
    return ok, changed


def stamp(mutants, entries):
    """Write each listed mutant's change digest into the equivalent list
    (after its entries were checked by hand against `mutmut show`)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    path_of = {name: path for name, _, path in mutants}
    out = []
    for line in EQUIVALENT.read_text().splitlines():
        name = line.split(' ', 1)[0]
        if line.strip() and not line.startswith('#') and name in path_of:
            why = entries[name][1]
            line = '%s [%s] %s' % (name, change_digest(get_diff_for_mutant(name, path=path_of[name])), why)
        out.append(line)
    EQUIVALENT.write_text('\n'.join(out) + '\n')


_SURVIVED = 0


def repoint(mutants, entries):
    """Move each listed entry whose change is no longer at its number to
    the one mutant of the same function that now has exactly that change
    (mutmut renumbered it when the function changed), with the numbers its
    reason cites; {old name: new name}. An entry without a unique match is
    left to be judged again."""
    import re
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    _, changed = confirmed_equivalent(mutants, entries)
    funcs = {name.rsplit('__mutmut_', 1)[0] for name, _ in changed}
    at = {}
    for name, _, path in mutants:
        func = name.rsplit('__mutmut_', 1)[0]
        if func in funcs:
            at.setdefault((func, change_digest(get_diff_for_mutant(name, path=path))), []).append(name)
    moved = {}
    for name, _ in changed:
        func = name.rsplit('__mutmut_', 1)[0]
        found = at.get((func, entries[name][0]), [])
        if len(found) == 1:
            moved[name] = found[0]
    number = {}     # per function: {old number: new number}
    for old, new in moved.items():
        number.setdefault(old.rsplit('__mutmut_', 1)[0], {})[old.rsplit('_', 1)[1]] = new.rsplit('_', 1)[1]
    out = []
    for line in EQUIVALENT.read_text().splitlines():
        name = line.split(' ', 1)[0]
        if name in moved:
            renumber = number[name.rsplit('__mutmut_', 1)[0]]
            line = moved[name] + re.sub(r'mutmut_(\d+)', lambda m: 'mutmut_' + renumber.get(m.group(1), m.group(1)),
                                        line[len(name):])
        out.append(line)
    EQUIVALENT.write_text('\n'.join(out) + '\n')
    return moved


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
    p.add_argument('--stamp-equivalents', action='store_true',
                   help='write the change digest of every listed equivalent mutant (after checking them)')
    p.add_argument('--repoint-equivalents', action='store_true',
                   help='move listed entries to the mutant that now has their change (renumbered)')
    p.add_argument('patterns', nargs='*', metavar='PATTERN', help="mutant names, fnmatch ('firmware.loop*')")
    a = p.parse_args(argv)
    if a.max_children < 1:
        p.exit(2, 'mutation_run.py: --max-children: %d is not allowed, at least 1\n' % a.max_children)
    generate(a.max_children)
    entries = equivalent_entries()
    found = known_mutants()
    if a.stamp_equivalents:
        stamp(found, entries)
        print('change digests written to %s' % EQUIVALENT)
        return 0
    if a.repoint_equivalents:
        for old, new in sorted(repoint(found, entries).items()):
            print('moved: %s -> %s' % (old, new))
        return 0
    mutants = [(name, result) for name, result, _ in found]
    equiv, changed = confirmed_equivalent(found, entries)
    for name, why in changed:
        print('listed as equivalent, run all the same: %s: %s' % (name, why))
    names = to_run(mutants, a.patterns, equiv, a.all, a.rerun, a.survivors)
    skipped = sum(1 for n, _ in mutants if n in equiv) if not a.all else 0
    print('%d mutants, %d to run, %d judged equivalent and left out' % (len(mutants), len(names), skipped))
    if a.patterns and not any(fnmatch.fnmatch(n, q) for n, _ in mutants for q in a.patterns):
        p.exit(2, 'mutation_run.py: PATTERN: %s matches no mutant; names look like '
                  "'firmware.loop.xǁLoopǁpoll__mutmut_3'\n" % ' '.join(a.patterns))
    if not names:
        print('nothing left to run (rm -rf mutants/ for a run from scratch)')
        return 0
    # mutmut's own `run` with the names: it runs exactly the mutants named
    return subprocess.call([sys.executable, '-m', 'mutmut', 'run', '--max-children', str(a.max_children)]
                           + names)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
