"""Alarm catalogue and manager (IEC 60601-1-8 priorities and patterns).

Alarms are latched: once raised an alarm stays active until acknowledged, and
its visual signal persists while its condition is still present. State lives
in preallocated arrays indexed by alarm code so that raising, clearing and
driving the indicators allocate nothing. docs/alarms.md lists every code.

Signals (IEC 60601-1-8 tables 2 and 3; 100 ms slots, the longest tick):
- visual, the highest active priority: high red flashing 2 Hz (200 ms on,
  duty 40 %), medium yellow 0.5 Hz (1000 ms on, 50 %), low cyan steady;
  no alarm: green steady.
- auditory, the highest active UNACKNOWLEDGED priority: high a burst of 10
  pulses of 100 ms (spacing x = 100 ms, 2x+td = 300 ms between the 3rd and
  4th and the 8th and 9th, 400 ms between the 5th and 6th) every 10 s;
  medium 3 pulses of 200 ms spaced 200 ms every 20 s; low one 200 ms pulse
  every 30 s.
- audio pause: at most 120 s, then the sound returns; a newly raised alarm
  ends the pause at once.
- escalation: a medium alarm left unacknowledged for `escalate_s` is
  annunciated as high (red flashing, high burst) until acknowledged. It does
  not stop the motor: only a high-priority alarm CONDITION does.
"""
from firmware.compat import const
from hal import LED_RED, LED_YELLOW, LED_CYAN, LED_GREEN

_PRIO_NONE = const(0)
_PRIO_LOW = const(1)
_PRIO_MEDIUM = const(2)
_PRIO_HIGH = const(3)

# Alarm codes 1..20 are stable: they go on the wire and in the journal. Their
# names are in pumphost.codes (A_*) and their strings in pumphost.catalog, both
# host side; the device modules that raise one keep a private copy.
_N_ALARMS = const(21)

# priority by alarm code (pumphost.codes A_* order)

ALARM_PRIORITY = (_PRIO_NONE, _PRIO_HIGH, _PRIO_HIGH, _PRIO_HIGH,
                  _PRIO_HIGH, _PRIO_HIGH, _PRIO_HIGH, _PRIO_HIGH,
                  _PRIO_MEDIUM, _PRIO_HIGH, _PRIO_MEDIUM, _PRIO_HIGH,
                  _PRIO_HIGH, _PRIO_MEDIUM, _PRIO_HIGH, _PRIO_HIGH,
                  _PRIO_LOW, _PRIO_HIGH, _PRIO_HIGH, _PRIO_MEDIUM,
                  _PRIO_MEDIUM)

_AUDIO_PAUSE_MAX_MS = const(120000)

# Patterns by priority (none, low, medium, high): LED, flash period and on
# time (ms, 0 = steady), auditory burst as a bit mask of 100 ms slots (bit n:
# buzzer on in slot n) and the burst repeat period.
_LED = (LED_GREEN, LED_CYAN, LED_YELLOW, LED_RED)
_FLASH_MS = (0, 0, 2000, 500)
_ON_MS = (0, 0, 1000, 200)
_BURST = (0, 3, 819, 42632469)   # 0b11; 0b1100110011; slots 0 2 4 8 10 15 17 19 23 25
_REPEAT_MS = (1, 30000, 20000, 10000)
_SLOT_MS = const(100)


class AlarmManager:
    def __init__(self, indicators, escalate_s=300):
        self.ind = indicators
        self.escalate_s = escalate_s
        self.active = bytearray(_N_ALARMS)      # latched
        self.condition = bytearray(_N_ALARMS)   # condition currently present
        self.acked = bytearray(_N_ALARMS)
        self.escalated = bytearray(_N_ALARMS)   # medium annunciated as high
        self.since_s = [0] * _N_ALARMS          # uptime when raised
        self.n_active = 0
        self.now_s = 0
        self.audio_paused_until_s = -1
        self._phase_ms = 0
        self._shown = -1                       # annunciated priority
        self._led_shown = -1

    def raise_alarm(self, code):
        """Latch `code`. Returns True if it was not active before."""
        self.condition[code] = 1
        if self.active[code]:
            return False
        self.active[code] = 1
        self.acked[code] = 0
        self.escalated[code] = 0
        self.since_s[code] = self.now_s
        self.n_active += 1
        self.audio_paused_until_s = -1   # a new alarm ends the audio pause
        self._phase_ms = 0               # start the burst now
        return True

    def condition_gone(self, code):
        self.condition[code] = 0

    def acknowledge_all(self):
        """Acknowledge every active alarm; those whose condition is gone
        clear. Returns the number acknowledged."""
        n = 0
        for code in range(1, _N_ALARMS):
            if self.active[code]:
                if not self.acked[code]:
                    self.acked[code] = 1
                    n += 1
                self.escalated[code] = 0
                if not self.condition[code]:
                    self.active[code] = 0
                    self.n_active -= 1
        return n

    def any_condition_present(self, min_priority=_PRIO_HIGH):
        for code in range(1, _N_ALARMS):
            if self.condition[code] and ALARM_PRIORITY[code] >= min_priority:
                return True
        return False

    def audio_pause(self, now_s, seconds):
        if seconds > _AUDIO_PAUSE_MAX_MS // 1000:
            seconds = _AUDIO_PAUSE_MAX_MS // 1000
        self.audio_paused_until_s = now_s + seconds

    def tick(self, tick_ms, now_s):
        """Escalate, then drive LED and buzzer patterns. Returns the code of
        an alarm escalated at this tick (the pump journals it), else 0.
        Allocation-free."""
        self.now_s = now_s
        esc = 0
        visual = _PRIO_NONE
        audible = _PRIO_NONE
        if self.n_active:
            for code in range(1, _N_ALARMS):
                if self.active[code]:
                    if self.acked[code]:
                        p = ALARM_PRIORITY[code]
                    else:
                        if (ALARM_PRIORITY[code] == _PRIO_MEDIUM and not self.escalated[code]
                                and now_s - self.since_s[code] >= self.escalate_s):
                            self.escalated[code] = 1
                            esc = code
                        p = _PRIO_HIGH if self.escalated[code] else ALARM_PRIORITY[code]
                        if p > audible:
                            audible = p
                    if p > visual:
                        visual = p
        if self.audio_paused_until_s >= 0:
            if now_s < self.audio_paused_until_s:
                audible = _PRIO_NONE
            else:
                self.audio_paused_until_s = -1
        if visual != self._shown:
            self._shown = visual
            self._phase_ms = 0
        ph = self._phase_ms
        ind = self.ind
        led = _LED[visual]
        if led != self._led_shown:
            if self._led_shown >= 0:
                ind.led(self._led_shown, False)
            self._led_shown = led
        flash = _FLASH_MS[visual]
        ind.led(led, flash == 0 or (ph % flash) < _ON_MS[visual])
        slot = (ph % _REPEAT_MS[audible]) // _SLOT_MS
        ind.buzzer(slot < 30 and (_BURST[audible] >> slot) & 1 == 1)
        self._phase_ms = ph + tick_ms
        if self._phase_ms >= 60000:   # a multiple of every period
            self._phase_ms -= 60000
        return esc
