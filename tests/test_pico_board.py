"""The Pico bench board with the simulator's plant behind its fake `machine`
(CPython): the PIO's steps drive the syringe, the line pressure comes back
through the transducer's output and the 12-bit ADC, the plunger through
its potentiometer, air through the detector's pin. Plus its entry's
start-up rules, the way out on an exception, and the HAL contract."""
import inspect
import math
from pathlib import Path

import pytest

import fake_machine
import fake_rp2
from pico_bench import P, KEY, new_world, new_board, run, start, transducer_uv, plunger_uv
from boards.pico import main as pico_main
from hal.interfaces import CONTRACT
from pumphost.codes import A_OCCLUSION_DOWNSTREAM, A_AIR_IN_LINE, S_ALARM, S_PAUSED, S_RUNNING
from pumphost.config.pumps import load_pump
from simulator.plant import make_plant
from simulator.plant.faults import inject


class PlantBench:
    """The World's inputs from the plant, the plant's steps from the World,
    every `dt_ms` (the board's main loop runs at the same pace)."""

    def __init__(self, seed=1):
        self.plant = make_plant(load_pump('bd-plastipak-50'), seed=seed)
        self.w = new_world()
        self.sense()
        self.w, self.board = new_board(self.w)
        self.seen = 0

    def sense(self):
        pl = self.plant
        w = self.w
        w.analog_uv[P['pressure_adc']] = transducer_uv(int(round(pl.pressure_mmhg * 10)))
        w.analog_uv[P['plunger_adc']] = plunger_uv(min(pl.plunger_travel_um(), 95000))
        w.inputs[P['air']] = 1 if pl.air_at_sensor else 0

    def run_ms(self, ms, dt_ms=10, until=None):
        w = self.w
        for _ in range(ms // dt_ms):
            w.advance_ms(dt_ms)
            steps = w.driver_steps - self.seen
            self.seen = w.driver_steps
            self.plant.advance(dt_ms / 1000.0, steps)
            self.sense()
            self.board.step()
            if until is not None and until():
                return True
        return False


def test_plant_driven_delivery_and_occlusion_alarm():
    bench = PlantBench()
    b = bench.board
    w = bench.w
    pump = b.pump
    bench.run_ms(300)
    from firmware.program import Program
    from pumphost.codes import K_CONTINUOUS
    prog = Program([(K_CONTINUOUS, 20000000, 10000000)])      # 20 mL/h
    assert pump.load(prog) == 0 and pump.confirm(prog.digest()) == 0 and pump.start() == 0
    bench.run_ms(60000)
    assert pump.fsm.state == S_RUNNING, pump.alarms.active
    # every step the firmware commanded reached the syringe, counted by the IRQ
    assert abs(pump.course.steps_commanded - w.driver_steps) <= 4
    assert b.hal.motor.position() == w.driver_steps == bench.plant.position_steps
    pushed_ul = bench.plant.pushed_ul
    assert abs(pushed_ul - 20000 / 60) < 20, pushed_ul          # about 333 uL in a minute
    assert abs(pump.pressure_x10 - bench.plant.pressure_mmhg * 10) < 15
    inject(bench.plant, 'downstream_occlusion', severity=1.0)
    t0 = w.us
    assert bench.run_ms(600000, until=lambda: pump.fsm.state == S_ALARM)
    assert pump.alarms.active[A_OCCLUSION_DOWNSTREAM]
    alarm_s = (w.us - t0) / 1e6
    assert alarm_s < 300, alarm_s
    forward = w.driver_steps
    bench.run_ms(20000)
    assert w.driver_steps <= forward          # stopped; at most backed off (pressure relief)
    assert pump.fsm.state == S_ALARM


def test_plant_air_bubble_reaches_the_detector_pin():
    bench = PlantBench()
    pump = bench.board.pump
    bench.run_ms(300)
    from firmware.program import Program
    from pumphost.codes import K_CONTINUOUS
    prog = Program([(K_CONTINUOUS, 50000000, 10000000)])
    assert pump.load(prog) == 0 and pump.confirm(prog.digest()) == 0 and pump.start() == 0
    bench.run_ms(5000)
    bench.plant.add_bubble(200.0)            # 200 uL: above the single-bubble limit
    assert bench.run_ms(120000, until=lambda: pump.fsm.state == S_ALARM)
    assert pump.alarms.active[A_AIR_IN_LINE]


def test_stop_pressed_during_a_tick_holds_the_motor_until_paused():
    """The interrupt can land between the tick's sensing and its move():
    the hold makes that move emit nothing."""
    w, b = new_board()
    start(w, b, 20000000, 10000000)
    run(w, b, 1000)
    b.panel.on_stop(None)                 # the IRQ, before the main loop has seen it
    edges = w.step_edges
    inits = b.hal.motor.sm.inits
    w.advance_ms(100)
    b.loop.poll()                         # a tick runs first: it calls move()
    w.advance_ms(100)
    assert w.step_edges == edges
    # held: the state machine is not even restarted (on the RP2040 its first
    # edge comes 4 us after the enable, sooner than Python could halt it again)
    assert b.hal.motor.sm.inits == inits and not b.hal.motor.sm.active()
    b.step()
    assert b.pump.fsm.state == S_PAUSED
    assert not b.hal.motor.inhibit        # released: nothing delivers now


def test_direction_change_stops_the_train_first():
    w, b = new_board()
    m = b.hal.motor
    m.enable(True)
    m.set_direction(True)
    m.move(20, 100)
    w.advance_ms(30)
    seen = w.driver_steps
    m.set_direction(False)
    w.advance_ms(100)
    assert w.driver_steps == seen == m.position()


def test_release_on_the_way_out_even_on_an_exception():
    w, b = new_board()
    start(w, b, 20000000, 10000000)
    run(w, b, 1000)

    def broken():
        raise RuntimeError('tick failed')
    b.loop.poll = broken
    with pytest.raises(RuntimeError):
        pico_main.serve(b, fake_machine.time.sleep_ms)
    edges = w.step_edges
    w.advance_ms(500)
    assert w.step_edges == edges
    assert w.levels[P['en']] == 1 and w.levels[P['step']] == 0


def test_serve_runs_the_main_loop():
    w, b = new_board()
    pico_main.serve(b, fake_machine.time.sleep_ms, passes=500)
    assert b.pump.state_name() == 'IDLE' and b.link is not None
    assert w.levels[P['en']] == 1


def test_start_up_rules(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    new_world()
    fake_machine.world.inputs[P['ack_button']] = 0          # ACK held: service mode
    assert pico_main.start(fake_machine, fake_rp2, fake_machine.time) is None
    assert 'service mode' in capsys.readouterr().out
    assert fake_machine.world.wdt is None and fake_machine.world.levels[P['en']] == 1
    new_world()
    assert pico_main.start(fake_machine, fake_rp2, fake_machine.time) is None
    assert 'pump.key missing' in capsys.readouterr().out
    (tmp_path / 'pump.key').write_text('zz' * 32)
    assert pico_main.start(fake_machine, fake_rp2, fake_machine.time) is None
    (tmp_path / 'pump.key').write_text(KEY.hex() + '\n')
    board = pico_main.start(fake_machine, fake_rp2, fake_machine.time)
    assert board is not None and board.key == KEY
    assert board.serial_no == 'PICO-E6605838831A2F21'
    (tmp_path / 'pump.serial').write_text('HAI-0007\n')
    new_world()
    assert pico_main.start(fake_machine, fake_rp2, fake_machine.time).serial_no == 'HAI-0007'


def test_pico_hal_implements_the_contract():
    w, b = new_board()
    hal = b.hal
    for attr, iface in CONTRACT.items():
        obj = getattr(hal, attr)
        for meth, fn in inspect.getmembers(iface, inspect.isfunction):
            impl = getattr(obj, meth, None)
            assert callable(impl), 'pico: %s.%s missing' % (attr, meth)
            want = len(inspect.signature(fn).parameters) - 1
            assert len(inspect.signature(impl).parameters) == want, (attr, meth)


def test_transducer_noise_does_not_trip_the_stuck_sensor_check():
    """The plant's line is still at rest; the fake ADC's one-step noise is
    what a live sensor gives (the firmware calls a frozen reading stuck)."""
    w, b = new_board()
    start(w, b, 1000000, 10000000)
    run(w, b, 60000, every_ms=20)
    assert b.pump.fsm.state == S_RUNNING, b.pump.alarms.active
    assert not math.isnan(b.pump.pressure_x10)


def test_disabling_the_driver_stops_the_train():
    w, b = new_board()
    m = b.hal.motor
    m.enable(True)
    m.move(20, 100)
    w.advance_ms(30)
    edges = w.step_edges
    m.enable(False)
    w.advance_ms(100)
    assert w.step_edges == edges and w.levels[P['en']] == 1


def test_the_hold_stays_while_the_pump_would_still_deliver():
    """Were the pause refused, the stop button's hold is not released: the
    motor stays halted (the stall check then raises its alarm)."""
    w, b = new_board()
    start(w, b, 20000000, 10000000)
    run(w, b, 1000)
    b.pump.pause = lambda: 1              # refused
    w.set_input(P['stop_button'], 0)
    edges = w.step_edges
    run(w, b, 300)
    assert b.hal.motor.inhibit and b.pump.fsm.state == S_RUNNING
    assert w.step_edges == edges
    run(w, b, 3000)                       # the lag raises the stall alarm: ALARM, still no step
    assert b.pump.fsm.state == S_ALARM
    assert w.step_edges == edges


def test_service_calibration_is_stored_and_the_board_boots_on_it():
    """Service mode: zero open to air, a 300 mmHg reference, a gravimetric
    run whose water weighs 3 % more than nominal; the record is checked,
    stored and journaled, and the next boot runs on it."""
    from boards.pico.service import Service, nominal_settings
    from firmware import calibration as cal
    from pumphost.codes import EV_CAL_STORED
    w = new_world()
    w.adc_noise = 0
    s = Service(fake_machine, fake_rp2, fake_machine.time)
    w.analog_uv[P['pressure_adc']] = transducer_uv(0)
    zero = s.zero()
    w.analog_uv[P['pressure_adc']] = transducer_uv(3000)
    ref = s.reference()
    steps = s.run(4608, 200)
    assert steps == 4608 == w.driver_steps
    nominal = nominal_settings()
    mass_ug = steps * nominal.step_pl * 103 // 100 * 998 // 1000000   # pL -> ug of water, +3 %
    seq, err = s.store(steps, mass_ug, zero, ref, 3000)
    assert err is None and seq == 1
    rec = cal.read(s.hal.storage)
    assert abs(rec['step_pl'] - nominal.step_pl * 103 // 100) <= nominal.step_pl // 1000
    assert abs(rec['zero'] - nominal.pressure_zero_counts) <= 16
    assert abs(rec['span'] - nominal.pressure_span_counts_per_100mmhg) <= 40
    w.analog_uv[P['pressure_adc']] = transducer_uv(900)
    w2, b = new_board(w)
    run(w2, b, 300)
    assert b.pump.settings.calibration_seq == seq and b.pump.step_pl == rec['step_pl']
    assert any(r[2] == EV_CAL_STORED for r in b.pump.journal.records())


def test_service_refuses_an_implausible_weighing():
    from boards.pico.service import Service
    new_world()
    s = Service(fake_machine, fake_rp2, fake_machine.time)
    seq, err = s.store(4608, 500000, 6554, 6554 + 3 * 6759, 3000)    # 0.5 g: half the volume
    assert seq == 0 and err.startswith('step_pl=')


def test_the_wiring_table_is_the_board_yaml_pin_map():
    import re
    from pathlib import Path
    from pumphost.boards import load_board
    doc = (Path(__file__).resolve().parent.parent / 'docs' / 'bench-bringup.md').read_text()
    rows = re.findall(r'^\| GP(\d+) \| `(\w+)` \|', doc, flags=re.M)
    assert {name: int(gp) for gp, name in rows} == load_board('pico')['channels']
    assert len(rows) == len(set(name for _, name in rows))


def test_board_parts_are_data_checked_in_one_line(tmp_path, monkeypatch):
    from pumphost import boards as hostboards
    from pumphost.config.schema import ConfigError
    (tmp_path / 'x').mkdir()
    (tmp_path / 'x' / 'board.yaml').write_text(
        'name: x\ndescription: d\nruntime: mcu\nmain: boards.pico.main\nhal: boards.pico.hal\n'
        'settings: bd-plastipak-50\nparts:\n  fram: [1, 2]\n')
    monkeypatch.setattr(hostboards, 'BOARDS_DIR', tmp_path)
    monkeypatch.setattr(hostboards, 'module_path', lambda m: Path(__file__))
    with pytest.raises(ConfigError, match=r"parts = \{'fram': \[1, 2\]\}: a map of part names"):
        hostboards.load_board('x')


def test_generated_hwdef_carries_the_parts():
    from boards.pico import hwdef
    from pumphost.boards import load_board
    assert hwdef.PARTS == load_board('pico')['parts']


def test_stop_landing_inside_move_cannot_be_undone_by_it():
    """The STOP interrupt between the restart of the state machine and its
    enable: move() sees the hold at its end and halts again."""
    w, b = new_board()
    m = b.hal.motor
    m.enable(True)
    sm = m.sm
    real_active = sm.active
    fired = []

    def active(v=None):
        if v == 1 and not fired:
            fired.append(1)
            b.panel.on_stop(None)          # the IRQ, just before the enable
        return real_active(v)
    sm.active = active
    m.move(20, 100)
    w.advance_ms(200)
    assert fired and w.step_edges == 0 and not sm.active()
