"""pumpsim: run scenarios, benches and tools against the real firmware.

Exit status: 0 ok, 1 a run/bench missed what it checks, 2 bad input (config,
scenario, argument) with one line naming the file, key, value and what is
allowed, 130 Ctrl-C (a run or bench stops at the next trace point and
writes what it has, marked partial).
"""
import argparse
import importlib
import math
import os
import sys

from pumphost.config.schema import ConfigError
from simulator.benches import bench_modules


def cmd_run(a):
    from simulator.scenario import load_scenario
    from simulator.runtime.inproc import Simulation
    from simulator.ui.report import write_run, human_summary

    sc = load_scenario(a.scenario)
    if a.runtime == 'qemu':   # the firmware image on the emulated board
        return _run_qemu(a, sc)
    sim = Simulation(sc, seed=a.seed)
    summary = sim.run(progress=sys.stderr.isatty() or a.progress, speed=a.speed)
    out = write_run(a.out, summary, sim.trace)
    print(human_summary(summary))
    print('written    %s/summary.json, trace.csv, trace.png, zoom.png%s' % (
        out, ' (partial: interrupted)' if sim.interrupted else ''))
    return 130 if sim.interrupted else 0


def _run_qemu(a, sc):
    from simulator.runtime import qemu_run
    from simulator.runtime.bridge import BridgeError
    try:
        s = qemu_run.run(sc, seed=a.seed)
    except (qemu_run.RunError, BridgeError) as e:
        sys.stderr.write('pumpsim run: --runtime=qemu: %s\n' % e)
        return 2
    out = qemu_run.write(a.out, s)
    print(qemu_run.human(s))
    print('written    %s/summary.json' % out)
    return 0


def cmd_diagram(a):
    from simulator.statechart import write_mermaid_doc
    path = write_mermaid_doc(a.out)
    print('wrote', path)
    return 0


class OneLineParser(argparse.ArgumentParser):
    """Argument errors: one line, exit 2 (sub-parsers inherit the class)."""

    def error(self, message):
        self.exit(2, '%s: %s\n' % (self.prog, message))


# Options with the same meaning on every subcommand: their help where a
# subcommand gave none, and the values they take (checked after parsing).
COMMON_HELP = {
    '--seed': 'random seed, 0..2147483647 (default %(default)s)',
    '--fault-seed': 'random seed of the link faults (default %(default)s)',
    '--out': 'output directory (created; an existing file is refused)',
    '--pump': 'configs/pumps name or a YAML path (default %(default)s)',
    '--runtime': 'cpython (in process) or micropython (a real micropython process)',
    '--frames': 'how many frames (default %(default)s)',
    '--balance-resolution-mg': 'balance resolution, mg (default %(default)s)',
}
SEEDS = ('seed', 'fault_seed')
POSITIVE = ('rate', 'hours', 'volume', 'reference_mmhg', 'seconds', 'paced_seconds',
            'speed', 'link_timeout', 'count', 'frames', 'ticks', 'cuts')
NON_NEGATIVE = ('balance_resolution_mg', 'max_error_pct', 'verify_rate')   # verify 0: no check run


def _fill_help(parser):
    for act in parser._actions:   # argparse keeps no public list of them
        if isinstance(act, argparse._SubParsersAction):
            for sub in act.choices.values():
                _fill_help(sub)
        elif act.help is None and act.option_strings:
            act.help = COMMON_HELP.get(act.option_strings[-1], 'see the subcommand\'s description')


def check_values(a):
    """Bad values of the shared options: one line naming option, value and
    what is allowed (None if all are fine)."""
    for name in SEEDS:
        v = getattr(a, name, None)
        if v is not None and not 0 <= v <= 2 ** 31 - 1:
            return '--%s=%d not allowed (0..2147483647)' % (name.replace('_', '-'), v)
    for name, lo_ok in [(n, False) for n in POSITIVE] + [(n, True) for n in NON_NEGATIVE]:
        v = getattr(a, name, None)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if not math.isfinite(v) or v < 0 or (v == 0 and not lo_ok):
            return '--%s=%r not allowed (%s)' % (name.replace('_', '-'), v,
                                                 'a number >= 0' if lo_ok else 'a number > 0')
    return None


def check_out_dir(out):
    """--out must be a directory we can write, or one we can create there
    (the command creates it: a refused run leaves nothing behind)."""
    if os.path.exists(out):
        if not os.path.isdir(out):
            return '--out=%s is an existing file: give a directory' % out
        if not os.access(out, os.W_OK | os.X_OK):
            return '--out=%s: not writable' % out
        return None
    parent = os.path.dirname(os.path.abspath(out))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return '--out=%s: %s is a file, not a directory' % (out, parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        return '--out=%s: cannot create it (%s is not writable)' % (out, parent)
    return None


def build_parser():
    ap = OneLineParser(prog='pumpsim', description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('run', help='run a scenario: summary.json, trace.csv, trace.png')
    r.add_argument('scenario', help='configs/scenarios name or a YAML path')
    r.add_argument('--out', required=True, help='output directory')
    r.add_argument('--seed', type=int, default=None, help='override the scenario seed')
    r.add_argument('--runtime', default='cpython', choices=('cpython', 'qemu'),
                   help='cpython: the firmware in this process (default); qemu: the firmware '
                        'image on the emulated board (`make image`), summary.json only')
    r.add_argument('--speed', type=float, default=None,
                   help='real-time factor (1 = real time, for demos); default: as fast as possible')
    r.add_argument('--progress', action='store_true', help='progress bar even when not on a tty')
    r.set_defaults(func=cmd_run)
    d = sub.add_parser('diagram', help='render the state table as a mermaid diagram')
    d.add_argument('--out', default='docs/state-machine.md', help='the file to write (default %(default)s)')
    d.set_defaults(func=cmd_diagram)
    b = sub.add_parser('bench', help='benches after IEC 60601-2-24 (see pumpsim bench -h)')
    bsub = b.add_subparsers(dest='bench', required=True)
    for module in bench_modules():
        module.register(bsub)
    for name in TOOLS:
        importlib.import_module(name).register(sub)
    _fill_help(ap)
    return ap


# User surfaces with their own top-level subcommand; each defines
# register(subparsers). Benches are discovered (simulator/benches/).
TOOLS = ('simulator.ui.serve', 'simulator.ui.shell', 'simulator.ui.dashboard', 'simulator.trials.sweep')


def main(argv=None):
    ap = build_parser()
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:   # argparse printed one line (or --help)
        return e.code
    err = check_values(a)
    if err is None and a.cmd in ('run', 'bench') and getattr(a, 'out', None):
        err = check_out_dir(a.out)
    if err:
        sys.stderr.write('pumpsim %s: %s\n' % (getattr(a, 'bench', None) or a.cmd, err))
        return 2
    from simulator.runtime.inproc import Interrupt
    try:
        rc = a.func(a)
        sys.stdout.flush()
        if Interrupt.seen and a.cmd != 'shell':
            sys.stderr.write('pumpsim: interrupted by Ctrl-C: what was written is partial\n')
            return 130
        return rc
    except ConfigError as e:
        sys.stderr.write('pumpsim: config error: %s\n' % e)
        return 2
    except KeyboardInterrupt:
        sys.stderr.write('pumpsim: interrupted\n')
        return 130
    except BrokenPipeError:   # output piped into head: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        sys.stderr.write('pumpsim: %s%s\n' % (e.strerror or e, ': %s' % e.filename if e.filename else ''))
        return 1
    except Exception as e:   # no traceback reaches a user; PUMPSIM_DEBUG=1 shows it
        if os.environ.get('PUMPSIM_DEBUG'):
            raise
        sys.stderr.write('pumpsim: internal error: %s: %s (PUMPSIM_DEBUG=1 shows where)\n'
                         % (type(e).__name__, str(e).splitlines()[0] if str(e) else ''))
        return 1


if __name__ == '__main__':
    sys.exit(main())
