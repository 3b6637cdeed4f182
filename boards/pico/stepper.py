"""The step train of a STEP/DIR stepper driver (TMC2209), timed by an RP2040
PIO state machine.

Why PIO: the firmware hands the motor "n microsteps over the next window"
(hal.interfaces.Motor.move). A PIO state machine emits exactly n pulses at a
period fixed in its own clock cycles, whatever the Python side is doing
(garbage collection, the link, flash), and stops in one register write.
machine.PWM cannot count pulses (it would need stopping on time from
Python, and its slowest frequency on a 125 MHz RP2040 is about 8 Hz, above
the pump's slowest rates), and a machine.Timer callback per step puts the
step timing at the mercy of interrupt latency and the scheduler.

The program (`step_program`) takes two words per batch from its FIFO: n - 1,
then the half-period delay d. Each step raises STEP by side-set in the same
cycle as the `irq` that reports it, so the IRQ handler's count is the count
of rising edges the driver saw (position readback), even when the state
machine is halted half-way through a pulse. Per step: the high half takes
d + 3 cycles, the low half d + 3 cycles: a period of 2d + 6 cycles.
A batch is sized to end within its window, so the next tick's batch never
waits; a batch that arrives early queues in the FIFO (two batches fit).

stop() halts the state machine (one register write), drives STEP low and
holds the motor until the next move(); the program restarts from its first
instruction then (init). Allocation-free except that restart.
"""

_CYCLES_FIXED = 6      # cycles per step besides the two delay loops
_FIFO_WORDS = 4        # TX FIFO depth: two batches of two words


def batch_delay(steps, window_ms, pio_hz):
    """The delay word d for `steps` (>= 1) pulses evenly over `window_ms` on
    a state machine clocked at `pio_hz` (the count word is steps - 1): the
    period 2d + 6 cycles is the longest that fits the window, so the batch
    ends inside it. Integer-only and allocation-free: small ints on a 32-bit
    port while window_ms * (pio_hz // 1000) < 2**30."""
    d = (window_ms * (pio_hz // 1000) // steps - _CYCLES_FIXED) // 2
    return d if d > 0 else 0


def step_period_cycles(d):
    return 2 * d + _CYCLES_FIXED


def step_program(rp2):
    """The PIO program, assembled with the given rp2 module (the real one on
    a board, tests/device/fake_rp2.py under test). Names inside are the PIO
    assembler's, which rp2.asm_pio provides while it runs the function."""
    @rp2.asm_pio(sideset_init=rp2.PIO.OUT_LOW)
    def step_train():
        pull(block)             .side(0)  # noqa: F821  n - 1
        mov(x, osr)             .side(0)  # noqa: F821
        pull(block)             .side(0)  # noqa: F821  d: half-period delay
        label('step')                     # noqa: F821
        irq(rel(0))             .side(1)  # noqa: F821  rising edge and its count, one cycle
        mov(y, osr)             .side(1)  # noqa: F821
        label('high')                     # noqa: F821
        jmp(y_dec, 'high')      .side(1)  # noqa: F821
        mov(y, osr)             .side(0)  # noqa: F821  falling edge
        label('low')                      # noqa: F821
        jmp(y_dec, 'low')       .side(0)  # noqa: F821
        jmp(x_dec, 'step')      .side(0)  # noqa: F821
    return step_train


class PioStepper:
    """hal.interfaces.Motor on a STEP/DIR/EN driver. `machine`, `rp2`:
    the modules (real or fake); pins are GPIO numbers."""

    def __init__(self, machine, rp2, clock, step, dir_pin, en, pio_hz, dir_forward_level, sm_id=0):
        Pin = machine.Pin
        self.pio_hz = pio_hz
        self.en = Pin(en, Pin.OUT, value=1)            # released until enabled
        self.dir = Pin(dir_pin, Pin.OUT, value=dir_forward_level)
        self.step_pin = Pin(step, Pin.OUT, value=0)
        self.fwd_level = dir_forward_level
        self.program = step_program(rp2)
        self.sm = rp2.StateMachine(sm_id)
        self.low = rp2.asm_pio_encode('nop().side(0)', 1)   # exec'd on halt
        self.handler = self.on_step                        # bound once: the IRQ allocates nothing
        self.enabled = False
        self.forward = True
        self.sign = 1
        self.pos = 0              # rising edges emitted, forward positive (IRQ-counted)
        self.armed = False
        self.busy_until = 0       # ticks_ms the last queued batch ends by
        self.dropped = 0          # steps refused because two batches were already queued
        self.inhibit = False      # the stop button holds the motor (main.py releases it)
        self.ticks_ms = clock.ticks_ms
        self.ticks_add = clock.ticks_add
        self.ticks_diff = clock.ticks_diff
        self._init_sm()           # configured, idle, STEP low

    def _init_sm(self):
        sm = self.sm
        sm.init(self.program, freq=self.pio_hz, sideset_base=self.step_pin)
        sm.irq(self.handler, 1, True)

    def on_step(self, sm):
        # hard IRQ: one per rising edge on STEP; no allocation
        self.pos += self.sign

    def _arm(self):
        self._init_sm()           # first instruction, empty FIFOs
        self.sm.active(1)
        self.armed = True

    def enable(self, on):
        if not on:
            self.stop()
        self.enabled = bool(on)
        self.en.value(0 if on else 1)

    def set_direction(self, forward):
        forward = bool(forward)
        if forward != self.forward:
            self.stop()            # never turn DIR under a pulse train
            self.forward = forward
            self.sign = 1 if forward else -1
        self.dir.value(self.fwd_level if forward else 1 - self.fwd_level)

    def move(self, steps, window_ms):
        if steps < 0:
            raise ValueError('move() takes a step count >= 0')
        if steps == 0 or not self.enabled or self.inhibit:
            return
        if not self.armed:
            self._arm()
        sm = self.sm
        if sm.tx_fifo() > _FIFO_WORDS - 2:
            self.dropped += steps  # put() would block: the stall check sees the lag
            return
        sm.put(steps - 1)
        sm.put(batch_delay(steps, window_ms, self.pio_hz))
        self.busy_until = self.ticks_add(self.ticks_ms(), window_ms)
        if self.inhibit:
            # the stop button's interrupt landed inside this call (it may
            # have halted the machine before the restart above re-enabled it)
            self.stop()

    def stop(self):
        """Halt now: the state machine stops where it is, STEP goes low,
        queued steps are dropped (the restart in the next move() clears the
        FIFO). Safe in any state and from an interrupt handler."""
        self.sm.active(0)
        self.sm.exec(self.low)
        self.armed = False
        self.busy_until = self.ticks_ms()

    def position(self):
        return self.pos

    def is_moving(self):
        return self.armed and self.ticks_diff(self.busy_until, self.ticks_ms()) > 0
