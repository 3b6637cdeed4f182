"""Scripted firmware run for the small-heap gate (tools/mpy_gate.SCRIPTED_RUN_HEAP).

On the pump soak_boot has booted and programmed at 1.77 mL/h, runs 12,000 control
ticks (20 min) with the tick counter crossing the 2**30 wrap, then blocks the
line and checks the alarm stops the motor; the steady part runs under
heap_lock. Prints heap figures and 'N passed, 0 failed' on success.
Started through gate_scripted_run.py, which does the imports in a heap-friendly order.
"""
import gc

from firmware.compat import heap_lock, heap_unlock

TICKS = 12000


def run(hal, pump, loop, free0):
    """The ticks and the checks, on a pump soak_boot left running."""
    clock = hal.clock
    gc.collect()
    poll = loop.poll
    wrapped = False
    # the clock's own wrap arithmetic (small ints only: `now + 100` past
    # 2**30 - 1 is a long on a 32-bit board), bound before the heap locks
    add = clock.ticks_add
    heap_lock()
    for _ in range(TICKS):
        now = add(clock.now, 100)
        if now < clock.now:
            wrapped = True
        clock.now = now
        poll()
    heap_unlock()
    assert wrapped
    assert pump.state_name() == 'RUNNING'
    rate_nl_h = pump.program.steps[0][1]   # soak_boot's program, as it built it
    expected = rate_nl_h * 100 * TICKS // (3600 * pump.step_pl)
    assert abs(pump.course.steps_commanded - expected) <= 1, (pump.course.steps_commanded, expected)
    assert hal.motor.pos == pump.course.steps_commanded
    # block the line: pressure rises 0.05 mmHg per tick until the alarm
    for i in range(30000):
        hal.pressure.raw += 2
        clock.advance(100)
        poll()
        if pump.state_name() == 'ALARM':
            break
    assert pump.state_name() == 'ALARM'
    pos = hal.motor.pos
    for _ in range(100):
        clock.advance(100)
        poll()
    assert hal.motor.pos <= pos   # only the bounded pressure-relief back-off
    gc.collect()
    print('heap: %d bytes free of %d at start, %d in use by firmware + fake HAL' % (
        gc.mem_free(), free0, free0 - gc.mem_free()))
    print('ticks: %d steady under heap_lock, steps %d' % (TICKS, pump.course.steps_commanded))
    print('1 passed, 0 failed')

