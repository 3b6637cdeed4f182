"""The emulated board in the loop: the firmware image (`make image`) runs
under qemu-system-arm, its HAL mirrored from this simulator in lockstep, the
same exchanges as the unix-port bridge (simulator/runtime/bridge.py,
boards/bridge/hal.py) over the board's UARTs instead of pipes (device side:
boards/qemu_netduino2/hal.py, main.py):

  UART 0 (USART1)  bridge messages: header + JSON payloads host -> device;
                   b'R' + reply, or an NV request (b'S' read, b'W' write)
                   device -> host. NV lives here (the board has 128 KB RAM).
  UART 1 (USART2)  the pump's serial protocol, byte for byte; each tick or
                   link message says how many bytes went on the line, each
                   reply how many came back.

  dev = QemuDevice(scenario)     # boots the image, POST tick
  dev.tick(); dev.link(data); dev.query(); dev.close()   # as BridgeDevice
  dev.power_cycle(off_s)         # qemu killed, plant and clock go on, a new
                                 # qemu boots on the same NV
"""
import json
import struct

from boards.bridge.hal import IN_FMT, OUT_FMT, OUT_SIZE, K_INIT, K_LINK, K_TICK
from protocol.codes import PUMP_SIMULATED
from pumphost.client import TEST_KEY
from simulator.runtime import qemu_board
from simulator.runtime.bridge import BridgeDevice, BridgeError
from simulator.runtime.lockstep import serial_no_for

MAX_LINK = 4096
K_SHORT_TICK = b't'[0]
TICKS_MASK = 0x3FFFFFFF


def unavailable():
    """None if the image and qemu are here, else why not (one line)."""
    import shutil
    if not shutil.which('qemu-system-arm'):
        return 'qemu-system-arm not found (apt-get install -y qemu-system-arm)'
    if not qemu_board.ELF.exists():
        return 'no board image at %s: run `make image`' % qemu_board.ELF
    return None


def image_files():
    """The image, for the acceptance report's hash."""
    return [('firmware.elf', qemu_board.ELF)]


class QemuDeviceProcess:
    """qemu running the image; `exchange` as bridge.DeviceProcess."""

    def __init__(self, nv, elf=None, timeout=120.0, icount=True):
        try:
            self.board = qemu_board.QemuBoard(elf or qemu_board.ELF, uarts=2, timeout=timeout,
                                              icount=icount)
        except qemu_board.BoardError as e:
            raise BridgeError(str(e)) from None
        self.nv = nv          # a bytearray the host keeps across power cycles
        self._prev = None     # (snapshot, clock step) of the last header sent
        self.exchanges = 0
        self.nv_reads = 0
        self.nv_writes = 0
        try:
            self.board.start('import boards.qemu_netduino2.main as m\nm.main()')
        except qemu_board.BoardError as e:
            self.board.close()
            raise BridgeError(str(e)) from None

    def _header(self, kind, snap, data):
        """The bytes of a header: a short tick (boards/qemu_netduino2/hal.py)
        when only the pressure, the motor position and the plunger travel
        moved (the last two by -128..127) and the clock by the same step."""
        prev = self._prev
        dt = (snap[0] - prev[0][0]) & TICKS_MASK if prev is not None else 0
        self._prev = (snap, dt)
        if (kind == K_TICK and not data and prev is not None and prev[1] == dt
                and snap[2] == prev[0][2] and snap[5] == prev[0][5]
                and -128 <= snap[3] - prev[0][3] <= 127 and -128 <= snap[4] - prev[0][4] <= 127):
            return struct.pack('<BHbb', K_SHORT_TICK, snap[1], snap[4] - prev[0][4],
                               snap[3] - prev[0][3])
        return struct.pack(IN_FMT, kind, *snap, len(data))

    def exchange(self, kind, snap, data=b''):
        b = self.board
        serial = kind in (K_TICK, K_LINK)
        hdr = self._header(kind, snap, data)
        try:
            if serial:
                if data:
                    b.write(1, data)
                b.write(0, hdr)
            else:
                b.write(0, hdr + data)
            while True:
                m = b.read_exact(0, 1)
                if m == b'R':
                    break
                if m not in (b'S', b'W'):
                    raise BridgeError('bridge: unexpected output from the board: %r' % (
                        m + b.read_available(0)[:300]))
                off, n = struct.unpack('<IH', b.read_exact(0, 6))
                if off + n > len(self.nv):
                    raise BridgeError('bridge: NV access %d+%d beyond %d' % (off, n, len(self.nv)))
                if m == b'S':
                    self.nv_reads += 1
                    chunk = bytes(self.nv[off:off + n])
                    b.write(0, b'\x00' if chunk == b'\xff' * n else b'\x01' + chunk)
                else:
                    self.nv_writes += 1
                    self.nv[off:off + n] = b.read_exact(0, n)
            rep = b.read_exact(0, OUT_SIZE)
            pending, flags, leds, state, fed, n = struct.unpack(OUT_FMT, rep)
            payload = b.read_exact(1 if serial else 0, n) if n else b''
        except qemu_board.BoardError as e:
            raise BridgeError('%s; board: %s' % (e, b.tail_log())) from None
        self.exchanges += 1
        return pending, flags, leds, state, fed, payload

    def tail_log(self, n=1500):
        return self.board.tail_log(n)

    def close(self):
        self.board.close()


class QemuDevice(BridgeDevice):
    """BridgeDevice with the firmware in the qemu image, and the power cut
    the acceptance suite's rig uses (acceptance/targets.py)."""

    runtime = 'qemu'

    def __init__(self, scenario, key=TEST_KEY, link_timeout_ms=10000, serial_no=None,
                 elf=None, seed=None, plant_in_post=True):
        """`plant_in_post` False: the POST tick leaves the plant where it is,
        as simulator.runtime.inproc.Simulation.boot does (BridgeDevice
        advances it)."""
        self._attach_plant(scenario, seed)
        self.workdir = None
        self.dev = None
        self.elf = elf
        st = self.hal.storage
        self.nv = bytearray(st.size())
        st.readinto(0, self.nv)
        self.init_config = {
            'settings': dict(scenario.pump.firmware_settings()), 'key': bytes(key).hex(),
            'serial_no': serial_no or serial_no_for(scenario), 'pump_kind': PUMP_SIMULATED,
            'link_timeout_ms': int(link_timeout_ms), 'storage': {'size': len(self.nv)}}
        try:
            self._boot(plant_in_post)
        except BaseException:
            self.close()
            raise

    def _boot(self, plant_in_post=True):
        """A new qemu on the host's NV: init, then the POST tick (the device
        creates its Link after it)."""
        self.dev = QemuDeviceProcess(self.nv, elf=self.elf)
        self._apply(self.dev.exchange(K_INIT, self._snapshot(),
                                      json.dumps(self.init_config, separators=(',', ':')).encode()))
        if plant_in_post:
            self.tick()
        else:
            self.k += 1
            self.hal.clock.advance(self.tick_ms)
            self._raw = self.hal.pressure.read_raw()
            self._apply(self.dev.exchange(K_TICK, self._snapshot()))

    def link(self, data):
        out = b''
        for i in range(0, len(data), MAX_LINK):
            out += self._apply(self.dev.exchange(K_LINK, self._snapshot(), data[i:i + MAX_LINK]))
        return out

    def close(self):
        self._close_device()

    def power_cycle(self, off_s=0.0):
        """Kill qemu (RAM is lost, no clean exit), run the plant unpowered
        for off_s, boot a new qemu on the same NV."""
        self._cut_power().close()
        self._run_unpowered(off_s)
        self._boot()
