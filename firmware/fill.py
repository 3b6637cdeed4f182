"""Start-up fill: pressurise the syringe and line compliance before delivery.

The line ends in an artery behind an anti-reflux valve, so nothing leaves the
catheter until the syringe and line are pressurised up to arterial pressure:
C * P, about 0.2 mL on a 50 mL syringe (2 uL/mmHg, 90 mmHg), plus the drive's
backlash. At the set rate that is the start-up delay: 10 min at 1 mL/h, about
2 h at 0.1 mL/h, and the whole course runs that much short.

At start, when `startup_fill_rate_nl_h` is above the programmed rate, the pump
pushes at the fill rate while the filtered pressure keeps rising, and stops at
the knee where the valve opens: the rise over a 5 s block falls below half the
steepest rise seen (the first block, backlash and filter settling, is not
judged). No rise of 1 mmHg per block after _FLAT_NL pushed (backlash taken
up): nothing to fill, the fill ends without an alarm. The firmware needs
neither C nor the patient's pressure for that. Fill steps are motor steps (stall check, journal
checkpoints) but are NOT counted as delivered: the fill stays in the line as
stored volume, it is not dose. A fill that sees no knee within _MAX_NL ends
with a hold of the occlusion check (firmware/occlusion.py): a line that does
not open (occluded or clamped) stays flat and alarms, a stiff catheter (R*C
up to a minute: a rise with no sharp knee) decays and infusion goes on. The
volume a fill can store and later release as a bolus stays below 0.5 mL.

Host tools read `pump.fill.nl` (the volume the last fill pushed). The end of a
fill is journaled (_EV_FILL: volume, pressure). Allocation-free per tick.
"""
from firmware.compat import const

# codes from firmware.codes (private: no heap; tests/test_device_codes.py checks them)
_EV_FILL = const(11)

_MIN_RISE = const(10)     # mmHg x10 per 5 s block: less and the line is not filling
_KNEE_MIN = const(300)    # mmHg x10: the knee is above the lowest diastolic pressure
_FLAT_NL = const(60000)   # no rise after this much (backlash taken up): nothing to fill
_MAX_NL = const(400000)   # most one fill may push (0.4 mL)
_BLOCK_MS = const(5000)


class StartupFill:
    def __init__(self, settings):
        self.rate = settings.startup_fill_rate_nl_h
        self.left = 0        # fill steps still allowed, or hold steps; 0 = done
        self.holding = False  # after the knee: repaying the overshoot
        self.steps = 0       # fill steps pushed since start
        self.nl = 0          # volume the last fill pushed
        self.ahead = 0       # overshoot steps counted as delivered without moving
        self._t = 0          # ms into the current block
        self._ms = 0         # ms spent filling since start
        self._n = 0          # blocks done since (re)start of motion
        self._prev = 0       # filtered pressure at the last block end
        self._max = 0        # steepest rise per block seen
        self._at = 0         # fill steps two block ends back
        self._at1 = 0        # fill steps at the last block end
        self._slow = False   # the last block rose less than half the steepest
        self._rp = 0         # holding: scheduled steps toward the next repaid one

    def begin(self, pump):
        """Infusion start: fill if the fill rate beats the programmed rate."""
        self.steps = 0
        self.nl = 0
        self.ahead = 0
        self.left = 0
        self.holding = False
        self._ms = 0
        if self.rate > pump.step_rate_nl_h:
            self.left = _MAX_NL * 1000 // pump.step_pl
            pump.sched.set_rate(self.rate)

    def restart(self, pressure_x10):
        """Motion (re)starts: judge the rise afresh."""
        self._t = 0
        self._n = 0
        self._max = 0
        self._slow = False
        self._prev = pressure_x10
        self._at = self.steps
        self._at1 = self.steps

    def tick(self, pump):
        """One delivering tick while filling or holding (instead of delivery)."""
        n = pump.sched.next_steps()
        if self.holding:
            # the overshoot already left the catheter: repay it one scheduled
            # step in four, counted as delivered without moving; the other
            # three are pushed, so a line that blocks now still rises
            a = self._rp + n
            self._rp = a & 3
            a >>= 2
            if a > self.left:
                a = self.left
            if a > pump._step_left:
                a = pump._step_left
            self.left -= a
            pump._step_left -= a
            pump._pl_rem += a * pump.step_pl
            q = pump._pl_rem // 1000
            pump.delivered_nl += q
            pump._pl_rem -= q * 1000
            pump.push(n - a)
            if pump._step_left == 0:
                self.left = 0
            self.holding = self.left > 0
            return
        if n > self.left:
            n = self.left
        if n:
            pump.hal.motor.move(n, pump.tick_ms)
            pump._expected_pos += n
            pump.steps_commanded += n
            pump.occlusion.stored_steps += n
            self.steps += n
            self.left -= n
        knee = False
        flat = False
        self._t += pump.tick_ms
        self._ms += pump.tick_ms
        if self._t >= _BLOCK_MS:
            self._t = 0
            rise = pump.occlusion.filtered - self._prev
            self._prev += rise
            self._n += 1
            # the first block is backlash and filter settling: not judged
            if self._n >= 2 and rise > self._max:
                self._max = rise
            if self._max < _MIN_RISE:
                flat = self.steps * pump.step_pl >= _FLAT_NL * 1000
            else:
                # two slower blocks in a row (one can be sensor noise), above
                # 30 mmHg (no artery sits lower: a slower block there is noise)
                slow = rise * 2 < self._max
                knee = self._n >= 3 and slow and self._slow and self._prev > _KNEE_MIN
                self._slow = slow
            if not knee:
                self._at = self._at1
                self._at1 = self.steps
        if knee or flat or not self.left:
            # overshoot: what the last two blocks pushed as the valve opened,
            # less what the programme was owed for the time the fill took (a
            # one-off big int on a board, at a transition, not every tick)
            ahead = 0
            if knee:
                ahead = self.steps - self._at - pump.step_rate_nl_h * self._ms // (3600 * pump.step_pl)
            self.ahead = ahead if ahead > 0 else 0
            self.nl = self.steps * pump.step_pl // 1000
            pump.sched.set_rate(pump.step_rate_nl_h)
            pump.sched.reset_phase()
            pump.journal.log(pump.uptime_s, _EV_FILL, self.nl, pump.pressure_x10)
            self.left = self.ahead
            self.holding = self.ahead > 0
            if knee or flat:        # the line is open
                pump.occlusion.opened()
            else:                   # a stiff catheter rises without a knee:
                pump.occlusion.hold()   # the hold tells it from a blocked line
