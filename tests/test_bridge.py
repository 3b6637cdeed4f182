"""The MicroPython bridge (boards/bridge/hal.py, boards/bridge/main.py,
simulator/runtime/bridge.py): the firmware in a real `micropython` process,
its HAL mirrored from the simulator in lockstep.

The strongest check: the same session (PumpClient commands at the same
ticks, the same plant fault) against the firmware in this process and in
micropython gives the same bytes on the serial line and the same plant.
"""
import inspect

import pytest

from firmware.link import Link
from hal import Hal
from boards.bridge.hal import BridgeBoard, BridgeMotor, BridgeSerial
from hal.file_storage import FileStorage
from hal.ticks import WrappingClock
from hal.interfaces import CONTRACT
from protocol import codes as C
from protocol.codes import PUMP_SIMULATED
from pumphost.client import PumpClient, TEST_KEY
from simulator.plant import faults
from simulator.runtime.bridge import BridgeDevice, BridgeError, LockstepPort
from simulator.runtime.inproc import Simulation
from simulator.scenario import load_scenario
from pumphost.codes import A_OCCLUSION_DOWNSTREAM
from pumphost.config.drugs import program_drugs

SALINE = program_drugs('saline', 9.0)[0]


class InProcessDevice:
    """What `pumpsim serve --runtime cpython` does, with BridgeDevice's API."""

    def __init__(self, scenario, key=TEST_KEY):
        self.sim = Simulation(scenario)
        self.plant = self.sim.plant
        self.hal = self.sim.hal
        self.tick_ms = self.sim.tick_ms
        self.k = 0
        self.tick()
        self.ln = Link(self.sim.pump, self.hal.serial, key,
                       serial_no='SIM-%04d' % (scenario.seed % 10000),
                       pump_kind=PUMP_SIMULATED, link_timeout_ms=10000)

    def _out(self):
        buf = self.hal.serial.from_device
        data = bytes(buf)
        del buf[:]
        return data

    def _serve(self):
        if getattr(self, 'ln', None) is not None:
            while self.ln.poll() >= self.ln.max_frames:
                pass
        return self._out()

    def tick(self):
        self.k += 1
        self.hal.clock.advance(self.tick_ms)
        self.plant.advance(self.tick_ms / 1000.0, self.hal.motor.take_pending())
        self.sim.loop.poll()
        return self._serve()

    def link(self, data):
        self.hal.serial.to_device.extend(data)
        return self._serve()

    def state_name(self):
        return self.sim.pump.state_name()

    def close(self):
        pass


def session(dev, learn_ticks=3000):
    """Program, start, run, occlude until the alarm, acknowledge, read the journal."""
    port = LockstepPort(dev)
    c = PumpClient(port=port, key=TEST_KEY, timeout=5.0, retries=0)
    c.seq = 100
    info = c.hello()
    review = c.load_program([(1, 20000000, 2000000)], (SALINE,))   # 20 mL/h, 2 mL of saline
    c.confirm(review['program_hash'])
    c.start()
    port.run(learn_ticks)              # 300 s: the occlusion check learns its baseline
    running = c.status()
    faults.inject(dev.plant, 'downstream_occlusion')
    for _ in range(3000):                                  # at most 300 s
        port.run(10)
        if dev.state_name() == 'ALARM':
            break
    alarm = c.status()
    c.ack_alarm()
    journal = c.journal(0)
    return {'info': info, 'running': running, 'alarm': alarm, 'journal': journal,
            'wire': bytes(port.wire), 'ticks': port.ticks,
            'position': dev.plant.position_steps, 'delivered_ul': dev.plant.delivered_ul}


@pytest.fixture(scope='module')
def scenario():
    return load_scenario('demo')


@pytest.fixture(scope='module')
def both(scenario):
    ref = InProcessDevice(scenario)
    a = session(ref)
    dev = BridgeDevice(scenario)
    try:
        b = session(dev)
        b['query'] = dev.query()
    finally:
        dev.close()
    return a, b


def test_firmware_runs_in_micropython(both):
    _, b = both
    q = b['query']
    assert q['implementation'] == 'micropython'
    assert q['ticks'] == b['ticks'] + 1                   # + the POST tick
    assert q['frames_handled'] >= 8 and q['decoder_errors'] == 0
    assert q['rx_overflow'] == 0 and q['tx_overflow'] == 0


def test_session_reaches_alarm_and_journal(both):
    _, b = both
    assert b['info']['fw_version'] and b['info']['serial'].startswith('SIM-')
    assert b['running']['state'] == C.STATE_RUNNING
    assert b['alarm']['state'] == C.STATE_ALARM, b['alarm']
    assert A_OCCLUSION_DOWNSTREAM in [a['code'] for a in b['alarm']['alarms']], b['alarm']
    events = [ev for _seq, _t, ev, _a, _b, ok in b['journal'] if ok]
    assert 3 in events and 4 in events            # EV_ALARM, EV_ALARM_ACK
    assert b['position'] > 0


def test_bridge_is_transparent(both):
    """micropython firmware == in-process firmware, byte for byte on the wire,
    step for step in the plant."""
    a, b = both
    assert a['ticks'] == b['ticks']
    assert a['position'] == b['position']
    assert a['delivered_ul'] == b['delivered_ul']
    assert a['journal'] == b['journal']
    assert a['wire'] == b['wire']


def test_bridge_hal_implements_contract():
    b = BridgeBoard()
    st = FileStorage.__new__(FileStorage)     # no file needed to list its methods
    hal = Hal(WrappingClock(), BridgeMotor(), b, b, b, st, BridgeSerial(), b, b, b)
    for attr, iface in CONTRACT.items():
        obj = getattr(hal, attr)
        for meth, fn in inspect.getmembers(iface, inspect.isfunction):
            impl = getattr(obj, meth, None)
            assert callable(impl), '%s.%s missing' % (attr, meth)
            want = len(inspect.signature(fn).parameters) - 1
            assert len(inspect.signature(impl).parameters) == want, (attr, meth)


def test_bridge_serial_is_bounded_like_a_uart():
    s = BridgeSerial()
    s.feed(memoryview(b'abc'))
    buf = bytearray(2)
    assert s.readinto(buf) == 2 and buf == b'ab'
    assert s.readinto(buf) == 1 and buf[:1] == b'c'
    assert s.readinto(buf) == 0
    big = bytes(range(256)) * 40           # 10240 > capacity
    assert s.write(big) == len(s.tx) and s.tx_overflow == len(big) - len(s.tx)
    s.feed(memoryview(big))
    assert s.rx_overflow == len(big) - len(s.rx)


def test_compile_failure_is_one_clear_error(tmp_path):
    from pumphost import devicebuild
    bad = tmp_path / 'boards' / 'bad_main.py'
    bad.parent.mkdir()
    bad.write_text('def f(:\n')
    with pytest.raises(devicebuild.BuildError, match='bad_main.py'):
        devicebuild.compile_tree(tmp_path / 'out', root=tmp_path)


def test_device_crash_names_the_log(scenario, monkeypatch):
    dev = BridgeDevice(scenario)
    try:
        dev.dev.proc.kill()
        dev.dev.proc.wait()
        with pytest.raises(BridgeError, match='closed the bridge|Broken pipe'):
            for _ in range(3):
                dev.tick()
    finally:
        dev.close()


# ---------------------------------------------------------------- qemu board
# The same session against the firmware image on the emulated 32-bit board
# (`make image`; simulator/runtime/qemu.py): same wire bytes, journal and plant.

QEMU_LEARN_TICKS = 1200   # a shorter run than the unix-port bridge's: every byte on
                          # the emulated UARTs costs wall time


@pytest.fixture(scope='module')
def both_qemu(scenario):
    from tests.image_support import image_or_skip
    from simulator.runtime.qemu import QemuDevice
    elf = image_or_skip()
    a = session(InProcessDevice(scenario), QEMU_LEARN_TICKS)
    dev = QemuDevice(scenario, elf=elf)
    try:
        b = session(dev, QEMU_LEARN_TICKS)
        b['query'] = dev.query()
    finally:
        dev.close()
    return a, b


def test_qemu_board_is_transparent(both_qemu):
    a, b = both_qemu
    q = b['query']
    assert q['machine'].startswith('netduino2'), q
    assert q['ticks'] == b['ticks'] + 1 and q['decoder_errors'] == 0
    assert b['alarm']['state'] == C.STATE_ALARM, b['alarm']
    assert a['ticks'] == b['ticks']
    assert a['position'] == b['position']
    assert a['delivered_ul'] == b['delivered_ul']
    assert a['journal'] == b['journal']
    assert a['wire'] == b['wire']
