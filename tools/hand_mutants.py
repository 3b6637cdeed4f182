"""The safety mutants an audit found alive, as exact source edits, and a
runner that applies each one to a scratch copy of the tree (files git
tracks or would track) and runs
the test suite (or the files named) against it.

    python tools/hand_mutants.py                 # every mutant, whole suite
    python tools/hand_mutants.py c d -- tests/test_loop_schedule.py
    python tools/hand_mutants.py --at cee9217 a b   # the tree of a commit
    python tools/hand_mutants.py --list
    python tools/hand_mutants.py --check         # every edit applies (no tests run)

A mutant is KILLED when pytest fails with it applied, ALIVE when the suite
still passes. A mutant whose edit no longer matches the source exactly once
is STALE: an error (exit status 2) before anything runs, never skipped
(tests/test_hand_mutants.py checks every mutant applies to the tree).
docs/testing.md lists each mutant and the test that kills it.
The working tree is never edited: each mutant runs in its own copy.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# key: (what the mutant does, [(file, exact text, replacement), ...])
MUTANTS = {
    'a': ('raise_alarm no longer stops the motor, stop_motor does nothing', [
        ('firmware/pump.py',
         '        high-priority alarm, the machine goes to ALARM."""\n        self.hal.motor.stop()\n',
         '        high-priority alarm, the machine goes to ALARM."""\n'),
        ('firmware/pump.py',
         '        # (raise_alarm has stopped it already; the table says so too)\n        self.hal.motor.stop()\n',
         '        # (raise_alarm has stopped it already; the table says so too)\n        pass\n'),
    ]),
    'a1': ('raise_alarm no longer stops the motor (stop_motor intact)', [
        ('firmware/pump.py',
         '        high-priority alarm, the machine goes to ALARM."""\n        self.hal.motor.stop()\n',
         '        high-priority alarm, the machine goes to ALARM."""\n'),
    ]),
    'a2': ('stop_motor does nothing (raise_alarm intact)', [
        ('firmware/pump.py',
         '        # (raise_alarm has stopped it already; the table says so too)\n        self.hal.motor.stop()\n',
         '        # (raise_alarm has stopped it already; the table says so too)\n        pass\n'),
    ]),
    'b': ('the drug hard rate limit is not checked (soft limit still is)', [
        ('firmware/dose_limits.py', '    if value > hard:\n', '    if value > hard and code != 0:\n'),
    ]),
    'b1': ('no drug hard limit is checked (override passes everything)', [
        ('firmware/dose_limits.py', '    if value > hard:\n', '    if False:\n'),
    ]),
    'b2': ('the drug hard limits are checked at twice their value', [
        ('firmware/dose_limits.py', '    hard = e[7 + code] * scale\n', '    hard = e[7 + code] * scale * 2\n'),
    ]),
    'c': ('the loop re-bases its deadline on now at every tick', [
        ('firmware/loop.py', '        self.deadline = clock.ticks_add(self.deadline, self.tick_ms)\n',
         '        self.deadline = clock.ticks_add(now, self.tick_ms)\n'),
    ]),
    'd': ('the scheduler drops the owed fraction on a rate change', [
        ('firmware/delivery.py', '        self._acc = muldiv(self._acc, den, self._d)\n',
         '        self._acc = 0\n'),
    ]),
    'e': ('the absolute pressure ceiling (750 mmHg) is removed', [
        ('firmware/occlusion.py', '        if f > self.hard:\n', '        if False:\n'),
    ]),
    'f': ('recovery loses the time left in a pause step (restarts it whole)', [
        ('firmware/recovery.py',
         '            dwell_end = pump.uptime_s + (left if left > 0 else 0)\n',
         '            dwell_end = pump.uptime_s + s[3]\n'),
    ]),
    'f1': ('recovery ends an interrupted pause step at once', [
        ('firmware/recovery.py',
         '            dwell_end = pump.uptime_s + (left if left > 0 else 0)\n',
         '            dwell_end = pump.uptime_s\n'),
    ]),
    'f2': ('recovery restarts an interrupted ramp from its first sub-step', [
        ('firmware/recovery.py', '        if s[0] != _K_RAMP or sub >= P.ramp_parts(s[3]):\n',
         '        if True:\n'),
    ]),
    'f3': ('recovery puts a ramp cut in its second sub-step back at the first', [
        ('firmware/recovery.py', '        if s[0] != _K_RAMP or sub >= P.ramp_parts(s[3]):\n',
         '        if s[0] != _K_RAMP or sub <= 1 or sub >= P.ramp_parts(s[3]):\n'),
    ]),
    'g': ('recovery forgets the alarms latched at the cut', [
        ('firmware/recovery.py', '        if (mask >> code) & 1:\n', '        if False:\n'),
    ]),
    'h1': ('the FAULT tick no longer holds the motor stopped', [
        ('firmware/pump.py', '        if state == _S_FAULT:\n            hal.motor.stop()\n',
         '        if state == _S_FAULT:\n'),
    ]),
    'h2': ('the FAULT tick no longer annunciates', [
        ('firmware/pump.py',
         '            hal.motor.stop()\n            self.alarms.tick(self.tick_ms, self.uptime_s)\n'
         '            hal.watchdog.feed()\n            return\n',
         '            hal.motor.stop()\n            hal.watchdog.feed()\n            return\n'),
    ]),
    'h3': ('POST no longer checks the pressure sensor', [
        ('firmware/pump.py', '        elif raw < _RAW_MIN or raw > _RAW_MAX:\n            self.last_error = \'pressure',
         '        elif False:\n            self.last_error = \'pressure'),
    ]),
    'h4': ('POST accepts a sensor reading at the saturation bound', [
        ('firmware/pump.py', '        elif raw < _RAW_MIN or raw > _RAW_MAX:\n            self.last_error = \'pressure',
         '        elif raw < _RAW_MIN or raw > _RAW_MAX + 200:\n            self.last_error = \'pressure'),
    ]),
    'h5': ('POST refuses a sensor reading at the lower bound', [
        ('firmware/pump.py', '        elif raw < _RAW_MIN or raw > _RAW_MAX:\n            self.last_error = \'pressure',
         '        elif raw <= _RAW_MIN or raw > _RAW_MAX:\n            self.last_error = \'pressure'),
    ]),
}


def revision_copy(dest, rev):
    archive = subprocess.run(['git', 'archive', '--format=tar', rev], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(['tar', '-x', '-C', str(dest)], input=archive, check=True)


def tracked_copy(dest):
    files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split('\0')
    for f in files:
        if not f or not (ROOT / f).is_file():
            continue
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dest / f)


class StaleMutant(Exception):
    """A mutant's edit no longer matches the source exactly once: the code
    it mutates has changed, and the mutant must be rewritten, not skipped."""


def mutated(read, key):
    """{path: mutated text} of mutant `key`, reading sources with `read(path)`.
    Raises StaleMutant if an edit's text is not found exactly once."""
    out = {}
    for path, old, new in MUTANTS[key][1]:
        text = out[path] if path in out else read(path)
        n = text.count(old)
        if n != 1 or old == new:
            raise StaleMutant('mutant %s: edit found %d times in %s (must be exactly once): %r'
                              % (key, n, path, old))
        out[path] = text.replace(old, new)
    return out


def apply(tree, key):
    for path, text in mutated(lambda f: (tree / f).read_text(), key).items():
        (tree / path).write_text(text)


def run(key, tests, workers, rev=None):
    what = MUTANTS[key][0]
    with tempfile.TemporaryDirectory(prefix='mutant_%s_' % key) as tmp:
        tree = Path(tmp)
        if rev:
            revision_copy(tree, rev)
        else:
            tracked_copy(tree)
        (tree / '.venv').symlink_to(ROOT / '.venv')   # tests run the pumpsim entry point
        apply(tree, key)
        cmd = [sys.executable, '-m', 'pytest', '-q', '-x', '-p', 'no:cacheprovider']
        if workers > 1:
            cmd += ['-n', str(workers), '--dist', 'loadfile']
        env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE='1')
        t0 = time.monotonic()
        r = subprocess.run(cmd + list(tests), cwd=tree, env=env, capture_output=True, text=True)
        failed = [ln.split(' ')[1] for ln in r.stdout.splitlines() if ln.startswith('FAILED ')]
        # -x under xdist ends "interrupted" (2) after the first failure
        verdict = 'KILLED' if r.returncode == 1 or (r.returncode == 2 and failed) else 'ALIVE'
        if r.returncode not in (0, 1) and not failed:
            verdict = 'ERROR(%d)' % r.returncode
        print('%-3s %-7s %5.0f s  %s%s' % (key, verdict, time.monotonic() - t0, what,
                                           ('\n      by ' + '\n      by '.join(failed)) if failed else ''), flush=True)
        if verdict.startswith('ERROR') or (verdict == 'KILLED' and not failed):
            print(r.stdout[-3000:], r.stderr[-2000:], flush=True)
        return verdict


def main(argv):
    if '--list' in argv:
        for k, (what, _) in MUTANTS.items():
            print(k, what)
        return 0
    tests = []
    if '--' in argv:
        i = argv.index('--')
        argv, tests = argv[:i], argv[i + 1:]
    rev = None
    if '--at' in argv:
        i = argv.index('--at')
        rev = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    check_only = '--check' in argv
    argv = [a for a in argv if a != '--check']
    workers = int(os.environ.get('MUTANT_WORKERS', '2'))
    keys = argv or list(MUTANTS)
    for k in keys:
        if k not in MUTANTS:
            print('mutant %r unknown (known: %s)' % (k, ' '.join(MUTANTS)), file=sys.stderr)
            return 2
    # every mutant must apply before any runs: a stale one is an error
    if rev:
        read = lambda f: subprocess.run(['git', 'show', '%s:%s' % (rev, f)], cwd=ROOT, check=True,
                                        capture_output=True, text=True).stdout
    else:
        read = lambda f: (ROOT / f).read_text()
    try:
        for k in keys:
            mutated(read, k)
    except StaleMutant as e:
        print('STALE %s' % e, file=sys.stderr)
        return 2
    if check_only:
        print('%d mutants apply' % len(keys))
        return 0
    verdicts = [run(k, tests, workers, rev) for k in keys]
    return 0 if all(v == 'KILLED' for v in verdicts) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
