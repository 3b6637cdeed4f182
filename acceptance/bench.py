"""The real bench behind the rig interface: `--target bench --bench bench.yaml`.

bench.yaml (every section but `pump` optional; what is missing is a
capability the rig lacks, and the tests that need it are skipped with that
reason):

  pump:     {port: /dev/ttyUSB0, key_file: pump.key, counter_file: pump.key.counter,
             baudrate: 115200, time_scale: 1}    # time_scale: a simulated bench's speed-up
  balance:  {port: /dev/ttyUSB1, baudrate: 9600}          # MT-SICS (pumphost/mtsics.py)
  relay:    {port: /dev/ttyUSB2, channels: {downstream_occlusion: 1, supply: 2}}
  operator: {tty: /dev/tty, timeout_s: 300, faults: [air_bubble, syringe_removed]}

* balance: the catheter outlet drips into a beaker on the balance (with an
  evaporation trap); it is zeroed when a test starts. Grams / 0.998 = mL.
* relay: a serial relay board (LCUS protocol: 4 bytes A0, channel, state,
  sum mod 256). A fault channel energised = fault present (a pinch valve on
  the catheter for downstream_occlusion); the `supply` channel energised =
  supply cut.
* operator: faults the bench cannot make by itself are asked of the operator
  on the terminal; the prompt waits for "done" at most timeout_s (else the
  test fails with RigError), and every prompt, answer and the seconds it took
  are recorded in `rig.log` (the report's evidence of the confirmation).
"""
import os
import select
import time

import yaml

from acceptance.dut import RealtimeDut
from pumphost.mtsics import MtSicsBalance
from acceptance.rig import Rig, RigError


class BenchConfigError(Exception):
    pass


class SerialRelay:
    """LCUS-type serial relay board: A0 <channel> <0|1> <sum>."""

    def __init__(self, url, port=None):
        if port is None:
            import serial
            port = serial.serial_for_url(url, baudrate=9600, timeout=0.1)
        self.port = port
        self.state = {}

    def set(self, channel, on):
        ch = int(channel)
        v = 1 if on else 0
        self.port.write(bytes((0xA0, ch, v, (0xA0 + ch + v) & 0xFF)))
        self.state[ch] = bool(on)

    def close(self):
        self.port.close()


def _read_line_until(fd, deadline):
    """One line from fd, unbuffered (select sees what is left), or None at the deadline."""
    out = b''
    while True:
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            return None
        b = os.read(fd, 1)
        if not b or b == b'\n':
            return out.decode('utf-8', 'replace').strip()
        out += b


class OperatorPrompt:
    """Asks the operator to do something and waits for "done" (with a timeout)."""

    def __init__(self, infile, outfile, timeout_s=300.0):
        self.infile = infile
        self.outfile = outfile
        self.timeout_s = timeout_s
        self.log = []

    def _readline(self, deadline):
        return _read_line_until(self.infile.fileno(), deadline)

    def ask(self, action):
        t0 = time.monotonic()
        self.outfile.write('\n[bench] %s, then type "done" (%d s): ' % (action, self.timeout_s))
        self.outfile.flush()
        answer = self._readline(t0 + self.timeout_s)
        waited = round(time.monotonic() - t0, 1)
        self.log.append({'prompt': action, 'answer': answer, 'waited_s': waited,
                         'utc': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())})
        if answer is None:
            raise RigError('operator did not confirm "%s" within %d s' % (action, self.timeout_s))
        if answer.lower() != 'done':
            raise RigError('operator answered %r to "%s" (not done)' % (answer, action))


FAULT_ACTIONS = {
    'downstream_occlusion': ('clamp the catheter fully', 'release the catheter clamp'),
    'air_bubble': ('inject a 100 uL air bubble at the syringe outlet', 'prime the line free of air'),
    'syringe_removed': ('take the syringe out of the cradle', 'put the syringe back and close the clamp'),
    'motor_stall': ('block the drive (stall jig)', 'remove the stall jig'),
}


class BenchRig(Rig):
    def __init__(self, balance=None, relay=None, relay_channels=None, operator=None,
                 operator_faults=()):
        self.balance = balance
        self.relay = relay
        self.channels = dict(relay_channels or {})
        self.operator = operator
        self.operator_faults = tuple(f for f in operator_faults if f in FAULT_ACTIONS)
        caps = set()
        if balance is not None:
            caps.add('balance')
            balance.zero()
        if relay is not None:
            caps.update('fault:' + f for f in self.channels if f != 'supply')
            if 'supply' in self.channels:
                caps.add('power_cycle')
        if operator is not None:
            caps.update('fault:' + f for f in self.operator_faults)
            caps.add('power_cycle')
        self.capabilities = frozenset(caps)

    @property
    def log(self):
        return self.operator.log if self.operator is not None else []

    def _switch(self, name, on, params):
        if self.relay is not None and name in self.channels:
            self.relay.set(self.channels[name], on)
        elif self.operator is not None and name in self.operator_faults:
            self.operator.ask(FAULT_ACTIONS[name][0 if on else 1])
        else:
            raise RigError('the bench cannot %s %s' % ('inject' if on else 'clear', name))

    def inject(self, name, **params):
        self._switch(name, True, params)

    def clear(self, name):
        self._switch(name, False, {})

    def balance_g(self):
        if self.balance is None:
            raise RigError('the bench has no balance')
        return self.balance.weight_g(stable=False)

    def power_cycle(self, off_s):
        if self.relay is not None and 'supply' in self.channels:
            self.relay.set(self.channels['supply'], True)
            time.sleep(off_s)
            self.relay.set(self.channels['supply'], False)
        elif self.operator is not None:
            self.operator.ask('switch the pump supply OFF (mains and battery)')
            time.sleep(off_s)
            self.operator.ask('switch the pump supply back ON')
        else:
            raise RigError('the bench cannot switch the supply')
        time.sleep(2.0)    # the board boots

    def close(self):
        for dev in (self.balance, self.relay):
            if dev is not None:
                dev.close()


def load_config(path):
    try:
        with open(path) as fh:
            cfg = yaml.safe_load(fh) or {}
    except OSError as e:
        raise BenchConfigError('bench config %s: %s' % (path, e.strerror))
    if not isinstance(cfg, dict) or 'pump' not in cfg or 'port' not in (cfg['pump'] or {}):
        raise BenchConfigError('bench config %s: pump.port missing (the pump\'s serial port)'
                               % path)
    return cfg


def make_rig(cfg):
    bal = cfg.get('balance')
    rel = cfg.get('relay')
    op = cfg.get('operator')
    operator = None
    if op:
        tty_path = op.get('tty', '/dev/tty')
        f = open(tty_path, 'r+')
        operator = OperatorPrompt(f, f, float(op.get('timeout_s', 300)))
    return BenchRig(
        balance=MtSicsBalance(bal['port'], baudrate=int(bal.get('baudrate', 9600))) if bal else None,
        relay=SerialRelay(rel['port']) if rel else None,
        relay_channels=(rel or {}).get('channels'),
        operator=operator, operator_faults=(op or {}).get('faults', ()))


def open_bench(path, target_name, scenario):
    """A RealtimeDut on the bench's pump with its rig (the scenario's pump and
    patient are the bench's own; the suite's programs go over the link)."""
    from pumphost.client import PumpClient, read_key_file
    cfg = load_config(path)
    p = cfg['pump']
    key = read_key_file(p['key_file']) if p.get('key_file') else None
    client = PumpClient(p['port'], key=key, counter_file=p.get('counter_file'),
                        baudrate=int(p.get('baudrate', 115200)))
    rig = make_rig(cfg)
    info = client.hello()
    image = 'reported: %s %s' % (info.get('fw_version'), info.get('serial'))
    for name in rig.channels:          # no fault left on from a test before
        if name != 'supply':
            rig.clear(name)
    dut = RealtimeDut(target_name, client, rig, image_hash=image,
                      time_scale=float(p.get('time_scale', 1.0)))
    dut.reset_to_idle()
    return dut

