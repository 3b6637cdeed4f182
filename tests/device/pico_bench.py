"""The Pico bench board on the fake `machine` (MicroPython and CPython): a
fresh World wired as boards/pico/board.yaml says, sensors at rest values,
and the board's entry (boards.pico.main.PicoBoard) booted on it."""
import fake_machine
import fake_rp2
from boards.pico import hwdef
from boards.pico.main import PicoBoard

P = hwdef.PINS
PARTS = hwdef.PARTS
KEY = b'\x11' * 32
SUPPLY_UV = 3300000


def transducer_uv(p_mmhg_x10):
    """The transducer's output for a pressure (its data sheet line, in
    microvolts on the 3V3 supply; integer)."""
    t = PARTS['pressure']
    lo = t['out_zero_permille']
    hi = t['out_full_permille']
    return SUPPLY_UV * lo // 1000 + SUPPLY_UV * (hi - lo) // 1000 * p_mmhg_x10 // t['full_scale_mmhg_x10']


def plunger_uv(travel_um):
    pl = PARTS['plunger']
    counts = pl['counts_at_empty'] + (pl['counts_at_far'] - pl['counts_at_empty']) * travel_um // pl['far_um']
    return counts * SUPPLY_UV // 65535


def new_world(fram_size=32768, fram_addr_bytes=2, ticks_start=fake_machine.TICKS_MASK - 2000):
    w = fake_machine.reset(ticks_start=ticks_start)
    w.attach_driver(P['step'], P['dir'], P['en'], PARTS['stepper']['dir_forward_level'])
    fake_machine.FramChip(fram_size, fram_addr_bytes, PARTS['fram']['i2c_addr'])
    w.analog_uv[P['pressure_adc']] = transducer_uv(900)     # 90 mmHg
    w.analog_uv[P['plunger_adc']] = plunger_uv(80000)
    w.analog_uv[P['vsys_adc']] = 5000000 // 3
    w.inputs[P['vbus_sense']] = 1
    w.inputs[P['syringe_present']] = 0                      # switches closed
    w.inputs[P['clamp']] = 0
    w.inputs[P['air']] = 0                                  # liquid
    return w


def new_board(w=None):
    if w is None:
        w = new_world()
    b = PicoBoard(fake_machine, fake_rp2, fake_machine.time, KEY, 'PICO-TEST')
    return w, b


def run(w, b, ms, every_ms=5):
    """The main loop as the board runs it, every `every_ms` of World time."""
    for _ in range(ms // every_ms):
        w.advance_ms(every_ms)
        b.step()


def start(w, b, rate_nl_h, volume_nl):
    from firmware.program import Program
    from pumphost.codes import K_CONTINUOUS
    run(w, b, 200)                 # POST
    prog = Program([(K_CONTINUOUS, rate_nl_h, volume_nl)])
    pump = b.pump
    assert pump.load(prog) == 0, pump.last_error
    assert pump.confirm(prog.digest()) == 0, pump.last_error
    assert pump.start() == 0, pump.last_error
    return prog
