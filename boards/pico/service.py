"""Calibration of the bench board from its USB REPL, in service mode.

The board in service mode (ACKNOWLEDGE held at reset: no pump, no
watchdog), the host runs these through mpremote (docs/bench-bringup.md,
"Calibration with a balance"). The measurements and the record are the
firmware's own (firmware/calibration.py): the same code the simulator's
`pumpsim bench calibrate` runs, so the figures the board stores are checked
against its nominal settings exactly as there and journaled
(calibration_stored); at every later boot the board runs on them
(calibration_applied).

  from boards.pico.service import Service; s = Service()
  s.zero()                      sensor open to air: mean of 256 raw reads
  s.reference()                 a known pressure applied: mean of 256 reads
  s.run(steps, steps_per_s)     forward steps (the gravimetric run), blocking
  s.store(steps, mass_ug, zero, ref, ref_mmhg_x10)   check, write, journal
"""
from boards.pico import hwdef
from boards.pico.hal import build, nominal_settings as board_settings
from firmware import calibration as cal

N_READS = 256
WINDOW_MS = 100


def nominal_settings():
    return board_settings(hwdef.SETTINGS, hwdef.PARTS)


class Service:
    def __init__(self, machine=None, rp2=None, time=None):
        if machine is None:
            import machine
            import rp2
            import time
        self.time = time
        self.hal, self.panel = build(machine, rp2, time, hwdef.PINS, hwdef.PARTS)

    def zero(self, n=N_READS):
        return cal.mean_raw(self.hal.pressure, n)

    def reference(self, n=N_READS):
        return cal.mean_raw(self.hal.pressure, n)

    def run(self, steps, steps_per_s):
        """Push `steps` microsteps forward at about `steps_per_s`; returns the
        steps the driver was given (the step counter's difference)."""
        m = self.hal.motor
        per = steps_per_s * WINDOW_MS // 1000
        if per < 1:
            per = 1
        pos0 = m.position()
        m.set_direction(True)
        m.enable(True)
        try:
            left = steps
            while left > 0:
                k = per if per < left else left
                m.move(k, WINDOW_MS)
                left -= k
                self.time.sleep_ms(WINDOW_MS)
            self.time.sleep_ms(WINDOW_MS)
        finally:
            m.stop()
            m.enable(False)
        return m.position() - pos0

    def store(self, steps, mass_ug, zero, ref, ref_mmhg_x10):
        """The volume per step from the weighed mass, the span from the
        reference; checked against the nominal figures, stored in the FRAM
        and journaled. Returns (record seq or 0, None or why it was refused)."""
        step_pl = cal.step_pl_from_mass(steps, mass_ug)
        span = cal.span_from(zero, ref, ref_mmhg_x10)
        from firmware.pump import Pump     # its journal, once: the module stays small to import
        pump = Pump(self.hal, nominal_settings())     # its journal; the pump is never ticked
        return cal.store(self.hal.storage, pump.journal, 0, nominal_settings(), step_pl, zero, span,
                         cal.F_STEP | cal.F_PRESSURE, steps, mass_ug)
