"""The line model every pump kind shares: what the mechanism's volume does in
the line.

Chain: motor microsteps -> lead screw -> plunger (through backlash) -> syringe
(true barrel diameter) -> compliant volume V (syringe + line, C uL/mmHg) ->
anti-reflux valve -> catheter (Poiseuille resistance R) -> hepatic artery
(pulsatile P_art). Line pressure P = V / C (gauge).

Over each control interval dt (100 ms, much shorter than the line's time
constant R*C of about 10 s) the plunger's volume enters the compliance, then
    dV/dt = -max(0, V/C - P_art) / R
is solved exactly for the interval: V relaxes towards C*P_art with time
constant R*C, which low-passes the arterial pulse. With the valve closed (V/C < P_art) nothing flows out and V just
fills: this is why an uncompensated start takes tens of minutes at low rates.
A downstream occlusion multiplies R (full occlusion: no outflow).

`delivered_ul` is what left the catheter (what a balance would weigh);
`pushed_ul` is what the plunger displaced (net: backing off reduces it).
Reverse steps (backing off after an occlusion) first reopen the backlash gap,
then withdraw volume from the compliance; a withdrawal below zero gauge would
draw from the patient and is counted in `aspirated_ul` (benches assert 0).

Kinds: `_displace` turns the emitted steps into the volume entering the
compliance (the syringe in simulator/plant/syringe.py, the peristaltic head in
simulator/plant/peristaltic.py; both share this line, valve, artery, sensors and air); `make_plant` picks
the plant by the pump's kind (simulator/plant/__init__.py). The sensor may carry a true zero and gain that
differ from the nominal ones (`sensor.true_*`, calibration tests);
`reference_mmhg`, when set, is a calibrator's known pressure applied to the
sensor (None: the sensor reads the line).
"""
import math

import numpy as np

from simulator.plant.arterial import ArterialPressure

AIR_SENSOR_LINE_UL = 20.0   # line volume from the syringe outlet to the air sensor


class LinePlant:
    """The line every pump kind shares: compliance, anti-reflux valve,
    catheter, artery, pressure sensor, air in line, power. A kind adds how
    its steps move volume (`_displace`) and what its travel input reads."""

    def __init__(self, pump_cfg, arterial=None, seed=0, fill_ml=None):
        d = pump_cfg.data
        drv, line, sen = d['drive'], d['line'], d['sensor']
        self.cfg = pump_cfg
        self.step_ul = pump_cfg.step_ul_true
        self.c_ul_mmhg = pump_cfg.compliance_ul_per_mmhg
        self.r_base = line['catheter_resistance_mmhg_s_per_ul']
        self.valve = line['anti_reflux_valve']
        backlash_mm = drv.get('backlash_mm') or 0.0
        self.backlash_steps = int(round(backlash_mm / pump_cfg.travel_per_step_mm)) if backlash_mm else 0
        self.slack_steps = self.backlash_steps   # taken up by the first push
        tz, tg = sen.get('true_zero_counts'), sen.get('true_counts_per_mmhg')
        self.zero_counts = sen['pressure_zero_counts'] if tz is None else tz
        self.counts_per_mmhg = sen['pressure_counts_per_mmhg'] if tg is None else tg
        self.noise_mmhg = sen['pressure_noise_mmhg']
        self.reference_mmhg = None    # calibrator pressure on the sensor
        self.arterial = arterial or ArterialPressure()
        self.rng = np.random.default_rng(seed)
        self._noise = np.empty(0)
        self._noise_i = 0
        # fluid state
        self.capacity_ul = pump_cfg.reservoir['nominal_volume_ml'] * 1000.0
        self.syringe_ul = self.capacity_ul if fill_ml is None else fill_ml * 1000.0
        self.stored_ul = 0.0          # in the compliance
        self.delivered_ul = 0.0       # left the catheter
        self.pushed_ul = 0.0          # displaced by the plunger
        self.aspirated_ul = 0.0       # drawn back from the patient (must stay 0)
        self.p_art = self.arterial.mean_mmhg
        # faults
        self.occlusion_factor = 1.0   # multiplies R; inf = full occlusion
        self.syringe_present = True
        self.clamp_closed = True
        self.stalled = False
        self.position_steps = 0       # motor counter (what the driver emitted)
        # a real mechanism's errors (simulator/plant/mechanism.py); None: ideal
        self.mechanism = None
        # what the monitors watch: true barrel area (plunger travel), lead screw
        # slip, pressure sensor fault, power (simulator/plant/faults.py)
        tps = getattr(pump_cfg, 'travel_per_step_mm', None)
        self.area_mm2 = pump_cfg.step_ul_true / tps if tps else 1.0
        self.slip = 0.0               # fraction of steps that do not move the plunger
        self._slip_acc = 0.0
        self.psensor = None           # [mode, value, t0_s, frozen_raw]
        self.mains = True
        self.battery_mv = 4100.0
        self.drain_mv_h = 0.0
        self._r_cached = None
        self._dt_cached = None
        self._decay = 0.0
        # air in line: bubbles as [front_ul, tail_ul] in plunger
        # displacement (pushed_ul) coordinates, oldest first; see add_bubble
        self.t_s = 0.0
        self.bubbles = []
        self.air_at_sensor = False
        self._air_train = None        # [left, volume_ul, interval_s, s_to_next]
        self.air_record = None        # benches: {'bubbles': [], 'motion': []}

    # ------------------------------------------------------------ physics
    @property
    def pressure_mmhg(self):
        return self.stored_ul / self.c_ul_mmhg

    def advance(self, dt_s, steps):
        """Emit `steps` (signed) during dt and integrate the fluid."""
        if self.stalled:
            steps = 0
        if steps:
            self.position_steps += steps
            if self.slip:
                steps = self._slipped(steps)
        dv = self._displace(steps, dt_s)
        p_art = self.arterial.advance(dt_s)
        self.p_art = p_art
        c = self.c_ul_mmhg
        v0 = self.stored_ul
        v = v0 + dv
        v_art = c * p_art
        r = self.r_base * self.occlusion_factor
        if r != math.inf and (v > v_art or not self.valve):
            if r != self._r_cached or dt_s != self._dt_cached:
                self._r_cached = r
                self._dt_cached = dt_s
                self._decay = math.exp(-dt_s / (r * c))
            v = v_art + (v - v_art) * self._decay
        if v < 0.0:
            # withdrawn below zero gauge: the syringe draws from the patient
            self.aspirated_ul -= v
            v = 0.0
        self.stored_ul = v
        self.delivered_ul += v0 + dv - v
        self.t_s += dt_s
        if not self.mains and self.drain_mv_h:
            self.battery_mv -= self.drain_mv_h * dt_s / 3600.0
        if self.bubbles or self._air_train:
            self._air_advance(dt_s, self.pushed_ul - dv, steps)

    def _displace(self, steps, dt_s):
        """Volume the mechanism moves into the compliance for `steps`
        (syringe: lead screw and barrel; peristaltic: the roller head)."""
        raise NotImplementedError

    # ------------------------------------------------------------ air
    # A bubble enters the line at the syringe outlet and moves with the
    # plunger's displacement (the line is a stiff tube: whatever is pushed in
    # moves the column): its front reaches the ultrasonic air sensor once
    # AIR_SENSOR_LINE_UL more has been pushed, and the sensor reads air while
    # the bubble's own volume passes. Air entering while the previous bubble
    # is still at the outlet joins it (one longer bubble). Volumes are at line
    # pressure (no compression modelled); the hydraulics above ignore the air.

    def add_bubble(self, volume_ul):
        front = self.pushed_ul + AIR_SENSOR_LINE_UL
        if self.bubbles and self.bubbles[-1][1] > front:
            front = self.bubbles[-1][1]
        b = [front, front + volume_ul]
        self.bubbles.append(b)
        if self.air_record is not None:
            self.air_record['bubbles'].append({'t_inject_s': self.t_s, 'volume_ul': volume_ul,
                                               'front_ul': front, 'tail_ul': b[1]})
        self._air_sense()

    def start_air_train(self, count, volume_ul, interval_s):
        """`count` bubbles of volume_ul, the first now, then one every interval_s."""
        self.add_bubble(volume_ul)
        self._air_train = [count - 1, volume_ul, interval_s, interval_s] if count > 1 else None

    def stop_air_train(self):
        self._air_train = None

    def purge_air(self):
        """The nurse primes the line: every bubble is gone."""
        self.bubbles = []
        self.air_at_sensor = False

    def _air_advance(self, dt_s, p0, steps):
        rec = self.air_record
        if rec is not None and self.bubbles and (self.pushed_ul != p0 or steps):
            # the motor's count with the true volume: what the firmware
            # believes passed (steps x its nominal step) against what did
            lo, hi = min(p0, self.pushed_ul), max(p0, self.pushed_ul)
            if hi >= self.bubbles[0][0] and lo <= self.bubbles[-1][1]:
                s1 = self.position_steps
                rec['motion'].append((self.t_s - dt_s, self.t_s, p0, self.pushed_ul, s1 - steps, s1))
        self._air_sense()
        tr = self._air_train
        if tr is not None:
            tr[3] -= dt_s
            if tr[3] <= 1e-9:
                tr[3] += tr[2]
                tr[0] -= 1
                if tr[0] <= 0:
                    self._air_train = None
                self.add_bubble(tr[1])

    def _air_sense(self):
        p = self.pushed_ul
        bs = self.bubbles
        while bs and bs[0][1] <= p:
            bs.pop(0)
        self.air_at_sensor = bool(bs) and bs[0][0] <= p

    # ------------------------------------------------------------ sensors
    def pressure_raw(self):
        i = self._noise_i
        if i >= len(self._noise):
            self._noise = self.rng.standard_normal(65536) * self.noise_mmhg
            i = 0
        self._noise_i = i + 1
        ref = self.reference_mmhg
        p = (self.stored_ul / self.c_ul_mmhg if ref is None else ref) + self._noise[i]
        if self.psensor is not None:
            return self._faulty_raw(p, i)
        raw = int(self.zero_counts + p * self.counts_per_mmhg)
        if self.mechanism is not None:
            return self.mechanism.pressure_raw(raw, self.t_s, self.counts_per_mmhg)
        return 0 if raw < 0 else (65535 if raw > 65535 else raw)

    def _slipped(self, steps):
        """Steps that reach the plunger when a fraction `slip` slips
        (negative: the plunger runs ahead, a free half-nut under siphon)."""
        self._slip_acc += steps * self.slip
        lost = int(self._slip_acc)
        self._slip_acc -= lost
        return steps - lost

    def _faulty_raw(self, p, i):
        mode, value, t0, frozen = self.psensor
        if mode == 'stuck':
            if frozen is None:
                self.psensor[3] = frozen = int(self.zero_counts + p * self.counts_per_mmhg)
            return frozen
        if mode == 'disconnected':
            return 0
        if mode == 'offset':
            p += value
        elif mode == 'drift':
            p += value * (self.t_s - t0) / 3600.0
        elif mode == 'noise':   # extra noise of `value` mmHg (1 sigma)
            p += self.rng.standard_normal() * value
        raw = int(self.zero_counts + p * self.counts_per_mmhg)
        return 0 if raw < 0 else (65535 if raw > 65535 else raw)
