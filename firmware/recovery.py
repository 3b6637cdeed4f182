"""Power-loss recovery: put an interrupted therapy back, stopped, at boot.

Imported by the Pump's POST only when the newest valid checkpoint
(firmware.checkpoint) shows a started therapy in RUNNING, PAUSED, ALARM or
FAULT, i.e. the power went without a clean stop or completion; a normal
boot never loads this module.

`restore()` reads the stored program (its crc16 must be the one the
checkpoint names), re-validates it against the device's own limits, and puts
back the program position (step index, motor steps left in the step,
scheduler phase, start-up fill progress), the delivered volume and the step
count, and the alarms that were latched. Then the Pump fires `recovered`:
POST -> ALARM with the high-priority alarm "power interrupted" (an event
alarm: acknowledge clears it). Nothing moves until the user acknowledges
(ALARM -> PAUSED) and resumes (PAUSED -> RUNNING): that is the confirmation.
If the program cannot be restored, the device still boots into the alarm
with the delivered volume journaled, and can only be stopped.

Journal: _EV_ALARM (power interrupted), then _EV_POWER_RECOVERED (a =
delivered_nl, b = step index, -1 if the program was lost).
Boot time only: allocates freely.
"""
import struct

from firmware.compat import const
from firmware.crc16 import crc16
from firmware import program as P

# codes from pumphost.codes (private: no heap; tests/test_device_codes.py checks them)
_A_POWER_INTERRUPTED = const(9)
_EV_ALARM = const(3)
_EV_POWER_RECOVERED = const(40)
_F_HOLDING = const(2)
_K_PAUSE = const(4)
_K_RAMP = const(2)
_K_SYRINGE = const(6)
_N_ALARMS = const(21)
_PROGRAM_AT = const(132)
_PROGRAM_MAX = const(712)

# fields of a decoded checkpoint slot (firmware.checkpoint.FMT)
_STATE = const(2)
_FLAGS = const(3)
_STEP_INDEX = const(4)
_STEPS = const(5)
_DELIVERED = const(6)
_STEP_LEFT = const(7)
_PL_REM = const(8)
_ALARMS = const(9)
_SCHED = const(10)
_FILL_LEFT = const(11)
_FILL_STEPS = const(12)
_FILL_MS = const(13)
_PROG_CRC = const(14)
_SUB = const(15)
_CYC_AT = const(16)
_CYC_LEFT = const(17)
_DWELL_LEFT = const(18)
_CUM_NL = const(19)


def read_program(ckpt, crc):
    """The stored program encoding if valid and its crc16 is `crc`, else None."""
    hdr = bytearray(4)
    ckpt.storage.readinto(ckpt.base + _PROGRAM_AT, hdr)
    n, c = struct.unpack('<HH', hdr)
    if n < 2 or n > _PROGRAM_MAX or c != crc:
        return None
    body = bytearray(n)
    ckpt.storage.readinto(ckpt.base + _PROGRAM_AT + 4, body)
    if crc16(body) != c:
        return None
    return bytes(body)


def _program(pump, ck):
    enc = read_program(pump.ckpt, ck[_PROG_CRC])
    if enc is None:
        return None, 'stored program unreadable'
    prog = P.decode(enc, len(enc))
    if prog is None:
        return None, 'stored program malformed'
    err = prog.validate(pump.settings)
    if err is not None:
        return None, 'stored program refused: ' + err
    if ck[_STEP_INDEX] >= len(prog.steps):
        return None, 'checkpoint step %d beyond the program' % ck[_STEP_INDEX]
    return prog, None


def restore(pump, ck):
    """Restore the therapy of checkpoint `ck` (decoded slot) into `pump`
    (still in POST, motor stopped). Returns True if the program is back."""
    prog, err = _program(pump, ck)
    if prog is not None:
        pump.program = prog
        pump.program_digest = prog.digest()
        pump.confirmed = True
        pump.started = True
        pump.ckpt.prog_crc = ck[_PROG_CRC]
        i = ck[_STEP_INDEX]
        s = prog.steps[i]
        sub = ck[_SUB]
        if s[0] != _K_RAMP or sub >= P.ramp_parts(s[3]):
            sub = 0
        dwell_end = 0
        if s[0] == _K_PAUSE or s[0] == _K_SYRINGE:
            left = ck[_DWELL_LEFT]
            dwell_end = pump.uptime_s + (left if left > 0 else 0)
        cum = ck[_CUM_NL]
        cyc = ck[_CYC_AT]
        pump.course.restore(prog.steps, i, sub, dwell_end, cum,
                            cum * 1000 // pump.step_pl,   # rounded down, as the course does
                            ck[_STEP_LEFT], -1 if cyc == 255 else cyc, ck[_CYC_LEFT],
                            ck[_PL_REM], ck[_DELIVERED], ck[_STEPS])
        fill = pump.fill
        fill.left = ck[_FILL_LEFT]
        fill.steps = ck[_FILL_STEPS]
        fill.ms = ck[_FILL_MS]
        fill.holding = bool(ck[_FLAGS] & _F_HOLDING)
        if fill.left and not fill.holding:
            pump.sched.set_rate(fill.rate)   # the fill was pushing
        pump.sched.restore_phase(ck[_SCHED])
    else:
        # the counts are still known (and journaled), the position is not
        pump.course.restore((), 0, 0, 0, 0, 0, 0, -1, 0, 0, ck[_DELIVERED], ck[_STEPS])
        pump.last_error = 'power interrupted: ' + err
    al = pump.alarms
    mask = ck[_ALARMS]
    for code in range(1, _N_ALARMS):
        if (mask >> code) & 1:
            al.raise_alarm(code)      # latched again, unacknowledged; the
            al.condition_gone(code)   # monitors re-raise what is still there
    al.raise_alarm(_A_POWER_INTERRUPTED)
    al.condition_gone(_A_POWER_INTERRUPTED)
    j = pump.journal
    j.log(pump.uptime_s, _EV_ALARM, _A_POWER_INTERRUPTED, pump.pressure_x10)
    j.log(pump.uptime_s, _EV_POWER_RECOVERED, pump.course.delivered_nl,
          ck[_STEP_INDEX] if prog is not None else -1)
    return prog is not None
