"""The bench board's HAL on MicroPython's `machine` (Raspberry Pi Pico, RP2040).

Every piece takes the `machine` (and `rp2`, `time`) module it drives as an
argument: main.py passes the real ones, the tests a fake driven by the
simulator's plant (tests/device/fake_machine.py), so this file runs
unchanged on the board, under the MicroPython unix port and on CPython.
Pins and the parts' figures come from boards/pico/hwdef.py (board.yaml).

Conversions are integer-only and stay small ints on the RP2040's 32-bit
MicroPython (below 2**30), so the control tick allocates nothing:
  pressure  a ratiometric transducer on the 3V3 rail read by the 3V3-
            referenced ADC: counts do not depend on the rail's exact
            voltage. `transducer_counts` turns its data sheet figures into
            the firmware's zero and span (firmware.settings); the firmware
            converts counts to mmHg x10, a calibration replaces both.
  plunger   a slide potentiometer on the carriage: counts to micrometres of
            travel left.
  power     VSYS through the Pico's 1:3 divider to millivolts; VBUS present
            is "on mains".
"""
from hal import Hal
from firmware.settings import Settings
from boards.pico.fram import Fram
from boards.pico.stepper import PioStepper

ADC_FULL = 65535           # machine.ADC.read_u16() full scale
VREF_MV = 3300
VSYS_DIVIDER = 3


def transducer_counts(t):
    """(zero counts, counts per 100 mmHg) of a ratiometric transducer with
    output `out_zero_permille` of supply at 0 mmHg and `out_full_permille`
    at `full_scale_mmhg_x10`, read with read_u16()."""
    lo = t['out_zero_permille']
    hi = t['out_full_permille']
    fs = t['full_scale_mmhg_x10']
    if not 0 <= lo < hi <= 1000 or fs <= 0:
        raise ValueError('pressure transducer: out_zero_permille=%r out_full_permille=%r '
                         'full_scale_mmhg_x10=%r: need 0 <= zero < full <= 1000, full scale > 0'
                         % (lo, hi, fs))
    zero = (ADC_FULL * lo + 500) // 1000
    span = ADC_FULL * (hi - lo) // 1000           # counts over the full scale
    return zero, (span * 1000 + fs // 2) // fs


def counts_to_mmhg_x10(counts, zero, per_100mmhg):
    """The firmware's conversion (firmware.pump: sense), for the checks."""
    return (counts - zero) * 1000 // per_100mmhg


def battery_mv(counts):
    return counts * (VREF_MV * VSYS_DIVIDER) // ADC_FULL


class TicksClock:
    """hal.interfaces.Clock on time.ticks_ms (wraps at 2**30 on the RP2040)."""

    def __init__(self, time):
        self.t = time

    def ticks_ms(self):
        return self.t.ticks_ms()

    def ticks_diff(self, a, b):
        return self.t.ticks_diff(a, b)

    def ticks_add(self, t, delta_ms):
        return self.t.ticks_add(t, delta_ms)


class Pressure:
    def __init__(self, machine, pin):
        self.adc = machine.ADC(machine.Pin(pin))

    def read_raw(self):
        return self.adc.read_u16()


class Air:
    """The detector's digital output; wired so an open circuit reads as air
    (pull-up, the detector pulls low while it sees liquid)."""

    def __init__(self, machine, pin, active_level):
        Pin = machine.Pin
        self.pin = Pin(pin, Pin.IN, Pin.PULL_UP)
        self.level = active_level

    def air_present(self):
        return self.pin.value() == self.level


class Syringe:
    """Cradle and clamp microswitches (closed to GND = yes: a broken wire
    reads as syringe out) and the plunger slide potentiometer."""

    def __init__(self, machine, present_pin, clamp_pin, pot_pin, plunger):
        Pin = machine.Pin
        self.present_pin = Pin(present_pin, Pin.IN, Pin.PULL_UP)
        self.clamp_pin = Pin(clamp_pin, Pin.IN, Pin.PULL_UP)
        self.adc = machine.ADC(Pin(pot_pin))
        self.c0 = plunger['counts_at_empty']
        span = plunger['counts_at_far'] - self.c0
        if span == 0:
            raise ValueError('plunger: counts_at_far = counts_at_empty = %d' % self.c0)
        self.span = span
        self.um_100 = plunger['far_um'] // 100

    def present(self):
        return self.present_pin.value() == 0

    def clamp_closed(self):
        return self.clamp_pin.value() == 0

    def travel_from_counts(self, counts):
        # 1/10000 of the calibrated distance first: every product < 2**30
        frac = (counts - self.c0) * 10000 // self.span
        if frac < 0:
            return 0
        return frac * self.um_100 // 100

    def plunger_travel_um(self):
        return self.travel_from_counts(self.adc.read_u16())


class Panel:
    """LEDs, buzzer (hal.interfaces.Indicators) and the two buttons.

    STOP acts in its pin interrupt: the motor halts and is held before the
    firmware hears of it (main.py then pauses the therapy and releases the
    hold). ACKNOWLEDGE is polled and debounced by the entry."""

    DEBOUNCE_MS = 30

    def __init__(self, machine, pins, buzzer_hz, motor):
        Pin = machine.Pin
        self.leds = (Pin(pins['led_red'], Pin.OUT, value=0), Pin(pins['led_yellow'], Pin.OUT, value=0),
                     Pin(pins['led_cyan'], Pin.OUT, value=0), Pin(pins['led_green'], Pin.OUT, value=0))
        self.pwm = machine.PWM(Pin(pins['buzzer']), freq=buzzer_hz, duty_u16=0)
        self.stop_pin = Pin(pins['stop_button'], Pin.IN, Pin.PULL_UP)
        self.ack_pin = Pin(pins['ack_button'], Pin.IN, Pin.PULL_UP)
        self.motor = motor
        self.stop_pressed = False
        self.ack_since = None
        self.ack_done = False
        self.stop_pin.irq(self.on_stop, Pin.IRQ_FALLING, hard=True)

    def led(self, color, on):
        self.leds[color].value(1 if on else 0)

    def buzzer(self, on):
        self.pwm.duty_u16(32768 if on else 0)

    def on_stop(self, pin):
        # hard IRQ: halt and hold the motor now; no allocation
        m = self.motor
        m.inhibit = True
        m.stop()
        self.stop_pressed = True

    def ack_held(self):
        return self.ack_pin.value() == 0

    def ack_pressed(self, clock):
        """True once per press held DEBOUNCE_MS (polled by the entry)."""
        if not self.ack_held():
            self.ack_since = None
            self.ack_done = False
            return False
        now = clock.ticks_ms()
        if self.ack_since is None:
            self.ack_since = now
            return False
        if not self.ack_done and clock.ticks_diff(now, self.ack_since) >= self.DEBOUNCE_MS:
            self.ack_done = True
            return True
        return False


class Watchdog:
    """machine.WDT, started by the firmware after POST; the RP2040's limit
    (`max_ms`) caps a longer setting (a shorter timeout is the stricter)."""

    def __init__(self, machine, max_ms):
        self.machine = machine
        self.max_ms = max_ms
        self.wdt = None
        self.timeout_ms = 0

    def start(self, timeout_ms):
        if timeout_ms > self.max_ms:
            timeout_ms = self.max_ms
        self.timeout_ms = timeout_ms
        self.wdt = self.machine.WDT(timeout=timeout_ms)

    def feed(self):
        if self.wdt is not None:
            self.wdt.feed()


class Power:
    def __init__(self, machine, vbus_pin, vsys_pin):
        Pin = machine.Pin
        self.vbus = Pin(vbus_pin, Pin.IN)
        self.vsys = machine.ADC(Pin(vsys_pin))

    def on_mains(self):
        return self.vbus.value() == 1

    def battery_mv(self):
        return battery_mv(self.vsys.read_u16())


class UartSerial:
    """The pump's serial protocol on a UART (a USB-serial adapter on the
    host). Timeouts 0: reads take what is there, writes what fits in the
    transmit buffer; neither waits. USB stays the MicroPython REPL (flashing,
    service mode)."""

    def __init__(self, machine, pins, uart):
        Pin = machine.Pin
        self.uart = machine.UART(uart['id'], baudrate=uart['baud'], tx=Pin(pins['uart_tx']),
                                 rx=Pin(pins['uart_rx']), rxbuf=uart['rxbuf'], txbuf=uart['txbuf'],
                                 timeout=0, timeout_char=0)

    def readinto(self, buf):
        return self.uart.readinto(buf) or 0

    def write(self, data):
        return self.uart.write(data) or 0


def build(machine, rp2, time, pins, parts):
    """The Hal bundle and the panel (for the buttons) of this board."""
    clock = TicksClock(time)
    st = parts['stepper']
    motor = PioStepper(machine, rp2, clock, pins['step'], pins['dir'], pins['en'],
                       st['pio_hz'], st['dir_forward_level'])
    fr = parts['fram']
    i2c = machine.I2C(0, sda=machine.Pin(pins['i2c_sda']), scl=machine.Pin(pins['i2c_scl']),
                      freq=fr['i2c_hz'])
    storage = Fram(i2c, fr['i2c_addr'], fr['size'], fr['addr_bytes'], fr['chunk'])
    panel = Panel(machine, pins, parts['buzzer']['freq_hz'], motor)
    hal = Hal(clock, motor, Pressure(machine, pins['pressure_adc']),
              Air(machine, pins['air'], parts['air']['active_level']),
              Syringe(machine, pins['syringe_present'], pins['clamp'], pins['plunger_adc'],
                      parts['plunger']),
              storage, UartSerial(machine, pins, parts['uart']), panel,
              Watchdog(machine, parts['watchdog']['max_ms']),
              Power(machine, pins['vbus_sense'], pins['vsys_adc']))
    return hal, panel


def nominal_settings(values, parts):
    """The board's settings before any calibration: the pump config's
    figures (`values`, hwdef.SETTINGS) with the pressure zero and span of
    this board's transducer (a stored calibration replaces both at boot)."""
    s = Settings(**values)
    s.pressure_zero_counts, s.pressure_span_counts_per_100mmhg = transducer_counts(parts['pressure'])
    return s
