"""Conformance monitor: every state change the device reports is checked
against the firmware's state table, loaded into the `transitions` library.

Two sources, checked differently because they say different things:

* the journal's state records (EV_STATE: a = from state, b = to * 256 +
  trigger) name one table row exactly: the pair (from, to) must be a
  transition of `trigger` in the table, and each record must start where
  the previous one ended (a boot, EV_BOOT, starts again at POST);
* telemetry and STATUS carry the coarser wire state (protocol/SPEC.md,
  section "STATUS / TELEMETRY") and are sampled, so several table
  transitions may lie between two samples: a change of wire state must be
  explained by some path of table transitions between table states shown
  as those wire states (a power cycle, seen by the host as a new boot,
  starts again from POST).

Anything else is a `ConformanceError` naming the change, the source and
the time; the acceptance suite fails the test that saw it.
"""
from transitions import Machine

from firmware import table as T
from protocol import codes as W
from pumphost import codes as C
from pumphost.catalog import EVENT_NAMES
from simulator.statechart import transitions_rows

# Table state -> the wire states it may show (protocol/SPEC.md): PROGRAMMED is
# REVIEW until confirmed, READY after; IDLE is LOADING while chunks arrive.
WIRE_OF = {
    C.S_POST: (W.STATE_IDLE,),
    C.S_IDLE: (W.STATE_IDLE, W.STATE_LOADING),
    C.S_PROGRAMMED: (W.STATE_REVIEW, W.STATE_READY),
    C.S_RUNNING: (W.STATE_RUNNING,),
    C.S_PAUSED: (W.STATE_PAUSED,),
    C.S_ALARM: (W.STATE_ALARM,),
    C.S_COMPLETE: (W.STATE_COMPLETE,),
    C.S_FAULT: (W.STATE_FAULT,),
    C.S_BOLUS: (W.STATE_BOLUS,),
    C.S_KVO: (W.STATE_KVO,),
    C.S_DWELL: (W.STATE_DWELL,),
    C.S_SYRINGE_CHANGE: (W.STATE_SYRINGE_CHANGE,),
}
WIRE_NAMES = {W.STATE_IDLE: 'IDLE', W.STATE_LOADING: 'LOADING', W.STATE_REVIEW: 'REVIEW',
              W.STATE_READY: 'READY', W.STATE_RUNNING: 'RUNNING', W.STATE_PAUSED: 'PAUSED',
              W.STATE_STOPPED: 'STOPPED', W.STATE_COMPLETE: 'COMPLETE',
              W.STATE_ALARM: 'ALARM', W.STATE_FAULT: 'FAULT', W.STATE_BOLUS: 'BOLUS',
              W.STATE_KVO: 'KVO', W.STATE_DWELL: 'DWELL', W.STATE_SYRINGE_CHANGE: 'SYRINGE_CHANGE'}


class ConformanceError(AssertionError):
    pass


class _Model:
    """Guards answer 'maybe': the monitor asks which rows exist, not which fire."""


def _table_machine():
    rows = transitions_rows()
    model = _Model()
    for r in rows:
        for cb in (r.get('conditions'), r.get('before')):
            if cb and not hasattr(_Model, cb):
                setattr(_Model, cb, lambda self, *a, **k: True)
    return Machine(model=model, states=list(T.STATE_NAMES), transitions=rows,
                   initial=T.STATE_NAMES[T.INITIAL], auto_transitions=False,
                   ignore_invalid_triggers=True)


class StateTable:
    """Questions about the table, answered by `transitions`."""

    def __init__(self):
        self.machine = _table_machine()
        self.edges = set()
        for trig in T.TRIGGER_NAMES:
            for tr in self.machine.get_transitions(trigger=trig):
                self.edges.add((tr.source, trig, tr.dest))
        self._reach = {}

    def has(self, src, trigger, dest):
        return bool(self.machine.get_transitions(trigger=trigger, source=src, dest=dest))

    def reachable(self, src):
        """Table states reachable from `src` by one or more transitions."""
        if src not in self._reach:
            seen, todo = set(), [src]
            while todo:
                s = todo.pop()
                for a, _t, b in self.edges:
                    if a == s and b not in seen:
                        seen.add(b)
                        todo.append(b)
            self._reach[src] = seen
        return self._reach[src]


_TABLE = None


def table():
    global _TABLE
    if _TABLE is None:
        _TABLE = StateTable()
    return _TABLE


class ConformanceMonitor:
    def __init__(self):
        self.table = table()
        self.violations = []
        self.journal_checked = 0
        self.wire_changes = 0
        self._wire = None          # last wire state seen
        self._journal_state = None  # table state after the last EV_STATE
        self._journal_seen = 0

    # ------------------------------------------------------------ wire
    def _fail(self, text):
        self.violations.append(text)

    def observe_wire(self, t_s, wire_state):
        """A STATUS or TELEMETRY state at host time t_s."""
        prev = self._wire
        self._wire = wire_state
        if prev is None or prev == wire_state:
            return
        self.wire_changes += 1
        if not self._wire_explained(prev, wire_state):
            self._fail('t=%.1f s: the device went %s -> %s on the wire; no path of the state '
                       'table leads from a state shown as %s to one shown as %s'
                       % (t_s, WIRE_NAMES.get(prev, prev), WIRE_NAMES.get(wire_state, wire_state),
                          WIRE_NAMES.get(prev, prev), WIRE_NAMES.get(wire_state, wire_state)))

    def _wire_explained(self, a, b):
        names = T.STATE_NAMES
        for s, shown in WIRE_OF.items():
            if a not in shown:
                continue
            if any(b in WIRE_OF[d] for d in (T.STATE_NAMES.index(x) for x in
                                               self.table.reachable(names[s]))):
                return True
            if b in shown:     # e.g. LOADING -> IDLE, REVIEW -> READY: same table state
                return True
        return False

    def rebooted(self):
        """The host saw a power cycle: the next wire state starts from POST."""
        self._wire = W.STATE_IDLE if self._wire is None else None

    # ------------------------------------------------------------ journal
    def observe_journal(self, records):
        """All journal records (seq, time_s, event, a, b, crc_ok), oldest
        first; only those not seen before are checked."""
        names = T.STATE_NAMES
        for seq, time_s, ev, a, b, ok in records:
            if seq <= self._journal_seen:
                continue
            self._journal_seen = seq
            if not ok:
                self._fail('journal record %d: CRC error' % seq)
                continue
            if ev == C.EV_BOOT:
                self._journal_state = C.S_POST
                continue
            if ev != C.EV_STATE:
                continue
            self.journal_checked += 1
            dest, trig = b >> 8, b & 0xFF
            if not (0 <= a < len(names) and 0 <= dest < len(names)
                    and 0 <= trig < len(T.TRIGGER_NAMES)):
                self._fail('journal record %d (t=%d s): state change %d -> %d by trigger %d '
                           'names no state or trigger of the table' % (seq, time_s, a, dest, trig))
                continue
            if self._journal_state is not None and a != self._journal_state:
                self._fail('journal record %d (t=%d s): change from %s, but the device was in %s'
                           % (seq, time_s, names[a], names[self._journal_state]))
            if not self.table.has(names[a], T.TRIGGER_NAMES[trig], names[dest]):
                self._fail('journal record %d (t=%d s): %s --%s--> %s is not a transition of '
                           'the state table' % (seq, time_s, names[a], T.TRIGGER_NAMES[trig],
                                                names[dest]))
            self._journal_state = dest

    def check(self):
        if self.violations:
            raise ConformanceError('state table conformance: ' + '; '.join(self.violations[:5]))

    def summary(self):
        return {'journal_transitions_checked': self.journal_checked,
                'wire_changes_checked': self.wire_changes,
                'violations': list(self.violations)}


def journal_event_name(ev):
    return EVENT_NAMES.get(ev, 'event_%d' % ev)
