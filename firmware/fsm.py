"""A tiny interpreter for the declarative table in `firmware.table`.

The table is compiled once into one flat list, five entries per row
(trigger, mask of source states, dest, guard, action), guard and action
names resolved to the model class's plain functions (called with the model:
no bound-method objects to keep), plus a bytearray index: for each (state, trigger) the position + 1 of
the first row that can fire, 0 for none. `fire()` starts there and walks on in
table order over rows of the same trigger whose mask holds the state, so rows
are tried in table order as the table says. It allocates nothing, so the
control tick may call it under `heap_lock()`; the index keeps the compiled
machine small (a per-pair tuple of candidate rows cost about 6 KB of heap on
the 64-bit unix port, a tuple per row with bound methods 2.6 KB, this about
1.1 KB).
"""


class Machine:
    def __init__(self, model, n_states, n_triggers, table, initial):
        if len(table) > 254 or n_states > 30:
            # the index is a bytearray; masks must stay small ints on boards
            raise ValueError('state table too large (254 rows, 30 states)')
        self.state = initial
        self.model = model
        self._nt = n_triggers
        cls = type(model)
        # one list, sized once and kept: growing it, or copying it into a
        # tuple, would need two of it on the heap at the boot peak
        rows = [None] * (5 * len(table))
        j = 0
        for sources, trigger, dest, guard, action in table:
            mask = 0
            for s in (range(n_states) if sources is None else sources):
                mask |= 1 << s
            rows[j] = trigger
            rows[j + 1] = mask
            rows[j + 2] = dest
            rows[j + 3] = getattr(cls, guard) if guard else None
            rows[j + 4] = getattr(cls, action) if action else None
            j += 5
        first = bytearray(n_states * n_triggers)
        for i in range(len(table) - 1, -1, -1):   # backwards: the first row wins
            trigger, mask = rows[5 * i], rows[5 * i + 1]
            for s in range(n_states):
                if (mask >> s) & 1:
                    first[s * n_triggers + trigger] = i + 1
        self._rows = rows
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
        model = self.model
        i = 5 * (i - 1)
        while i < n:
            if rows[i] == trigger and (rows[i + 1] >> src) & 1:
                guard = rows[i + 3]
                if guard is None or guard(model):
                    action = rows[i + 4]
                    if action is not None:
                        action(model)
                    dest = rows[i + 2]
                    self.state = dest
                    if self.on_change is not None:
                        self.on_change(src, trigger, dest)
                    return True
            i += 5
        return False
