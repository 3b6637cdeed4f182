"""Alarm catalogue and manager (IEC 60601-1-8 style priorities and patterns).

Alarms are latched: once raised an alarm stays active until acknowledged, and
its visual signal persists while its condition is still present. State lives
in preallocated bytearrays indexed by alarm code so that raising, clearing and
driving the indicators allocate nothing.
"""
from firmware.compat import const
from hal import LED_RED, LED_YELLOW, LED_CYAN, LED_GREEN

PRIO_NONE = const(0)
PRIO_LOW = const(1)
PRIO_MEDIUM = const(2)
PRIO_HIGH = const(3)

# Codes are stable: they go on the wire and in the journal. Their names live
# in firmware.catalog (host side) to keep the device heap small.
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
N_ALARMS = const(12)

ALARM_PRIORITY = (PRIO_NONE, PRIO_HIGH, PRIO_HIGH, PRIO_HIGH,
                  PRIO_HIGH, PRIO_HIGH, PRIO_HIGH, PRIO_HIGH,
                  PRIO_MEDIUM, PRIO_HIGH, PRIO_MEDIUM, PRIO_HIGH)

AUDIO_PAUSE_MAX_MS = const(120000)

# Indicator patterns: (led colour, flash period ms (0 = steady), pulses per
# burst, burst repeat ms). High: red 2 Hz, 10 pulses every 10 s. Medium:
# yellow 0.5 Hz, 3 pulses every 20 s. Low: cyan steady, one pulse every 30 s.
_LED = (LED_GREEN, LED_CYAN, LED_YELLOW, LED_RED)
_FLASH_MS = (0, 0, 2000, 500)
_PULSES = (0, 1, 3, 10)
_BURST_REPEAT_MS = (0, 30000, 20000, 10000)
_PULSE_MS = const(100)


class AlarmManager:
    def __init__(self, indicators):
        self.ind = indicators
        self.active = bytearray(N_ALARMS)      # latched
        self.condition = bytearray(N_ALARMS)   # condition currently present
        self.acked = bytearray(N_ALARMS)
        self.audio_paused_until_s = -1
        self._phase_ms = 0
        self._led_shown = -1

    def raise_alarm(self, code):
        """Latch `code`. Returns True if it was not active before."""
        self.condition[code] = 1
        if self.active[code]:
            return False
        self.active[code] = 1
        self.acked[code] = 0
        self._phase_ms = 0  # start the burst now
        return True

    def condition_gone(self, code):
        self.condition[code] = 0

    def acknowledge_all(self):
        """Acknowledge every active alarm; those whose condition is gone
        clear. Returns the number acknowledged."""
        n = 0
        for code in range(1, N_ALARMS):
            if self.active[code] and not self.acked[code]:
                self.acked[code] = 1
                n += 1
            if self.active[code] and not self.condition[code]:
                self.active[code] = 0
        return n

    def any_condition_present(self, min_priority=PRIO_HIGH):
        for code in range(1, N_ALARMS):
            if self.condition[code] and ALARM_PRIORITY[code] >= min_priority:
                return True
        return False

    def highest(self, unacked_only=False):
        best = PRIO_NONE
        for code in range(1, N_ALARMS):
            if self.active[code] and not (unacked_only and self.acked[code]):
                p = ALARM_PRIORITY[code]
                if p > best:
                    best = p
        return best

    def audio_pause(self, now_s, seconds):
        if seconds > AUDIO_PAUSE_MAX_MS // 1000:
            seconds = AUDIO_PAUSE_MAX_MS // 1000
        self.audio_paused_until_s = now_s + seconds

    def tick(self, tick_ms, now_s):
        """Drive LED and buzzer patterns. Allocation-free."""
        visual = self.highest()
        audible = self.highest(True)
        if self.audio_paused_until_s >= 0:
            if now_s < self.audio_paused_until_s:
                audible = PRIO_NONE
            else:
                self.audio_paused_until_s = -1
        self._phase_ms += tick_ms
        ind = self.ind
        led = _LED[visual]
        if led != self._led_shown:
            if self._led_shown >= 0:
                ind.led(self._led_shown, False)
            self._led_shown = led
        flash = _FLASH_MS[visual]
        ind.led(led, flash == 0 or (self._phase_ms % flash) < (flash >> 1))
        on = False
        if audible != PRIO_NONE:
            repeat = _BURST_REPEAT_MS[audible]
            t = self._phase_ms % repeat
            pulse = t // (2 * _PULSE_MS)
            on = pulse < _PULSES[audible] and (t % (2 * _PULSE_MS)) < _PULSE_MS
        ind.buzzer(on)
