"""A motor test double that moves only when time passes, and records it.

Like a real driver (and the simulator's and the bridge's motors) a move()
queues the steps of the coming tick; they leave the driver only when the test
calls `emit()` for the interval that follows. stop() or a disabled driver drops
what is queued. Every call and every emitted step is logged with the pump's
state at that moment, so a test can ask what moved after a stop, and in what
order a stop came relative to the journal and the state machine.
"""
from hal.fake import make_fake_hal
from hal.pending_motor import PendingStepMotor
from firmware.loop import Loop
from firmware.pump import Pump
from firmware.settings import Settings
from firmware.table import STATE_NAMES


class RecordingMotor(PendingStepMotor):
    def __init__(self):
        PendingStepMotor.__init__(self)
        self.pos = 0
        self.log = []          # (what, steps, state name)
        self.state = lambda: '?'

    def position(self):
        return self.pos

    def move(self, steps, window_ms):
        PendingStepMotor.move(self, steps, window_ms)
        self.log.append(('move', self.pending, self.state()))

    def stop(self):
        PendingStepMotor.stop(self)
        self.log.append(('stop', 0, self.state()))

    def emit(self):
        """The interval after a tick: the queued steps leave the driver."""
        n = self.take_pending()
        if n:
            self.pos += n
            self.log.append(('moved', n, self.state()))
        return n

    def moved_after(self, index):
        """Steps that left the driver after log entry `index`."""
        return sum(n for what, n, _ in self.log[index:] if what == 'moved')

    def mark(self):
        return len(self.log)


def recorded_pump(**settings):
    """A pump on the fake HAL with a RecordingMotor; the journal writes and
    state changes go into the motor's log too, in the order they happen."""
    hal = make_fake_hal()
    motor = RecordingMotor()
    hal.motor = motor
    hal.pressure.motor = motor      # the fake plunger follows this motor
    pump = Pump(hal, Settings(**settings))
    motor.state = lambda: STATE_NAMES[pump.fsm.state]
    log = pump.journal.log

    def journal(time_s, ev, a=0, b=0):
        motor.log.append(('journal', ev, motor.state()))
        return log(time_s, ev, a, b)
    pump.journal.log = journal
    change = pump.fsm.on_change

    def on_change(src, trigger, dest):
        motor.log.append(('state', dest, STATE_NAMES[dest]))
        return change(src, trigger, dest)
    pump.fsm.on_change = on_change
    return hal, pump, Loop(pump, hal.clock), motor


def run(hal, loop, motor, n):
    """n control ticks, each followed by the interval its steps take."""
    for _ in range(n):
        hal.clock.advance(loop.tick_ms)
        motor.emit()
        loop.poll()
