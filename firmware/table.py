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

_S_POST = const(0)
_S_IDLE = const(1)
_S_PROGRAMMED = const(2)
_S_RUNNING = const(3)
_S_PAUSED = const(4)
_S_ALARM = const(5)
_S_COMPLETE = const(6)
_S_FAULT = const(7)
_S_BOLUS = const(8)            # a bolus step (motor runs)
_S_KVO = const(9)              # keep-vein-open after the last step (motor runs)
_S_DWELL = const(10)           # a program pause step (motor held)
_S_SYRINGE_CHANGE = const(11)  # waits for the user to confirm a new syringe

STATE_NAMES = ('POST', 'IDLE', 'PROGRAMMED', 'RUNNING', 'PAUSED', 'ALARM',
               'COMPLETE', 'FAULT', 'BOLUS', 'KVO', 'DWELL', 'SYRINGE_CHANGE')

_T_POST_OK = const(0)
_T_POST_FAIL = const(1)
_T_LOAD = const(2)
_T_CONFIRM = const(3)
_T_START = const(4)
_T_PAUSE = const(5)
_T_RESUME = const(6)
_T_STOP = const(7)
_T_COMPLETE = const(8)
_T_ALARM = const(9)
_T_ACK = const(10)
_T_FAULT = const(11)
_T_TO_RUN = const(12)      # program steps: into the state the next step runs in
_T_TO_BOLUS = const(13)
_T_TO_KVO = const(14)
_T_TO_DWELL = const(15)
_T_TO_SYRINGE = const(16)
_T_RECOVERED = const(17)   # POST found a therapy interrupted by a power cut

TRIGGER_NAMES = ('post_ok', 'post_fail', 'load', 'confirm', 'start', 'pause',
                 'resume', 'stop', 'complete', 'alarm', 'ack', 'fault',
                 'to_run', 'to_bolus', 'to_kvo', 'to_dwell', 'to_syringe', 'recovered')

ANY = None

# States in which the motor may turn. Everything else holds it stopped.
DELIVERING = (_S_RUNNING, _S_BOLUS, _S_KVO)
# States of a running program (delivering, or between steps of it)
IN_PROGRAM = (_S_RUNNING, _S_BOLUS, _S_KVO, _S_DWELL)


def transitions():
    """The rows. The device compiles them once into its engine
    (firmware.fsm); MicroPython folds this constant tuple into the bytecode,
    so it leaves the heap only with the module: Pump calls this through
    compat.call_transient, which unloads firmware.table afterwards (1.7 KB
    on the 64-bit unix port). The host loads the rows into `transitions`."""
    return (
        # sources                                   trigger      dest          guard              action
        ((_S_POST,),                                 _T_POST_OK,   _S_IDLE,       None,              'on_post_ok'),
        ((_S_POST,),                                 _T_POST_FAIL, _S_FAULT,      None,              'on_fault'),
        ((_S_POST,),                                 _T_RECOVERED, _S_ALARM,      None,              'on_recovered'),
        ((_S_IDLE, _S_PROGRAMMED, _S_COMPLETE),        _T_LOAD,      _S_PROGRAMMED, 'program_valid',   'on_load'),
        ((_S_PROGRAMMED,),                           _T_CONFIRM,   _S_PROGRAMMED, 'hash_matches',    'on_confirm'),
        ((_S_PROGRAMMED,),                           _T_START,     _S_RUNNING,    'can_start',       'on_start'),
        (IN_PROGRAM,                                _T_PAUSE,     _S_PAUSED,     None,              'stop_motor'),
        ((_S_PAUSED,),                               _T_RESUME,    _S_RUNNING,    'can_resume',      'on_resume'),
        ((_S_SYRINGE_CHANGE,),                       _T_RESUME,    _S_RUNNING,    'syringe_ready',   'on_syringe_changed'),
        ((_S_PROGRAMMED, _S_RUNNING, _S_PAUSED, _S_COMPLETE,
          _S_BOLUS, _S_KVO, _S_DWELL, _S_SYRINGE_CHANGE), _T_STOP,    _S_IDLE,       None,              'on_stop'),
        (IN_PROGRAM,                                _T_COMPLETE,  _S_COMPLETE,   None,              'on_complete'),
        (IN_PROGRAM,                                _T_TO_RUN,    _S_RUNNING,    None,              None),
        (IN_PROGRAM,                                _T_TO_BOLUS,  _S_BOLUS,      None,              None),
        (IN_PROGRAM,                                _T_TO_KVO,    _S_KVO,        None,              'on_kvo'),
        (IN_PROGRAM,                                _T_TO_DWELL,  _S_DWELL,      None,              'stop_motor'),
        (IN_PROGRAM,                                _T_TO_SYRINGE, _S_SYRINGE_CHANGE, None,         'stop_motor'),
        ((_S_PROGRAMMED, _S_RUNNING, _S_PAUSED, _S_COMPLETE, _S_ALARM,
          _S_BOLUS, _S_KVO, _S_DWELL, _S_SYRINGE_CHANGE), _T_ALARM,   _S_ALARM,      None,              'stop_motor'),
        ((_S_ALARM,),                                _T_ACK,       _S_PAUSED,     'alarms_cleared',  'on_ack'),
        ((_S_ALARM,),                                _T_ACK,       _S_ALARM,      None,              'on_ack'),
        (ANY,                                       _T_FAULT,     _S_FAULT,      None,              'on_fault'),
    )

INITIAL = _S_POST
