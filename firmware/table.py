"""The pump's behaviour as ONE declarative table.

Rows are (sources, trigger, dest, guard, action). `sources` is a tuple of state
codes or ANY. Rows for the same (state, trigger) are tried in table order; the
first whose guard passes fires. A guard/action is the name of a method on the
model (the `Pump`), or None. The action runs after the guard passed and
before the state changes (the `before` callback in `transitions` terms), so an
action that stops the motor has done so before anyone sees the new state.

The device interprets this table with `firmware.fsm`; the host loads the very
same rows into `transitions` (see `simulator.statechart`) for diagrams and a
cross-check that both engines agree on every (state, trigger) pair.
"""
from firmware.compat import const

S_POST = const(0)
S_IDLE = const(1)
S_PROGRAMMED = const(2)
S_RUNNING = const(3)
S_PAUSED = const(4)
S_ALARM = const(5)
S_COMPLETE = const(6)
S_FAULT = const(7)

STATE_NAMES = ('POST', 'IDLE', 'PROGRAMMED', 'RUNNING', 'PAUSED', 'ALARM',
               'COMPLETE', 'FAULT')

T_POST_OK = const(0)
T_POST_FAIL = const(1)
T_LOAD = const(2)
T_CONFIRM = const(3)
T_START = const(4)
T_PAUSE = const(5)
T_RESUME = const(6)
T_STOP = const(7)
T_COMPLETE = const(8)
T_ALARM = const(9)
T_ACK = const(10)
T_FAULT = const(11)

TRIGGER_NAMES = ('post_ok', 'post_fail', 'load', 'confirm', 'start', 'pause',
                 'resume', 'stop', 'complete', 'alarm', 'ack', 'fault')

ANY = None

# States in which the motor may turn. Everything else holds it stopped.
DELIVERING = (S_RUNNING,)

TRANSITIONS = (
    # sources                                   trigger      dest          guard              action
    ((S_POST,),                                 T_POST_OK,   S_IDLE,       None,              'on_post_ok'),
    ((S_POST,),                                 T_POST_FAIL, S_FAULT,      None,              'on_fault'),
    ((S_IDLE, S_PROGRAMMED, S_COMPLETE),        T_LOAD,      S_PROGRAMMED, 'program_valid',   'on_load'),
    ((S_PROGRAMMED,),                           T_CONFIRM,   S_PROGRAMMED, 'hash_matches',    'on_confirm'),
    ((S_PROGRAMMED,),                           T_START,     S_RUNNING,    'can_start',       'on_start'),
    ((S_RUNNING,),                              T_PAUSE,     S_PAUSED,     None,              'on_pause'),
    ((S_PAUSED,),                               T_RESUME,    S_RUNNING,    'can_resume',      'on_resume'),
    ((S_PROGRAMMED, S_RUNNING, S_PAUSED,
      S_COMPLETE),                              T_STOP,      S_IDLE,       None,              'on_stop'),
    ((S_RUNNING,),                              T_COMPLETE,  S_COMPLETE,   None,              'on_complete'),
    ((S_PROGRAMMED, S_RUNNING, S_PAUSED,
      S_COMPLETE, S_ALARM),                     T_ALARM,     S_ALARM,      None,              'on_alarm'),
    ((S_ALARM,),                                T_ACK,       S_PAUSED,     'alarms_cleared',  'on_ack'),
    ((S_ALARM,),                                T_ACK,       S_ALARM,      None,              'on_ack'),
    (ANY,                                       T_FAULT,     S_FAULT,      None,              'on_fault'),
)

INITIAL = S_POST
