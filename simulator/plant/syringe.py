"""Syringe pump mechanism: motor microsteps -> lead screw -> plunger (through
backlash) -> syringe (true barrel diameter) -> the shared line
(simulator/plant/line.py).

Reverse steps (backing off after an occlusion) first reopen the backlash gap,
then withdraw volume from the compliance.
"""
from simulator.plant.line import LinePlant


class SyringePlant(LinePlant):
    def _displace(self, steps, dt_s):
        """Volume the mechanism moves into the compliance for `steps`."""
        if not steps:
            return 0.0
        if steps > 0:
            take = min(self.slack_steps, steps)
            self.slack_steps -= take
            moved = steps - take
        else:
            # backing off: the nut first opens the backlash gap, then
            # pulls the stopper back, drawing fluid from the compliance
            take = min(self.backlash_steps - self.slack_steps, -steps)
            self.slack_steps += take
            moved = steps + take
        dv = moved * self.step_ul if self.mechanism is None else self.mechanism.displace(self, moved, dt_s)
        if dv > self.syringe_ul:
            dv = self.syringe_ul
        self.syringe_ul -= dv
        self.pushed_ul += dv
        return dv

    def plunger_travel_um(self):
        """Travel left, from the TRUE barrel: a syringe of the wrong diameter
        still travels exactly as the steps say; a slipping lead screw not."""
        ul = self.syringe_ul
        if self.mechanism is not None:   # the carriage is ahead of what the stopper let through
            ul -= self.mechanism.held_ul()
        return int(ul / self.area_mm2 * 1000.0)

    def set_diameter(self, d_mm):
        """The barrel's true inner diameter (a syringe off nominal); call
        before the start (a real barrel does not change mid-run)."""
        self.area_mm2 = self.cfg.area_mm2(d_mm)
        self.step_ul = self.area_mm2 * self.cfg.travel_per_step_mm

    def refill(self, fill_ml):
        """A new syringe: full, slack back, line pressure kept."""
        self.syringe_ul = fill_ml * 1000.0
        self.slack_steps = self.backlash_steps
