"""Devices a host talks to over the real serial protocol, in lockstep with the plant.

Both give the same small API, which `LockstepPort` (simulator.runtime.bridge)
turns into a pyserial-like port for `PumpClient(port=...)`:

  dev.tick()              one control tick; the device's serial output
  dev.link(data)          serial bytes served at once; the device's output
  dev.power_cycle(off_s)  power cut now, back after off_s, the board boots
  dev.plant, dev.hal      the simulated world and the board's indicators
  dev.state_name()

`InprocDevice`: the firmware in this process (what `pumpsim serve --runtime
cpython` serves). `PowerCycledBridge`: the firmware in a `micropython`
process (BridgeDevice) that can also lose its power: the process is killed
(RAM gone, as at a power cut), the plant and the clock go on for off_s, and
a new process boots on the same storage file.
"""
import json
import os
import signal

from firmware.link import Link
from protocol.codes import PUMP_SIMULATED
from pumphost.client import TEST_KEY
from simulator.runtime.bridge import BridgeDevice, DeviceProcess, K_INIT


def serial_no_for(scenario):
    return 'SIM-%04d' % (scenario.seed % 10000)


class InprocDevice:
    """The firmware (Pump, Loop, Link) in this process on the simulated HAL."""

    runtime = 'cpython'

    def __init__(self, scenario, key=TEST_KEY, link_timeout_ms=10000):
        from simulator.runtime.inproc import Simulation
        self.scenario = scenario
        self.key = key
        self.link_timeout_ms = link_timeout_ms
        self.sim = Simulation(scenario)
        self.plant = self.sim.plant
        self.tick_ms = self.sim.tick_ms
        self.k = 0
        self.ln = None
        self._boot()

    @property
    def hal(self):
        return self.sim.hal   # a new board after a power cycle

    def _boot(self):
        """POST at the next tick, then the Link (as serve does)."""
        self.ln = None
        self.tick()
        self.ln = Link(self.sim.pump, self.hal.serial, self.key,
                       serial_no=serial_no_for(self.scenario), pump_kind=PUMP_SIMULATED,
                       link_timeout_ms=self.link_timeout_ms)

    def _serve(self):
        if self.ln is not None:
            while self.ln.poll() >= self.ln.max_frames:
                pass
        buf = self.hal.serial.from_device
        data = bytes(buf)
        del buf[:]
        return data

    def tick(self):
        self.k += 1
        hal = self.hal
        hal.clock.advance(self.tick_ms)
        self.plant.advance(self.tick_ms / 1000.0, hal.motor.take_pending())
        self.sim.loop.poll()
        return self._serve()

    def link(self, data):
        self.hal.serial.to_device.extend(data)
        return self._serve()

    def power_cycle(self, off_s=0.0):
        self.sim.power_cycle(off_s)
        self._boot()

    def state_name(self):
        return self.sim.pump.state_name()

    def close(self):
        pass


class PowerCycledBridge(BridgeDevice):
    """BridgeDevice whose board can lose its supply."""

    runtime = 'micropython'

    def __init__(self, scenario, key=TEST_KEY, link_timeout_ms=10000, **kw):
        self._scenario = scenario
        self._key = key
        self._link_timeout_ms = link_timeout_ms
        self._heap = kw.get('heap')
        super().__init__(scenario, key=key, link_timeout_ms=link_timeout_ms, **kw)

    def _init_config(self):
        sc = self._scenario
        return {'settings': dict(sc.pump.firmware_settings()), 'key': bytes(self._key).hex(),
                'serial_no': serial_no_for(sc), 'pump_kind': PUMP_SIMULATED,
                'link_timeout_ms': int(self._link_timeout_ms),
                'storage': str(self.workdir / 'storage.bin')}

    def power_cycle(self, off_s=0.0):
        """Kill the device process (no clean exit: RAM is lost), run the
        plant unpowered for off_s, boot a new process on the same storage."""
        old = self._cut_power()
        try:
            os.kill(old.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        old.close()
        self._run_unpowered(off_s)
        kw = {'heap': self._heap} if self._heap else {}
        self.dev = DeviceProcess(self.workdir, **kw)
        self._apply(self.dev.exchange(K_INIT, self._snapshot(),
                                      json.dumps(self._init_config()).encode()))
        self.tick()   # POST; the device creates its Link after it
