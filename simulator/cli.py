"""pumpsim: run scenarios, benches and tools against the real firmware.

Exit status: 0 ok, 1 a run/bench missed what it checks, 2 bad input (config,
scenario, argument) with one line naming the file, key, value and what is
allowed.
"""
import argparse
import importlib
import sys

from simulator.schema import ConfigError


def cmd_run(a):
    from simulator.scenario import load_scenario
    from simulator.runner import Simulation
    from simulator.report import write_run, human_summary

    sc = load_scenario(a.scenario)
    sim = Simulation(sc, seed=a.seed)
    summary = sim.run(progress=sys.stderr.isatty() or a.progress, speed=a.speed)
    out = write_run(a.out, summary, sim.trace)
    print(human_summary(summary))
    print('written    %s/summary.json, trace.csv, trace.png' % out)
    return 0


def cmd_diagram(a):
    from simulator.statechart import write_mermaid_doc
    path = write_mermaid_doc(a.out)
    print('wrote', path)
    return 0


def build_parser():
    ap = argparse.ArgumentParser(prog='pumpsim', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('run', help='run a scenario: summary.json, trace.csv, trace.png')
    r.add_argument('scenario', help='configs/scenarios name or a YAML path')
    r.add_argument('--out', required=True, help='output directory')
    r.add_argument('--seed', type=int, default=None, help='override the scenario seed')
    r.add_argument('--speed', type=float, default=None,
                   help='real-time factor (1 = real time, for demos); default: as fast as possible')
    r.add_argument('--progress', action='store_true', help='progress bar even when not on a tty')
    r.set_defaults(func=cmd_run)
    d = sub.add_parser('diagram', help='render the state table as a mermaid diagram')
    d.add_argument('--out', default='docs/state-machine.md')
    d.set_defaults(func=cmd_diagram)
    b = sub.add_parser('bench', help='benches after IEC 60601-2-24 (see pumpsim bench -h)')
    bsub = b.add_subparsers(dest='bench', required=True)
    for mod in PLUGINS:
        # each plugin module adds its own subcommands: bench modules under
        # `bench`, tools (shell, serve, ...) at the top level
        module = importlib.import_module(mod)
        module.register(bench=bsub, top=sub)
    return ap


# Modules that add subcommands; each defines register(bench, top). New benches
# and tools add a line here instead of editing the parser above.
PLUGINS = (
    'simulator.bench_air',
    'simulator.serve',
    'simulator.bench_occlusion',
    'simulator.bench_accuracy',
    'simulator.bench_calibrate',
    'simulator.shell',
    'simulator.bench_power',
    'simulator.bench_fuzz',
    'simulator.sweep',
)


def main(argv=None):
    ap = build_parser()
    a = ap.parse_args(argv)
    if getattr(a, 'speed', None) is not None and a.speed <= 0:
        ap.exit(2, 'pumpsim: --speed=%r must be > 0\n' % a.speed)
    try:
        return a.func(a)
    except ConfigError as e:
        sys.stderr.write('pumpsim: config error: %s\n' % e)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
