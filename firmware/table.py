"""The pump's behaviour as ONE declarative table.

`transitions()` returns the rows (sources, trigger, dest, guard, action). `sources` is a tuple of state
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
S_BOLUS = const(8)            # a bolus step (motor runs)
S_KVO = const(9)              # keep-vein-open after the last step (motor runs)
S_DWELL = const(10)           # a program pause step (motor held)
S_SYRINGE_CHANGE = const(11)  # waits for the user to confirm a new syringe

STATE_NAMES = ('POST', 'IDLE', 'PROGRAMMED', 'RUNNING', 'PAUSED', 'ALARM',
               'COMPLETE', 'FAULT', 'BOLUS', 'KVO', 'DWELL', 'SYRINGE_CHANGE')

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
T_TO_RUN = const(12)      # program steps: into the state the next step runs in
T_TO_BOLUS = const(13)
T_TO_KVO = const(14)
T_TO_DWELL = const(15)
T_TO_SYRINGE = const(16)
T_RECOVERED = const(17)   # POST found a therapy interrupted by a power cut

TRIGGER_NAMES = ('post_ok', 'post_fail', 'load', 'confirm', 'start', 'pause',
                 'resume', 'stop', 'complete', 'alarm', 'ack', 'fault',
                 'to_run', 'to_bolus', 'to_kvo', 'to_dwell', 'to_syringe', 'recovered')

ANY = None

# States in which the motor may turn. Everything else holds it stopped.
DELIVERING = (S_RUNNING, S_BOLUS, S_KVO)
# States of a running program (delivering, or between steps of it)
IN_PROGRAM = (S_RUNNING, S_BOLUS, S_KVO, S_DWELL)


def transitions():
    """The rows, built on demand: the device compiles them once into its
    engine (firmware.fsm) and lets the tuple go (about 2 KB of heap on the
    64-bit unix port), the host loads them into `transitions`."""
    return (
        # sources                                   trigger      dest          guard              action
        ((S_POST,),                                 T_POST_OK,   S_IDLE,       None,              'on_post_ok'),
        ((S_POST,),                                 T_POST_FAIL, S_FAULT,      None,              'on_fault'),
        ((S_POST,),                                 T_RECOVERED, S_ALARM,      None,              'on_recovered'),
        ((S_IDLE, S_PROGRAMMED, S_COMPLETE),        T_LOAD,      S_PROGRAMMED, 'program_valid',   'on_load'),
        ((S_PROGRAMMED,),                           T_CONFIRM,   S_PROGRAMMED, 'hash_matches',    'on_confirm'),
        ((S_PROGRAMMED,),                           T_START,     S_RUNNING,    'can_start',       'on_start'),
        (IN_PROGRAM,                                T_PAUSE,     S_PAUSED,     None,              'on_pause'),
        ((S_PAUSED,),                               T_RESUME,    S_RUNNING,    'can_resume',      'on_resume'),
        ((S_SYRINGE_CHANGE,),                       T_RESUME,    S_RUNNING,    'syringe_ready',   'on_syringe_changed'),
        ((S_PROGRAMMED, S_RUNNING, S_PAUSED, S_COMPLETE,
          S_BOLUS, S_KVO, S_DWELL, S_SYRINGE_CHANGE), T_STOP,    S_IDLE,       None,              'on_stop'),
        (IN_PROGRAM,                                T_COMPLETE,  S_COMPLETE,   None,              'on_complete'),
        (IN_PROGRAM,                                T_TO_RUN,    S_RUNNING,    None,              None),
        (IN_PROGRAM,                                T_TO_BOLUS,  S_BOLUS,      None,              None),
        (IN_PROGRAM,                                T_TO_KVO,    S_KVO,        None,              'on_kvo'),
        (IN_PROGRAM,                                T_TO_DWELL,  S_DWELL,      None,              'on_hold'),
        (IN_PROGRAM,                                T_TO_SYRINGE, S_SYRINGE_CHANGE, None,         'on_hold'),
        ((S_PROGRAMMED, S_RUNNING, S_PAUSED, S_COMPLETE, S_ALARM,
          S_BOLUS, S_KVO, S_DWELL, S_SYRINGE_CHANGE), T_ALARM,   S_ALARM,      None,              'on_alarm'),
        ((S_ALARM,),                                T_ACK,       S_PAUSED,     'alarms_cleared',  'on_ack'),
        ((S_ALARM,),                                T_ACK,       S_ALARM,      None,              'on_ack'),
        (ANY,                                       T_FAULT,     S_FAULT,      None,              'on_fault'),
    )

INITIAL = S_POST
