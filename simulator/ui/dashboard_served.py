"""`pumpsim dashboard --runtime micropython`: the firmware in a real
`micropython` process (`pumpsim serve --runtime micropython`, started here
on a free TCP port), watched and commanded through the signed serial link
like a board (pumphost.dashboard.serial_target), plus what only a
simulation allows: loading the scenario's course, injecting and clearing
named faults (with parameters) and changing the speed, through serve's
command lines. Stepping and breakpoints need the lockstep in-process
runtime (the default, cpython): this one runs paced to real time x speed.
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

from pumphost.client import PumpClient, LinkError, TEST_KEY
from pumphost.codes import K_CONTINUOUS
from pumphost.config.dose import ml_h_to_nl_h, ml_to_nl
from pumphost.config.programs import FILL_RESERVE_NL
from pumphost.dashboard.serial_target import SerialTarget, COMMANDS
from pumphost.dashboard.server import CommandError
from simulator.plant import faults
from simulator.ui import debug


def start_serve(scenario_arg, speed, runtime='micropython', timeout_s=120):
    """serve in a subprocess on a free TCP port: (process, pyserial URL)."""
    # the page re-arms the link every few seconds of wall time, minutes of
    # device time at high speed: the device's link-loss timeout is an hour
    args = [sys.executable, '-m', 'simulator.ui.cli', 'serve', '--runtime', runtime,
            '--link', 'tcp:0', '--speed', repr(float(speed)), '--link-timeout', '3600', scenario_arg]
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout_s
    lines = []
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith('port: '):
            return p, line.split(None, 1)[1].strip()
    p.kill()
    raise RuntimeError('serve printed no port: %s' % ''.join(lines)[-800:])


class ServedTarget(SerialTarget):
    kind = 'simulated'
    actions = COMMANDS + ('load', 'inject', 'clear', 'speed')

    def __init__(self, proc, url, scenario, runtime, speed):
        self.proc = proc
        self.scenario = scenario
        self.runtime = runtime
        self._counter = tempfile.NamedTemporaryFile(prefix='dashboard-', suffix='.counter', delete=False)
        self._counter.close()
        self.course_left_ml = scenario.volume_ml
        self.speed = speed
        client = PumpClient(url, key=TEST_KEY, counter_file=self._counter.name)
        super().__init__(client, url)
        self._serve_lines = threading.Thread(target=self._drain, daemon=True)
        self._serve_lines.start()

    def _drain(self):
        for line in self.proc.stdout:
            line = line.strip()
            if line.startswith('serve: ') and 'at t=' not in line:
                self.rec.event(self._now(), 'note', line)

    def _say(self, line):
        try:
            self.proc.stdin.write(line + '\n')
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise CommandError('the simulation process is gone (%s)' % e)

    def describe(self):
        d = super().describe()
        d.update({'name': self.scenario.name,
                  'detail': '%s, firmware in %s over %s' % (self.scenario.pump.name, self.runtime, self.url),
                  'faults': {n: {'doc': f.doc, 'params': f.defaults} for n, f in sorted(faults.FAULTS.items())
                             if n not in faults.POWER_FAULTS},
                  'controls': ['device', 'audio_pause', 'load', 'faults', 'speed'],
                  'speed': self.speed})
        return d

    def command(self, action, args):
        if action in ('inject', 'clear'):
            return self._fault(action, args)
        if action == 'speed':
            v = args.get('speed')
            try:
                v = float(v)
            except (TypeError, ValueError):
                v = -1.0
            if not 0.1 <= v <= 1000:
                raise CommandError('speed=%r: 0.1 to 1000 on the %s runtime' % (args.get('speed'), self.runtime))
            self._say('speed %g' % v)
            self.speed = v
            return {'ok': True, 'message': 'speed %gx' % v}
        if action in ('step', 'until', 'run', 'hold'):
            raise CommandError('%s: the %s runtime runs paced to real time; stepping and '
                               'breakpoints need `pumpsim dashboard` on the cpython runtime'
                               % (action, self.runtime))
        return super().command(action, args)

    def _fault(self, kind, args):
        name = args.get('fault')
        if name not in faults.FAULTS or name in faults.POWER_FAULTS:
            raise CommandError('fault=%r: unknown here (known: %s)' % (name, ', '.join(
                sorted(n for n in faults.FAULTS if n not in faults.POWER_FAULTS))))
        try:
            params = debug.fault_params(kind, name, args.get('params') or {})
            faults.check_params(name, params)
        except debug.DebugError as e:
            raise CommandError(str(e))
        except faults.FaultError as e:
            raise CommandError('%s: %s' % (kind, e))
        if kind == 'clear':
            params = {}
        words = ' '.join('%s=%s' % (k, v) for k, v in sorted(params.items()))
        self._say(('%s %s %s' % (kind, name, words)).strip())
        self.rec.event(self._now(), kind, ('%s %s %s' % (kind, name, words)).strip())
        return {'ok': True, 'message': '%s %s' % (kind, name)}

    def link_action(self, action, args):
        if action != 'load':
            return super().link_action(action, args)
        sc = self.scenario
        compiled = getattr(sc, 'compiled', None)
        if compiled is not None:   # the drug's course: one program, syringe changes inside
            vol = self.course_left_ml
            steps = compiled.program
        else:
            usable = sc.syringe_fill_ml - sc.pump.reservoir['dead_space_ml'] - FILL_RESERVE_NL / 1e6
            vol = min(self.course_left_ml, usable)
            steps = [(K_CONTINUOUS, ml_h_to_nl_h(sc.rate_ml_h), ml_to_nl(vol))]
        if vol <= 1e-6:
            return {'ok': False, 'message': 'load: the scenario course is all loaded already'}
        try:
            review = self.client.load_program(steps)
            self.client.confirm(review['program_hash'])
        except LinkError as e:
            return {'ok': False, 'message': 'load: %s' % e}
        self.course_left_ml -= vol
        self._review()
        self.rec.event(self._now(), 'program', 'programmed %.4f mL at %.4f mL/h (confirmed)' % (
            vol, sc.rate_ml_h))
        return {'ok': True, 'message': 'load: %.4f mL at %.4f mL/h confirmed; Start to begin' % (
            vol, sc.rate_ml_h)}

    def close(self):
        super().close()
        try:
            self._say('quit')
            self.proc.wait(timeout=10)
        except (CommandError, subprocess.TimeoutExpired):
            self.proc.kill()
        try:
            os.unlink(self._counter.name)
        except OSError:
            pass


def build_served_target(a, scenario):
    proc, url = start_serve(a.scenario, a.speed, runtime=a.runtime)
    return ServedTarget(proc, url, scenario, a.runtime, a.speed)
