"""Summarise a mutmut run (`make mutation`): per module, how many mutants
were killed, survived, timed out or not yet run, the score, and every
survivor's name (`mutmut show NAME` prints its diff).

    .venv/bin/python tools/mutation_report.py [--diffs]     (where mutants/ is)

Score = killed / (killed + survived + timeout), survivors judged equivalent
left out: a timeout counts against (a mutant that hangs the firmware is
found by the watchdog on a board, not by a test). The equivalent mutants
are listed, each with why, in tools/mutation_equivalent.txt (one a line:
NAME  reason); mutmut numbers a function's mutants afresh when the function
changes, so an entry whose mutant is killed now is reported as stale, to be looked at again.
"""
import collections
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# run where mutants/ is (the repository for make mutation); mutmut from
# this interpreter's environment
ROOT = Path.cwd()
MUTMUT = Path(sys.executable).parent / 'mutmut'
EQUIVALENT = Path(__file__).resolve().parent / 'mutation_equivalent.txt'


def equivalent_entries():
    """{mutant name: (change digest or None, why it cannot be told apart
    from the original)}. An entry reads `NAME [digest] why`: the digest
    (tools/mutation_run.py change_digest) is of the change the reason was
    written about, so a mutant renumbered since is not taken for it."""
    out = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith('#'):
                name, _, why = line.partition(' ')
                why = why.strip()
                digest = None
                if why.startswith('[') and '] ' in why:
                    digest, _, why = why[1:].partition('] ')
                out[name] = (digest, why.strip())
    return out


def equivalent():
    """{mutant name: why it cannot be told apart from the original}."""
    return {name: why for name, (_, why) in equivalent_entries().items()}


def results():
    r = subprocess.run([str(MUTMUT), 'results', '--all', 'true'], cwd=ROOT, capture_output=True,
                       text=True)
    if r.returncode:
        raise SystemExit('mutmut results failed: %s' % r.stderr.strip().splitlines()[-1:])
    out = []
    for line in r.stdout.splitlines():
        line = line.strip()
        if ': ' not in line:
            continue
        name, status = line.rsplit(': ', 1)
        out.append((name, status))
    return out


def module_of(name):
    # firmware.loop.xǁLoopǁpoll__mutmut_3 -> firmware.loop
    parts = name.split('.')
    return '.'.join(p for p in parts[:2])


def main(argv):
    rows = results()
    if not rows:
        print('no mutmut results: run make mutation first')
        return 1
    equiv = equivalent()
    try:
        # a listed mutant counts as equivalent only while its change is
        # the one judged (mutmut renumbers a changed function's mutants)
        import mutation_run
        entries = mutation_run.equivalent_entries()
        confirmed, changed = mutation_run.confirmed_equivalent(mutation_run.known_mutants(), entries)
        equiv = {n: w for n, w in equiv.items() if n in confirmed}
        for name, why in changed:
            print('listed as equivalent, not counted: %s: %s' % (name, why))
    except ImportError:
        pass
    by_mod = collections.defaultdict(collections.Counter)
    survivors = collections.defaultdict(list)
    for name, status in rows:
        mod = module_of(name)
        if status in ('survived', 'not checked') and name in equiv:
            # judged equivalent: survived, or left out of the run (tools/mutation_run.py)
            status = 'equivalent'
        by_mod[mod][status] += 1
        if status in ('survived', 'timeout', 'suspicious'):
            survivors[mod].append((name, status))
    total = collections.Counter()
    print('%-22s %7s %8s %6s %7s %8s %6s' % ('module', 'killed', 'survived', 'equiv', 'timeout',
                                             'not run', 'score'))

    def line(label, c, fmt):
        judged = c['killed'] + c['survived'] + c['timeout']
        print('%-22s %7d %8d %6d %7d %8d %6s' % (
            label, c['killed'], c['survived'], c['equivalent'], c['timeout'], c['not checked'],
            fmt % (100.0 * c['killed'] / judged) if judged else '-'))

    for mod in sorted(by_mod):
        total.update(by_mod[mod])
        line(mod, by_mod[mod], '%.0f%%')
    line('all', total, '%.1f%%')
    other = {k: v for k, v in total.items()
             if k not in ('killed', 'survived', 'timeout', 'not checked', 'equivalent')}
    if other:
        print('other statuses: %s' % ', '.join('%s %d' % kv for kv in sorted(other.items())))
    status = dict(rows)
    stale = sorted(n for n in equiv if status.get(n) == 'killed')
    unknown = sorted(n for n in equiv if n not in status)
    if unknown:
        print('\nlisted as equivalent but no such mutant now (renumbered? look again):')
        for n in unknown:
            print('  %s' % n)
    if stale:
        print('\nlisted as equivalent but killed now (stale entries: look again):')
        for n in stale:
            print('  %s' % n)
    for mod in sorted(survivors):
        print('\n%s:' % mod)
        for name, status in survivors[mod]:
            print('  %s (%s)' % (name, status))
            if '--diffs' in argv:
                d = subprocess.run([str(MUTMUT), 'show', name], cwd=ROOT, capture_output=True, text=True)
                print('    ' + '\n    '.join(d.stdout.strip().splitlines()[1:]))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
