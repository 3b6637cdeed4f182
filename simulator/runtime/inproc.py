"""Lockstep simulation: the real firmware on the simulated HAL against the plant.

One iteration = one control tick:
  1. the virtual clock advances by tick_ms (ticks wrap at 2**30)
  2. the plant integrates the interval, emitting the steps the firmware
     commanded at the previous tick
  3. the firmware's loop polls: exactly one tick is due and runs
  4. scenario events due now are applied (faults, user commands)
The runner plays the nurse only where a scenario says so (programming at the
start, syringe changes on a course larger than one syringe); it never touches
firmware internals beyond the Pump's public commands and status.
"""
import signal
import sys
import threading
import time

from firmware.program import Program
from firmware.pump import REASON_NAMES
from firmware.settings import Settings
from pumphost.catalog import alarm_name, alarm_priority_name
from firmware.table import STATE_NAMES, DELIVERING
from simulator.runtime.sim_hal import make_sim_hal, PowerLoss
from simulator.plant import faults
from simulator.plant.arterial import ArterialPressure
from pumphost.config.dose import ml_h_to_nl_h, ml_to_nl
from pumphost.config.programs import FILL_RESERVE_NL
from simulator.plant import make_plant
from firmware.boot import boot
from pumphost.codes import K_CONTINUOUS, S_COMPLETE, S_SYRINGE_CHANGE

TRACE_COLUMNS = ('t_s', 'state', 'set_rate_ml_h', 'delivered_ml', 'pressure_mmhg',
                 'sensed_pressure_mmhg', 'plunger_ml', 'device_delivered_ml')

SYRINGE_CHANGE_S = 300   # a nurse swaps the syringe in 5 min


class SimulationError(Exception):
    pass


class Interrupt:
    """Ctrl-C while a simulation steps: the step ends at the next trace point
    with a consistent state (never mid-tick), so a run writes its partial
    result and the shell returns to its prompt. `Interrupt.seen` tells the
    CLI that a result is partial; until it is cleared every later step ends
    at once, so a bench of many runs ends too."""
    seen = False

    def __init__(self):
        self.flag = Interrupt.seen
        self.prev = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.prev = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def _on_sigint(self, signum, frame):
        if self.flag:   # a second Ctrl-C: the user insists
            raise KeyboardInterrupt
        self.flag = True
        Interrupt.seen = True

    def __exit__(self, *exc):
        if self.prev is not None:
            signal.signal(signal.SIGINT, self.prev)


class Simulation:
    def __init__(self, scenario, seed=None, storage=None, mechanism=None, unit_seed=None):
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        pump_cfg = scenario.pump
        pt = scenario.patient
        arterial = ArterialPressure(pt['systolic_mmhg'], pt['diastolic_mmhg'], pt['heart_rate_bpm'])
        # `mechanism`: the syringe driver's errors (simulator/plant/mechanism.py;
        # None: ideal), drawn under `unit_seed` (default: the run's seed)
        self.plant = make_plant(pump_cfg, arterial, seed=self.seed,
                                fill_ml=scenario.syringe_fill_ml, mechanism=mechanism, unit_seed=unit_seed)
        # the line starts at rest, filled, valve closed: no stored pressure
        # `storage`: the device's non-volatile memory (e.g. after a calibration)
        self.hal = make_sim_hal(self.plant, storage=storage)
        self.settings = Settings(**pump_cfg.firmware_settings())
        self.pump, self.loop, self.calibration = boot(self.hal, self.settings)
        self.tick_ms = self.settings.tick_ms
        # one syringe load: less the dead space and the same reserve the
        # programs compiler keeps for the start-up fill and backlash, so the
        # plunger never bottoms out before the load completes
        self.usable_ml = (scenario.syringe_fill_ml - pump_cfg.reservoir['dead_space_ml']
                          - FILL_RESERVE_NL / 1e6)
        self.course_left_ml = scenario.volume_ml
        self.rate_nl_h = ml_h_to_nl_h(scenario.rate_ml_h)
        self.loaded_ml = 0.0
        self.alarms = []
        self.events_log = []
        self.trace = []
        self._change_at_tick = None
        self.t_s = 0.0
        self.hook = None   # benches: hook(sim, k) after each tick; True stops the run
        self.interrupted = False   # the last step ended early on Ctrl-C
        self.power_cuts = 0
        self._cut_off_s = 0.0   # off time after a power_loss_at_next_write cut
        self.k = 0         # ticks simulated since boot()
        self.sim_seconds = 0.0
        self.wall_seconds = 0.0

    # ------------------------------------------------------------ nurse
    def _program_next_syringe(self, start=True):
        compiled = getattr(self.scenario, 'compiled', None)
        if compiled is not None:   # a regimen template: one program, syringe changes inside
            vol_ml = self.course_left_ml
            prog = compiled.program
        else:
            vol_ml = min(self.course_left_ml, self.usable_ml)
            prog = Program([(K_CONTINUOUS, self.rate_nl_h, ml_to_nl(vol_ml))])
        steps = [('load', lambda: self.pump.load(prog)),
                 ('confirm', lambda: self.pump.confirm(prog.digest()))]
        if start:
            steps.append(('start', self.pump.start))
        for what, cmd in steps:
            r = cmd()
            if r:
                raise SimulationError('device refused %s: %s (%s)' % (
                    what, REASON_NAMES[r], self.pump.last_error))
        self.course_left_ml -= vol_ml
        self.loaded_ml += vol_ml
        self.events_log.append({'t_s': self.t_s, 'event': 'program',
                                'volume_ml': round(vol_ml, 4),
                                'rate_ml_h': self.rate_nl_h / 1e6})

    def _apply_event(self, kind, name, params):
        self.events_log.append({'t_s': self.t_s, 'event': kind, 'name': name, 'params': params})
        if kind == 'inject' and name in faults.POWER_FAULTS:
            p = faults.check_params(name, params)
            if name == 'power_loss':
                self.power_cycle(p['off_s'])
            else:
                self.hal.storage.cut_at_next_write = p['fraction']
                self._cut_off_s = p['off_s']
        elif kind == 'inject':
            faults.inject(self.plant, name, **params)
        elif kind == 'clear':
            faults.clear(self.plant, name, **params)
        else:
            entry = self.events_log[-1]
            try:
                r = {'ack': self.pump.acknowledge, 'pause': self.pump.pause,
                     'resume': self.pump.resume, 'stop': self.pump.stop,
                     'start': self.pump.start}[name]()
            except PowerLoss:   # the command's journal write was torn
                self.power_cycle(self._cut_off_s)
                entry['result'] = 'power_lost'
            else:
                entry['result'] = REASON_NAMES[r]

    # ------------------------------------------- interactive use (shell, tests)
    def apply(self, kind, name, params=None):
        """Apply an event now (between steps): 'inject'/'clear' a named fault
        (faults.FaultError on bad names or parameters) or a 'command'.
        Returns the events-log entry (commands: with 'result')."""
        self.t_s = self.k * self.tick_ms / 1000.0
        if kind != 'command':
            faults.check_params(name, params or {})
        self._apply_event(kind, name, dict(params or {}))
        return self.events_log[-1]

    def program(self, start=True):
        """The nurse programs (load + confirm, and start) the next syringe of
        the scenario's course; SimulationError if the device refuses."""
        self.t_s = self.k * self.tick_ms / 1000.0
        self._program_next_syringe(start)

    # ------------------------------------------------------------ power
    def power_cycle(self, off_s=0.0):
        """Power cut now, back after `off_s`: the motor stops where it is
        (steps commanded but not yet emitted are lost), the plant keeps its
        fluid and goes on for off_s (line pressure decays) as does the clock;
        then the board boots: a new Pump on the same storage, plant and
        clock, whose POST runs at the next tick. The off time is not counted
        in the tick index `k` (scenario events keep their tick times)."""
        hal = self.hal
        hal.motor.stop()
        hal.motor.enable(False)
        hal.storage.cut_at_next_write = None
        n = int(round(off_s * 1000 / self.tick_ms))
        for _ in range(n):
            hal.clock.advance(self.tick_ms)
            self.plant.advance(self.tick_ms / 1000.0, 0)
        self.hal = make_sim_hal(self.plant, clock=hal.clock, storage=hal.storage)
        self.settings = Settings(**self.scenario.pump.firmware_settings())
        self.pump, self.loop, self.calibration = boot(self.hal, self.settings)
        self.power_cuts += 1
        self.events_log.append({'t_s': self.t_s, 'event': 'power_cycle', 'off_s': off_s})

    # ------------------------------------------------------------ run
    def run(self, progress=False, speed=None, until_s=None):
        n_ticks = int(round((until_s or self.scenario.duration_s) * 1000 / self.tick_ms))
        wall0 = time.perf_counter()
        self.boot()
        self.step(n_ticks, progress=progress, speed=speed)
        self.wall_seconds = time.perf_counter() - wall0
        return self.summary()

    def boot(self, program=True):
        """The first tick (POST), then, with `program`, the nurse programs
        and starts the first syringe. Tick 0 of the simulated time."""
        tick_ms = self.tick_ms
        self.k = 0
        self._events = list(self.scenario.events)
        self._event_ticks = [int(round(e[0] * 1000 / tick_ms)) for e in self._events]
        self._ev_i = 0
        self._prev_state = self.pump.fsm.state
        self._prev_active = bytes(self.pump.alarms.active)
        self.hal.clock.advance(tick_ms)
        self.loop.poll()
        if program:
            self._program_next_syringe()
        self._record(0)

    def step(self, n_ticks, progress=False, speed=None, until=None):
        """Advance `n_ticks` control ticks (after boot()). `until(sim)` is
        asked whenever the device's state or active alarms changed; True
        stops there, as does the per-tick `hook`, and Ctrl-C (at the next
        trace point: `self.interrupted`). Returns True if stopped early."""
        with Interrupt() as stop:
            return self._step(n_ticks, progress, speed, until, stop)

    def _step(self, n_ticks, progress, speed, until, stop):
        sc = self.scenario
        tick_ms = self.tick_ms
        dt_s = tick_ms / 1000.0
        k0 = self.k
        k_end = k0 + n_ticks
        trace_every = max(1, int(round(sc.trace_period_s * 1000 / tick_ms)))
        events = self._events
        event_ticks = self._event_ticks
        ev_i = self._ev_i
        next_ev = event_ticks[ev_i] if ev_i < len(events) else -1

        clock = self.hal.clock
        motor = self.hal.motor
        plant = self.plant
        pump = self.pump
        poll = self.loop.poll
        advance = plant.advance
        take = motor.take_pending
        fsm = pump.fsm
        active = pump.alarms.active
        prev_active = self._prev_active
        prev_state = self._prev_state
        record = self._record
        hook = self.hook

        self.interrupted = False
        wall0 = time.perf_counter()
        last_progress = wall0
        show_progress = False
        stopped = False
        k = k0
        for k in range(k0 + 1, k_end + 1):
            clock.advance(tick_ms)
            advance(dt_s, take())
            try:
                poll()
            except PowerLoss:   # a storage write torn by power_loss_at_next_write
                self.t_s = k * dt_s
                self.power_cycle(self._cut_off_s)
            if k == next_ev:
                self.t_s = k * dt_s
                while ev_i < len(events) and event_ticks[ev_i] == k:
                    _, _, kind, name, params = events[ev_i]
                    self._apply_event(kind, name, params)
                    ev_i += 1
                next_ev = event_ticks[ev_i] if ev_i < len(events) else -1
            if pump is not self.pump:   # rebooted: bind the new board
                pump = self.pump
                poll = self.loop.poll
                take = self.hal.motor.take_pending
                fsm = pump.fsm
                active = pump.alarms.active
            if fsm.state != prev_state or active != prev_active:
                self.t_s = k * dt_s
                self._on_device_change(k, prev_active)
                prev_state = fsm.state
                prev_active = bytes(active)
                record(k)
                if until is not None and until(self):
                    if hook is not None:
                        hook(self, k)      # the hook sees every tick simulated
                    stopped = True
                    break
            if k == self._change_at_tick:
                self._change_at_tick = None
                self.t_s = k * dt_s
                plant.refill(self.scenario.syringe_fill_ml)
                if self.pump.fsm.state == S_SYRINGE_CHANGE:   # the nurse confirms the new syringe
                    r = self.pump.resume()
                    self.events_log.append({'t_s': self.t_s, 'event': 'syringe_changed',
                                            'result': REASON_NAMES[r]})
                else:
                    self._program_next_syringe()
            if hook is not None and hook(self, k):
                stopped = True
                break
            if k % trace_every == 0:
                if stop.flag:
                    self.interrupted = stopped = True
                    break
                record(k)
                if k % 10000 == 0:
                    now = time.perf_counter()
                    if speed:
                        ahead = (k - k0) * dt_s / speed - (now - wall0)
                        if ahead > 0:
                            time.sleep(ahead)
                    if progress and now - last_progress > 0.5:
                        last_progress = now
                        if show_progress or now - wall0 > 2.0:
                            show_progress = True
                            self._progress(k - k0, n_ticks)
                elif speed:
                    ahead = (k - k0) * dt_s / speed - (time.perf_counter() - wall0)
                    if ahead > 0:
                        time.sleep(ahead)
        if show_progress:
            self._progress(n_ticks, n_ticks)
            sys.stderr.write('\n')
        self.k = k
        self._ev_i = ev_i
        self._prev_state = prev_state
        self._prev_active = prev_active
        self.t_s = k * dt_s
        self.sim_seconds = k * dt_s
        self.wall_seconds += time.perf_counter() - wall0
        return stopped

    def _on_device_change(self, k, prev_active):
        pump = self.pump
        active = pump.alarms.active
        for code in range(len(active)):
            if active[code] and not prev_active[code]:
                self.alarms.append({'t_s': round(self.t_s, 1), 'code': alarm_name(code),
                                    'priority': alarm_priority_name(code),
                                    'pressure_mmhg': round(self.plant.pressure_mmhg, 1),
                                    'state': pump.state_name()})
        if ((pump.fsm.state == S_SYRINGE_CHANGE or
             (pump.fsm.state == S_COMPLETE and self.course_left_ml > 1e-6))
                and self._change_at_tick is None):
            self._change_at_tick = k + SYRINGE_CHANGE_S * 1000 // self.tick_ms
            self.events_log.append({'t_s': self.t_s, 'event': 'syringe_change_due'})

    def skip_scripted_events(self):
        """The scenario's remaining events are not for this simulation (a
        clone that reboots the pump from a copy of a running one)."""
        self._ev_i = len(self._events)

    def record_now(self):
        """A trace row for the present moment, between trace periods."""
        self._record(self.k)

    def _record(self, k):
        pump = self.pump
        plant = self.plant
        running = pump.fsm.state in DELIVERING
        self.trace.append((
            round(k * self.tick_ms / 1000.0, 3),
            STATE_NAMES[pump.fsm.state],
            round(pump.course.rate_nl_h / 1e6, 6) if running else 0.0,
            round(plant.delivered_ul / 1000.0, 6),
            round(plant.pressure_mmhg, 3),
            round(pump.pressure_x10 / 10.0, 1),
            round(plant.pushed_ul / 1000.0, 6),
            round(pump.course.delivered_nl / 1e6, 6),
        ))

    def _progress(self, k, n):
        width = 30
        frac = k / n
        bar = '#' * int(frac * width) + '-' * (width - int(frac * width))
        sys.stderr.write('\r[%s] %5.1f%%  sim %7.2f h' % (bar, frac * 100, k * self.tick_ms / 3.6e6))
        sys.stderr.flush()

    def summary(self):
        d = self._summary()
        d['course'] = self.course()
        if self.interrupted:
            d['interrupted'] = 'Ctrl-C at t=%.1f s: a partial result' % self.sim_seconds
        return d

    def course(self):
        """The whole course, across syringes: how many syringes, when they
        were changed, what each drug was programmed to, how much of the
        course the device counted and whether it is complete."""
        ev = self.events_log
        changes = [e['t_s'] for e in ev if e['event'] == 'syringe_changed']
        programs = sum(1 for e in ev if e['event'] == 'program')
        compiled = getattr(self.scenario, 'compiled', None)
        programmed = self.scenario.volume_ml
        counted = self.pump.course.delivered_nl / 1e6
        if compiled is None:   # one program per syringe: the device counts each anew
            counted = self.loaded_ml - (self.pump.program.total_volume_nl() / 1e6 - counted
                                        if self.pump.program is not None else 0.0)
        state = self.pump.state_name()
        return {
            'syringes': (1 + len(changes)) if compiled is not None else programs,
            'syringe_changes_t_s': changes,
            'per_drug': {name: {'amount': round(a, 4), 'unit': u, 'volume_ml': round(v, 4)}
                         for name, (a, u, v) in sorted(compiled.per_drug.items())}
            if compiled is not None else {},
            'programmed_ml': round(programmed, 6),
            'device_counted_ml': round(counted, 6),
            'complete': state in ('COMPLETE', 'KVO') and counted >= programmed - 1e-3,
        }

    def _summary(self):
        sc = self.scenario
        pump = self.pump
        return {
            'scenario': sc.name,
            'scenario_file': str(sc.path),
            'pump': sc.pump.name,
            'seed': self.seed,
            'drug': sc.drug,
            'rate_ml_h': round(sc.rate_ml_h, 6),
            'programmed_ml': round(sc.volume_ml, 6),
            'loaded_ml': round(self.loaded_ml, 6),
            'delivered_ml': round(self.plant.delivered_ul / 1000.0, 6),
            'plunger_ml': round(self.plant.pushed_ul / 1000.0, 6),
            'device_delivered_ml': round(pump.course.delivered_nl / 1e6, 6),
            'final_state': pump.state_name(),
            # driven: in a state whose tick commands steps (at low rates most
            # ticks command none, so `pending` alone would read 'stopped')
            'motor_running': bool(self.hal.motor.pending) or pump.fsm.state in DELIVERING,
            'alarms': self.alarms,
            'events': self.events_log,
            'sim_seconds': self.sim_seconds,
            'wall_seconds': round(self.wall_seconds, 3),
            'speedup': round(self.sim_seconds / self.wall_seconds) if self.wall_seconds else None,
            'tick_ms': self.tick_ms,
        }
