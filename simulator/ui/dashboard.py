"""pumpsim dashboard: the live dashboard (pumphost.dashboard) on the
in-process simulation, with the debugger's controls.

    pumpsim dashboard [SCENARIO] [--runtime cpython|micropython] [--seed N] [--speed X]
                      [--hold] [--no-start] [--no-events] [--http-port N] [--open-for S]

The firmware boots and (unless --no-start) the scenario's course is
programmed and started, as `pumpsim run` does; the simulation then runs at
--speed times real time (default 60) until held from the page. Besides the
device commands the page can inject and clear any named fault with its
parameters, step one tick or a duration (3min30s), run until a condition
(simulator.ui.debug: `pressure > 150`, `state ALARM`, `probe`,
`journal occlusion`) and change the speed.

Device commands (start, pause, resume, stop, acknowledge, audio pause) go
through the firmware's own serial link handler on the simulated HAL, from
the same PumpClient pumpctl uses, signed with the test key
(dashboard_link.py), in lockstep: the simulation is held while one is in
flight. Loading the course is the nurse at the pump, as in `pumpsim run`.
With --runtime
micropython the firmware runs in a micropython process behind `pumpsim
serve`, and the page works through the signed link (dashboard_served.py).
A board is watched the same way with `pumpctl --port URL --key-file F
dashboard`.
"""
import os
import signal
import sys
import threading
import time

from pumphost import catalog
from pumphost import codes
from pumphost.codes import N_ALARMS
from pumphost.dashboard.record import SessionRecord
from pumphost.dashboard.server import CommandError
from firmware.table import STATE_NAMES, DELIVERING
from simulator.plant import faults
from simulator.runtime.inproc import SimulationError
from simulator.ui import debug

CHUNK_WALL_S = 0.05        # free run: one chunk of simulated time per 50 ms
UNTIL_CHUNK_TICKS = 3000   # run, run until: the lock is let go at least this often
SYNC_STEP_TICKS = 3000     # a step this short is done before the answer
MAX_UNTIL_S = 14 * 86400
STEP_KINDS = {codes.K_CONTINUOUS: 'continuous', codes.K_RAMP: 'ramp', codes.K_BOLUS: 'bolus',
              codes.K_PAUSE: 'pause', codes.K_KVO: 'kvo', codes.K_SYRINGE: 'syringe change',
              codes.K_CYCLE: 'cycle'}
DEVICE_COMMANDS = ('start', 'pause', 'resume', 'stop', 'ack')


class SimTarget:
    kind = 'simulated'

    def __init__(self, sim, speed=60.0, running=True, sample_s=1.0):
        from simulator.ui.shell import describe_record
        self.describe_record = describe_record
        self.sim = sim
        self.rec = SessionRecord()
        self.lock = threading.RLock()
        self.speed = float(speed)
        self.mode = 'run' if running else 'hold'
        self.until = None           # (Condition or None, end tick, label)
        self.message = ''
        self.sample_ticks = max(1, int(round(sample_s * 1000 / sim.tick_ms)))
        self._n_events = 0
        self._n_alarms = 0
        self._n_trace = 0
        self._journal_seq = 0
        self._pump = None
        self._course_t0 = None
        self._rate_window = []      # (wall, sim seconds) for the achieved speed
        self._closed = False
        self.client = None          # PumpClient on the simulation's link, made at the first command
        self._counter_file = None
        sim.hook = self._hook
        with self.lock:
            self._collect(force=True)
        self.thread = threading.Thread(target=self._worker, name='sim-dashboard', daemon=True)
        self.thread.start()

    # ------------------------------------------------------------ the run
    def _hook(self, sim, k):
        if k % self.sample_ticks == 0:
            self._sample(k=k)
        return False

    def _worker(self):
        while not self._closed:
            t0 = time.perf_counter()
            mode = self.mode
            try:
                if mode == 'run':
                    n = max(1, min(UNTIL_CHUNK_TICKS, int(round(
                        self.speed * CHUNK_WALL_S * 1000 / self.sim.tick_ms))))
                    with self.lock:
                        self._step(n)
                elif mode == 'until':
                    with self.lock:
                        self._until_chunk()
            except SimulationError as e:   # e.g. the device refused a syringe change
                self.mode = mode = 'hold'
                self.message = 'held: %s' % e
            left = CHUNK_WALL_S - (time.perf_counter() - t0)
            if left > 0 and mode != 'until':
                time.sleep(left)
            elif mode == 'until':
                time.sleep(0.001)   # let the page's requests in

    def _step(self, n):
        sim = self.sim
        try:
            sim.step(n)
        except SimulationError as e:
            self.mode = 'hold'
            self.message = 'held: %s' % e
        self._collect()
        now = time.perf_counter()
        self._rate_window.append((now, sim.k * sim.tick_ms / 1000.0))
        while self._rate_window and now - self._rate_window[0][0] > 2.0:
            self._rate_window.pop(0)

    def _until_chunk(self):
        sim = self.sim
        cond, end, label = self.until
        n = min(UNTIL_CHUNK_TICKS, end - sim.k)
        hit = False
        if n > 0:
            if cond is None:
                self._step(n)
            else:
                hit = debug.run_until(sim, cond, n)
                self._collect(force=True)
        t = self._t()
        if hit:
            self.mode = 'hold'
            self.message = 'stopped at %s: %s' % (_clock(t), label)
            self.rec.event(t, 'break', 'breakpoint: %s' % label)
        elif sim.k >= end:
            self.mode = 'hold'
            self.message = ('%s; now %s' % (label, _clock(t)) if cond is None else
                            'no %s by %s (max reached); held' % (label, _clock(t)))

    def _t(self, k=None):
        """Simulated seconds at tick k (default: where the last step ended;
        inside a step, sim.k is not yet updated: the hook passes k)."""
        return (self.sim.k if k is None else k) * self.sim.tick_ms / 1000.0

    # ------------------------------------------------------------ recording
    def _sample(self, force=False, k=None):
        sim = self.sim
        pump, plant = sim.pump, sim.plant
        t = self._t(k)
        if self._course_t0 is None and pump.fsm.state in DELIVERING:
            self._course_t0 = t
        sc = sim.scenario
        course = 0.0
        if self._course_t0 is not None:
            course = min(sc.volume_ml, sc.rate_ml_h * (t - self._course_t0) / 3600.0)
        self.rec.sample({
            't': t, 'pressure': round(plant.pressure_mmhg, 2),
            'sensed': pump.pressure_x10 / 10.0,
            'baseline': pump.occlusion.baseline_x10() / 10.0,
            'delivered': round(plant.delivered_ul / 1000.0, 6),
            'device_delivered': pump.course.delivered_nl / 1e6,
            'course': round(course, 6)}, force=force)

    def _collect(self, force=False):
        """Carry what the simulation logged since the last look into the record."""
        sim = self.sim
        for row in sim.trace[self._n_trace:]:
            self.rec.state(row[0], row[1])
        self._n_trace = len(sim.trace)
        self.rec.state(self._t(), sim.pump.state_name())
        for e in sim.events_log[self._n_events:]:
            self._event(e)
        self._n_events = len(sim.events_log)
        for a in sim.alarms[self._n_alarms:]:
            self.rec.event(a['t_s'], 'alarm', '%s (%s priority) at %.1f mmHg, state %s' % (
                a['code'], a['priority'], a['pressure_mmhg'], a['state']))
        self._n_alarms = len(sim.alarms)
        self._collect_journal()
        self._sample(force=force)

    def _event(self, e):
        kind = e['event']
        t = e['t_s']
        if kind in ('inject', 'clear'):
            ps = ''.join(' %s=%s' % kv for kv in sorted((e.get('params') or {}).items()))
            self.rec.event(t, kind, '%s %s%s' % (kind, e['name'], ps))
        elif kind == 'command':
            name = e['name']
            self.rec.event(t, 'ack' if name == 'ack' else ('resume' if name == 'resume' else 'command'),
                           '%s -> %s' % (name, e.get('result', '?')))
        elif kind == 'program':
            self.rec.event(t, 'program', 'programmed %.4f mL at %.4f mL/h' % (
                e['volume_ml'], e['rate_ml_h']))
        else:
            rest = ', '.join('%s %s' % (k, v) for k, v in sorted(e.items()) if k not in ('t_s', 'event'))
            self.rec.event(t, 'note', kind.replace('_', ' ') + ((': ' + rest) if rest else ''))

    def _collect_journal(self):
        pump = self.sim.pump
        if pump is not self._pump:      # a reboot: a new journal object, same storage
            self._pump = pump
        if pump.journal.next_seq == self._journal_seq:
            return
        lines = []
        for seq, t, ev, a, b in pump.journal.records():
            if seq >= self._journal_seq:
                lines.append({'seq': seq, 't_s': t, 'text': self.describe_record(ev, a, b)})
        self._journal_seq = pump.journal.next_seq
        self.rec.journal_lines(lines)

    # ------------------------------------------------------------ reading
    def describe(self):
        sc = self.sim.scenario
        return {
            'kind': self.kind,
            'name': sc.name,
            'detail': '%s, seed %d, tick %d ms' % (sc.pump.name, self.sim.seed, self.sim.tick_ms),
            'faults': {n: {'doc': f.doc, 'params': f.defaults} for n, f in sorted(faults.FAULTS.items())},
            'states': list(STATE_NAMES),
            'alarms': list(catalog.ALARM_NAMES[1:]),
            'quantities': debug.QUANTITIES,
            'controls': ['device', 'audio_pause', 'load', 'faults', 'step', 'until', 'speed'],
        }

    def snapshot(self, cursor):
        with self.lock:
            data, cursor = self.rec.since(cursor)
            data['status'] = self._status()
            data['internals'] = {'occlusion': debug.occlusion_internals(self.sim.pump),
                                 'air': debug.air_internals(self.sim.pump)}
            data['program'] = self._program()
            w = self._rate_window
            achieved = ((w[-1][1] - w[0][1]) / (w[-1][0] - w[0][0])
                        if len(w) > 1 and w[-1][0] > w[0][0] else None)
            data['sim'] = {'mode': self.mode, 'speed': self.speed, 'achieved_speed': achieved,
                           'until': self.until[2] if self.mode == 'until' else None,
                           'message': self.message}
        return data, cursor

    def _status(self):
        sim = self.sim
        pump = sim.pump
        al = pump.alarms
        n = sim.hal.motor.pending
        alarms = [{'name': catalog.alarm_name(c), 'priority': catalog.alarm_priority_name(c),
                   'acknowledged': bool(al.acked[c]), 'condition': bool(al.condition[c])}
                  for c in range(1, N_ALARMS) if al.active[c]]
        paused = al.audio_paused_until_s - pump.uptime_s if al.audio_paused_until_s >= 0 else 0
        return {
            't_s': self._t(), 'state': pump.state_name(),
            'rate_ml_h': pump.course.rate_nl_h / 1e6 if pump.fsm.state in DELIVERING else 0.0,
            'delivered_ml': sim.plant.delivered_ul / 1000.0,
            'device_delivered_ml': pump.course.delivered_nl / 1e6,
            'remaining_ml': pump.remaining_nl() / 1e6 if pump.program else 0.0,
            'pressure_mmhg': sim.plant.pressure_mmhg, 'sensed_mmhg': pump.pressure_x10 / 10.0,
            'motor': 'stopped' if n == 0 else ('forward' if n > 0 else 'reverse'),
            'motor_driven': bool(n) or pump.fsm.state in DELIVERING,
            'alarms': alarms, 'audio_paused_s': max(0, paused),
            'last_error': pump.last_error,
        }

    def _program(self):
        pump = self.sim.pump
        prog = pump.program
        if prog is None:
            return None
        kinds = STEP_KINDS
        return {'steps': [{'kind': kinds.get(s[0], str(s[0])), 'rate_ml_h': s[1] / 1e6,
                           'volume_ml': s[2] / 1e6, 'duration_s': s[3]} for s in prog.steps],
                'current': pump.course.index,
                'total_ml': prog.total_volume_nl() / 1e6}

    # ------------------------------------------------------------ commands
    def command(self, action, args):
        with self.lock:
            fn = getattr(self, '_cmd_' + action, None)
            if fn is None:
                raise CommandError('action %r: unknown (known: %s)' % (action, ', '.join(
                    sorted(n[5:] for n in dir(self) if n.startswith('_cmd_')))))
            return fn(args)

    def _ok(self, ok, message):
        self.message = message
        return {'ok': ok, 'message': message}

    def _link_client(self):
        if self.client is None:
            from simulator.ui.dashboard_link import make_client
            self.client, self._counter_file = make_client(self.sim)
        return self.client

    def _device(self, name, call):
        """A device command over the simulation's serial link, signed like
        pumpctl's (simulator/ui/dashboard_link.py)."""
        from pumphost.client import LinkError
        from simulator.runtime.sim_hal import PowerLoss
        t = self._t()
        try:
            call(self._link_client())
        except LinkError as e:
            self.rec.event(t, 'command', '%s refused: %s' % (name, e))
            self._collect(force=True)
            return self._ok(False, '%s: %s' % (name, e))
        except PowerLoss:   # the command's journal write was torn (power_loss_at_next_write)
            self.sim.power_cycle(0.0)
            self.rec.event(t, 'note', '%s: the power went during its journal write; rebooted' % name)
            self._collect(force=True)
            return self._ok(False, '%s: power lost during the command; the board rebooted' % name)
        self.rec.event(t, name if name in ('ack', 'resume') else 'command', '%s -> ok' % name)
        self._collect(force=True)
        return self._ok(True, '%s: ok, state %s' % (name, self.sim.pump.state_name()))

    def _cmd_start(self, args):
        return self._device('start', lambda c: c.start())

    def _cmd_pause(self, args):
        return self._device('pause', lambda c: c.pause())

    def _cmd_resume(self, args):
        return self._device('resume', lambda c: c.resume())

    def _cmd_stop(self, args):
        return self._device('stop', lambda c: c.stop())

    def _cmd_ack(self, args):
        return self._device('ack', lambda c: c.ack_alarm(0))

    def _cmd_audio_pause(self, args):
        s = int(_number(args, 'seconds', 1, 120, default=120))
        r = self._device('audio pause', lambda c: c.audio_pause(s))
        if r['ok']:
            r = self._ok(True, 'audio paused for %d s' % s)
        return r

    def _cmd_load(self, args):
        if self.sim.course_left_ml <= 1e-6:
            return self._ok(False, 'load: the scenario course is all loaded already')
        try:
            self.sim.program(start=False)
        except SimulationError as e:
            return self._ok(False, 'load: %s' % e)
        self._collect(force=True)
        return self._ok(True, 'load: ok, state %s' % self.sim.pump.state_name())

    def _fault(self, kind, args):
        name = args.get('fault')
        if name not in faults.FAULTS:
            raise CommandError('fault=%r: unknown (known: %s)' % (name, ', '.join(sorted(faults.FAULTS))))
        raw = args.get('params') or {}
        if not isinstance(raw, dict):
            raise CommandError('params: an object of name: value')
        try:
            params = debug.fault_params(kind, name, raw)
        except debug.DebugError as e:
            raise CommandError(str(e))
        try:
            self.sim.apply(kind, name, params)
        except faults.FaultError as e:
            raise CommandError('%s: %s' % (kind, e))
        self._collect(force=True)
        return self._ok(True, '%s %s at %s' % (kind, name, _clock(self._t())))

    def _cmd_inject(self, args):
        return self._fault('inject', args)

    def _cmd_clear(self, args):
        return self._fault('clear', args)

    def _span_ticks(self, text, what):
        text = str(text).strip()
        tick_ms = self.sim.tick_ms
        if text.isdigit():
            n = int(text)
        else:
            try:
                n = int(round(debug.parse_duration(text) * 1000 / tick_ms))
            except debug.DebugError as e:
                raise CommandError('%s: %s, or a tick count' % (what, e))
        if not 1 <= n <= MAX_UNTIL_S * 1000 // tick_ms:
            raise CommandError('%s=%r: from one tick (%d ms) to 14 days' % (what, text, tick_ms))
        return n

    def _cmd_step(self, args):
        n = self._span_ticks(args.get('span', '1'), 'span')
        self.mode = 'hold'
        if n <= SYNC_STEP_TICKS:
            self._step(n)
            self._collect(force=True)
            return self._ok(True, 'stepped %d tick%s to %s' % (n, '' if n == 1 else 's', _clock(self._t())))
        self.until = (None, self.sim.k + n, 'stepped %s' % args.get('span'))
        self.mode = 'until'
        return self._ok(True, 'stepping %s' % args.get('span'))

    def _cmd_until(self, args):
        text = str(args.get('condition', '')).strip()
        try:
            cond = debug.parse_condition(text.split(), self.describe_record)
        except debug.DebugError as e:
            raise CommandError('condition: %s' % e)
        n = self._span_ticks(args.get('max') or '48h', 'max')
        cond.arm(self.sim)
        self.until = (cond, self.sim.k + n, cond.text)
        self.mode = 'until'
        return self._ok(True, 'running until %s (at most %s)' % (cond.text, args.get('max') or '48h'))

    def _cmd_speed(self, args):
        self.speed = _number(args, 'speed', 0.1, 100000)
        self.mode = 'run'
        return self._ok(True, 'running at %gx real time' % self.speed)

    def _cmd_run(self, args):
        self.mode = 'run'
        return self._ok(True, 'running at %gx real time' % self.speed)

    def _cmd_hold(self, args):
        self.mode = 'hold'
        return self._ok(True, 'simulation held at %s' % _clock(self._t()))

    def close(self):
        self._closed = True
        self.thread.join(timeout=2)
        if self._counter_file:
            try:
                os.unlink(self._counter_file)
            except OSError:
                pass


def _number(args, key, lo, hi, default=None):
    v = args.get(key, default)
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise CommandError('%s=%r: a number from %g to %g' % (key, v, lo, hi))
    if not lo <= v <= hi:
        raise CommandError('%s=%g: allowed %g to %g' % (key, v, lo, hi))
    return v


def _clock(t_s):
    h = int(t_s // 3600)
    m = int(t_s % 3600 // 60)
    return '%d:%02d:%04.1f' % (h, m, t_s - h * 3600 - m * 60)


def build_target(a):
    """Simulation of the scenario, booted (and started unless --no-start);
    on the micropython runtime, a served firmware watched over its link."""
    from simulator.scenario import load_scenario
    from simulator.runtime.inproc import Simulation
    sc = load_scenario(a.scenario)
    if a.no_events:
        sc.events = []
    if a.runtime != 'cpython':
        from simulator.ui.dashboard_served import build_served_target
        return build_served_target(a, sc)
    sim = Simulation(sc, seed=a.seed)
    sim.boot(program=not a.no_start)
    return SimTarget(sim, speed=a.speed, running=not a.hold)


def cmd_dashboard(a):
    from pumphost.dashboard.server import serve
    if not 0.1 <= a.speed <= 100000:
        sys.stderr.write('pumpsim dashboard: --speed=%g: allowed 0.1 to 100000\n' % a.speed)
        return 2
    if a.runtime != 'cpython' and (a.hold or a.no_events):
        sys.stderr.write('pumpsim dashboard: --runtime=%s: --hold and --no-events need the cpython '
                         'runtime (serve runs the scenario as it is, in real time x speed)\n' % a.runtime)
        return 2
    try:
        target = build_target(a)
    except (SimulationError, RuntimeError) as e:
        sys.stderr.write('pumpsim dashboard: %s\n' % e)
        return 1

    def ready(url):
        d = target.describe()
        print('pumpsim dashboard: %s (%s) on %s  (Ctrl-C to stop)' % (d['name'], d['detail'], url),
              flush=True)
    def on_term(signum, frame):   # as Ctrl-C: the target closes (a served firmware quits)
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    try:
        serve(target, port=a.http_port, on_ready=ready, stop_after_s=a.open_for)
    except OSError as e:
        sys.stderr.write('pumpsim dashboard: --http-port=%d: %s\n' % (a.http_port, e.strerror or e))
        return 1
    return 0


def register(top):
    from pumphost.dashboard.server import add_arguments
    p = top.add_parser('dashboard', help='live dashboard in the browser on the simulation, with fault and debugger controls')
    p.add_argument('scenario', nargs='?', default='demo', help='configs/scenarios name or a YAML path (default: demo)')
    p.add_argument('--runtime', default='cpython', choices=('cpython', 'micropython'),
                   help='cpython (default): in-process lockstep, all controls; micropython: the '
                        'firmware in a micropython process behind `pumpsim serve`, over its link')
    p.add_argument('--seed', type=int, default=None, help='override the scenario seed')
    p.add_argument('--speed', type=float, default=60.0, help='times real time (default 60)')
    p.add_argument('--hold', action='store_true', help='start held (step or run from the page)')
    p.add_argument('--no-start', action='store_true', help='boot to IDLE; load and start from the page')
    p.add_argument('--no-events', action='store_true', help="ignore the scenario's timed events")
    add_arguments(p)
    p.set_defaults(func=cmd_dashboard)
