"""Shared set-up for device tests: a pump on the fake HAL, advanced tick by tick."""
from hal.fake import make_fake_hal
from firmware.settings import Settings
from firmware.pump import Pump
from firmware.loop import Loop
from firmware.program import Program
from pumphost.codes import K_CONTINUOUS


def make_pump(**settings):
    hal = make_fake_hal()
    s = Settings(**settings)
    pump = Pump(hal, s)
    loop = Loop(pump, hal.clock)
    return hal, pump, loop


def run_ticks(hal, loop, n):
    for _ in range(n):
        hal.clock.advance(loop.tick_ms)
        loop.poll()


def start_program(hal, pump, loop, rate_nl_h, volume_nl):
    run_ticks(hal, loop, 1)  # POST
    prog = Program([(K_CONTINUOUS, rate_nl_h, volume_nl)])
    assert pump.load(prog) == 0, pump.last_error
    assert pump.confirm(prog.digest()) == 0
    assert pump.start() == 0, pump.last_error
    return prog
