"""Summarise a mutmut run (`make mutation`): per module, how many mutants
were killed, survived, timed out or not yet run, the score, and every
survivor's name (`mutmut show NAME` prints its diff).

    .venv/bin/python tools/mutation_report.py [--diffs]     (where mutants/ is)

Score = killed / (killed + survived + timeout): a timeout counts against
(a mutant that hangs the firmware is found by the watchdog on a board, not
by a test). Mutants judged equivalent are listed in docs/testing.md with
why; the score here does not know about them.
"""
import collections
import subprocess
import sys
from pathlib import Path

# run where mutants/ is (the repository for make mutation); mutmut from
# this interpreter's environment
ROOT = Path.cwd()
MUTMUT = Path(sys.executable).parent / 'mutmut'


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
    by_mod = collections.defaultdict(collections.Counter)
    survivors = collections.defaultdict(list)
    for name, status in rows:
        mod = module_of(name)
        by_mod[mod][status] += 1
        if status in ('survived', 'timeout', 'suspicious'):
            survivors[mod].append((name, status))
    total = collections.Counter()
    print('%-26s %7s %8s %7s %8s %6s' % ('module', 'killed', 'survived', 'timeout', 'not run', 'score'))
    for mod in sorted(by_mod):
        c = by_mod[mod]
        total.update(c)
        judged = c['killed'] + c['survived'] + c['timeout']
        print('%-26s %7d %8d %7d %8d %6s' % (
            mod, c['killed'], c['survived'], c['timeout'], c['not checked'],
            '%.0f%%' % (100.0 * c['killed'] / judged) if judged else '-'))
    judged = total['killed'] + total['survived'] + total['timeout']
    print('%-26s %7d %8d %7d %8d %6s' % (
        'all', total['killed'], total['survived'], total['timeout'], total['not checked'],
        '%.1f%%' % (100.0 * total['killed'] / judged) if judged else '-'))
    other = {k: v for k, v in total.items() if k not in ('killed', 'survived', 'timeout', 'not checked')}
    if other:
        print('other statuses: %s' % ', '.join('%s %d' % kv for kv in sorted(other.items())))
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
