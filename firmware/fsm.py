"""A tiny interpreter for the declarative table in `firmware.table`.

The table is compiled once into one tuple of rows (trigger, mask of source
states, dest, guard, action), guard and action names resolved to bound
methods, plus a bytearray index: for each (state, trigger) the position + 1 of
the first row that can fire, 0 for none. `fire()` starts there and walks on in
table order over rows of the same trigger whose mask holds the state, so rows
are tried in table order as the table says. It allocates nothing, so the
control tick may call it under `heap_lock()`; the index keeps the compiled
machine small (a per-pair tuple of candidate rows cost about 6 KB of heap on
the 64-bit unix port, this about 2.5 KB).
"""


class Machine:
    def __init__(self, model, n_states, n_triggers, table, initial):
        if len(table) > 254 or n_states > 30:
            # the index is a bytearray; masks must stay small ints on boards
            raise ValueError('state table too large (254 rows, 30 states)')
        self.state = initial
        self._nt = n_triggers
        rows = []
        for sources, trigger, dest, guard, action in table:
            mask = 0
            for s in (range(n_states) if sources is None else sources):
                mask |= 1 << s
            rows.append((trigger, mask, dest,
                         getattr(model, guard) if guard else None,
                         getattr(model, action) if action else None))
        first = bytearray(n_states * n_triggers)
        for i in range(len(rows) - 1, -1, -1):   # backwards: the first row wins
            trigger, mask = rows[i][0], rows[i][1]
            for s in range(n_states):
                if (mask >> s) & 1:
                    first[s * n_triggers + trigger] = i + 1
        self._rows = tuple(rows)
        self._first = first
        self.on_change = None  # callback(src, trigger, dest), set by the model

    def can_fire(self, trigger):
        """True if some row exists for (state, trigger); guards not evaluated."""
        return self._first[self.state * self._nt + trigger] != 0

    def fire(self, trigger):
        """Try `trigger` in the current state. Returns True if a row fired."""
        src = self.state
        i = self._first[src * self._nt + trigger]
        if i == 0:
            return False
        rows = self._rows
        n = len(rows)
        i -= 1
        while i < n:
            row = rows[i]
            if row[0] == trigger and (row[1] >> src) & 1:
                guard = row[3]
                if guard is None or guard():
                    action = row[4]
                    if action is not None:
                        action()
                    self.state = row[2]
                    if self.on_change is not None:
                        self.on_change(src, trigger, row[2])
                    return True
            i += 1
        return False
