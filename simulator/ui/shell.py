"""pumpsim shell: step the real firmware through faults, by hand or by script.

    pumpsim shell [SCENARIO] [--start] [--seed N] [--no-events] [--echo]

The device boots (POST) into IDLE at t=0; `load` programs the scenario's
course (load + confirm, as the nurse does) and `start` starts it (`--start`
does both at boot, like `pumpsim run`). The scenario's timed events (faults,
commands) still happen at their times unless `--no-events`.

Commands are read from stdin: with a prompt on a terminal, silently from a
pipe or file so sessions can be scripted and kept as regression tests
(tests/shell/*.txt). `#` starts a comment. An unknown command, a bad argument
or a failed `expect` prints one line and the session goes on; when reading a
script the exit status is then 1. A command the device refuses (e.g. `resume`
in ALARM) is not an error: it prints the reason and `expect result REASON`
can check it.
"""
import sys
from pathlib import Path

from pumphost import catalog
from firmware.reasons import REASON_NAMES
from firmware.table import STATE_NAMES, TRIGGER_NAMES
from simulator.plant import faults
from simulator.ui import debug
from pumphost.codes import EV_ALARM, EV_ALARM_ACK, EV_ALARM_CLEAR, EV_CHECKPOINT, EV_COMPLETE, EV_FILL, EV_PROGRAM, EV_REJECT, EV_RELIEF, EV_STATE, N_ALARMS

DEFAULT_MAX_S = 48 * 3600.0
PROMPT = 'pumpsim> '

HELP = """\
step DURATION|N             advance simulated time (30s, 5min, 3min30s, 2h, 1d) or N control ticks
run until CONDITION [max DURATION]
                            step until CONDITION holds (max 48h); CONDITION is one of
    alarm [NAME]              an alarm (NAME: that one) is newly raised
    state STATE               the device is in STATE (IDLE, RUNNING, ALARM, ...)
    probe                     the occlusion check starts an active probe
    journal WORD              a new journal record has WORD (journal occlusion)
    Q OP NUMBER               a figure crosses a value (pressure > 150, baseline >= 95)
watch Q [Q ...] [every tick|N|DURATION]
                            print these figures after each step/run (or every tick,
                            N ticks or DURATION of simulated time while stepping)
watch                       list the watches; `unwatch` removes them all
inject FAULT [k=v ...]      inject a named fault (see `faults`), e.g. inject air_bubble volume_ul=80
clear FAULT [k=v ...]       clear it
faults                      list the faults, their parameters and what they do
load                        program the scenario's next syringe (load + confirm)
start | pause | resume | stop | ack
                            device commands (resume after an alarm is the confirmation)
status                      state, rate, volumes, pressure, motor, alarms, and the
                            detectors' internals (occlusion filters, baseline, phase,
                            probe, stored steps; air bubble and window)
alarms                      alarms raised so far and those latched now
journal [N]                 last N (10) journal records, decoded
mark                        remember the current figures (for `expect Q since mark ...`)
expect state STATE[|STATE...]
expect alarm NAME [PRIORITY]   latched now (and of that priority)
expect no alarm [NAME]         nothing (or not NAME) latched
expect motor stopped|forward|reverse   what the motor is commanded to do next tick
                               (at low rates a RUNNING motor idles between steps)
expect result REASON           the last device command's answer (ok, bad_state, ...)
expect Q [since mark] OP NUMBER   Q: `quantities` lists them; OP: < <= > >= == !=
quantities                  the figures for expect, watch and run until
plot FILE.png               plot the session so far: pressure, volume against the
                            course, state bands, injections, alarms, acks, resumes
help                        this text
quit                        leave (also end of input)"""

OPS = debug.OPS
QUANTITIES = dict(debug.QUANTITIES, moved='motor steps (signed) during the last step/run command')


class ShellError(Exception):
    """Bad command or argument: one line, the session goes on."""


def fmt_time(t_s):
    h = int(t_s // 3600)
    m = int(t_s % 3600 // 60)
    return '%d:%02d:%04.1f' % (h, m, t_s - h * 3600 - m * 60)


def parse_span(word, tick_ms, what):
    """'30s', '5min', '3min30s', '2h' -> ticks; a bare integer is ticks."""
    if word.isdigit():
        n = int(word)
    else:
        try:
            s = debug.parse_duration(word)
        except debug.DebugError as e:
            raise ShellError('%s: %s, or a tick count' % (what, e))
        n = int(round(s * 1000 / tick_ms))
    if n < 1:
        raise ShellError('%s: %r is less than one tick (%d ms)' % (what, word, tick_ms))
    if n > 400 * 86400 * 1000 // tick_ms:
        raise ShellError('%s: %r is more than 400 days' % (what, word))
    return n


def parse_params(cmd, name, words):
    params = {}
    allowed = faults.FAULTS[name].defaults
    for w in words:
        k, eq, v = w.partition('=')
        if not eq or not k:
            raise ShellError('%s %s: %r is not key=value (parameters: %s)' % (
                cmd, name, w, ', '.join(sorted(allowed)) or 'none'))
        try:
            params[k] = float(v)
        except ValueError:
            try:
                params[k] = debug.parse_duration(v)
            except debug.DebugError:
                raise ShellError('%s %s: %s=%r is not a number' % (cmd, name, k, v))
    return params


class Shell:
    def __init__(self, sim, out=sys.stdout, echo=False):
        self.sim = sim
        self.out = out
        self.echo = echo
        self.mark = None
        self.last_result = None
        self.errors = 0
        self.done = False
        self._n_alarms = len(sim.alarms)
        self._n_events = len(sim.events_log)
        self.moved = 0
        self.watches = []
        self.watch_every = None   # ticks between watch lines while stepping; None: per command

    def say(self, text):
        self.out.write(text + '\n')

    # ------------------------------------------------------------ figures
    def figures(self):
        f = debug.figures(self.sim)
        f['moved'] = float(self.moved)
        return f

    def motor_word(self):
        n = self.sim.hal.motor.pending
        return 'stopped' if n == 0 else ('forward' if n > 0 else 'reverse')

    def active_alarms(self):
        al = self.sim.pump.alarms
        return [c for c in range(1, N_ALARMS) if al.active[c]]

    def alarm_text(self, code):
        al = self.sim.pump.alarms
        flags = []
        if al.acked[code]:
            flags.append('acknowledged')
        flags.append('condition present' if al.condition[code] else 'condition gone')
        return '%s (%s, %s)' % (catalog.alarm_name(code), catalog.alarm_priority_name(code),
                                ', '.join(flags))

    def brief(self):
        f = self.figures()
        return 't=%s %s delivered %.4f mL pressure %.1f mmHg, motor moved %+d steps, next tick %s' % (
            fmt_time(f['time_s']), self.sim.pump.state_name(), f['delivered'],
            f['pressure'], self.moved, self.motor_word())

    def report_news(self):
        """Alarms raised and events applied since the last report, in time
        order (an event before an alarm at the same time: it caused it)."""
        sim = self.sim
        news = []
        for a in sim.alarms[self._n_alarms:]:
            news.append((a['t_s'], 1, '  t=%s alarm %s (%s priority) at %.1f mmHg, state %s' % (
                fmt_time(a['t_s']), a['code'], a['priority'], a['pressure_mmhg'], a['state'])))
        for e in sim.events_log[self._n_events:]:
            text = None
            if e['event'] in ('inject', 'clear', 'command'):
                text = '  t=%s scenario event: %s %s%s' % (
                    fmt_time(e['t_s']), e['event'], e['name'],
                    (' -> ' + e['result']) if 'result' in e else '')
            elif e['event'] == 'program':
                text = '  t=%s programmed %.4f mL at %.4f mL/h' % (
                    fmt_time(e['t_s']), e['volume_ml'], e['rate_ml_h'])
            elif e['event'] == 'syringe_change_due':
                text = '  t=%s syringe empty: the nurse changes it in 5 min' % fmt_time(e['t_s'])
            if text:
                news.append((e['t_s'], 0, text))
        for _, _, text in sorted(news, key=lambda n: (round(n[0], 1), n[1])):
            self.say(text)
        self._n_alarms = len(sim.alarms)
        self._n_events = len(sim.events_log)

    # ------------------------------------------------------------ dispatch
    def execute(self, line, where=''):
        """Run one line (`where`: 'line N: ' in scripts). Returns True if it
        was fine (or a comment)."""
        text = line.split('#', 1)[0].strip()
        if not text:
            return True
        if self.echo:
            self.say('> ' + text)
        words = text.split()
        fn = getattr(self, 'cmd_' + words[0], None)
        try:
            if fn is None:
                raise ShellError('unknown command %r (commands: %s; `help` for details)' % (
                    words[0], ', '.join(sorted(COMMANDS))))
            fn(words[1:])
            return True
        except ShellError as e:
            self.errors += 1
            self.say('error: %s%s' % (where, e))
            return False

    def _no_args(self, name, args):
        if args:
            raise ShellError('%s takes no argument (got %r)' % (name, ' '.join(args)))

    # ------------------------------------------------------------ time
    def cmd_step(self, args):
        if len(args) != 1:
            raise ShellError('step needs one argument: a duration (30s, 5min, 2h) or a tick count')
        n = parse_span(args[0], self.sim.tick_ms, 'step')
        self._advance(n)
        self.say(self.brief())

    def _advance(self, n, cond=None):
        """Step n ticks (or until `cond`, a debug.Condition); watches print
        every `watch_every` ticks while stepping, else once at the end."""
        from simulator.runtime.inproc import SimulationError
        sim = self.sim
        pos0 = sim.plant.position_steps
        every = None
        if self.watches and self.watch_every:
            step = self.watch_every

            def every(s, k):
                if k % step == 0:
                    self.say(self.watch_line(k))
            if cond is None:
                cond = debug.Condition('', lambda s: None, lambda s: False)
        try:
            if cond is None:
                stopped = sim.step(n)
            else:
                stopped = debug.run_until(sim, cond, n, every=every)
        except SimulationError as e:
            self.say('  device refused the syringe change: %s' % e)
            stopped = False
        self.moved = sim.plant.position_steps - pos0
        self.report_news()
        if self.watches and not self.watch_every:
            self.say(self.watch_line())
        return stopped

    def watch_line(self, k=None):
        f = debug.figures(self.sim, k)
        f['moved'] = float(self.moved)
        return '  watch t=%s %s' % (fmt_time(f['time_s']), ' '.join(
            '%s=%.6g' % (q, f[q]) for q in self.watches))

    def cmd_run(self, args):
        usage = 'run until CONDITION [max DURATION]; `help` lists the conditions'
        kinds = ('alarm', 'state', 'probe', 'journal') + tuple(debug.QUANTITIES)
        if len(args) < 2 or args[0] != 'until' or args[1] not in kinds:
            raise ShellError('run: %r not understood (%s)' % (' '.join(args), usage))
        rest = args[1:]
        max_ticks = int(DEFAULT_MAX_S * 1000 / self.sim.tick_ms)
        if len(rest) >= 2 and rest[-2] == 'max':
            max_ticks = parse_span(rest[-1], self.sim.tick_ms, 'run ... max')
            rest = rest[:-2]
        try:
            cond = debug.parse_condition(rest, describe_record)
        except debug.DebugError as e:
            raise ShellError('run until: %s' % e)
        sim = self.sim
        what = 'an alarm' if cond.text == 'alarm' else cond.text
        if cond.kind in ('state', 'quantity'):
            cond.arm(sim)
            if cond.hit(sim):
                self.say('already %s%s; %s' % ('in ' if cond.kind == 'state' else '', what, self.brief()))
                return
        t0 = sim.k
        if self._advance(max_ticks, cond=cond):
            self.say('reached %s after %s; %s' % (
                what, fmt_time((sim.k - t0) * sim.tick_ms / 1000.0), self.brief()))
        else:
            self.say('no %s within %s; %s' % (
                what, fmt_time(max_ticks * sim.tick_ms / 1000.0), self.brief()))

    def cmd_watch(self, args):
        if not args:
            if not self.watches:
                self.say('no watches (watch Q [Q ...] [every tick|N|DURATION])')
            else:
                self.say('watching %s %s' % (' '.join(self.watches), (
                    'every %d tick(s)' % self.watch_every) if self.watch_every else 'after each step/run'))
                self.say(self.watch_line())
            return
        names, every = args, None
        if 'every' in args:
            i = args.index('every')
            names, tail = args[:i], args[i + 1:]
            if len(tail) != 1:
                raise ShellError('watch ... every needs one argument: tick, a tick count or a duration')
            every = 1 if tail[0] == 'tick' else parse_span(tail[0], self.sim.tick_ms, 'watch every')
        for q in names:
            if q not in QUANTITIES:
                raise ShellError('watch: %r is not a quantity (quantities: %s)' % (
                    q, ', '.join(QUANTITIES)))
        if not names:
            raise ShellError('watch needs at least one quantity (quantities: %s)' % ', '.join(QUANTITIES))
        self.watches = list(dict.fromkeys(names))
        self.watch_every = every
        self.say(self.watch_line())

    def cmd_unwatch(self, args):
        self._no_args('unwatch', args)
        self.watches = []
        self.watch_every = None
        self.say('no watches')

    def cmd_quantities(self, args):
        self._no_args('quantities', args)
        for q, doc in QUANTITIES.items():
            self.say('%-17s %s' % (q, doc))

    # ------------------------------------------------------------ faults
    def _fault(self, cmd, args):
        if not args:
            raise ShellError('%s needs a fault name (known: %s)' % (cmd, ', '.join(sorted(faults.FAULTS))))
        name = args[0]
        if name not in faults.FAULTS:
            raise ShellError('%s: unknown fault %r (known: %s)' % (
                cmd, name, ', '.join(sorted(faults.FAULTS))))
        params = parse_params(cmd, name, args[1:])
        try:
            self.sim.apply(cmd, name, params)
        except faults.FaultError as e:
            raise ShellError('%s: %s' % (cmd, e))
        self.say('t=%s %s %s%s' % (fmt_time(self.figures()['time_s']), cmd, name,
                                   ''.join(' %s=%g' % kv for kv in sorted(params.items()))))
        self._n_events = len(self.sim.events_log)

    def cmd_inject(self, args):
        self._fault('inject', args)

    def cmd_clear(self, args):
        self._fault('clear', args)

    def cmd_faults(self, args):
        self._no_args('faults', args)
        for name in sorted(faults.FAULTS):
            doc, params = faults.FAULTS[name].doc, faults.FAULTS[name].defaults
            ps = ' '.join('%s=%s' % (k, v) for k, v in sorted(params.items()))
            self.say('%-22s %s%s' % (name, ('[' + ps + '] ') if ps else '', doc))

    # ------------------------------------------------------------ device commands
    def _device(self, name, args):
        self._no_args(name, args)
        e = self.sim.apply('command', name)
        self._n_events = len(self.sim.events_log)
        self.last_result = e['result']
        if e['result'] == 'ok':
            self.say('%s: ok, state %s' % (name, self.sim.pump.state_name()))
        else:
            self.say('%s: refused %s (%s)' % (name, e['result'], self.sim.pump.last_error))

    def cmd_start(self, args):
        self._device('start', args)

    def cmd_pause(self, args):
        self._device('pause', args)

    def cmd_resume(self, args):
        self._device('resume', args)

    def cmd_stop(self, args):
        self._device('stop', args)

    def cmd_ack(self, args):
        self._device('ack', args)

    def cmd_load(self, args):
        from simulator.runtime.inproc import SimulationError
        self._no_args('load', args)
        sim = self.sim
        # a compiled course is one program (its syringe changes inside): after a
        # stop the nurse may load it again; a syringe-by-syringe course runs out
        if sim.course_left_ml <= 1e-6 and getattr(sim.scenario, 'compiled', None) is None:
            raise ShellError('load: the scenario course (%.4f mL) is all loaded already' % (
                sim.scenario.volume_ml))
        try:
            sim.program(start=False)
        except SimulationError as e:
            self.last_result = str(e).split(': ', 1)[1].split(' ', 1)[0]
            self.say('load: refused: %s' % e)
            return
        self.last_result = 'ok'
        self._n_events = len(sim.events_log)
        e = sim.events_log[-1]
        self.say('load: ok, %.4f mL at %.4f mL/h confirmed, state %s (course left %.4f mL)' % (
            e['volume_ml'], e['rate_ml_h'], sim.pump.state_name(), sim.course_left_ml))

    # ------------------------------------------------------------ looking
    def cmd_status(self, args):
        self._no_args('status', args)
        sim = self.sim
        pump = sim.pump
        f = self.figures()
        prog = pump.program
        self.say('time       %s (%.1f s, tick %d)' % (fmt_time(f['time_s']), f['time_s'], sim.k))
        self.say('state      %s' % pump.state_name())
        self.say('rate       %.4f mL/h%s' % (f['rate'], '' if f['rate'] else ' (not delivering)'))
        self.say('programmed %s' % ('%.4f mL, remaining %.4f mL' % (
            prog.total_volume_nl() / 1e6, pump.remaining_nl() / 1e6) if prog else 'none'))
        self.say('delivered  %.4f mL patient side, %.4f mL device count, plunger %.4f mL' % (
            f['delivered'], f['device_delivered'], f['plunger']))
        self.say('pressure   line %.1f mmHg, sensed %.1f mmHg, baseline %.1f mmHg' % (
            f['pressure'], f['sensed'], pump.occlusion.baseline_x10() / 10.0))
        n = sim.hal.motor.pending
        self.say('motor      next tick %s%s; moved %+d steps in the last step/run; position %d' % (
            self.motor_word(), (' %d steps' % abs(n)) if n else '', self.moved,
            sim.plant.position_steps))
        codes = self.active_alarms()
        self.say('alarms     %s' % ('; '.join(self.alarm_text(c) for c in codes) if codes else 'none'))
        o = debug.occlusion_internals(pump)
        self.say('occlusion  %s for %.1f s, baseline %s %.1f mmHg; filtered fast %.1f, slow %.1f mmHg '
                 '(%+.1f over the baseline: probe above %+.1f, alarm above %+.1f)' % (
                     o['phase'], o['phase_s'], 'learned' if o['learned'] else 'start level',
                     o['baseline_mmhg'], o['filtered_mmhg'], o['slow_mmhg'], o['above_baseline_mmhg'],
                     o['suspect_above_mmhg'], o['fast_alarm_above_mmhg']))
        self.say('           stored %d steps since the line was at its baseline; probe reference %.1f mmHg, '
                 'credit %d steps; relief left %d steps' % (
                     o['stored_steps'], o['probe_reference_mmhg'], o['probe_credit_steps'],
                     o['relief_left_steps']))
        a = debug.air_internals(pump)
        self.say('air        bubble %.2f uL (alarm at %.0f), window %.2f uL (alarm at %.0f)' % (
            a['bubble_ul'], a['bubble_limit_ul'], a['window_ul'], a['window_limit_ul']))
        if sim.plant.aspirated_ul:
            self.say('ASPIRATED  %.3f uL drawn from the patient' % sim.plant.aspirated_ul)

    def cmd_alarms(self, args):
        self._no_args('alarms', args)
        if not self.sim.alarms:
            self.say('raised     none so far')
        for a in self.sim.alarms:
            self.say('raised     t=%s %s (%s) at %.1f mmHg, state %s' % (
                fmt_time(a['t_s']), a['code'], a['priority'], a['pressure_mmhg'], a['state']))
        codes = self.active_alarms()
        if not codes:
            self.say('latched    none')
        for c in codes:
            self.say('latched    %s' % self.alarm_text(c))

    def cmd_journal(self, args):
        n = 10
        if len(args) > 1 or (args and not args[0].isdigit()):
            raise ShellError('journal: %r is not a record count (journal [N], N >= 1)' % ' '.join(args))
        if args:
            n = int(args[0])
            if n < 1:
                raise ShellError('journal: N=0, need at least 1')
        recs = self.sim.pump.journal.records()
        for seq, t, ev, a, b in recs[-n:]:
            self.say('#%-5d %s %s' % (seq, fmt_time(t), describe_record(ev, a, b)))

    def cmd_mark(self, args):
        self._no_args('mark', args)
        self.mark = self.figures()
        self.say('marked at t=%s' % fmt_time(self.mark['time_s']))

    def cmd_plot(self, args):
        from simulator.ui.session_plot import plot_session
        if len(args) != 1:
            raise ShellError('plot needs one argument: FILE.png (or .pdf, .svg)')
        path = Path(args[0])
        if path.suffix.lower() not in ('.png', '.pdf', '.svg'):
            raise ShellError('plot: %r must end in .png, .pdf or .svg' % args[0])
        if not path.parent.is_dir():
            raise ShellError('plot: directory %r does not exist' % str(path.parent))
        sim = self.sim
        sim.record_now()   # the present moment, not just the last trace period
        plot_session(path, sim)
        self.say('plotted %s (t=0..%s)' % (path, fmt_time(self.figures()['time_s'])))

    def cmd_help(self, args):
        self.say(HELP)

    def cmd_quit(self, args):
        self.done = True

    cmd_exit = cmd_quit

    # ------------------------------------------------------------ expect
    def cmd_expect(self, args):
        if not args:
            raise ShellError('expect needs what to check (`help` lists the forms)')
        ok, got = self._check(args)
        text = 'expect %s' % ' '.join(args)
        if ok:
            self.say('ok: %s' % text)
        else:
            raise ShellError('FAILED %s: got %s at t=%s' % (
                text, got, fmt_time(self.figures()['time_s'])))

    def _alarm_code(self, what, name):
        try:
            return debug.alarm_code(name)
        except debug.DebugError as e:
            raise ShellError('%s: %s' % (what, e))

    def _check(self, args):
        kind = args[0]
        pump = self.sim.pump
        if kind == 'state':
            if len(args) != 2:
                raise ShellError('expect state STATE[|STATE...]')
            want = args[1].upper().split('|')
            for w in want:
                if w not in STATE_NAMES:
                    raise ShellError('expect state: %r is not a state (states: %s)' % (
                        w, ', '.join(STATE_NAMES)))
            return pump.state_name() in want, pump.state_name()
        active_names = ', '.join(catalog.alarm_name(c) for c in self.active_alarms()) or 'none'
        if kind == 'alarm':
            if len(args) not in (2, 3):
                raise ShellError('expect alarm NAME [low|medium|high]')
            code = self._alarm_code('expect alarm', args[1])
            if len(args) == 3:
                if args[2] not in catalog.PRIORITY_NAMES[1:]:
                    raise ShellError('expect alarm %s: priority %r is not low, medium or high' % (
                        args[1], args[2]))
                if catalog.alarm_priority_name(code) != args[2]:
                    return False, '%s is %s priority' % (args[1], catalog.alarm_priority_name(code))
            return bool(pump.alarms.active[code]), 'latched: ' + active_names
        if kind == 'no':
            if len(args) not in (2, 3) or args[1] != 'alarm':
                raise ShellError('expect no alarm [NAME]')
            if len(args) == 3:
                code = self._alarm_code('expect no alarm', args[2])
                return not pump.alarms.active[code], 'latched: ' + active_names
            return not self.active_alarms(), 'latched: ' + active_names
        if kind == 'motor':
            words = ('stopped', 'forward', 'reverse')
            if len(args) != 2 or args[1] not in words:
                raise ShellError('expect motor stopped|forward|reverse')
            return self.motor_word() == args[1], self.motor_word()
        if kind == 'result':
            if len(args) != 2 or args[1] not in REASON_NAMES:
                raise ShellError('expect result REASON (%s)' % ', '.join(REASON_NAMES))
            return self.last_result == args[1], self.last_result or 'no command yet'
        if kind in QUANTITIES:
            rest = args[1:]
            f = self.figures()
            value = f[kind]
            label = kind
            if rest[:2] == ['since', 'mark']:
                if self.mark is None:
                    raise ShellError('expect %s since mark: no `mark` yet' % kind)
                value -= self.mark[kind]
                label = '%s since mark' % kind
                rest = rest[2:]
            if len(rest) != 2 or rest[0] not in OPS:
                raise ShellError('expect %s [since mark] OP NUMBER (OP: %s)' % (kind, ' '.join(OPS)))
            try:
                ref = float(rest[1])
            except ValueError:
                raise ShellError('expect %s: %r is not a number' % (kind, rest[1]))
            return OPS[rest[0]](value, ref), '%s = %.6g' % (label, value)
        raise ShellError('expect: %r not understood (state, alarm, no alarm, motor, result, or one of %s)' % (
            kind, ', '.join(QUANTITIES)))


COMMANDS = sorted(n[4:] for n in dir(Shell) if n.startswith('cmd_'))


def describe_record(ev, a, b):
    name = catalog.event_name(ev)
    if name == 'link_reject':
        from protocol.describe import nak_name
        from protocol.messages import name as msg_name
        return '%s %s refused: %s (counter %d)' % (name, msg_name(a & 0xFF), nak_name(a >> 8), b)
    if ev == EV_STATE:
        dest, trig = b >> 8, b & 0xFF
        return '%s %s -> %s (%s)' % (name, _state(a), _state(dest), _trigger(trig))
    if ev == EV_ALARM:
        return '%s %s (%s) at %.1f mmHg' % (name, catalog.alarm_name(a), catalog.alarm_priority_name(a)
                                            if 0 <= a < N_ALARMS else '?', b / 10.0)
    if ev == EV_ALARM_CLEAR:
        return '%s %s condition gone at %.1f mmHg' % (name, catalog.alarm_name(a), b / 10.0)
    if ev == EV_ALARM_ACK:
        return '%s %d acknowledged' % (name, a)
    if ev == EV_REJECT:
        return '%s %s: %s' % (name, _trigger(a), REASON_NAMES[b] if 0 <= b < len(REASON_NAMES) else b)
    if ev == EV_PROGRAM:
        return '%s %.4f mL/h, %.4f mL' % (name, a / 1e6, b / 1e6)
    if ev in (EV_CHECKPOINT, EV_COMPLETE):
        return '%s delivered %.4f mL, %d steps' % (name, a / 1e6, b)
    if ev == EV_RELIEF:
        return '%s backed off %d steps, now %.1f mmHg' % (name, a, b / 10.0)
    if ev == EV_FILL:
        return '%s %.4f mL, at %.1f mmHg' % (name, a / 1e6, b / 10.0)
    return '%s a=%d b=%d' % (name, a, b)


def _state(i):
    return STATE_NAMES[i] if 0 <= i < len(STATE_NAMES) else 'state_%d' % i


def _trigger(i):
    return TRIGGER_NAMES[i] if 0 <= i < len(TRIGGER_NAMES) else 'trigger_%d' % i


def run_session(shell, stream, interactive):
    """Feed lines to the shell until quit or end of input. Returns the exit
    status: 1 if a script had errors or failed expectations."""
    lineno = 0
    while not shell.done:
        if interactive:
            try:
                line = input(PROMPT)
            except EOFError:
                shell.say('')
                break
            except KeyboardInterrupt:   # Ctrl-C at the prompt: a fresh line
                shell.say('')
                continue
        else:
            line = stream.readline()
            if not line:
                break
        lineno += 1
        try:
            shell.execute(line, '' if interactive else 'line %d: ' % lineno)
        except KeyboardInterrupt:   # between ticks (a step stops itself: Simulation.step)
            shell.say('interrupted')
        if shell.sim.interrupted:
            from simulator.runtime.inproc import Interrupt
            shell.sim.interrupted = Interrupt.seen = False
            shell.say('interrupted by Ctrl-C at t=%.1f s; back at the prompt'
                      % (shell.sim.k * shell.sim.tick_ms / 1000.0))
            if not interactive:
                break
        shell.out.flush()
    if interactive:
        return 0
    if shell.errors:
        shell.say('%d error(s) or failed expectation(s)' % shell.errors)
        return 1
    return 0


def cmd_shell(a):
    from simulator.scenario import load_scenario
    from simulator.runtime.inproc import Simulation, SimulationError

    sc = load_scenario(a.scenario)
    if a.no_events:
        sc.events = []
    sim = Simulation(sc, seed=a.seed)
    try:
        sim.boot(program=a.start)
    except SimulationError as e:
        sys.stderr.write('pumpsim shell: %s\n' % e)
        return 1
    interactive = sys.stdin.isatty()
    shell = Shell(sim, out=sys.stdout, echo=a.echo)
    shell.say('pumpsim shell: %s (%s, seed %d), course %.4f mL at %.4f mL/h; state %s at t=0%s' % (
        sc.name, sc.pump.name, sim.seed, sc.volume_ml, sc.rate_ml_h, sim.pump.state_name(),
        '' if a.start else '; `load` then `start` to begin'))
    if interactive:
        shell.say('type `help` for commands, `quit` to leave')
        from simulator.ui.completion import install
        install(COMMANDS)   # line editing, history and tab completion at the prompt
    return run_session(shell, sys.stdin, interactive)


def register(top):
    p = top.add_parser('shell', help='step the firmware through faults, interactively or from a script on stdin')
    p.add_argument('scenario', nargs='?', default='demo', help='configs/scenarios name or a YAML path (default: demo)')
    p.add_argument('--seed', type=int, default=None, help='override the scenario seed')
    p.add_argument('--start', action='store_true', help='program and start the course at boot, like `pumpsim run`')
    p.add_argument('--no-events', action='store_true', help="ignore the scenario's timed events")
    p.add_argument('--echo', action='store_true', help='echo each command before its output')
    p.set_defaults(func=cmd_shell)
