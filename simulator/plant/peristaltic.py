"""Peristaltic pump plant: a roller head squeezing a tube, same line downstream.

Chain: motor microsteps -> (gear) -> roller head; each of the R rollers
seals a pocket of tube at the inlet and pushes it to the outlet, so one
revolution moves the stroke volume (e.g. 0.050 mL) in R pockets. The firmware
sees what it sees on the syringe pump (a stepper with a step counter and a
downstream pressure sensor, same HAL): its step_pl is stroke volume /
microsteps per revolution.

Output over one roller period (a pocket, microsteps_per_rev / R steps), in
pocket volumes, as the cumulative function F(u), u = phase in [0, 1):
  - backflow dip, u < w: a roller lifts at the outlet and the pocket behind
    it, filled at inlet pressure, opens to the line: line fluid flows back
    into it, F falls smoothly to -b, b = backflow_ul_per_mmhg * (P_line -
    P_inlet) / pocket volume (latched as the period starts);
  - push, u >= w: the next roller pushes the pocket and the backflow out
    again, with a ripple of ripple_pct over the period; F(1) = 1, so a full
    period delivers exactly one pocket whatever the dip.
The pushed volume then enters the same compliance / anti-reflux valve /
catheter / pulsatile artery as the syringe plant (SyringePlant.advance): the
downstream tubing compliance smooths the pulses with the line's R*C.

Losses: slip_pct_per_100mmhg of the stroke leaks back past the rollers
against the back pressure (tubes never occlude perfectly). The inlet side is
a bag `bag_head_mmhg` above the pump, an upstream tube (compliance C_up,
resistance R_up) and the pocket forming at the inlet, which fills only
partly under suction: fill = 1 + P_in / collapse_mmhg for P_in < 0, with
P_in = bag_head - D / C_up, D the volume the head drew that the bag has not
yet replaced; D relaxes through R_up (exactly, per interval). The
`upstream_occlusion` fault multiplies R_up (severity 1: infinite): the tube
no longer refills, the pockets fill less and less, the output falls.

Reverse steps (occlusion relief) run the profile backwards: fluid goes from
the line back towards the bag. No backlash (the head is driven directly).
"""
import math

from simulator.plant.line import LinePlant

TWO_PI = 2.0 * math.pi


class PeristalticPlant(LinePlant):
    def __init__(self, pump_cfg, arterial=None, seed=0, fill_ml=None):
        super().__init__(pump_cfg, arterial, seed=seed, fill_ml=fill_ml)
        d = pump_cfg.data
        head, tub = d['head'], d['tubing']
        self.rollers = head['rollers']
        self.steps_per_pocket = pump_cfg.microsteps_per_rev / float(self.rollers)
        self.pocket_ul = self.step_ul * self.steps_per_pocket
        self.ripple = head['ripple_pct'] / 100.0
        self.backflow_ul_per_mmhg = head['backflow_ul_per_mmhg']
        self.dip_w = head['backflow_period_fraction']
        self.slip_per_mmhg = head['slip_pct_per_100mmhg'] / 100.0 / 100.0
        self.c_up = tub['upstream_compliance_ul_per_mmhg']
        self.r_up_base = tub['upstream_resistance_mmhg_s_per_ul']
        self.bag_head_mmhg = tub['bag_head_mmhg']
        self.collapse_mmhg = tub['collapse_mmhg']
        # head and inlet state
        self.phase_steps = 0.0           # within the current roller period
        self.dip_b = 0.0                 # backflow of the current period, pockets
        self.up_deficit_ul = 0.0         # drawn from the upstream tube, not yet refilled
        self.upstream_factor = 1.0       # multiplies R_up; inf = upstream occlusion
        self.drawn_ul = 0.0              # what the inlet took from the reservoir
        self._up_decay = None

    # ------------------------------------------------------------ inlet
    @property
    def inlet_mmhg(self):
        return self.bag_head_mmhg - self.up_deficit_ul / self.c_up

    def fill_fraction(self):
        p = self.inlet_mmhg
        if p >= 0.0:
            return 1.0
        f = 1.0 + p / self.collapse_mmhg
        return f if f > 0.0 else 0.0

    # ------------------------------------------------------------ head
    def profile(self, u, b):
        """Cumulative output F(u) over one roller period, in pockets."""
        w = self.dip_w
        if u < w:
            return -b * 0.5 * (1.0 - math.cos(math.pi * u / w))
        x = (u - w) / (1.0 - w)
        return -b + (1.0 + b) * (x - self.ripple * math.sin(TWO_PI * x) / TWO_PI)

    def _split(self, u0, u1, b):
        """(dip part, push part) of F(u1) - F(u0), forward or backward."""
        w = self.dip_w
        f = self.profile
        if u1 >= u0:
            lo, hi, sign = u0, u1, 1.0
        else:
            lo, hi, sign = u1, u0, -1.0
        dip = push = 0.0
        if lo < w:
            dip = f(min(hi, w), b) - f(lo, b)
        if hi > w:
            push = f(hi, b) - f(max(lo, w), b)
        return sign * dip, sign * push

    def _latch_dip(self):
        dp = self.stored_ul / self.c_ul_mmhg - self.inlet_mmhg
        b = self.backflow_ul_per_mmhg * dp / self.pocket_ul if dp > 0.0 else 0.0
        self.dip_b = b if b < 0.5 else 0.5

    def _displace(self, steps, dt_s):
        # the bag refills the upstream tube through R_up (exact for the interval)
        if self.up_deficit_ul > 0.0:
            r = self.r_up_base * self.upstream_factor
            if r != math.inf:
                if self._up_decay is None or self._up_decay[0] != (r, dt_s):
                    self._up_decay = ((r, dt_s), math.exp(-dt_s / (r * self.c_up)))
                self.up_deficit_ul *= self._up_decay[1]
        if not steps:
            return 0.0
        spp = self.steps_per_pocket
        pocket = self.pocket_ul
        if steps > 0:
            fill = self.fill_fraction() if self.syringe_ul > 0.0 else 0.0
            dp = self.stored_ul / self.c_ul_mmhg - self.inlet_mmhg
            keep = 1.0 - self.slip_per_mmhg * dp if dp > 0.0 else 1.0
            fs = fill * keep
            out = 0.0
            left = float(steps)
            ph = self.phase_steps
            while left > 0.0:
                seg = spp - ph
                if seg > left:
                    seg = left
                dip, push = self._split(ph / spp, (ph + seg) / spp, self.dip_b)
                out += pocket * (dip + push * fs)
                ph += seg
                left -= seg
                if ph >= spp - 1e-9:
                    ph = 0.0
                    self._latch_dip()
            self.phase_steps = ph
            drawn = steps * self.step_ul * fill
            if drawn > self.syringe_ul:
                drawn = self.syringe_ul
            self.syringe_ul -= drawn
            self.drawn_ul += drawn
            self.up_deficit_ul += drawn
        else:
            out = 0.0
            left = float(-steps)
            ph = self.phase_steps
            while left > 0.0:
                if ph <= 1e-9:
                    ph = spp
                seg = ph if ph < left else left
                dip, push = self._split(ph / spp, (ph - seg) / spp, self.dip_b)
                out += pocket * (dip + push)
                ph -= seg
                left -= seg
            self.phase_steps = ph
            back = -steps * self.step_ul    # returned towards the bag
            self.syringe_ul += back
            self.drawn_ul -= back
            self.up_deficit_ul = max(0.0, self.up_deficit_ul - back)
        self.pushed_ul += out
        return out

    # ------------------------------------------------------------ sensors
    NO_TRAVEL_SENSOR_UM = 100000

    def plunger_travel_um(self):
        """No plunger and no travel sensor: the input reads a constant (as a
        board without the sensor wires it); the firmware knows the kind
        (setting pump_kind = 1) and must not judge travel."""
        return self.NO_TRAVEL_SENSOR_UM

    def refill(self, fill_ml):
        """A new bag: full, inlet tube refilled."""
        self.syringe_ul = fill_ml * 1000.0
        self.up_deficit_ul = 0.0
