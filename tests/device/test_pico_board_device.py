"""The Pico bench board's HAL on the fake `machine` (MicroPython and CPython):
its conversions (ADC counts to mmHg, steps to PIO settings, FRAM
addressing, plunger and battery), the buttons, the watchdog, the stepper's
stop, and the steady tick allocating nothing on this HAL."""
import fake_machine
import fake_rp2
from pico_bench import P, PARTS, new_world, new_board, run, start, transducer_uv
from boards.pico.hal import transducer_counts, counts_to_mmhg_x10, battery_mv, Watchdog
from boards.pico.stepper import PioStepper, batch_delay, step_period_cycles
from boards.pico.fram import Fram
from firmware.compat import heap_lock, heap_unlock
from pumphost.codes import S_RUNNING, S_PAUSED, S_ALARM

PIO_HZ = PARTS['stepper']['pio_hz']


def _raises(fn, *args):
    try:
        fn(*args)
    except ValueError as e:
        return str(e)
    raise AssertionError('no ValueError from %r%r' % (fn, args))


# ------------------------------------------------------------------ pressure
def test_adc_counts_to_mmhg_over_the_transducer_range():
    """Every pressure 0..775.7 mmHg read through the 12-bit ADC and the
    board's zero and span comes back within 0.4 mmHg (one ADC step is 0.24)."""
    zero, span = transducer_counts(PARTS['pressure'])
    assert (zero, span) == (6554, 6759)
    w = new_world()
    w.adc_noise = 0
    adc = fake_machine.ADC(fake_machine.Pin(P['pressure_adc']))
    worst = 0
    for p in range(0, PARTS['pressure']['full_scale_mmhg_x10'] + 1, 37):
        w.analog_uv[P['pressure_adc']] = transducer_uv(p)
        got = counts_to_mmhg_x10(adc.read_u16(), zero, span)
        if abs(got - p) > worst:
            worst = abs(got - p)
    assert worst <= 4, worst


def test_transducer_data_moves_the_conversion():
    """The range and offset are data: another transducer, other figures."""
    z, s = transducer_counts({'full_scale_mmhg_x10': 5171, 'out_zero_permille': 50,
                              'out_full_permille': 950})   # 10 psi, 5-95 %
    assert (z, s) == (3277, 11406)
    assert 'out_zero_permille' in _raises(transducer_counts, {
        'full_scale_mmhg_x10': 5171, 'out_zero_permille': 950, 'out_full_permille': 50})


def test_board_boots_on_its_transducer_and_reads_the_pressure():
    w = new_world()
    w.adc_noise = 0
    w, b = new_board(w)
    run(w, b, 300)
    s = b.pump.settings
    assert (s.pressure_zero_counts, s.pressure_span_counts_per_100mmhg) == transducer_counts(PARTS['pressure'])
    assert abs(b.pump.pressure_x10 - 900) <= 4, b.pump.pressure_x10
    # the hard ceiling (750 mmHg) is inside the sensor's range: measurable, not saturated
    w.analog_uv[P['pressure_adc']] = transducer_uv(s.pressure_hard_limit_mmhg_x10)
    run(w, b, 200)
    assert abs(b.pump.pressure_x10 - s.pressure_hard_limit_mmhg_x10) <= 4


def test_disconnected_transducer_is_a_sensor_fault():
    from pumphost.codes import A_PRESSURE_SENSOR
    w, b = new_board()
    run(w, b, 300)
    w.analog_uv[P['pressure_adc']] = 0          # pull-down: a broken wire reads 0 V
    run(w, b, 300)
    assert b.pump.alarms.active[A_PRESSURE_SENSOR]


# ------------------------------------------------------------------ stepper
def test_steps_to_pio_settings_across_the_rate_range():
    """From the slowest programmable rate to the hard limit (1 to 20 steps
    per 100 ms tick at 0.217 uL a step) and the back-off bursts: the batch
    fits its window, uses at least 98 % of it, and the pulse is wider than
    the TMC2209's 100 ns."""
    for n in (1, 2, 3, 7, 19, 20, 64, 200, 1000):
        d = batch_delay(n, 100, PIO_HZ)
        period = step_period_cycles(d)
        total_us = period * n * 1000000 // PIO_HZ
        assert total_us <= 100000, (n, total_us)
        assert total_us >= 98000, (n, total_us)
        assert (d + 3) * 1000000 // PIO_HZ >= 1


def test_pio_emits_exactly_the_steps_evenly_within_the_window():
    for n in (1, 5, 20, 200):
        w = new_world()
        clock_time = fake_machine.time
        m = PioStepper(fake_machine, fake_rp2, _Clock(clock_time), P['step'], P['dir'], P['en'],
                       PIO_HZ, 1)
        m.enable(True)
        m.set_direction(True)
        t0 = w.us
        m.move(n, 100)
        edges = []
        for _ in range(100):
            before = w.step_edges
            w.advance_us(1000)
            if w.step_edges != before:
                edges.append(w.last_edge_us - t0)
        assert w.driver_steps == n and m.position() == n, (n, w.driver_steps, m.position())
        assert w.last_edge_us - t0 < 100000
        d = batch_delay(n, 100, PIO_HZ)
        if n <= 20:
            period_us = step_period_cycles(d) * 1000000 // PIO_HZ
            for i in range(1, len(edges)):
                assert edges[i] - edges[i - 1] == period_us, (n, edges)
        assert w.levels[P['step']] == 0


def test_backwards_steps_count_down():
    w = new_world()
    m = PioStepper(fake_machine, fake_rp2, _Clock(fake_machine.time), P['step'], P['dir'], P['en'],
                   PIO_HZ, 1)
    m.enable(True)
    m.set_direction(False)
    m.move(7, 100)
    w.advance_ms(100)
    assert m.position() == -7 and w.driver_steps == -7


def test_motor_stops_at_once_on_stop():
    """stop() mid-batch: not one more rising edge, STEP low, and the counter
    equals the edges the driver saw."""
    w = new_world()
    m = PioStepper(fake_machine, fake_rp2, _Clock(fake_machine.time), P['step'], P['dir'], P['en'],
                   PIO_HZ, 1)
    m.enable(True)
    m.move(20, 100)
    w.advance_us(42500)              # inside the high half of a pulse
    seen = w.step_edges
    assert 0 < seen < 20
    m.stop()
    assert w.levels[P['step']] == 0
    w.advance_ms(500)
    assert w.step_edges == seen
    assert m.position() == w.driver_steps == seen
    assert not m.is_moving()
    m.move(3, 100)                   # a new move starts from the first instruction
    w.advance_ms(100)
    assert m.position() == w.driver_steps == seen + 3


def test_disabled_driver_emits_nothing():
    w = new_world()
    m = PioStepper(fake_machine, fake_rp2, _Clock(fake_machine.time), P['step'], P['dir'], P['en'],
                   PIO_HZ, 1)
    m.move(5, 100)
    w.advance_ms(100)
    assert w.step_edges == 0 and w.levels[P['en']] == 1


class _Clock:
    def __init__(self, t):
        self.ticks_ms = t.ticks_ms
        self.ticks_add = t.ticks_add
        self.ticks_diff = t.ticks_diff


# ------------------------------------------------------------------ FRAM
def _fram(size=32768, ab=2, chunk=128):
    fake_machine.reset()
    chip = fake_machine.FramChip(size, ab, 0x50)
    return chip, Fram(fake_machine.I2C(0), 0x50, size, ab, chunk)


def test_fram_reads_back_what_it_wrote_across_chunks():
    chip, f = _fram()
    data = bytearray(300)
    for i in range(300):
        data[i] = (i * 7 + 3) & 0xFF
    f.write(1000, data)
    assert chip.writes == 3                      # 128 + 128 + 44
    back = bytearray(300)
    assert f.readinto(1000, back) == 300 and back == data
    assert chip.mem[1000:1300] == data


def test_fram_last_bytes_and_no_wrap_past_32k():
    chip, f = _fram()
    assert f.size() == 32768
    f.write(32764, b'\x01\x02\x03\x04')
    assert chip.mem[32764:] == b'\x01\x02\x03\x04'
    before = bytes(chip.mem[0:4])
    # the chip would wrap these onto its first bytes (sequential write past
    # the end; address bit 15 ignored): refused before the bus is touched
    assert '32766' in _raises(f.write, 32766, b'\xaa\xbb\xcc\xdd')
    assert '32768' in _raises(f.write, 32768, b'\xee')
    assert '-1' in _raises(f.readinto, -1, bytearray(2))
    assert bytes(chip.mem[0:4]) == before and chip.mem[32766:] == b'\x03\x04'


def test_fram_with_block_select_splits_at_block_boundaries():
    """A 2 KB MB85RC16: one address byte, the block (bits 8-10) in the
    device address 0x50..0x57: a write over 0x1FF/0x200 goes to two devices."""
    chip, f = _fram(2048, 1, 64)
    data = bytes(range(20))
    f.write(0x1F6, data)                         # 10 bytes in block 1, 10 in block 2
    assert chip.mem[0x1F6:0x1F6 + 20] == data
    assert chip.writes == 2
    f.write(2040, b'ABCDEFGH')                   # the last block, 0x57
    assert chip.mem[2040:] == b'ABCDEFGH'
    back = bytearray(20)
    f.readinto(0x1F6, back)
    assert bytes(back) == data
    assert '2044' in _raises(f.write, 2044, b'12345')


def test_fram_steady_write_allocates_nothing():
    chip, f = _fram()
    rec = bytearray(66)
    f.write(66, rec)                             # first use makes the view
    heap_lock()
    try:
        for i in range(10):
            rec[0] = i
            f.write(66 * (i & 1), rec)
    finally:
        heap_unlock()
    assert chip.mem[66] == 9 and chip.mem[0] == 8


# ------------------------------------------------------------------ panel, power
def test_plunger_and_battery_conversions():
    from pico_bench import plunger_uv
    w, b = new_board()
    syr = b.hal.syringe
    for um in (0, 1000, 50000, 95000):
        w.analog_uv[P['plunger_adc']] = plunger_uv(um)
        assert abs(syr.plunger_travel_um() - um) <= 60, (um, syr.plunger_travel_um())
    w.analog_uv[P['plunger_adc']] = 0
    assert syr.plunger_travel_um() == 0
    assert battery_mv(65535) == 9900 and abs(battery_mv(65535 * 4100 // 9900) - 4100) <= 1


def test_open_wires_read_as_the_safe_side():
    w, b = new_board()
    for pin in ('air', 'syringe_present', 'clamp'):
        del w.inputs[P[pin]]                     # wire off: the pull-up reads 1
    assert b.hal.air.air_present()
    assert not b.hal.syringe.present() and not b.hal.syringe.clamp_closed()


def test_stop_button_halts_the_motor_at_once_and_pauses():
    w, b = new_board()
    start(w, b, 150000000, 10000000)             # the hard rate limit: 19 steps a tick
    run(w, b, 3000)
    assert b.pump.fsm.state == S_RUNNING
    w.advance_us(2500)                           # mid-window
    w.set_input(P['stop_button'], 0)             # the interrupt acts here
    edges = w.step_edges
    assert w.levels[P['step']] == 0
    w.advance_ms(50)
    assert w.step_edges == edges                 # not one more step, before any tick
    run(w, b, 100)
    assert b.pump.fsm.state == S_PAUSED
    w.set_input(P['stop_button'], 1)
    run(w, b, 2000)
    assert w.step_edges == edges                 # nothing resumes by itself
    assert b.hal.motor.position() == w.driver_steps


def test_ack_button_is_debounced_and_acknowledges():
    w, b = new_board()
    start(w, b, 10000000, 10000000)
    run(w, b, 1000)
    w.inputs[P['clamp']] = 1                     # clamp opened: high priority, ALARM
    run(w, b, 300)
    assert b.pump.fsm.state == S_ALARM
    w.inputs[P['clamp']] = 0
    run(w, b, 300)
    w.set_input(P['ack_button'], 0)              # a 10 ms bounce: nothing
    run(w, b, 10)
    w.set_input(P['ack_button'], 1)
    run(w, b, 200)
    assert b.pump.fsm.state == S_ALARM
    w.set_input(P['ack_button'], 0)              # held: acknowledged once
    run(w, b, 100)
    w.set_input(P['ack_button'], 1)
    run(w, b, 100)
    assert b.pump.fsm.state == S_PAUSED


def test_watchdog_is_fed_by_the_tick_and_bites_when_it_stops():
    w, b = new_board()
    run(w, b, 300)
    wdt = w.wdt
    assert wdt is not None and wdt.timeout_ms == b.pump.settings.watchdog_ms
    feeds = wdt.feeds
    for _ in range(50):                          # 5 s: never near the timeout
        run(w, b, 100)
        assert not wdt.expired()
    assert wdt.feeds - feeds >= 49
    w.advance_ms(wdt.timeout_ms + 10)            # the loop hangs
    assert wdt.expired()


def test_watchdog_setting_above_the_rp2040_limit_is_capped():
    fake_machine.reset()
    wd = Watchdog(fake_machine, PARTS['watchdog']['max_ms'])
    wd.start(90000)
    assert fake_machine.world.wdt.timeout_ms == PARTS['watchdog']['max_ms']


def test_steady_tick_on_the_pico_hal_allocates_nothing():
    """The control tick with this board's HAL under heap_lock (the fake's
    time and PIO run outside the lock), through the 2**30 tick wrap."""
    w, b = new_board(new_world(ticks_start=fake_machine.TICKS_MASK - 15000))
    start(w, b, 1770000, 10000000)
    run(w, b, 5000)
    loop = b.loop
    wrapped = False
    ran = 0
    last = fake_machine.time.ticks_ms()
    for _ in range(300):
        w.advance_ms(100)
        heap_lock()
        try:
            ran += loop.poll()
        finally:
            heap_unlock()
        now = fake_machine.time.ticks_ms()
        wrapped |= now < last
        last = now
    assert ran == 300 and b.pump.fsm.state == S_RUNNING
    assert wrapped
