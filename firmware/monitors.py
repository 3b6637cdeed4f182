"""Monitors: syringe empty / near empty, pressure sensor plausibility,
over- and under-infusion, power and battery. One `check()` per tick.

- Syringe (plunger travel sensor, um of travel left): EMPTY (high) while
  delivering at 100 um or less (`_EMPTY_UM`; the dead space
  keeps a normally completed program above it); once a second the time left to
  that point at the current rate is computed (`time_left_s`, for status) and
  NEAR EMPTY (medium, delivery goes on) is raised while it is under
  `near_empty_s` AND the syringe holds less than the program still needs
  (a program that ends first completes normally, without the pre-alarm).
- Pressure sensor: STUCK (high) when the raw reading has not changed at all
  for `pressure_stuck_s` while delivering (a live sensor always shows some
  noise); DRIFT (medium) when the reading stays 20 mmHg (`_DRIFT_X10`)
  below zero gauge for 2 s (the line never goes below zero: valve and
  artery hold it up, the relief never aspirates), so a negative offset or a
  downward drift shows; clears above half that. Out of range is the pump's
  raw range check. An upward offset cannot be told from real pressure
  without a zero reference (the hard ceiling still bounds it).
- Over / under infusion (high): the plunger travel sensor against the
  steps the motor emitted. Snapshots (steps, travel) are taken every
  window/4 of delivery (window 15 min, `_WINDOW_MS`) (and at least 25 um of expected travel); each new
  one is compared with the one a full window back: plunger travel more than
  `infusion_error_pct` above or below the steps' travel alarms. Restarted at
  every start / resume, after 128 steps (backlash, up to 50 um) so the
  first judgement comes a window after that. Catches lost steps after the
  counter (a skipping rotor), a slipping lead screw or half-nut. A syringe
  of the wrong diameter moves exactly as commanded: not visible here.
- Power, once a second: ON BATTERY (low) off mains; on battery LOW BATTERY
  (medium) under `battery_low_mv`, BATTERY CRITICAL (high, motor stops)
  under `battery_critical_mv`; clear with 50 mV hysteresis or on mains.
On a peristaltic pump (setting pump_kind 1) the travel-based checks are off.

The monitors raise nothing themselves: `check()` returns how many findings
it put in `found` (in the order found), each an alarm code plus what was
seen: `_FOUND_SEEN` (the condition is there), `_FOUND_GONE` (it is not) or
`_FOUND_EVENT` (it happened). The Pump turns them into alarms, so the motor stops first in one
place (Pump.raise_alarm).
Allocation-free: integers only, all under 2**30 (steps * nm < 1e8 over one
syringe's travel).
"""
from firmware.compat import const

# alarm codes (pumphost.codes; tests/test_device_codes.py checks them)
_A_SYRINGE_EMPTY = const(12)
_A_SYRINGE_NEAR_EMPTY = const(13)
_A_OVER_INFUSION = const(14)
_A_UNDER_INFUSION = const(15)
_A_ON_BATTERY = const(16)
_A_LOW_BATTERY = const(10)
_A_BATTERY_CRITICAL = const(17)
_A_PRESSURE_STUCK = const(18)
_A_PRESSURE_DRIFT = const(19)

_SLOTS = const(4)
_SETTLE_STEPS = const(128)
_MIN_UM = const(100)       # expected travel a judgement needs (+-1 um sensor: 2 %)
_NEG_TICKS = const(20)
_HYST_MV = const(50)
_EMPTY_UM = const(100)     # travel left at the end of the syringe (dead space is more)
_DRIFT_X10 = const(200)    # 20 mmHg below zero gauge: not a line pressure
_WINDOW_MS = const(900000)  # over / under infusion: 15 min

# a finding: alarm code + one of these (pumphost.codes FOUND_*)
_FOUND_SEEN = const(32)
_FOUND_GONE = const(64)
_FOUND_EVENT = const(96)


class Monitors:
    def __init__(self, s):
        self.s = s
        t = s.tick_ms
        self.stuck = s.pressure_stuck_s * 1000 // t
        self.slot = _WINDOW_MS // (t * _SLOTS)
        self.time_left_s = -1   # syringe, at the current rate; -1 unknown
        self._raw = -1
        self._same = 0
        self._neg = 0
        self._rp = [0] * _SLOTS   # snapshot: motor position
        self._rt = [0] * _SLOTS   # snapshot: plunger travel left
        self._n = 0
        self._i = 0
        self._t = 0
        self._lp = 0
        self._sec = 0
        self.found = bytearray(10)   # findings of the last check (at most 8)

    def restart(self, pos):
        """Motion (re)starts: the over/under comparison starts afresh."""
        self._n = 0
        self._lp = pos

    def check(self, pump, raw, delivering):
        """One tick's checks; returns the number of findings in `found`."""
        found = self.found
        nf = 0
        hal = pump.hal
        s = self.s
        # pressure sensor: stuck, below zero
        if raw == self._raw:
            if self._same < self.stuck:
                self._same += 1
            elif delivering:
                found[nf] = _A_PRESSURE_STUCK | _FOUND_SEEN
                nf += 1
        else:
            self._raw = raw
            self._same = 0
            found[nf] = _A_PRESSURE_STUCK | _FOUND_GONE
            nf += 1
        p = pump.pressure_x10
        if p < -_DRIFT_X10:
            self._neg += 1
            if self._neg >= _NEG_TICKS:
                found[nf] = _A_PRESSURE_DRIFT | _FOUND_SEEN
                nf += 1
        elif p > -_DRIFT_X10 // 2:
            self._neg = 0
            found[nf] = _A_PRESSURE_DRIFT | _FOUND_GONE
            nf += 1
        # syringe empty (no plunger on a peristaltic pump: travel checks off)
        left = 0
        if not s.pump_kind:
            travel = hal.syringe.plunger_travel_um()
            left = travel - _EMPTY_UM
            if left <= 0:
                if delivering:
                    found[nf] = _A_SYRINGE_EMPTY | _FOUND_SEEN
                    nf += 1
            else:
                found[nf] = _A_SYRINGE_EMPTY | _FOUND_GONE
                nf += 1
            # over / under infusion
            if delivering:
                f = self._delivery(hal.motor.position(), travel)
                if f:
                    found[nf] = f
                    nf += 1
        self._sec -= 1
        if self._sec > 0:
            return nf
        self._sec = 1000 // s.tick_ms
        # once a second: time left, near empty, power
        rate = pump.course.rate_nl_h
        if left > 0 and rate > 0 and pump.program is not None:
            if left > 1000000:
                left = 1000000
            nl = left * 1000 // s.step_travel_nm * (pump.step_pl // 1000)
            r = rate // 60            # nL per minute
            if r < 1:
                r = 1
            m = nl // r               # minutes (capped: 69 days)
            t = (m if m < 100000 else 100000) * 60 + nl % r * 60 // r
            self.time_left_s = t
            if t < s.near_empty_s and nl < pump.remaining_nl():
                if delivering:
                    found[nf] = _A_SYRINGE_NEAR_EMPTY | _FOUND_SEEN
                    nf += 1
            else:
                found[nf] = _A_SYRINGE_NEAR_EMPTY | _FOUND_GONE
                nf += 1
        else:
            self.time_left_s = -1 if left > 0 or s.pump_kind else 0
        pw = hal.power
        if pw.on_mains():
            found[nf] = _A_ON_BATTERY | _FOUND_GONE
            nf += 1
            found[nf] = _A_LOW_BATTERY | _FOUND_GONE
            nf += 1
            found[nf] = _A_BATTERY_CRITICAL | _FOUND_GONE
            nf += 1
            return nf
        found[nf] = _A_ON_BATTERY | _FOUND_SEEN
        nf += 1
        mv = pw.battery_mv()
        lim = s.battery_critical_mv
        if mv < lim:
            found[nf] = _A_BATTERY_CRITICAL | _FOUND_SEEN
            nf += 1
        elif mv >= lim + _HYST_MV:
            found[nf] = _A_BATTERY_CRITICAL | _FOUND_GONE
            nf += 1
        lim = s.battery_low_mv
        if mv < lim:
            found[nf] = _A_LOW_BATTERY | _FOUND_SEEN
            nf += 1
        elif mv >= lim + _HYST_MV:
            found[nf] = _A_LOW_BATTERY | _FOUND_GONE
            nf += 1
        return nf

    def _delivery(self, pos, travel):
        """Over / under infusion: a finding or 0."""
        rp = self._rp
        rt = self._rt
        if self._n == 0:
            if pos - self._lp < _SETTLE_STEPS:
                return 0
        else:
            self._t += 1
            nm = self.s.step_travel_nm
            if self._t < self.slot or (pos - self._lp) * nm < _MIN_UM * 1000 // _SLOTS:
                return 0
        i = self._i
        f = 0
        if self._n == _SLOTS:
            nm = self.s.step_travel_nm
            exp = (pos - rp[i]) * nm // 1000        # um the steps should move
            act = rt[i] - travel                    # um the plunger moved
            pct = self.s.infusion_error_pct
            if act * 100 > exp * (100 + pct):
                f = _A_OVER_INFUSION | _FOUND_EVENT
            elif act * 100 < exp * (100 - pct):
                f = _A_UNDER_INFUSION | _FOUND_EVENT
        else:
            self._n += 1
        rp[i] = pos
        rt[i] = travel
        self._i = (i + 1) % _SLOTS
        self._lp = pos
        self._t = 0
        return f
