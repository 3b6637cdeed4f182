"""What a dashboard target has seen so far, for any number of browsers.

Samples (columns of floats, time first), events (time-ordered), state
bands and journal lines. Each browser holds a cursor; `since(cursor)` gives
the samples new for it (events, bands and journal lines are few: they go
whole). The sample store halves itself (every other point)
past MAX_SAMPLES, so a two-week course stays light in the page: the epoch
then changes and browsers get the whole series again.
"""
import bisect
import threading

MAX_SAMPLES = 12000
COLUMNS = ('t', 'pressure', 'sensed', 'baseline', 'delivered', 'device_delivered', 'course')


class SessionRecord:
    def __init__(self):
        self.lock = threading.RLock()
        self.cols = {c: [] for c in COLUMNS}
        self.epoch = 0
        self.stride = 1          # keep one sample per `stride` offered
        self._offered = 0
        self.events = []         # {'t_s', 'kind', 'text'} in time order
        self.bands = []          # [t0, t1, state]
        self.journal = []        # {'seq', 't_s', 'text'}

    # ---------------------------------------------------------- writing
    def sample(self, row, force=False):
        """Offer one sample (a dict with every COLUMN); kept one in `stride`
        unless `force` (the moment of a change)."""
        with self.lock:
            self._offered += 1
            if not force and self._offered % self.stride:
                self._extend_band(row['t'])
                return
            t = self.cols['t']
            if t and row['t'] < t[-1]:
                return
            for c in COLUMNS:
                self.cols[c].append(row[c])
            self._extend_band(row['t'])
            if len(t) > MAX_SAMPLES:
                for c in COLUMNS:
                    self.cols[c] = self.cols[c][::2]
                self.stride *= 2
                self.epoch += 1

    def state(self, t_s, name):
        """The device is in state `name` at t_s: extend or open a band."""
        with self.lock:
            if self.bands and self.bands[-1][2] == name:
                self.bands[-1][1] = max(self.bands[-1][1], t_s)
                return
            if self.bands:
                self.bands[-1][1] = t_s
            self.bands.append([t_s, t_s, name])

    def _extend_band(self, t_s):
        if self.bands and t_s > self.bands[-1][1]:
            self.bands[-1][1] = t_s

    def event(self, t_s, kind, text):
        """kind: inject, clear, alarm, ack, command, program, note, ..."""
        with self.lock:
            e = {'t_s': round(t_s, 3), 'kind': kind, 'text': text}
            keys = [x['t_s'] for x in self.events]
            self.events.insert(bisect.bisect_right(keys, e['t_s']), e)

    def journal_lines(self, lines):
        with self.lock:
            self.journal.extend(lines)
            del self.journal[:-200]

    # ---------------------------------------------------------- reading
    def since(self, cursor):
        """(new data, new cursor); cursor None: everything."""
        with self.lock:
            cursor = cursor or {}
            full = cursor.get('epoch') != self.epoch
            n0 = 0 if full else cursor.get('n', 0)
            out = {
                'epoch': self.epoch,
                'full': full,
                'samples': {c: self.cols[c][n0:] for c in COLUMNS},
                'events': self.events[-300:],
                'bands': [list(b) for b in self.bands],
                'journal': self.journal[-14:],
            }
            new = {'epoch': self.epoch, 'n': len(self.cols['t'])}
            return out, new
