"""Tab completion for `pumpsim shell` (readline): commands, then what each
command takes next (faults and their parameters, states, alarms,
quantities, condition kinds)."""
from pumphost import catalog
from firmware.table import STATE_NAMES
from simulator.plant import faults
from simulator.ui import debug

CONDITION_KINDS = ['alarm', 'state', 'probe', 'journal'] + list(debug.QUANTITIES)
EXPECT_KINDS = ['state', 'alarm', 'no', 'motor', 'result'] + list(debug.QUANTITIES) + ['moved']


def _condition_words(words):
    """What comes next after `run until` + words."""
    if not words:
        return CONDITION_KINDS
    kind = words[0]
    if len(words) == 1:
        if kind == 'state':
            return list(STATE_NAMES)
        if kind == 'alarm':
            return list(catalog.ALARM_NAMES[1:]) + ['max']
        if kind in debug.QUANTITIES:
            return list(debug.OPS)
        if kind == 'probe':
            return ['max']
        return []
    if words[-1] == 'max':
        return ['30s', '5min', '1h', '48h']
    return ['max']


def candidates(line, commands):
    """Words that may come next, given the text before the cursor (the
    last word, possibly partial, is what gets completed)."""
    words = line.split()
    if line and not line[-1].isspace():
        words = words[:-1]          # the word being typed
    if not words:
        return list(commands)
    cmd, rest = words[0], words[1:]
    if cmd in ('inject', 'clear'):
        if not rest:
            return sorted(faults.FAULTS)
        f = faults.FAULTS.get(rest[0])
        params = f.defaults if f else {}
        return ['%s=' % p for p in sorted(params)]
    if cmd == 'run':
        if not rest:
            return ['until']
        return _condition_words(rest[1:]) if rest[0] == 'until' else []
    if cmd == 'watch':
        return list(debug.QUANTITIES) + ['moved', 'every'] if not rest or rest[-1] != 'every' else ['tick', '1s', '10s']
    if cmd == 'expect':
        if not rest:
            return EXPECT_KINDS
        kind = rest[0]
        if kind == 'state' and len(rest) == 1:
            return list(STATE_NAMES)
        if kind == 'alarm' and len(rest) == 1:
            return list(catalog.ALARM_NAMES[1:])
        if kind == 'alarm' and len(rest) == 2:
            return list(catalog.PRIORITY_NAMES[1:])
        if kind == 'no':
            return ['alarm'] if len(rest) == 1 else list(catalog.ALARM_NAMES[1:])
        if kind == 'motor':
            return ['stopped', 'forward', 'reverse']
        if kind in debug.QUANTITIES or kind == 'moved':
            return ['since'] + list(debug.OPS) if len(rest) == 1 else (
                ['mark'] if rest[-1] == 'since' else list(debug.OPS))
        return []
    if cmd == 'step':
        return ['1', '30s', '5min', '3min30s', '1h']
    return []


class Completer:
    """readline's completer(text, state) over candidates()."""

    def __init__(self, commands, readline):
        self.commands = commands
        self.readline = readline
        self.matches = []

    def __call__(self, text, state):
        if state == 0:
            line = self.readline.get_line_buffer()[:self.readline.get_endidx()]
            self.matches = [w + ('' if w.endswith('=') else ' ')
                            for w in candidates(line, self.commands) if w.startswith(text)]
        return self.matches[state] if state < len(self.matches) else None


def install(commands):
    """Tab completion at the interactive prompt (no-op without readline)."""
    try:
        import readline
    except ImportError:
        return False
    readline.set_completer_delims(' \t')
    readline.set_completer(Completer(commands, readline))
    readline.parse_and_bind('tab: complete')
    return True
