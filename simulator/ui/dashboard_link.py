"""The in-process simulation's serial link, for the dashboard's device
commands: the device side is the firmware's own `firmware.link.Link` on the
simulated HAL's serial port; the host side is `pumphost.client.PumpClient`,
the session pumpctl uses. So pause, resume, stop, start, acknowledge and
audio pause from the page are framed, signed (HMAC-SHA256 with a counter,
the test key) and checked by the device exactly as over a cable.

Lockstep: the simulation is held (under the dashboard's lock) while a
command is in flight; writing a frame polls the device's link at once, so
the reply is waiting when the client reads. No control tick runs in
between, as on a board where the link is served between ticks.
"""
import os
import tempfile

from firmware.link import Link
from protocol.codes import PUMP_SIMULATED
from pumphost.client import PumpClient, TEST_KEY

# the page sends frames only when a command is given: the device's
# link-loss watch (10 s by default) is for hosts that stream; a day here
LINK_TIMEOUT_MS = 86400 * 1000


class LoopbackPort:
    """A pyserial-like port whose other end is the device's Link."""

    def __init__(self, device):
        self.device = device

    def write(self, data):
        self.device.receive(bytes(data))
        return len(data)

    @property
    def in_waiting(self):
        return len(self.device.serial.from_device)

    def read(self, n=1):
        buf = self.device.serial.from_device
        data = bytes(buf[:n])
        del buf[:n]
        return data

    def flush(self):
        pass

    def close(self):
        pass


class SimLink:
    """The device end: a Link on the simulation's current Pump (a new one
    after a power cycle, as a rebooted board starts its link afresh)."""

    def __init__(self, sim):
        self.sim = sim
        self.link = None
        self.pump = None

    @property
    def serial(self):
        return self.sim.hal.serial

    def _bind(self):
        if self.pump is not self.sim.pump:
            self.pump = self.sim.pump
            self.link = Link(self.pump, self.sim.hal.serial, TEST_KEY,
                             serial_no='SIM-%04d' % (self.sim.seed % 10000),
                             pump_kind=PUMP_SIMULATED, link_timeout_ms=LINK_TIMEOUT_MS)

    def receive(self, data):
        self._bind()
        self.serial.to_device.extend(data)
        while self.link.poll():
            pass


def make_client(sim):
    """(PumpClient on the simulation's link, its counter file path)."""
    fd, counter = tempfile.mkstemp(prefix='dashboard-', suffix='.counter')
    os.close(fd)
    client = PumpClient(url='the simulation', key=TEST_KEY, counter_file=counter, timeout=0.5,
                        retries=1, port=LoopbackPort(SimLink(sim)))
    return client, counter
