"""A dashboard target over the serial link: a board, or `pumpsim serve`
(either runtime), through the same PumpClient session pumpctl uses.

One thread owns the client (it is not thread-safe): it reads telemetry
(re-armed every few seconds, which also keeps the link alive), fetches new
journal records and the program review, and runs the page's commands
between reads. Therapy commands (resume, start, ack, audio pause) are
signed by the client with the key given to pumpctl. The device's internal
figures (filters, baseline, probe) do not cross the link: the page says so.
"""
import queue
import threading
import time
from concurrent.futures import Future

from protocol.describe import state_name
from pumphost import catalog
from pumphost.client import LinkError
from pumphost.dashboard.record import SessionRecord
from pumphost.dashboard.server import CommandError

TELEMETRY_MS = 250
KEEPALIVE_S = 3.0
JOURNAL_S = 2.0
PRIORITIES = ('info', 'low', 'medium', 'high')
DELIVERING = ('RUNNING', 'KVO', 'BOLUS')
STEP_KINDS = {1: 'continuous', 2: 'ramp', 3: 'bolus', 4: 'pause', 5: 'kvo', 6: 'syringe change',
              7: 'cycle'}
COMMANDS = ('pause', 'resume', 'stop', 'start', 'ack', 'audio_pause')


def _alarm_name(code):
    names = catalog.ALARM_NAMES
    return names[code] if 0 <= code < len(names) else 'alarm_%d' % code


class SerialTarget:
    kind = 'serial'
    actions = COMMANDS      # what the page may ask (a subclass may add its own)

    def __init__(self, client, url):
        self.client = client
        self.url = url
        self.rec = SessionRecord()
        self.lock = threading.Lock()
        self.commands = queue.Queue()
        self.status = None
        self.program = None
        self.info = None
        self.link = 'connecting to %s' % url
        self._closed = False
        self._prev_state = None
        self._prev_alarms = set()
        self._uptime = None
        self._uptime_at = 0.0
        self._journal_next = 0
        self._course = None        # (t0, [(rate_ml_h, volume_ml)])
        self.thread = threading.Thread(target=self._worker, name='serial-dashboard', daemon=True)
        self.thread.start()

    # ------------------------------------------------------------ link thread
    def _worker(self):
        c = self.client
        last_keep = last_journal = 0.0
        while not self._closed:
            try:
                if self.info is None:
                    self.info = c.hello()
                    self._review()
                    c.telemetry(TELEMETRY_MS)
                    last_keep = time.monotonic()
                for d in c.events(0.1):
                    self._telemetry(d)
                self._run_commands()
                now = time.monotonic()
                if now - last_keep > KEEPALIVE_S:
                    last_keep = now
                    c.telemetry(TELEMETRY_MS)
                if now - last_journal > JOURNAL_S:
                    last_journal = now
                    self._journal()
                with self.lock:
                    self.link = 'live over %s' % self.url
            except LinkError as e:
                with self.lock:
                    self.link = 'LINK LOST (%s): retrying' % e
                self.info = None
                self._run_commands()
                time.sleep(0.5)
        try:
            c.telemetry(0)
        except LinkError:
            pass

    def _run_commands(self):
        while True:
            try:
                action, args, fut = self.commands.get_nowait()
            except queue.Empty:
                return
            try:
                fut.set_result(self._execute(action, args))
            except CommandError as e:
                fut.set_exception(e)

    def _execute(self, action, args):
        c = self.client
        t = self._now()
        try:
            if action == 'ack':
                c.ack_alarm(0)
            elif action == 'audio_pause':
                c.audio_pause(int(args['seconds']))
            elif action in COMMANDS:
                getattr(c, action)()
            else:
                return self.link_action(action, args)
        except LinkError as e:    # a NAK, a timeout, or no key for a signed command
            self.rec.event(t, 'command', '%s refused: %s' % (action, e))
            return {'ok': False, 'message': '%s: %s' % (action, e)}
        kind = action if action in ('ack', 'resume') else 'command'
        self.rec.event(t, kind, '%s -> ok' % action)
        if action in ('start', 'resume'):
            self._review()
        return {'ok': True, 'message': '%s: ok' % action}

    def link_action(self, action, args):
        """A subclass's own action, run on the link thread (owns the client)."""
        raise CommandError('action %r: not on this target' % action)

    def _review(self):
        try:
            r = self.client.review()
        except LinkError:      # no program loaded: the device NAKs the review
            return
        steps = [{'kind': STEP_KINDS.get(s['kind'], str(s['kind'])), 'rate_ml_h': s['rate_nl_h'] / 1e6,
                  'volume_ml': s['volume_nl'] / 1e6, 'duration_s': s['duration_s']}
                 for s in r['steps']]
        with self.lock:
            self.program = {'steps': steps, 'current': None,
                            'total_ml': r['total_volume_nl'] / 1e6}

    def _journal(self):
        from pumphost.pumpctl import EVENT_NAMES   # the core's and the link's names
        recs = self.client.journal(self._journal_next)
        lines = []
        for seq, t, ev, a, b, ok in recs:
            name = EVENT_NAMES.get(ev, 'event_%d' % ev)
            detail = ('%s at %.1f mmHg' % (_alarm_name(a), b / 10.0) if name == 'alarm'
                      else 'a=%d b=%d' % (a, b))
            lines.append({'seq': seq, 't_s': t, 'text': '%s %s%s' % (
                name, detail, '' if ok else ' (CRC BAD)')})
        if recs:
            self._journal_next += len(recs)
            self.rec.journal_lines(lines)

    def _now(self):
        """Device uptime (whole seconds on the wire), interpolated between
        changes by the host clock."""
        if self._uptime is None:
            return 0.0
        return self._uptime + min(0.999, time.monotonic() - self._uptime_at)

    def _telemetry(self, d):
        if d['uptime_s'] != self._uptime:
            self._uptime = d['uptime_s']
            self._uptime_at = time.monotonic()
        t = self._now()
        st = state_name(d['state']).upper()
        if st != self._prev_state:
            if self._prev_state is not None:
                self.rec.event(t, 'note', 'state %s -> %s' % (self._prev_state, st))
            self._prev_state = st
        self.rec.state(t, st)
        alarms = {(a['code'], a['priority']) for a in d['alarms']}
        for code, pr in sorted(alarms - self._prev_alarms):
            self.rec.event(t, 'alarm', '%s (%s priority) at %.1f mmHg' % (
                _alarm_name(code), PRIORITIES[pr], d['pressure_mmhg_x10'] / 10.0))
        self._prev_alarms = alarms
        with self.lock:
            prog = self.program
            if self._course is None and st in DELIVERING and prog:
                self._course = (t - d['delivered_nl'] / 1e6 / max(1e-9, prog['steps'][0]['rate_ml_h']) * 3600,
                                [(s['rate_ml_h'], s['volume_ml']) for s in prog['steps']])
            self.status = {
                't_s': t, 'state': st, 'rate_ml_h': d['rate_nl_h'] / 1e6,
                'delivered_ml': d['delivered_nl'] / 1e6, 'remaining_ml': d['remaining_nl'] / 1e6,
                'pressure_mmhg': d['pressure_mmhg_x10'] / 10.0,
                'motor_driven': st in DELIVERING,
                'alarms': [{'name': _alarm_name(a['code']), 'priority': PRIORITIES[a['priority']],
                            'acknowledged': False, 'condition': True} for a in d['alarms']],
                'audio_paused_s': 0,
            }
        p = d['pressure_mmhg_x10'] / 10.0
        v = d['delivered_nl'] / 1e6
        self.rec.sample({'t': t, 'pressure': p, 'sensed': p, 'baseline': None,
                         'delivered': v, 'device_delivered': v, 'course': self._course_at(t)})

    def _course_at(self, t):
        if self._course is None:
            return None
        t0, steps = self._course
        left = t - t0
        v = 0.0
        for rate, vol in steps:
            if rate <= 0:
                continue
            d = vol / rate * 3600.0
            if left <= d:
                return v + rate * left / 3600.0
            v += vol
            left -= d
        return v

    # ------------------------------------------------------------ page side
    def describe(self):
        info = self.info or {}
        return {'kind': self.kind, 'name': 'pump on %s' % self.url,
                'detail': 'serial %s, firmware %s' % (info.get('serial', '?'), info.get('fw_version', '?')),
                'faults': {}, 'states': [], 'alarms': list(catalog.ALARM_NAMES[1:]),
                'quantities': {}, 'controls': ['device', 'audio_pause']}

    def snapshot(self, cursor):
        data, cursor = self.rec.since(cursor)
        with self.lock:
            data['status'] = self.status or {
                't_s': 0.0, 'state': '-', 'rate_ml_h': 0.0, 'delivered_ml': 0.0,
                'remaining_ml': 0.0, 'pressure_mmhg': 0.0, 'motor_driven': False,
                'alarms': [], 'audio_paused_s': 0}
            data['program'] = self.program
            data['internals'] = None
            data['sim'] = None
            data['link'] = self.link
        return data, cursor

    def command(self, action, args):
        if action not in self.actions:
            raise CommandError('action %r: a pump over the serial link takes %s' % (
                action, ', '.join(self.actions)))
        if action == 'audio_pause':
            try:
                s = int(args.get('seconds', 120))
            except (TypeError, ValueError):
                s = -1
            if not 1 <= s <= 120:
                raise CommandError('seconds=%r: 1 to 120' % args.get('seconds'))
            args = {'seconds': s}
        return self.on_link_thread(action, args)

    def on_link_thread(self, action, args):
        fut = Future()
        self.commands.put((action, args, fut))
        try:
            return fut.result(timeout=30)
        except TimeoutError:
            return {'ok': False, 'message': '%s: no answer from the link thread in 30 s' % action}

    def close(self):
        self._closed = True
        self.thread.join(timeout=3)
        self.client.close()
