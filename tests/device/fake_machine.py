"""A fake `machine` module for the Pico bench board's HAL (test-only).

It models what the board's wiring gives the RP2040 (MicroPython and
CPython): a `World` holds virtual time in microseconds, pin levels, the
analog voltages at the ADC pins, the I2C devices (an MB85RC FRAM model),
the UART's two directions, the watchdog, and a TMC2209 model that counts
the rising STEP edges it sees while enabled, signed by DIR: the steps the
plunger really got. fake_rp2 runs the board's PIO program instruction by
instruction against the same World. A test (or the plant harness in
tests/test_pico_board.py) sets the inputs and advances time.

The module-level `world` is the one the classes act on: `reset()` makes a
fresh one. Only what the board uses is modelled, each as the RP2040 port
documents it (read_u16 scaling of the 12-bit ADC, WDT timeout, I2C
writeto/readfrom_into, Pin IRQ on an edge).
"""
import gc

TICKS_MASK = (1 << 30) - 1
TICKS_HALF = 1 << 29
ADC_BITS_FULL = 4095
VREF_UV = 3300000


class World:
    def __init__(self, ticks_start=TICKS_MASK - 2000):
        self.us = 0
        self.ticks_start = ticks_start     # close to the 2**30 wrap: long runs cross it
        self.levels = {}          # gpio -> level driven by the RP2040 (outputs, side-set)
        self.inputs = {}          # gpio -> level driven from outside
        self.pins = {}            # gpio -> the last Pin made for it
        self.analog_uv = {}       # gpio -> microvolts at an ADC pin
        self.i2c_devices = {}     # 7-bit address -> (device, block)
        self.uart_to_device = bytearray()
        self.uart_from_device = bytearray()
        self.uart_txbuf = 0
        self.state_machines = []
        self.wdt = None
        self.pwm = {}             # gpio -> PWM
        self.adc_noise = 1        # ADC noise, +- this many 12-bit steps (a live sensor is never still)
        self.noise_seed = 12345
        # TMC2209 model
        self.driver = None        # (step, dir, en, dir_forward_level) gpio numbers
        self.driver_steps = 0     # signed steps the driver made
        self.step_edges = 0       # every rising STEP edge, enabled or not
        self.last_edge_us = None

    # ------------------------------------------------------------ wiring
    def attach_driver(self, step, dir_pin, en, dir_forward_level):
        self.driver = (step, dir_pin, en, dir_forward_level)

    def set_level(self, gpio, level):
        old = self.levels.get(gpio, 0)
        self.levels[gpio] = level
        d = self.driver
        if d is not None and gpio == d[0] and level and not old:
            self.step_edges += 1
            self.last_edge_us = self.us
            if self.levels.get(d[2], 1) == 0:            # EN low: driver on
                fwd = self.levels.get(d[1], 0) == d[3]
                self.driver_steps += 1 if fwd else -1

    def set_input(self, gpio, level):
        old = self.read(gpio)
        self.inputs[gpio] = level
        p = self.pins.get(gpio)
        if p is not None and p.handler is not None and old and not level \
                and p.trigger & Pin.IRQ_FALLING:
            p.handler(p)

    def read(self, gpio):
        if gpio in self.inputs:
            return self.inputs[gpio]
        p = self.pins.get(gpio)
        if p is not None and p.mode == Pin.OUT:
            return self.levels.get(gpio, 0)
        if p is not None and p.pull == Pin.PULL_UP:
            return 1
        return 0

    # ------------------------------------------------------------ time
    def advance_us(self, us):
        end = self.us + us
        for sm in self.state_machines:
            sm.run_until(end)
        self.us = end

    def advance_ms(self, ms):
        self.advance_us(ms * 1000)

    def ticks_ms(self):
        return (self.ticks_start + self.us // 1000) & TICKS_MASK


world = World()


def reset(**kw):
    """A fresh World (the old one, with its 32 KB FRAM, collected first:
    the small test heap holds one)."""
    global world
    world = None
    gc.collect()
    world = World(**kw)
    return world


# ---------------------------------------------------------------- pins
class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        self.pull = pull
        self.handler = None
        self.trigger = 0
        world.pins[id] = self
        if value is not None:
            world.set_level(id, value)

    def value(self, v=None):
        if v is None:
            return world.read(self.id)
        world.set_level(self.id, 1 if v else 0)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, hard=False):
        self.handler = handler
        self.trigger = trigger


class ADC:
    def __init__(self, pin):
        self.gpio = pin.id if isinstance(pin, Pin) else pin

    def read_u16(self):
        uv = world.analog_uv.get(self.gpio, 0)
        raw = uv * (ADC_BITS_FULL + 1) // VREF_UV     # 12-bit conversion
        k = world.adc_noise
        if k:
            world.noise_seed = (world.noise_seed * 1103515245 + 12345) & 0x7FFFFFFF
            raw += (world.noise_seed >> 16) % (2 * k + 1) - k
        if raw > ADC_BITS_FULL:
            raw = ADC_BITS_FULL
        if raw < 0:
            raw = 0
        return (raw << 4) | (raw >> 8)               # the RP2040 port's 12 -> 16 bit scaling


class PWM:
    def __init__(self, pin, freq=0, duty_u16=0):
        self.gpio = pin.id
        self.f = freq
        self.duty = duty_u16
        world.pwm[self.gpio] = self

    def freq(self, f=None):
        if f is None:
            return self.f
        self.f = f

    def duty_u16(self, d=None):
        if d is None:
            return self.duty
        self.duty = d


# ---------------------------------------------------------------- buses
class I2C:
    def __init__(self, id, sda=None, scl=None, freq=400000):
        self.id = id
        self.freq = freq

    def _device(self, addr):
        d = world.i2c_devices.get(addr)
        if d is None:
            raise OSError(19)      # ENODEV: no ACK
        return d

    def writeto(self, addr, buf, stop=True):
        dev, block = self._device(addr)
        dev.write(block, buf)
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        dev, block = self._device(addr)
        dev.read(block, buf)


_CELLS = {}


class FramChip:
    """Fujitsu MB85RC FRAM: cells, and an address pointer set by the
    address bytes of a write. Bits the chip does not decode are ignored
    and sequential access wraps at its end (as the data sheets say)."""

    def __init__(self, size, addr_bytes, i2c_addr=0x50, fill=0x00):
        self.size = size
        self.ab = addr_bytes
        mem = _CELLS.get(size)
        if mem is None:        # one array per size, reused: a small test heap
            mem = _CELLS[size] = bytearray(size)   # cannot hold one per World
        for i in range(size):
            mem[i] = fill
        self.mem = mem
        self.ptr = 0
        self.writes = 0
        blocks = max(1, size >> (8 * addr_bytes))
        for b in range(blocks):
            world.i2c_devices[i2c_addr | b] = (self, b)

    def write(self, block, buf):
        self.writes += 1
        ab = self.ab
        a = 0
        for i in range(ab):
            a = (a << 8) | buf[i]
        self.ptr = ((block << (8 * ab)) | a) & (self.size - 1)
        for i in range(ab, len(buf)):
            self.mem[self.ptr] = buf[i]
            self.ptr = (self.ptr + 1) & (self.size - 1)

    def read(self, block, buf):
        for i in range(len(buf)):
            buf[i] = self.mem[self.ptr]
            self.ptr = (self.ptr + 1) & (self.size - 1)


class UART:
    def __init__(self, id, baudrate=115200, tx=None, rx=None, rxbuf=256, txbuf=256,
                 timeout=0, timeout_char=0):
        self.id = id
        world.uart_txbuf = txbuf

    def readinto(self, buf):
        q = world.uart_to_device
        n = min(len(buf), len(q))
        if not n:
            return None
        for i in range(n):
            buf[i] = q[i]
        world.uart_to_device = q[n:]
        return n

    def write(self, data):
        room = world.uart_txbuf - len(world.uart_from_device)
        n = min(room, len(data))
        if n <= 0:
            return None
        world.uart_from_device.extend(data[:n])
        return n


class WDT:
    def __init__(self, id=0, timeout=5000):
        if timeout > 8388:
            raise ValueError('timeout too large')    # the RP2040 port's limit
        self.timeout_ms = timeout
        self.fed_us = world.us
        self.feeds = 0
        world.wdt = self

    def feed(self):
        self.feeds += 1
        self.fed_us = world.us

    def expired(self):
        """The RP2040 would have reset by now."""
        return world.us - self.fed_us > self.timeout_ms * 1000


def unique_id():
    return b'\xe6\x60\x58\x38\x83\x1a\x2f\x21'


# ---------------------------------------------------------------- time
class Time:
    """The `time` module's ticks on the World's clock (wraps at 2**30)."""

    def ticks_ms(self):
        return world.ticks_ms()

    def ticks_us(self):
        return world.us & TICKS_MASK

    def ticks_diff(self, a, b):
        return ((a - b + TICKS_HALF) & TICKS_MASK) - TICKS_HALF

    def ticks_add(self, t, delta):
        return (t + delta) & TICKS_MASK

    def sleep_ms(self, ms):
        world.advance_ms(ms)


time = Time()
