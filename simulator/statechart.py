"""The firmware's state table loaded into `transitions` on the host.

Used for two things: a cross-check that the device's tiny engine and
`transitions` agree on every (state, trigger) pair, and a mermaid diagram of
the table for the docs. Guards become `conditions`, actions become `before`
callbacks, which is the order the device engine uses too.
"""
from pathlib import Path

from transitions import Machine

from firmware import table as T


class GuardModel:
    """A model whose guards all return `verdict` and whose actions record.

    Guards and actions are methods of the class, as on the Pump: the device
    engine resolves them on the model's class and calls them with the model."""

    def __init__(self, verdict=True):
        self.verdict = verdict
        self.calls = []


def _guard(name):
    def guard(self, *_args, **_kw):
        self.calls.append(('guard', name))
        return self.verdict
    return guard


def _action(name):
    def action(self, *_args, **_kw):
        self.calls.append(('action', name))
    return action


for _row in T.transitions():
    if _row[3]:
        setattr(GuardModel, _row[3], _guard(_row[3]))
    if _row[4]:
        setattr(GuardModel, _row[4], _action(_row[4]))


def transitions_rows():
    """The table as `transitions` dicts, in table order."""
    rows = []
    for sources, trigger, dest, guard, action in T.transitions():
        src = '*' if sources is None else [T.STATE_NAMES[s] for s in sources]
        row = {'trigger': T.TRIGGER_NAMES[trigger], 'source': src, 'dest': T.STATE_NAMES[dest]}
        if guard:
            row['conditions'] = guard
        if action:
            row['before'] = action
        rows.append(row)
    return rows


def build_machine(model, initial=None):
    return Machine(model=model, states=list(T.STATE_NAMES), transitions=transitions_rows(),
                   initial=initial or T.STATE_NAMES[T.INITIAL], auto_transitions=False,
                   ignore_invalid_triggers=True)


def mermaid():
    """The table rendered by `transitions`' own mermaid graph engine."""
    from transitions.extensions.diagrams import GraphMachine

    model = GuardModel()
    GraphMachine(model=model, states=list(T.STATE_NAMES), transitions=transitions_rows(),
                 initial=T.STATE_NAMES[T.INITIAL], auto_transitions=False,
                 graph_engine='mermaid', show_conditions=True, title='HAI pump')
    return model.get_graph().draw(None).strip()


def write_mermaid_doc(path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '# Pump state machine\n\n'
        'Generated from `firmware/table.py` by `pumpsim diagram` (`make diagram`),\n'
        'through the `transitions` library\'s mermaid engine; do not edit by hand (a\n'
        'test checks this file matches the table). Labels read `trigger [guard]`;\n'
        'rows for the same state and trigger are tried in table order and the first\n'
        'whose guard passes fires. Actions (run before the state changes) are listed\n'
        'in the table itself.\n\n'
        '```mermaid\n' + mermaid() + '\n```\n')
    return path
