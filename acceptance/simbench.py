"""A simulated bench: the bench target's whole path with no hardware.

  python -m acceptance.simbench --speed 20 --config out/simbench/bench.yaml
  make hil TARGET=bench BENCH=out/simbench/bench.yaml      (another shell)

One process serves, each on its own pty, what a real bench has on its
serial ports: the pump (`pumpsim serve`'s Server, the firmware against the
plant, paced at --speed times real time), an MT-SICS balance weighing what
leaves the simulated catheter (pumphost.mtsics.SimBalance), and an LCUS relay
board whose channels put plant faults on and off (channel 1 a pinch valve:
downstream_occlusion, 2 the syringe cradle: syringe_removed, 3 an air
injector: air_bubble). It writes the bench.yaml that `--target bench` reads
(pump.time_scale = --speed: the suite's clock runs that much faster than
the wall, as the device's does). The supply is not switchable: the power
tests are skipped with that reason. Stops on SIGINT/SIGTERM or --for.
"""
import argparse
import os
import signal
import sys
import threading
import tty
from pathlib import Path

import yaml

from pumphost.client import TEST_KEY
from pumphost.mtsics import SimBalance
from simulator.scenario import load_scenario
from simulator.ui.serve import PtyTransport, Server

from acceptance.rig import WATER_G_PER_ML

HERE = Path(__file__).resolve().parent
CHANNELS = {1: 'downstream_occlusion', 2: 'syringe_removed', 3: 'air_bubble'}


class Echo:
    """Server's output: kept, and each line wakes whoever waits for it."""

    def __init__(self):
        self.lines = []
        self.cond = threading.Condition()

    def write(self, text):
        with self.cond:
            self.lines.extend(x for x in text.splitlines() if x)
            self.cond.notify_all()

    def flush(self):
        pass

    def wait_for(self, n_before, timeout=5.0):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.lines) > n_before, timeout)


class SimRelay:
    """An LCUS relay board on a pty: A0 ch state sum -> 'inject/clear FAULT'
    on the server's command line, one at a time (each waits for the echo)."""

    def __init__(self, command_fd, echo):
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self._slave = slave
        self.path = os.ttyname(slave)
        self.command_fd = command_fd
        self.echo = echo
        self.frames = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        buf = b''
        while True:
            try:
                buf += os.read(self.master, 64)
            except OSError:
                return
            while len(buf) >= 4:
                if buf[0] != 0xA0:
                    buf = buf[1:]
                    continue
                frame, buf = buf[:4], buf[4:]
                if (frame[0] + frame[1] + frame[2]) & 0xFF != frame[3]:
                    continue
                self.frames.append(bytes(frame))
                name = CHANNELS.get(frame[1])
                if name:
                    n = len(self.echo.lines)
                    os.write(self.command_fd, ('%s %s\n' % ('inject' if frame[2] else 'clear',
                                                           name)).encode())
                    self.echo.wait_for(n)


def serve(speed, config_path, seconds=None):
    sc = load_scenario(str(HERE / 'scenarios' / 'hai-50.yaml'))
    out_dir = Path(config_path).resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)
    key_file = out_dir / 'pump.key'
    key_file.write_bytes(TEST_KEY)
    counter = out_dir / 'pump.key.counter'
    if counter.exists():
        counter.unlink()
    r, w = os.pipe()
    echo = Echo()
    server = Server(sc, PtyTransport(), speed=speed, stdin=os.fdopen(r, 'r'), out=echo)
    plant = server.sim.plant
    balance = SimBalance(lambda: plant.delivered_ul / 1000.0 * WATER_G_PER_ML)
    relay = SimRelay(w, echo)
    cfg = {'pump': {'port': server.transport.describe(), 'key_file': str(key_file),
                    'counter_file': str(counter), 'time_scale': speed},
           'balance': {'port': balance.path},
           'relay': {'port': relay.path, 'channels': {v: k for k, v in CHANNELS.items()}}}
    Path(config_path).write_text(yaml.safe_dump(cfg, sort_keys=False))
    print('simbench: pump %s, balance %s, relay %s, speed %g; config %s'
          % (cfg['pump']['port'], balance.path, relay.path, speed, config_path), flush=True)

    def stop(*_a):
        server.stop_flag = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.run(max_s=seconds * speed if seconds else None)
    finally:
        balance.close()
        print(server.summary(), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m acceptance.simbench')
    ap.add_argument('--speed', type=float, default=20.0, help='times real time (default 20)')
    ap.add_argument('--config', default='out/simbench/bench.yaml')
    ap.add_argument('--for', dest='seconds', type=float, default=None,
                    help='stop after this many wall seconds')
    a = ap.parse_args(argv)
    if not a.speed > 0:
        print('simbench: --speed %r: must be > 0' % a.speed, file=sys.stderr)
        return 2
    serve(a.speed, a.config, a.seconds)
    return 0


if __name__ == '__main__':
    sys.exit(main())
