"""The device under test as the acceptance suite sees it, on any target.

A `Dut` holds the host's `PumpClient` (the real serial protocol: framing,
signing, retries), the `Rig` and the conformance monitor. Time passes only
through `wait()`: on a simulated target in lockstep (the plant and the
firmware advance tick by tick while the host waits, thousands of times real
time), on a bench in real time. Everything the device reports while the
suite waits (telemetry, STATUS) is recorded as a sample with the rig's
readings beside it and handed to the monitor; the journal is read and
checked at the end of a test and around every power cycle.

Tests read figures through `record(name, value, unit)`; the report shows
them with the plots of the samples.
"""
import hashlib
import time

from pumphost.client import PumpClient

from acceptance.monitor import ConformanceMonitor, WIRE_NAMES
from acceptance.rig import WATER_G_PER_ML

TELEMETRY_PERIOD_MS = 1000
HEARTBEAT_S = 5.0          # a STATUS now and then: the host is present (no link-loss)


class Dut:
    def __init__(self, target, client, rig, tick_s=None):
        self.target = target
        self.client = client
        self.rig = rig
        self.tick_s = tick_s
        self.monitor = ConformanceMonitor()
        self.samples = []      # dicts: t_s, state, pressure_mmhg, device_ml, balance_ml, line_mmhg, alarms
        self.marks = []        # (t_s, label)
        self.figures = []      # (name, value, unit)
        self.journal_records = []
        self.info = client.hello()
        # this test's journal starts here (a bench's pump keeps the earlier tests' records)
        self.journal_from = client.journal_page(0, 1)['total']
        self.last = None
        self._heartbeat_due = 0.0
        self.audible = False
        client.telemetry(TELEMETRY_PERIOD_MS)
        self.status()

    # ------------------------------------------------------------ time
    def now_s(self):
        raise NotImplementedError

    def _advance(self):
        """Let a little time pass (one tick, or a short real-time wait)."""
        raise NotImplementedError

    def wait(self, seconds, until=None, heartbeat=True):
        """Let `seconds` pass, recording what the device reports. `until(sample)`
        True ends the wait at that sample, which is returned (else None).
        heartbeat=False: the host stays silent (a lost link)."""
        end = self.now_s() + seconds
        if not heartbeat:
            self._heartbeat_due = end + 1
        while self.now_s() < end:
            self._advance()
            for d in self._events():
                s = self._sample(d)
                if until is not None and until(s):
                    return s
            if self.now_s() >= self._heartbeat_due:
                s = self.status()
                if until is not None and until(s):
                    return s
        return None

    def audible_during(self, seconds):
        """Was the alarm heard at any moment of the next `seconds`?"""
        self.audible = False
        self.wait(seconds)
        return self.audible

    def delivered_ml(self):
        return self.status()['device_ml']

    def wait_for_state(self, wire_state, within_s):
        return self.wait(within_s, until=lambda s: s['state'] == wire_state)

    def wait_for_alarm(self, code, within_s):
        return self.wait(within_s, until=lambda s: code in s['alarms'])

    def _events(self):
        return self.client.events(0)

    # ------------------------------------------------------------ samples
    def _sample(self, d):
        rig = self.rig
        s = {'t_s': round(self.now_s(), 3), 'state': d['state'],
             'state_name': WIRE_NAMES.get(d['state'], str(d['state'])),
             'pressure_mmhg': d['pressure_mmhg_x10'] / 10.0,
             'device_ml': d['delivered_nl'] / 1e6,
             'rate_ml_h': d['rate_nl_h'] / 1e6,
             'alarms': [a['code'] for a in d['alarms']],
             'balance_ml': (rig.balance_g() / WATER_G_PER_ML) if rig.has('balance') else None,
             'line_mmhg': rig.line_pressure_mmhg() if rig.has('line_pressure') else None}
        self.samples.append(s)
        self.last = s
        self.monitor.observe_wire(s['t_s'], s['state'])
        return s

    def status(self):
        self._heartbeat_due = self.now_s() + HEARTBEAT_S
        return self._sample(self.client.status())

    def mark(self, label):
        self.marks.append((round(self.now_s(), 3), label))

    def record(self, name, value, unit=''):
        self.figures.append((name, value, unit))
        return value

    # ------------------------------------------------------------ therapy
    def program(self, steps, drugs=(), flags=0):
        """Load a program; the device's review (raises Nak if refused). A
        program given without its drug carries saline 9 mg/mL (the carrier):
        the pump takes only programs that name their drug."""
        from pumphost.client import encode_program
        from acceptance.helpers import drug_entry, SALINE
        if not drugs:
            drugs = [drug_entry(SALINE, 9.0)]
        return self.client.load_program(encode_program(steps, drugs, flags))

    def start_program(self, steps, drugs=(), flags=0):
        """Load, confirm the hash the device shows, start: the nurse's two steps."""
        review = self.program(steps, drugs, flags)
        self.client.confirm(review['program_hash'])
        self.client.start()
        self.mark('start')
        self.status()
        return review

    def inject(self, name, **params):
        self.rig.inject(name, **params)
        self.mark('inject ' + name)

    def clear(self, name):
        self.rig.clear(name)
        self.mark('clear ' + name)

    def power_cycle(self, off_s):
        """Supply off now, back after off_s; the host says hello again."""
        self.read_journal()
        self.mark('power off')
        self.rig.power_cycle(off_s)
        self.monitor.rebooted()
        self.mark('power on')
        self.client.signer = None   # a new session: sign on from the counter the device shows
        self.info = self.client.hello()
        self.client.telemetry(TELEMETRY_PERIOD_MS)
        return self.status()

    # ------------------------------------------------------------ journal
    def read_journal(self):
        recs = self.client.journal(self.journal_from)
        self.journal_records = recs
        self.monitor.observe_journal(recs)
        return recs

    def journal_events(self, event):
        return [r for r in self.read_journal() if r[2] == event]

    def reset_to_idle(self):
        """A pump that earlier tests used (a bench): alarms acknowledged, therapy
        stopped, back to IDLE; RigError if it will not go there."""
        from protocol import codes as W
        from acceptance.rig import RigError
        s = self.status()
        if s['state'] == W.STATE_ALARM:
            self.client.ack_alarm()
            s = self.status()
        if s['state'] != W.STATE_IDLE:
            self.client.stop()
            s = self.status()
        if s['state'] != W.STATE_IDLE:
            raise RigError('the pump does not return to IDLE before the test (%s)'
                           % s['state_name'])
        self.samples = []
        self.monitor = ConformanceMonitor()
        self.status()

    def finish(self):
        """End of a test: the whole journal through the monitor."""
        self.read_journal()
        return self.monitor.summary()

    def close(self):
        try:
            self.client.close()
        finally:
            self.rig.close()


class LockstepDut(Dut):
    """A simulated target: the host's reads let the device's ticks pass."""

    def __init__(self, target, device, port, rig, key, image_hash):
        self.device = device
        self.port = port
        self.image_hash = image_hash
        client = PumpClient(port=port, key=key, timeout=5.0, retries=0)
        Dut.__init__(self, target, client, rig, tick_s=device.tick_ms / 1000.0)

    def now_s(self):
        return self.device.hal.clock.elapsed_ms / 1000.0

    def _advance(self):
        self.port.run(1)
        if not self.audible and self.rig.alarm_sounding():
            self.audible = True

    def _events(self):
        # only frames already on the line: reading an empty port would tick
        return self.client.events(0) if self.port.in_waiting else []

    def close(self):
        try:
            Dut.close(self)
        finally:
            self.device.close()


class RealtimeDut(Dut):
    """A pump on a serial port: time is the wall clock, times `time_scale`
    (1 for a real pump; a simulated bench's device runs faster)."""

    def __init__(self, target, client, rig, image_hash, time_scale=1.0):
        self.t0 = time.monotonic()
        self.time_scale = float(time_scale)
        self.image_hash = image_hash
        Dut.__init__(self, target, client, rig)

    def now_s(self):
        return (time.monotonic() - self.t0) * self.time_scale

    def _advance(self):
        pass   # events() below waits on the line

    def _events(self):
        return self.client.events(0.2)


def tree_hash(paths):
    """sha256 over (relative name, bytes) of the given files, sorted."""
    h = hashlib.sha256()
    for name, path in sorted(paths):
        h.update(name.encode() + b'\0')
        with open(path, 'rb') as fh:
            h.update(fh.read())
    return h.hexdigest()

