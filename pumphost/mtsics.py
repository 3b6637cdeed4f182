"""A laboratory balance over MT-SICS (Mettler Toledo Standard Interface
Command Set), on any pyserial URL, and a simulated MT-SICS balance on a pty.

MT-SICS level 0/1 as used here (ASCII lines ending CR LF):

  command   answer                         meaning
  @         I4 A "<serial>"                reset (cancels commands, keeps zero/tare)
  I2        I2 A "<model> <capacity> g"    balance data
  I4        I4 A "<serial>"                serial number
  S         S S <weight> <unit>            stable weight (waits for stability)
  SI        S S|D <weight> <unit>          weight now; D = dynamic (not stable)
  Z         Z A                            zero (stable)
  T         T S <weight> <unit>            tare with the stable weight
  errors    S I (busy), S + / S - (over/underload), Z I / Z + / Z -,
            ES (syntax), ET (transmission), EL (logical)

`MtSicsBalance(url).weight_g()` returns grams (units g, mg, kg converted);
anything but a weight is a `BalanceError` with one line naming the command
and the answer. `SimBalance(mass_g)` answers the same commands on a pty from
a callable giving the mass in grams (readability 0.1 mg, a settling model for
S), so the driver is exercised on a real serial line.
"""
import os
import select
import threading
import time
import tty

UNITS_G = {'g': 1.0, 'mg': 1e-3, 'kg': 1e3}


class BalanceError(Exception):
    pass


class MtSicsBalance:
    def __init__(self, url, baudrate=9600, timeout_s=5.0, port=None):
        if port is None:
            import serial
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05)
        self.port = port
        self.url = url
        self.timeout_s = timeout_s
        self._buf = b''
        self.port.write(b'@\r\n')      # reset: a half-sent command from before is dropped
        self._line('@')

    def close(self):
        self.port.close()

    def _line(self, cmd):
        deadline = time.monotonic() + self.timeout_s
        while b'\r\n' not in self._buf:
            if time.monotonic() > deadline:
                raise BalanceError('balance %s: no answer to %s within %.1f s'
                                   % (self.url, cmd, self.timeout_s))
            self._buf += self.port.read(64)
        line, self._buf = self._buf.split(b'\r\n', 1)
        return line.decode('ascii', 'replace').strip()

    def command(self, cmd):
        """Send one command; its answer line (errors raised)."""
        self.port.write(cmd.encode('ascii') + b'\r\n')
        ans = self._line(cmd)
        if ans in ('ES', 'ET', 'EL'):
            raise BalanceError('balance %s: %s answered %s (%s)' % (
                self.url, cmd, ans, {'ES': 'syntax error', 'ET': 'transmission error',
                                     'EL': 'logical error'}[ans]))
        return ans

    def _weight(self, cmd):
        ans = self.command(cmd)
        parts = ans.split()
        if len(parts) == 2 and parts[0] == 'S':
            raise BalanceError('balance %s: %s answered %r (%s)' % (
                self.url, cmd, ans, {'I': 'busy', '+': 'overload', '-': 'underload'}.get(
                    parts[1], 'not a weight')))
        if len(parts) != 4 or parts[0] != 'S' or parts[1] not in ('S', 'D'):
            raise BalanceError('balance %s: %s answered %r, expected "S S <weight> <unit>"'
                               % (self.url, cmd, ans))
        unit = parts[3]
        if unit not in UNITS_G:
            raise BalanceError('balance %s: unit %r; set the balance to g, mg or kg'
                               % (self.url, unit))
        try:
            value = float(parts[2])
        except ValueError:
            raise BalanceError('balance %s: weight %r is not a number' % (self.url, parts[2]))
        return value * UNITS_G[unit], parts[1] == 'S'

    def weight_g(self, stable=True):
        """Grams: the stable weight (S), or the weight now (SI)."""
        return self._weight('S' if stable else 'SI')[0]

    def weight_now(self):
        """(grams, stable?) without waiting."""
        return self._weight('SI')

    def zero(self):
        ans = self.command('Z')
        if ans != 'Z A':
            raise BalanceError('balance %s: zero refused (%s)' % (self.url, ans))

    def serial_number(self):
        ans = self.command('I4')
        return ans.split('"')[1] if ans.count('"') >= 2 else ans


class SimBalance:
    """An MT-SICS balance on a pty: `path` is the port to open.

    mass_g(): the mass on the pan now. Readability 0.1 mg. A weight is stable
    when it moved less than 0.3 mg over the last `settle_s` of readings."""

    def __init__(self, mass_g, serial='B934567890', model='XS205DU', settle_s=0.0):
        self.mass_g = mass_g
        self.serial = serial
        self.model = model
        self.settle_s = settle_s
        self.zero_g = 0.0
        self.tare_g = 0.0
        self.commands = []
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self._slave = slave
        self.path = os.ttyname(slave)
        self._stop = False
        self._history = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _net(self):
        return self.mass_g() - self.zero_g - self.tare_g

    def _fmt(self, grams):
        return '%10.4f g' % grams

    def _stable(self):
        now = time.monotonic()
        m = self.mass_g()
        self._history = [(t, v) for t, v in self._history if now - t <= self.settle_s] + [(now, m)]
        vals = [v for _t, v in self._history]
        return max(vals) - min(vals) < 0.0003

    def answer(self, cmd):
        self.commands.append(cmd)
        if cmd == '@' or cmd == 'I4':
            return 'I4 A "%s"' % self.serial
        if cmd == 'I2':
            return 'I2 A "%s 220.0000 g"' % self.model
        if cmd in ('S', 'SI'):
            net = self._net()
            if net > 220.0:
                return 'S +'
            if net < -220.0:
                return 'S -'
            return 'S %s %s' % ('S' if self._stable() else ('D' if cmd == 'SI' else 'S'),
                                self._fmt(round(net, 4)))
        if cmd == 'Z':
            self.zero_g = self.mass_g()
            self.tare_g = 0.0
            return 'Z A'
        if cmd == 'T':
            self.tare_g = self.mass_g() - self.zero_g
            return 'T S %s' % self._fmt(round(self.tare_g, 4))
        return 'ES'

    def _serve(self):
        buf = b''
        while not self._stop:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(self.master, 256)
            except OSError:
                return
            buf += data
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                cmd = line.strip().decode('ascii', 'replace')
                if cmd:
                    os.write(self.master, self.answer(cmd).encode('ascii') + b'\r\n')

    def close(self):
        self._stop = True
        self._thread.join(timeout=1)
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
