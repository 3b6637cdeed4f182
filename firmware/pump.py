"""The pump controller: one object that owns the state machine, the control
tick and the command entry points.

Control tick order (every `tick_ms`, driven by `firmware.loop.Loop`):
  1. sense      pressure (raw -> mmHg x10 with calibration), syringe, motor
  2. monitor    occlusion, pressure ceiling, syringe, motor stall; any alarm
                stops the motor FIRST, then journals and changes state
  3. deliver    only in a delivering state: scheduler -> motor.move(n)
  4. annunciate alarm LED/buzzer patterns
  5. feed the watchdog
The steady-state tick allocates nothing (tests prove it under heap_lock).

Commands (from the link handler or the simulator's scenario) return a reason
code: OK, or why nothing changed.
"""
from firmware.compat import const, call_transient
# the table's vocabulary; its rows are compiled into the Machine once, and
# then the table module leaves the heap (Pump.__init__)
from firmware.table import DELIVERING, IN_PROGRAM, STATE_NAMES, TRIGGER_NAMES, INITIAL
from firmware.fsm import Machine
from firmware.alarms import AlarmManager, ALARM_PRIORITY
from firmware.journal import Journal
from firmware.delivery import StepScheduler
from firmware.checkpoint import Checkpoint
from firmware.occlusion import OcclusionCheck
from firmware.fill import StartupFill
from firmware.air import AirMonitor
from firmware.monitors import Monitors

from firmware.reasons import REASON_NAMES

# codes from firmware.codes (private: no heap; tests/test_device_codes.py checks them)
_AREA_SIZE = const(848)
_A_INFUSION_COMPLETE = const(8)
_A_MOTOR_STALL = const(5)
_A_OCCLUSION_DOWNSTREAM = const(1)
_A_PRESSURE_HARD_LIMIT = const(2)
_A_PRESSURE_SENSOR = const(6)
_A_SYRINGE_REMOVED = const(4)
_EV_ALARM = const(3)
_EV_ALARM_ACK = const(4)
_EV_ALARM_CLEAR = const(10)
_EV_ALARM_ESCALATE = const(16)
_EV_BOOT = const(1)
_EV_CAL_APPLIED = const(31)
_EV_CHECKPOINT = const(7)
_EV_COMPLETE = const(8)
_EV_CONFIRM = const(6)
_EV_PROGRAM = const(5)
_EV_REJECT = const(9)
_EV_RELIEF = const(12)
_EV_STATE = const(2)
_E_BAD_STATE = const(1)
_E_HASH = const(3)
_E_INVALID = const(2)
_E_NOT_READY = const(4)
_F_STARTED = const(1)
_OK = const(0)
_PRIO_HIGH = const(3)
_S_ALARM = const(5)
_S_BOLUS = const(8)
_S_DWELL = const(10)
_S_FAULT = const(7)
_S_KVO = const(9)
_S_PAUSED = const(4)
_S_POST = const(0)
_S_RUNNING = const(3)
_S_SYRINGE_CHANGE = const(11)
_T_ACK = const(10)
_T_ALARM = const(9)
_T_COMPLETE = const(8)
_T_CONFIRM = const(3)
_T_FAULT = const(11)
_T_LOAD = const(2)
_T_PAUSE = const(5)
_T_POST_FAIL = const(1)
_T_POST_OK = const(0)
_T_RECOVERED = const(17)
_T_RESUME = const(6)
_T_START = const(4)
_T_STOP = const(7)
_T_TO_BOLUS = const(13)
_T_TO_DWELL = const(15)
_T_TO_KVO = const(14)
_T_TO_RUN = const(12)
_T_TO_SYRINGE = const(16)

# checkpoint states that mean a started therapy lost its power (or faulted)
_INTERRUPTED = IN_PROGRAM + (_S_PAUSED, _S_ALARM, _S_FAULT, _S_SYRINGE_CHANGE)

# step kinds and program journal events (firmware/program.py; private
# consts here so they cost the device no globals)
_K_RAMP = const(2)
_K_PAUSE = const(4)
_K_SYRINGE = const(6)
_K_CYCLE = const(7)
_EV_OVERRIDE = const(50)
_EV_SYRINGE_CHANGED = const(51)

# state and trigger a step kind runs in (index = kind; 0 and CYCLE never run)
_KIND_STATE = (_S_RUNNING, _S_RUNNING, _S_RUNNING, _S_BOLUS, _S_DWELL, _S_KVO, _S_SYRINGE_CHANGE, _S_RUNNING)
_KIND_TRIG = (_T_TO_RUN, _T_TO_RUN, _T_TO_RUN, _T_TO_BOLUS, _T_TO_DWELL, _T_TO_KVO, _T_TO_SYRINGE, _T_TO_RUN)

_RAW_MIN = const(200)      # below: sensor disconnected / shorted
_RAW_MAX = const(65300)    # above: saturated


class Pump:
    def __init__(self, hal, settings):
        self.hal = hal
        self.settings = settings
        self.settings_error = settings.validate()
        self.tick_ms = settings.tick_ms
        self.step_pl = settings.step_pl
        self._p_zero = settings.pressure_zero_counts
        self._p_span = settings.pressure_span_counts_per_100mmhg
        self._stall_tol = settings.stall_tolerance_steps
        self._checkpoint_ticks = settings.checkpoint_s * 1000 // settings.tick_ms
        self.alarms = AlarmManager(hal.indicators, settings.alarm_escalate_s)
        # NV map: checkpoint slots + program record, then the journal ring
        self.ckpt = Checkpoint(hal.storage, 0)
        self.journal = Journal(hal.storage, _AREA_SIZE)
        self._ck_live = False    # no checkpoint writes until POST has decided
        self.sched = StepScheduler(settings.tick_ms, settings.step_pl)
        self.occlusion = OcclusionCheck(settings)
        self.fill = StartupFill(settings)
        self.air = AirMonitor(hal, settings)
        self.monitors = Monitors(settings)
        self.fsm = Machine(self, len(STATE_NAMES), len(TRIGGER_NAMES),
                           call_transient('table', 'transitions'), INITIAL)
        self.fsm.on_change = self._on_change
        # time since boot, without big ints: seconds plus ms within the second
        self.uptime_s = 0
        self._ms = 0
        self.ticks = 0
        # sensed values
        self.pressure_x10 = 0
        # program and delivery accounting
        self.program = None
        self._candidate = None
        self._confirm_digest = None
        self.program_digest = None
        self.confirmed = False
        self.started = False         # a started therapy (not stopped/complete)
        self.step_index = 0
        self.step_rate_nl_h = 0
        self._step_left = 0          # motor steps left in the current step
        self.step_kind = 0
        self._want = _S_RUNNING       # the state the current step runs in
        self._trig = _T_TO_RUN
        self._sub = 0                # ramp sub-step
        self._cyc_at = -1            # the cycle step whose repeat count is loaded
        self._cyc_left = 0
        self._dwell_end = 0          # uptime_s when a pause step ends
        self._cum_nl = 0             # programmed volume up to the current step
        self._cum_steps = 0          # its motor steps (rounded once: no drift)
        self.steps_commanded = 0     # forward microsteps commanded this program
        self.delivered_nl = 0        # plunger-side volume, from steps
        self._pl_rem = 0
        self._expected_pos = 0       # where the motor counter should be
        self._checkpoint_left = 0
        self.last_error = ''

    # ---------------------------------------------------------------- tick
    def tick(self):
        self._ms += self.tick_ms
        if self._ms >= 1000:
            self._ms -= 1000
            self.uptime_s += 1
        self.ticks += 1
        state = self.fsm.state
        if state == _S_POST:
            self._post()
            return
        hal = self.hal
        if state == _S_FAULT:
            hal.motor.stop()
            self.alarms.tick(self.tick_ms, self.uptime_s)
            hal.watchdog.feed()
            return
        delivering = state in DELIVERING
        # 1. sense
        raw = hal.pressure.read_raw()
        p = (raw - self._p_zero) * 1000 // self._p_span
        self.pressure_x10 = p
        # 2. monitor
        if raw < _RAW_MIN or raw > _RAW_MAX:
            self.raise_alarm(_A_PRESSURE_SENSOR)
        else:
            self._clear_condition(_A_PRESSURE_SENSOR)
            code = self.occlusion.update(p, delivering)
            if code:
                self.raise_alarm(code)
            else:
                self._clear_condition(_A_OCCLUSION_DOWNSTREAM)
                self._clear_condition(_A_PRESSURE_HARD_LIMIT)
        if not (hal.syringe.present() and hal.syringe.clamp_closed()):
            self.raise_alarm(_A_SYRINGE_REMOVED)
        else:
            self._clear_condition(_A_SYRINGE_REMOVED)
        self.air.check(self)
        self.monitors.check(self, raw, delivering)
        if delivering:
            lag = self._expected_pos - hal.motor.position()
            if lag > self._stall_tol or lag < -self._stall_tol:
                self.raise_event_alarm(_A_MOTOR_STALL)
        # 3. deliver (the state may have changed in 2.)
        if self.fsm.state in IN_PROGRAM:
            self._deliver()
        elif self.occlusion.relief_left and self.fsm.state == _S_ALARM:
            if self.occlusion.relieve(hal.motor, self.tick_ms):
                self.journal.log(self.uptime_s, _EV_RELIEF, self.occlusion.relieved, self.pressure_x10)
        # 4. annunciate, 5. watchdog
        code = self.alarms.tick(self.tick_ms, self.uptime_s)
        if code:
            self.journal.log(self.uptime_s, _EV_ALARM_ESCALATE, code, 0)
        hal.watchdog.feed()

    def _deliver(self):
        st = self.fsm.state
        if st != self._want:          # after a resume or a start: the step's state
            self.fsm.fire(self._trig)
            return
        if st == _S_DWELL:
            if self.uptime_s - self._dwell_end >= 0:
                self._next_step()
            return
        if self.fill.left and not (self.fill.holding and self.occlusion.burst):
            mark = self.steps_commanded + self.delivered_nl
            self.fill.tick(self)
            if self.steps_commanded + self.delivered_nl != mark:
                self.ckpt.write(self)
            return
        if self._step_left == 0:
            self._next_step()
            return
        # the scheduler's, or an occlusion probe's
        n = self.occlusion.steps(self.sched, self._step_left)
        if n < 0:
            return
        self.push(n)
        self._checkpoint_left -= 1
        if self._checkpoint_left <= 0:
            self._checkpoint_left = self._checkpoint_ticks
            self.journal.log(self.uptime_s, _EV_CHECKPOINT, self.delivered_nl, self.steps_commanded)

    def push(self, n):
        """Deliver n steps of the program now (at most what the step has left)."""
        if n > self._step_left:
            n = self._step_left
        if n:
            self.occlusion.stored_steps += n
            self._expected_pos += n
            self._step_left -= n
            self.steps_commanded += n
            self._pl_rem += n * self.step_pl
            q = self._pl_rem // 1000
            self.delivered_nl += q
            self._pl_rem -= q * 1000
            # write-ahead: NV knows these steps before the motor moves them
            self.ckpt.write(self)
            self.hal.motor.move(n, self.tick_ms)

    def _next_step(self):
        """Current step (or ramp sub-step) done: go to the next one, through
        cycles (firmware.dose_limits.walk checks the same order), or complete.
        A transition: big ints allowed here, not in the steady tick."""
        from firmware import program as _prog
        steps = self.program.steps
        i = self.step_index
        s = steps[i]
        if s[0] == _K_RAMP and self._sub + 1 < _prog.ramp_parts(s[3]):
            self._sub += 1
            r, v = _prog.ramp_sub(s, self._sub)
            self._set_rate_volume(r, v)
            return
        n = len(steps)
        while True:
            i += 1
            if i >= n or steps[i][0] != _K_CYCLE:
                break
            arg = steps[i][4]
            if self._cyc_at != i:
                self._cyc_at = i
                self._cyc_left = arg & 0xFFFF
            if self._cyc_left:
                self._cyc_left -= 1
                i = (arg >> 16) - 1
        if i >= n:
            # not complete while the occlusion check is in doubt (it holds)
            if self.occlusion.clear():
                self.fsm.fire(_T_COMPLETE)
            return
        self.step_index = i
        self._enter_step()
        if self.fsm.state != self._want:
            self.fsm.fire(self._trig)

    def _enter_step(self):
        from firmware import program as _prog
        s = self.program.steps[self.step_index]
        kind = s[0]
        self.step_kind = kind
        self._want = _KIND_STATE[kind]
        self._trig = _KIND_TRIG[kind]
        self._sub = 0
        if kind == _K_RAMP:
            r, v = _prog.ramp_sub(s, 0)
            self._set_rate_volume(r, v)
        elif kind == _K_PAUSE or kind == _K_SYRINGE:
            self._step_left = 0
            self.step_rate_nl_h = 0
            self._dwell_end = self.uptime_s + s[3]
        else:
            self._set_rate_volume(s[1], s[2])

    def _set_rate_volume(self, rate, volume_nl):
        # motor steps from the cumulative programmed volume, rounded down
        # once: the whole course is within one microstep under the programme,
        # never over it
        self._cum_nl += volume_nl
        t = self._cum_nl * 1000 // self.step_pl
        self._step_left = t - self._cum_steps
        self._cum_steps = t
        self.step_rate_nl_h = rate
        self.sched.set_rate(rate)
        self.occlusion.q = self.sched._q   # whole steps per tick

    def _post(self):
        """Power-on self test: settings in range, pressure sensor plausible."""
        hal = self.hal
        hal.motor.stop()
        self.journal.log(self.uptime_s, _EV_BOOT, self.journal.torn, self.ckpt.torn)
        if self.settings.calibration_seq:
            self.journal.log(self.uptime_s, _EV_CAL_APPLIED, self.step_pl, self.settings.calibration_seq)
        raw = hal.pressure.read_raw()
        if self.settings_error is not None:
            self.last_error = 'settings: ' + self.settings_error
            self.fsm.fire(_T_POST_FAIL)
        elif raw < _RAW_MIN or raw > _RAW_MAX:
            self.last_error = 'pressure sensor reads %d counts (expected %d..%d)' % (raw, _RAW_MIN, _RAW_MAX)
            self.fsm.fire(_T_POST_FAIL)
        else:
            hal.watchdog.start(self.settings.watchdog_ms)
            self._expected_pos = hal.motor.position()
            ck = self.ckpt.newest
            # slot fields 3 = flags, 2 = state (firmware.checkpoint.FMT)
            if ck is not None and ck[3] & _F_STARTED and ck[2] in _INTERRUPTED:
                from firmware.recovery import restore   # boot only
                restore(self, ck)
                self.fsm.fire(_T_RECOVERED)
            else:
                self.fsm.fire(_T_POST_OK)

    # ------------------------------------------------------------ alarms
    def raise_alarm(self, code):
        """Motor stops first, then the alarm is latched, journaled and, for a
        high-priority alarm, the machine goes to ALARM."""
        self.hal.motor.stop()
        if self.alarms.raise_alarm(code):
            self.journal.log(self.uptime_s, _EV_ALARM, code, self.pressure_x10)
            self.occlusion.alarm(code, self.fsm.state in DELIVERING)
            if ALARM_PRIORITY[code] == _PRIO_HIGH:
                self.fsm.fire(_T_ALARM)

    def advise(self, code):
        """A medium or low priority alarm (near empty, on battery): latched
        and journaled like any other, but delivery goes on."""
        if self.alarms.raise_alarm(code):
            self.journal.log(self.uptime_s, _EV_ALARM, code, self.pressure_x10)

    def raise_event_alarm(self, code):
        """An alarm for an event rather than a lasting condition (loop
        overrun, stall): latched until acknowledged, then clearable."""
        self.raise_alarm(code)
        self.alarms.condition_gone(code)

    def _clear_condition(self, code):
        if self.alarms.condition[code]:
            self.alarms.condition_gone(code)
            self.journal.log(self.uptime_s, _EV_ALARM_CLEAR, code, self.pressure_x10)

    def _on_change(self, src, trigger, dest):
        self.journal.log(self.uptime_s, _EV_STATE, src, dest * 256 + trigger)
        if self._ck_live:
            self.ckpt.write(self)

    # ------------------------------------------------- guards and actions
    def program_valid(self):
        return self._candidate is not None

    def hash_matches(self):
        return self.program is not None and self._confirm_digest == self.program_digest

    def can_start(self):
        return (self.program is not None and self.confirmed
                and not self.alarms.any_condition_present(_PRIO_HIGH))

    def can_resume(self):
        return self.program is not None and not self.alarms.any_condition_present(_PRIO_HIGH)

    def alarms_cleared(self):
        return not self.alarms.any_condition_present(_PRIO_HIGH)

    def on_post_ok(self):
        self._ck_live = True

    def on_recovered(self):
        # firmware.recovery has put the therapy back; nothing moves
        self.hal.motor.stop()
        self._ck_live = True

    def on_fault(self):
        self.hal.motor.stop()
        self.hal.motor.enable(False)

    def on_load(self):
        self.program = self._candidate
        self._candidate = None
        self.program_digest = self.program.digest()
        self.confirmed = False
        self.started = False
        steps = self.program.steps
        self.journal.log(self.uptime_s, _EV_PROGRAM, steps[0][1], self.program.total_volume_nl())
        soft = self.program.soft
        if soft is not None:   # a soft limit knowingly exceeded: journaled
            self.journal.log(self.uptime_s, _EV_OVERRIDE, soft[0] * 256 + soft[1], soft[2])

    def on_confirm(self):
        self.confirmed = True
        self.journal.log(self.uptime_s, _EV_CONFIRM, self.program.steps[0][1], 0)

    def on_start(self):
        self.ckpt.save_program(self.program.encode())   # before the RUNNING checkpoint
        self.started = True
        self.step_index = 0
        self.occlusion.begin()   # settle: the line may be unpressurised or blocked
        self.steps_commanded = 0
        self.delivered_nl = 0
        self._pl_rem = 0
        self.sched.reset_phase()
        self._cum_nl = 0
        self._cum_steps = 0
        self._cyc_at = -1
        self._enter_step()
        self.fill.begin(self)
        if self._want not in DELIVERING:   # starts with a pause: no fill
            self.fill.left = 0
        self._begin_motion()

    def on_resume(self):
        self._begin_motion()

    def _begin_motion(self):
        motor = self.hal.motor
        self._expected_pos = motor.position()
        self.monitors.restart(self._expected_pos)
        motor.set_direction(True)
        motor.enable(True)
        self.occlusion.restart()
        self._checkpoint_left = self._checkpoint_ticks
        self.fill.restart(self.occlusion.filtered)

    def stop_motor(self):
        # pause, a pause step, a syringe change, an alarm: the motor stops
        # (raise_alarm has stopped it already; the table says so too)
        self.hal.motor.stop()

    def on_kvo(self):
        # the therapy is given; keep the catheter open at the KVO rate
        self.journal.log(self.uptime_s, _EV_COMPLETE, self.delivered_nl, self.steps_commanded)
        self.alarms.raise_alarm(_A_INFUSION_COMPLETE)
        self.alarms.condition_gone(_A_INFUSION_COMPLETE)

    def syringe_ready(self):
        return (self.program is not None and self.hal.syringe.present()
                and self.hal.syringe.clamp_closed()
                and not self.alarms.any_condition_present(_PRIO_HIGH))

    def on_syringe_changed(self):
        # the user confirmed a new syringe: the change step is done
        self.journal.log(self.uptime_s, _EV_SYRINGE_CHANGED, self.step_index, self.delivered_nl)
        self._want = _S_RUNNING
        self._trig = _T_TO_RUN
        self._step_left = 0
        self._begin_motion()

    def on_stop(self):
        self.hal.motor.stop()
        self.program = None
        self.confirmed = False
        self.started = False

    def on_complete(self):
        self.hal.motor.stop()
        self.started = False
        self.journal.log(self.uptime_s, _EV_COMPLETE, self.delivered_nl, self.steps_commanded)
        self.alarms.raise_alarm(_A_INFUSION_COMPLETE)
        self.alarms.condition_gone(_A_INFUSION_COMPLETE)

    def on_ack(self):
        n = self.alarms.acknowledge_all()
        self.journal.log(self.uptime_s, _EV_ALARM_ACK, n, 0)

    # ----------------------------------------------------------- commands
    def _command(self, trigger, fail_reason):
        if not self.fsm.can_fire(trigger):
            self.journal.log(self.uptime_s, _EV_REJECT, trigger, _E_BAD_STATE)
            self.last_error = 'command %s not allowed in state %s' % (
                TRIGGER_NAMES[trigger], STATE_NAMES[self.fsm.state])
            return _E_BAD_STATE
        if self.fsm.fire(trigger):
            return _OK
        self.journal.log(self.uptime_s, _EV_REJECT, trigger, fail_reason)
        self.last_error = 'command %s refused: %s' % (TRIGGER_NAMES[trigger], REASON_NAMES[fail_reason])
        return fail_reason

    def load(self, program):
        err = program.validate(self.settings)
        if err is not None:
            self.last_error = 'program: ' + err
            self.journal.log(self.uptime_s, _EV_REJECT, _T_LOAD, _E_INVALID)
            return _E_INVALID
        self._candidate = program
        r = self._command(_T_LOAD, _E_INVALID)
        self._candidate = None
        return r

    def confirm(self, digest):
        self._confirm_digest = bytes(digest)
        return self._command(_T_CONFIRM, _E_HASH)

    def start(self):
        return self._command(_T_START, _E_NOT_READY)

    def pause(self):
        return self._command(_T_PAUSE, _E_NOT_READY)

    def resume(self):
        return self._command(_T_RESUME, _E_NOT_READY)

    def stop(self):
        return self._command(_T_STOP, _E_NOT_READY)

    def acknowledge(self):
        if self.fsm.state == _S_ALARM:
            return self._command(_T_ACK, _E_NOT_READY)
        n = self.alarms.acknowledge_all()
        self.journal.log(self.uptime_s, _EV_ALARM_ACK, n, 0)
        return _OK

    def fault(self):
        self.hal.motor.stop()
        self.fsm.fire(_T_FAULT)

    # -------------------------------------------------------------- status
    def state_name(self):
        return STATE_NAMES[self.fsm.state]

    def remaining_nl(self):
        if self.program is None:
            return 0
        r = self.program.total_volume_nl() - self.delivered_nl
        return r if r > 0 else 0
