"""The names of the device's numeric codes, for host code and tests.

The device modules keep each code as a private `_NAME = const(value)`: MicroPython
inlines a private const at compile time and stores nothing, while a public
one costs a global and a qstr in every module that defines or imports it
(about 60 bytes a name on the 64-bit unix port; some 100 names in the control
loop's modules). The firmware never imports this module; tests/test_device_codes.py
checks that every private copy in a device module has the value given here.
Codes are stable: they go on the wire, in the journal and in NV storage.
"""
from firmware.compat import const

# firmware/table.py
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

# firmware/alarms.py
PRIO_NONE = const(0)
PRIO_LOW = const(1)
PRIO_MEDIUM = const(2)
PRIO_HIGH = const(3)
A_OCCLUSION_DOWNSTREAM = const(1)
A_PRESSURE_HARD_LIMIT = const(2)
A_AIR_IN_LINE = const(3)
A_SYRINGE_REMOVED = const(4)
A_MOTOR_STALL = const(5)
A_PRESSURE_SENSOR = const(6)
A_LOOP_OVERRUN = const(7)
A_INFUSION_COMPLETE = const(8)
A_POWER_INTERRUPTED = const(9)
A_LOW_BATTERY = const(10)
A_AIR_ACCUMULATED = const(11)   # air over a rolling window (firmware.air)
A_SYRINGE_EMPTY = const(12)
A_SYRINGE_NEAR_EMPTY = const(13)
A_OVER_INFUSION = const(14)
A_UNDER_INFUSION = const(15)
A_ON_BATTERY = const(16)
A_BATTERY_CRITICAL = const(17)
A_PRESSURE_STUCK = const(18)
A_PRESSURE_DRIFT = const(19)
A_LINK_LOST = const(20)         # firmware.link: host link lost, paused as the program says
N_ALARMS = const(21)
AUDIO_PAUSE_MAX_MS = const(120000)

# firmware/journal.py
RECORD_SIZE = const(20)
EV_BOOT = const(1)
EV_STATE = const(2)          # a = from state, b = to state * 256 + trigger
EV_ALARM = const(3)          # a = alarm code, b = pressure_mmhg_x10
EV_ALARM_ACK = const(4)      # a = count acknowledged
EV_PROGRAM = const(5)        # a = rate_nl_h of first step, b = total volume_nl
EV_CONFIRM = const(6)
EV_CHECKPOINT = const(7)     # a = delivered_nl, b = motor steps commanded
EV_COMPLETE = const(8)       # a = delivered_nl
EV_REJECT = const(9)         # a = command/trigger, b = reason
EV_ALARM_CLEAR = const(10)   # a = alarm code
EV_FILL = const(11)          # start-up fill done: a = fill_nl, b = pressure_mmhg_x10
EV_RELIEF = const(12)        # occlusion pressure relieved: a = steps backed off, b = pressure_mmhg_x10
EV_ALARM_ESCALATE = const(16)  # medium alarm unacknowledged, now annunciated as high: a = alarm code
EV_CAL_STORED = const(30)    # calibration record written: a = step_pl, b = zero_counts * 65536 + span_counts_per_100mmhg
EV_CAL_APPLIED = const(31)   # at POST, stored calibration in use: a = step_pl, b = record seq
CAL_AREA = const(64)

# firmware/checkpoint.py
SLOT_SIZE = const(66)
PROGRAM_AT = const(132)         # 2 * SLOT_SIZE
PROGRAM_MAX = const(712)        # the largest program encoding (694), with room
AREA_SIZE = const(848)          # slots + program record (4 + PROGRAM_MAX)
F_STARTED = const(1)    # a started therapy (not stopped, not complete)
F_HOLDING = const(2)    # start-up fill repaying its overshoot
EV_POWER_RECOVERED = const(40)

# firmware/program.py
EV_OVERRIDE = const(50)         # journal: soft limit overridden, a = drug id * 256 + limit code, b = value
EV_SYRINGE_CHANGED = const(51)  # journal: syringe change confirmed, a = step index, b = delivered_nl
FLAG_OVERRIDE = const(1)
FLAG_STOP_ON_LINK_LOSS = const(2)
K_CONTINUOUS = const(1)
K_RAMP = const(2)
K_BOLUS = const(3)
K_PAUSE = const(4)
K_KVO = const(5)
K_SYRINGE = const(6)
K_CYCLE = const(7)
MAX_BYTES = const(4 + 3 * 38 + 32 * 18)

# firmware/monitors.py: a finding is an alarm code (< 32) plus one of these
FOUND_SEEN = const(32)    # the condition is there
FOUND_GONE = const(64)    # the condition is not there
FOUND_EVENT = const(96)   # it happened (an event alarm)

# firmware/reasons.py
OK = const(0)
E_BAD_STATE = const(1)
E_INVALID = const(2)
E_HASH = const(3)
E_NOT_READY = const(4)
