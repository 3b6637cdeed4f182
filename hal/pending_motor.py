"""A motor that queues the steps of one tick for someone else to emit.

Both the in-process simulator backend (simulator.runtime.sim_hal) and the MicroPython
bridge board (boards/bridge/hal.py) hand the firmware's move() to a plant that emits the
steps over the next tick, so they share these semantics: `pending` holds the
signed steps of the coming tick, a disabled driver or stop() drops them.
Subclasses say where the position comes from.
"""


class PendingStepMotor:
    def __init__(self):
        self.enabled = False
        self.forward = True
        self.pending = 0

    def enable(self, on):
        self.enabled = bool(on)
        if not on:
            self.pending = 0

    def set_direction(self, forward):
        self.forward = bool(forward)

    def move(self, steps, window_ms):
        if steps < 0:
            raise ValueError('move() takes a step count >= 0')
        self.pending = (steps if self.forward else -steps) if self.enabled else 0

    def stop(self):
        self.pending = 0

    def take_pending(self):
        n = self.pending
        self.pending = 0
        return n

    def is_moving(self):
        return self.pending != 0
