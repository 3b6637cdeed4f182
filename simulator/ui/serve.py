"""pumpsim serve: the firmware against the simulator, its serial link exposed.

  pumpsim serve [--runtime cpython] [--link pty|tcp:PORT] [--speed X] [SCENARIO]

The firmware (Pump + Loop + firmware.link.Link) runs in this process on the
simulated HAL, in lockstep with the plant, paced to real time times --speed.
Between control ticks the process waits on the link (select), so a command
is served as soon as its bytes arrive, not at the next tick. The scenario
gives the pump, patient and timed plant faults; its program is NOT started:
the host loads, confirms and starts it with pumpctl.

Link faults (both directions, seeded): --drop P (lose each byte with
probability P), --flip P (flip one bit of each byte with probability P),
--garbage P (insert 1..8 random bytes before a byte with probability P).
--baud B (cpython runtime) paces the device's serial as a UART (SimSerial:
B/10 bytes per simulated second, 1 KB transmit buffer), so the firmware sees
backpressure; default unpaced.
Lines on stdin act on the running simulation: `inject FAULT [k=v ...]`, `clear FAULT`
(plant faults, see simulator/plant/faults.py), `new-syringe` (a full syringe
in place: then `pumpctl resume` confirms a syringe change), `disconnect S` (the link goes dead
for S seconds), `quit`; with --runtime micropython also `speed X`.

--runtime micropython: the firmware runs in a separate `micropython` process
(compiled .mpy), its HAL bridged to this simulator in lockstep
(simulator/runtime/bridge.py, boards/bridge/hal.py); same link, faults and commands.
--runtime qemu: the same with the firmware image of `make image` on the
emulated 32-bit board under qemu-system-arm (simulator/runtime/qemu.py).
"""
import os
import random
import select
import signal
import socket
import sys
import time
import tty

from firmware.link import Link
from protocol.codes import PUMP_SIMULATED
from pumphost.client import TEST_KEY
from pumphost.keys import check_key_file
from simulator.plant import faults
from simulator.runtime.bridge import BridgeDevice, BridgeError, DEFAULT_HEAP


class LinkFaults:
    def __init__(self, drop=0.0, flip=0.0, garbage=0.0, seed=1):
        self.drop, self.flip, self.garbage = drop, flip, garbage
        self.rng = random.Random(seed)
        self.dead_until = 0.0
        self.counts = {'dropped': 0, 'flipped': 0, 'garbage': 0, 'dead': 0}

    def active(self):
        return self.drop or self.flip or self.garbage or self.dead_until

    def apply(self, data):
        if not data or not self.active():
            return data
        if time.monotonic() < self.dead_until:
            self.counts['dead'] += len(data)
            return b''
        rng = self.rng
        out = bytearray()
        for b in data:
            if self.garbage and rng.random() < self.garbage:
                out += bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
                self.counts['garbage'] += 1
            if self.drop and rng.random() < self.drop:
                self.counts['dropped'] += 1
                continue
            if self.flip and rng.random() < self.flip:
                b ^= 1 << rng.randrange(8)
                self.counts['flipped'] += 1
            out.append(b)
        return bytes(out)


class PtyTransport:
    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)          # no echo, no CR/LF translation
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.dropped_tx = 0

    def fds(self):
        return [self.master]

    def readable(self, ready):
        if self.master not in ready:
            return b''
        try:
            return os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return b''

    def write(self, data):
        try:
            n = os.write(self.master, data)
        except (BlockingIOError, OSError):
            n = 0
        self.dropped_tx += len(data) - n   # nobody reading: the UART drops

    def describe(self):
        return self.path

    def close(self):
        os.close(self.master)
        os.close(self.slave)


class TcpTransport:
    def __init__(self, port):
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(('127.0.0.1', port))
        self.srv.listen(1)
        self.srv.setblocking(False)
        self.port = self.srv.getsockname()[1]
        self.conn = None
        self.dropped_tx = 0

    def fds(self):
        return [self.srv] + ([self.conn] if self.conn else [])

    def readable(self, ready):
        if self.srv in ready:
            try:
                c, _ = self.srv.accept()
            except OSError:
                c = None
            if c is not None:
                if self.conn:
                    self.conn.close()   # one host at a time: the newest wins
                c.setblocking(False)
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.conn = c
        if self.conn and self.conn in ready:
            try:
                data = self.conn.recv(4096)
            except (BlockingIOError, OSError):
                return b''
            if not data:
                self.conn.close()
                self.conn = None
            return data
        return b''

    def write(self, data):
        if not self.conn:
            self.dropped_tx += len(data)
            return
        try:
            self.conn.sendall(data)
        except OSError:
            self.dropped_tx += len(data)

    def describe(self):
        return 'socket://127.0.0.1:%d' % self.port

    def close(self):
        if self.conn:
            self.conn.close()
        self.srv.close()


class Server:
    """The simulated device plus its link; `run()` until stopped."""

    def __init__(self, scenario, transport, speed=1.0, key=TEST_KEY, link_faults=None,
                 link_timeout_ms=10000, stdin=None, out=sys.stdout, baud=0):
        from simulator.runtime.inproc import Simulation
        self.sim = Simulation(scenario)
        self._attach(transport, speed, link_faults, stdin, out)
        hal = self.sim.hal
        self.baud = baud
        if baud:   # a paced UART: baud/10 bytes per second of simulated time (wall x speed)
            from simulator.runtime.sim_hal import SimSerial
            t0 = time.monotonic()
            hal.serial = SimSerial(baud=baud, tx_buffer=1024, now_ms=lambda: int(
                (time.monotonic() - t0) * 1000.0 * self.speed))
        self.serial = hal.serial
        clock = hal.clock
        clock.advance(self.sim.tick_ms)
        self.sim.loop.poll()             # POST
        self.link = Link(self.sim.pump, hal.serial, key, serial_no='SIM-%04d' % (scenario.seed % 10000),
                         pump_kind=PUMP_SIMULATED, link_timeout_ms=link_timeout_ms)
        self.k = 0

    def _attach(self, transport, speed, link_faults, stdin, out):
        """What every runtime's server holds besides its device."""
        self.transport = transport
        self.speed = speed
        self.faults = link_faults or LinkFaults()
        self.stdin = stdin
        self.out = out
        self.stop_flag = False
        self.baud = 0
        self._rebase = False   # speed changed: pace from now on
        self.wall_s = 0.0

    def _say(self, text):
        self.out.write(text + '\n')
        self.out.flush()

    def _service_link(self, ready):
        data = self.transport.readable(ready)
        if data:
            self.serial.to_device.extend(self.faults.apply(data))
        while self.link.poll() >= self.link.max_frames:
            pass
        self._flush_tx()

    def _flush_tx(self):
        buf = self.serial.from_device
        if buf:
            data = bytes(buf)
            del buf[:]
            data = self.faults.apply(data)
            if data:
                self.transport.write(data)

    def _stdin_line(self):
        line = self.stdin.readline()
        if not line:
            self.stdin = None
            return
        self._command(line)

    def _command(self, line):
        words = line.split()
        if not words:
            return
        try:
            if words[0] in ('inject', 'clear') and len(words) >= 2:
                getattr(faults, words[0])(self.sim.plant, words[1], **_fault_params(words[2:]))
            elif words[0] == 'new-syringe' and len(words) == 1:
                # the nurse puts in a full syringe; the pump waits for RESUME
                self.sim.plant.refill(self.sim.scenario.syringe_fill_ml)
            elif words[0] == 'disconnect' and len(words) == 2:
                self.faults.dead_until = time.monotonic() + float(words[1])
            elif words[0] == 'quit':
                self.stop_flag = True
            else:
                self._say('serve: commands: inject FAULT [k=v ...] | clear FAULT | new-syringe | '
                          'disconnect SECONDS | quit')
                return
            self._say('serve: %s at t=%.1f s' % (line.strip(), self.k * self.sim.tick_ms / 1000.0))
        except (faults.FaultError, ValueError, TypeError) as e:
            self._say('serve: %s' % e)

    def run(self, max_s=None):
        """Tick paced to wall time x speed; between ticks serve the link and
        stdin; scenario events at their tick. Until stopped or max_s."""
        tick_s = self.sim.tick_ms / 1000.0
        events = list(self.sim.scenario.events)
        ev_ticks = [int(round(e[0] / tick_s)) for e in events]
        ev_i = 0
        wall_start = time.monotonic()
        wall0, base = wall_start, self.k
        k_start = self.k
        try:
            while not self.stop_flag:
                if self._rebase:
                    self._rebase = False
                    wall0, base = time.monotonic(), self.k
                if max_s is not None and (self.k + 1 - k_start) * tick_s > max_s:
                    break
                self._serve_until(wall0 + (self.k + 1 - base) * tick_s / self.speed)
                if self.stop_flag:
                    break
                self.k += 1
                out = self._tick()
                while ev_i < len(events) and ev_ticks[ev_i] <= self.k:
                    _, _, kind, name, params = events[ev_i]
                    ev_i += 1
                    if kind == 'inject':
                        faults.inject(self.sim.plant, name, **params)
                    elif kind == 'clear':
                        faults.clear(self.sim.plant, name, **params)
                    self._say('serve: scenario %s %s at t=%.1f s' % (kind, name, self.k * tick_s))
                self._after_tick(out)
        finally:
            self.wall_s += time.monotonic() - wall_start

    def _serve_until(self, target):
        """Serve the link and stdin until wall time `target`."""
        while True:
            fds = self.transport.fds() + ([self.stdin] if self.stdin else [])
            wait = max(0.0, target - time.monotonic())
            if self.baud:   # keep the paced line fed between ticks
                wait = min(wait, 0.005)
            ready, _, _ = select.select(fds, [], [], wait)
            if self.stdin is not None and self.stdin in ready:
                self._stdin_line()
            self._service_link(ready)
            if time.monotonic() >= target or self.stop_flag:
                return

    def _tick(self):
        """One control tick in lockstep: clock, plant, firmware."""
        sim = self.sim
        sim.hal.clock.advance(sim.tick_ms)
        sim.plant.advance(sim.tick_ms / 1000.0, sim.hal.motor.take_pending())
        sim.loop.poll()

    def _after_tick(self, _out):
        self.link.poll()
        self._flush_tx()

    def summary(self):
        d = self.link.decoder
        return ('serve: %.1f s simulated, state %s, %d frames handled, %d rejected, '
                'decoder errors %d, link faults %s' % (
                    self.k * self.sim.tick_ms / 1000.0, self.sim.pump.state_name(),
                    self.link.frames_handled, self.link.rejected, d.errors(),
                    self.faults.counts))


class BridgeServer(Server):
    """`pumpsim serve --runtime micropython`: Server's transports, link faults
    and stdin commands, the firmware behind a BridgeDevice. One more stdin
    command: `speed X` (new real-time factor from now on)."""

    runtime = 'micropython'

    def __init__(self, scenario, transport, speed=1.0, key=TEST_KEY, link_faults=None,
                 link_timeout_ms=10000, stdin=None, out=sys.stdout, heap=DEFAULT_HEAP):
        self.device = BridgeDevice(scenario, key=key, link_timeout_ms=link_timeout_ms,
                                   heap=heap)
        self.sim = self.device.sim
        self._attach(transport, speed, link_faults, stdin, out)
        self.k = 0

    def _send(self, data):
        if data:
            data = self.faults.apply(data)
            if data:
                self.transport.write(data)

    def _service_link(self, ready):
        data = self.transport.readable(ready)
        if data:
            data = self.faults.apply(data)
            if data:
                self._send(self.device.link(data))

    def _command(self, line):
        words = line.split()
        if len(words) == 2 and words[0] == 'speed':
            try:
                v = float(words[1])
                if not v > 0:
                    raise ValueError
            except ValueError:
                self._say('serve: speed takes a factor > 0')
                return
            self.speed = v
            self._rebase = True
            self._say('serve: speed %g at t=%.1f s' % (v, self.k * self.sim.tick_ms / 1000.0))
            return
        Server._command(self, line)

    def _tick(self):
        out = self.device.tick()
        self.k = self.device.k - 1   # the device counts the POST tick too
        return out

    def _after_tick(self, out):
        self._send(out)

    def summary(self):
        sim_s = self.k * self.sim.tick_ms / 1000.0
        try:
            q = self.device.query()
        except BridgeError as e:
            return 'serve: %.1f s simulated, device lost: %s' % (sim_s, e)
        return ('serve: %.1f s simulated (%.0f ticks/s), state %s, %d frames handled, '
                '%d rejected, decoder errors %d, link faults %s, runtime %s '
                '(device time per tick %.0f us, per link exchange %.0f us)' % (
                    sim_s, self.k / self.wall_s if self.wall_s else 0.0, q['state'],
                    q['frames_handled'], q['rejected'], q['decoder_errors'],
                    self.faults.counts, q['implementation'],
                    q['tick_us'] / max(1, q['tick_n']), q['link_us'] / max(1, q['link_n'])))

    def close(self):
        self.device.close()


class QemuServer(BridgeServer):
    """`pumpsim serve --runtime qemu`: the firmware image on the emulated board."""

    runtime = 'qemu'

    def __init__(self, scenario, transport, speed=1.0, key=TEST_KEY, link_faults=None,
                 link_timeout_ms=10000, stdin=None, out=sys.stdout):
        from simulator.runtime.qemu import QemuDevice
        self.device = QemuDevice(scenario, key=key, link_timeout_ms=link_timeout_ms)
        self.sim = self.device.sim
        self._attach(transport, speed, link_faults, stdin, out)
        self.k = 0


def _fault_params(words):
    """k=v words of an inject line: numbers, or text for text parameters."""
    params = {}
    for w in words:
        k, eq, v = w.partition('=')
        if not eq:
            raise ValueError('%r is not key=value' % w)
        try:
            params[k] = float(v)
        except ValueError:
            params[k] = v
    return params


def _prob(text):
    v = float(text)
    if not 0.0 <= v <= 1.0:
        raise ValueError
    return v


def cmd_serve(a):
    from simulator.scenario import load_scenario
    if a.link == 'pty':
        make = PtyTransport
    elif a.link.startswith('tcp:') and a.link[4:].isdigit() and int(a.link[4:]) < 65536:
        port = int(a.link[4:])
        make = lambda: TcpTransport(port)  # noqa: E731
    else:
        sys.stderr.write('pumpsim serve: --link=%r not allowed (pty or tcp:PORT, PORT 0..65535)\n'
                         % a.link)
        return 2
    if a.baud and a.runtime != 'cpython':
        sys.stderr.write('pumpsim serve: --baud=%d: paced serial is for --runtime cpython only\n'
                         % a.baud)
        return 2
    key = TEST_KEY
    if a.key_file:
        try:
            key = check_key_file(a.key_file)   # 0600, as pumpctl wants it
        except (OSError, ValueError) as e:
            sys.stderr.write('pumpsim serve: --key-file=%s: %s\n' % (a.key_file, e))
            return 2
    sc = load_scenario(a.scenario)
    try:
        transport = make()
    except OSError as e:
        sys.stderr.write('pumpsim serve: --link=%s: %s\n' % (a.link, e))
        return 2
    lf = LinkFaults(a.drop, a.flip, a.garbage, seed=a.fault_seed)
    cls = Server
    if a.runtime == 'micropython':   # the firmware in a micropython process
        cls = BridgeServer
    elif a.runtime == 'qemu':        # the firmware image on the emulated board
        cls = QemuServer
    try:
        srv = cls(sc, transport, speed=a.speed or 1.0, key=key, link_faults=lf,
                  link_timeout_ms=int(a.link_timeout * 1000),
                  stdin=sys.stdin if not a.no_stdin else None,
                  **({'baud': a.baud} if a.baud else {}))
    except Exception as e:
        if a.runtime == 'cpython' or not isinstance(e, (BridgeError, OSError)):
            raise
        transport.close()
        sys.stderr.write('pumpsim serve: --runtime=%s: %s\n' % (a.runtime, e))
        return 2
    port = transport.describe()
    print('pumpsim serve: firmware (%s) on %s, pump %s, speed %gx' % (
        a.runtime, sc.name, sc.pump.name, a.speed or 1.0))
    print('pumpsim serve: key %s' % ('from ' + a.key_file if a.key_file else
                                     'TEST KEY (pumpctl --test-key)'))
    print('port: %s' % port)
    print('try:  pumpctl --port %s %s status' % (port, '--key-file ' + a.key_file
                                                  if a.key_file else '--test-key'), flush=True)

    def on_term(signum, frame):
        srv.stop_flag = True
    signal.signal(signal.SIGTERM, on_term)
    try:
        srv.run(max_s=a.duration)
    except KeyboardInterrupt:
        pass
    finally:
        print(srv.summary(), flush=True)
        if hasattr(srv, 'close'):
            srv.close()
        transport.close()
    return 0


def register(top):
    p = top.add_parser('serve', help='run the firmware on the simulator with its serial link '
                                     'on a pty or TCP port (for pumpctl)')
    p.add_argument('scenario', nargs='?', default='demo',
                   help='configs/scenarios name or a YAML path (pump, patient, plant faults)')
    p.add_argument('--runtime', default='cpython', choices=('cpython', 'micropython', 'qemu'))
    p.add_argument('--link', default='pty', help='pty (default) or tcp:PORT (127.0.0.1; 0 = any free)')
    p.add_argument('--speed', type=float, default=1.0, help='real-time factor (default 1)')
    p.add_argument('--key-file', help='device key (default: the public test key)')
    p.add_argument('--link-timeout', type=float, default=10.0,
                   help='seconds without a valid frame before the device journals a link loss')
    p.add_argument('--drop', type=_prob, default=0.0, help='byte loss probability 0..1')
    p.add_argument('--flip', type=_prob, default=0.0, help='bit-flip probability per byte 0..1')
    p.add_argument('--garbage', type=_prob, default=0.0,
                   help='probability per byte of a 1..8 byte garbage burst 0..1')
    p.add_argument('--fault-seed', type=int, default=1)
    p.add_argument('--baud', type=int, default=0, choices=(0, 9600, 57600, 115200, 230400, 460800),
                   help='cpython runtime: pace the device serial as a UART at this baud '
                        '(baud/10 bytes per simulated second, 1 KB transmit buffer); 0 = unpaced')
    p.add_argument('--duration', type=float, default=None,
                   help='stop after this many simulated seconds (default: until Ctrl-C)')
    p.add_argument('--no-stdin', action='store_true', help='ignore stdin commands')
    p.set_defaults(func=cmd_serve)


__all__ = ['Server', 'BridgeServer', 'LinkFaults', 'PtyTransport', 'TcpTransport', 'register']
