"""A tiny interpreter for the declarative table in `firmware.table`.

The table is compiled once into a flat list indexed by
state * n_triggers + trigger, holding the candidate rows in table order, with
guard and action names already resolved to bound methods. `fire()` then does
no allocation, so the control tick may call it under `heap_lock()`.
"""


class Machine:
    def __init__(self, model, n_states, n_triggers, table, initial):
        self.state = initial
        self._nt = n_triggers
        slots = [None] * (n_states * n_triggers)
        for sources, trigger, dest, guard, action in table:
            if sources is None:
                sources = range(n_states)
            row = (dest,
                   getattr(model, guard) if guard else None,
                   getattr(model, action) if action else None)
            for s in sources:
                i = s * n_triggers + trigger
                slots[i] = (slots[i] or ()) + (row,)
        self._slots = slots
        self.on_change = None  # callback(src, trigger, dest), set by the model

    def can_fire(self, trigger):
        """True if some row exists for (state, trigger); guards not evaluated."""
        return self._slots[self.state * self._nt + trigger] is not None

    def fire(self, trigger):
        """Try `trigger` in the current state. Returns True if a row fired."""
        rows = self._slots[self.state * self._nt + trigger]
        if rows is None:
            return False
        for row in rows:
            guard = row[1]
            if guard is None or guard():
                src = self.state
                action = row[2]
                if action is not None:
                    action()
                self.state = row[0]
                if self.on_change is not None:
                    self.on_change(src, trigger, row[0])
                return True
        return False
