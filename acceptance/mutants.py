"""Break one safety behaviour on purpose and show the suite catches it.

  python -m acceptance.mutants LIST
  python -m acceptance.mutants NAME [--target T] [-- extra pytest args]

A mutant is one textual change to a device source file. It is applied in
this tree, the acceptance suite runs on the target (the micropython target
compiles the mutated source), and the file is restored whatever happens.
The mutant is KILLED when the suite fails; the run's report
(out/hil/mutant-NAME-TARGET/report.html) names the failed tests, the
requirements they verify and the hazards those control. Exit status 0 when
killed, 1 when the mutant survived, 2 on bad use.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MUTANTS = {
    'occlusion-no-stop': (
        'a high-priority occlusion alarm no longer takes the pump to ALARM: the motor keeps '
        'delivering against the blocked catheter',
        'firmware/pump.py',
        '            if ALARM_PRIORITY[code] == _PRIO_HIGH:\n                self.fsm.fire(_T_ALARM)',
        '            if ALARM_PRIORITY[code] == _PRIO_HIGH and code != 1:   # MUTANT\n'
        '                self.fsm.fire(_T_ALARM)'),
    'mac-unchecked': (
        'the device accepts any MAC on a therapy command',
        'protocol/auth.py',
        '        if not compare_digest(mac, trailer[_COUNTER_LEN:TRAILER_LEN]):',
        '        if False and not compare_digest(mac, trailer[_COUNTER_LEN:TRAILER_LEN]):  # MUTANT'),
    'fsm-resume-to-bolus': (
        'the state engine takes RESUME into BOLUS, a state the table does not lead to (the wire '
        'shows RUNNING either way: only the conformance monitor can tell)',
        'firmware/fsm.py',
        '                    dest = rows[i + 2]\n',
        '                    dest = rows[i + 2] if trigger != 6 else 8   # MUTANT\n'),
    'power-recovery-autostart': (
        'after a power cut the device does not hold the recovered therapy in an alarm',
        'firmware/pump.py',
        '                self.fsm.fire(_T_RECOVERED)',
        '                self.fsm.fire(_T_POST_OK)   # MUTANT'),
}


def apply(name):
    _doc, rel, old, new = MUTANTS[name]
    path = ROOT / rel
    text = path.read_text()
    if text.count(old) != 1:
        raise SystemExit('mutant %s: the code to change is not in %s once (the source moved?)'
                         % (name, rel))
    path.write_text(text.replace(old, new))
    return path, text


def run(name, target, extra):
    out = ROOT / 'out' / 'hil' / ('mutant-%s-%s' % (name, target))
    path, original = apply(name)
    try:
        r = subprocess.run([sys.executable, '-m', 'pytest', 'acceptance', '-p', 'no:cacheprovider',
                            '--target', target, '--hil-out', str(out), '-q'] + extra, cwd=ROOT)
    finally:
        path.write_text(original)
    res = json.loads((out / 'results.json').read_text())
    from acceptance import trace
    bad = trace.affected(trace.load(), res['results'])
    print('\nmutant %s (%s) on target %s: %s' % (
        name, MUTANTS[name][0], target, 'KILLED' if r.returncode else 'SURVIVED'))
    for b in bad:
        print('  %s -> %s (%s) -> %s' % (b['test'], b['requirement'], b['statement'],
                                         ', '.join('%s %s' % h for h in b['hazards'])))
    print('  report: %s' % (out / 'report.html'))
    return 0 if r.returncode else 1


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if '--' in argv:
        i = argv.index('--')
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(prog='python -m acceptance.mutants')
    ap.add_argument('name', help='a mutant name, or LIST')
    ap.add_argument('--target', default='inproc')
    a = ap.parse_args(argv)
    if a.name == 'LIST':
        for k, v in MUTANTS.items():
            print('%-26s %s (%s)' % (k, v[0], v[1]))
        return 0
    if a.name not in MUTANTS:
        print('mutants: %r is not a mutant; one of %s' % (a.name, ', '.join(MUTANTS)),
              file=sys.stderr)
        return 2
    return run(a.name, a.target, extra)


if __name__ == '__main__':
    sys.exit(main())
