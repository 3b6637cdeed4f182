"""The alarm manager's latching rules, on its own (firmware.alarms): what is
latched, acknowledged, cleared and annunciated as alarms come and go. The
signal patterns themselves are measured in tests/device/test_alarms_device.py.
Codes: 1 occlusion (high), 13 near empty and 20 (medium), 16 on battery (low)."""
import pytest

from firmware.alarms import ALARM_PRIORITY, AlarmManager
from hal import LED_CYAN, LED_GREEN, LED_RED, LED_YELLOW
from pumphost.codes import PRIO_HIGH, PRIO_LOW, PRIO_MEDIUM

HIGH, MEDIUM, LAST, LOW = 1, 13, 20, 16
TICK = 100


class Indicators:
    def __init__(self):
        self.leds = {LED_RED: False, LED_YELLOW: False, LED_CYAN: False, LED_GREEN: False}
        self.buzzing = False

    def led(self, color, on):
        self.leds[color] = on

    def buzzer(self, on):
        self.buzzing = on


class Watch:
    """An alarm manager and what it shows, second by second."""

    def __init__(self, escalate_s=300):
        self.ind = Indicators()
        self.al = AlarmManager(self.ind, escalate_s)
        self.now = 0

    def seconds(self, n):
        """Let n seconds pass; the colours lit and whether it sounded at all."""
        lit = set()
        sounded = False
        esc = []
        for _ in range(n * 1000 // TICK):
            e = self.al.tick(TICK, self.now // 1000)
            if e:
                esc.append(e)
            lit |= {c for c, on in self.ind.leds.items() if on}
            sounded = sounded or self.ind.buzzing
            self.now += TICK
        self.escalated = esc
        return lit, sounded


def test_codes_priorities_as_the_catalogue():
    assert (ALARM_PRIORITY[HIGH], ALARM_PRIORITY[MEDIUM], ALARM_PRIORITY[LAST],
            ALARM_PRIORITY[LOW]) == (PRIO_HIGH, PRIO_MEDIUM, PRIO_MEDIUM, PRIO_LOW)


def test_raise_latches_once():
    w = Watch()
    assert w.al.raise_alarm(HIGH) is True
    assert w.al.raise_alarm(HIGH) is False
    assert w.seconds(10) == ({LED_RED}, True)


@pytest.mark.parametrize('first,second', [(HIGH, MEDIUM), (MEDIUM, HIGH), (HIGH, LAST), (LAST, LOW)])
def test_an_alarm_still_latched_is_annunciated_when_another_clears(first, second):
    w = Watch()
    w.al.raise_alarm(first)
    w.al.raise_alarm(second)
    w.al.raise_alarm(second)          # raised again while latched: still one alarm
    w.al.condition_gone(second)
    assert w.al.acknowledge_all() == 2
    w.al.condition_gone(first)
    assert w.al.active[first] == 1 and w.al.active[second] == 0
    # the first is acknowledged: shown, silent (its condition went after the ack)
    colour = {PRIO_HIGH: LED_RED, PRIO_MEDIUM: LED_YELLOW, PRIO_LOW: LED_CYAN}[ALARM_PRIORITY[first]]
    assert w.seconds(30) == ({colour}, False)
    assert w.al.acknowledge_all() == 0
    assert w.al.active[first] == 0
    assert w.seconds(30) == ({LED_GREEN}, False)


def test_acknowledge_counts_each_alarm_once_and_keeps_those_still_present():
    w = Watch()
    for c in (HIGH, MEDIUM, LAST):
        w.al.raise_alarm(c)
    w.al.condition_gone(MEDIUM)
    assert w.al.acknowledge_all() == 3
    assert [w.al.active[c] for c in (HIGH, MEDIUM, LAST)] == [1, 0, 1]
    assert w.al.acknowledge_all() == 0
    # acknowledged alarms whose condition remains: shown, not sounded
    assert w.seconds(30) == ({LED_RED}, False)
    w.al.condition_gone(HIGH)
    w.al.condition_gone(LAST)
    assert w.al.acknowledge_all() == 0
    assert [w.al.active[c] for c in (HIGH, LAST)] == [0, 0]
    assert w.seconds(30) == ({LED_GREEN}, False)
    assert not w.al.any_condition_present(PRIO_LOW)


def test_an_alarm_raised_again_after_its_acknowledgement_sounds_again():
    w = Watch()
    w.al.raise_alarm(MEDIUM)
    w.al.acknowledge_all()
    assert w.seconds(40) == ({LED_YELLOW}, False)
    w.al.condition_gone(MEDIUM)
    w.al.raise_alarm(MEDIUM)            # still latched: not new, stays acknowledged
    assert w.seconds(40) == ({LED_YELLOW}, False)
    w.al.condition_gone(MEDIUM)
    w.al.acknowledge_all()
    assert w.seconds(1) == ({LED_GREEN}, False)
    w.al.raise_alarm(MEDIUM)            # new: unacknowledged, sounds
    assert w.seconds(40) == ({LED_YELLOW}, True)


def test_escalation_counts_from_when_the_alarm_was_raised_and_restarts_with_it():
    w = Watch(escalate_s=60)
    w.seconds(100)
    w.al.raise_alarm(MEDIUM)
    assert w.seconds(59) == ({LED_YELLOW}, True) and w.escalated == []
    lit, sounded = w.seconds(1)        # uptime whole seconds: the 60th after the raise
    assert w.escalated == [MEDIUM] and LED_RED in lit
    assert w.seconds(10) == ({LED_RED}, True) and w.escalated == []
    # acknowledged: back to its own priority, silent
    w.al.acknowledge_all()
    assert w.seconds(10) == ({LED_YELLOW}, False)
    w.al.condition_gone(MEDIUM)
    w.al.acknowledge_all()
    w.seconds(1)
    # raised again: medium again, for a full escalation time from now
    w.al.raise_alarm(MEDIUM)
    assert w.seconds(59) == ({LED_YELLOW}, True) and w.escalated == []
    w.seconds(1)
    assert w.escalated == [MEDIUM]


def test_only_a_medium_alarm_escalates():
    w = Watch(escalate_s=30)
    w.al.raise_alarm(LOW)
    w.seconds(100)
    assert w.escalated == []
    assert w.seconds(30) == ({LED_CYAN}, True)


@pytest.mark.parametrize('code', [HIGH, MEDIUM, LAST, LOW])
def test_any_condition_present_by_priority(code):
    al = AlarmManager(Indicators())
    for prio in (PRIO_LOW, PRIO_MEDIUM, PRIO_HIGH):
        assert al.any_condition_present(prio) is False
    al.raise_alarm(code)
    p = ALARM_PRIORITY[code]
    for prio in (PRIO_LOW, PRIO_MEDIUM, PRIO_HIGH):
        assert al.any_condition_present(prio) is (p >= prio)
    assert al.any_condition_present() is (p == PRIO_HIGH)
    al.condition_gone(code)
    assert al.any_condition_present(PRIO_LOW) is False


@pytest.mark.parametrize('asked,silent_s', [(10, 10), (119, 119), (120, 120), (121, 120), (3600, 120)])
def test_audio_pause_lasts_what_was_asked_at_most_two_minutes(asked, silent_s):
    w = Watch(escalate_s=3600)
    w.seconds(5)
    w.al.raise_alarm(HIGH)
    w.seconds(1)
    w.al.audio_pause(w.now // 1000, asked)
    assert w.seconds(silent_s) == ({LED_RED}, False)
    # the pause ends 1 + silent_s after the raise: 11, 120 or 121 s into the
    # high burst's 10 s period, where a pulse sounds (slots 0 and 10)
    assert w.seconds(1)[1] is True


def test_a_new_alarm_ends_the_audio_pause_at_once_even_in_the_first_second():
    w = Watch()
    w.al.raise_alarm(MEDIUM)
    w.al.audio_pause(0, 120)
    w.al.raise_alarm(HIGH)
    w.al.tick(TICK, 0)
    assert w.ind.buzzing      # the high burst's first pulse, now


def test_a_new_alarm_starts_its_burst_at_the_raise_whatever_the_tick():
    # a 33 ms tick (settings allow 10..100). A high alarm is shown, silenced
    # by its acknowledgement; a second high one (the colour does not
    # change) sounds from its raise: the burst's first 100 ms pulse covers
    # the ticks at 0, 33, 66 and 99 ms, the second starts at 200 ms
    al = AlarmManager(Indicators())
    al.raise_alarm(HIGH)
    al.acknowledge_all()
    for t in range(10):
        al.tick(33, 0)
    assert not al.ind.buzzing
    al.raise_alarm(2)
    sound = []
    for _ in range(8):
        al.tick(33, 0)
        sound.append(al.ind.buzzing)
    assert sound == [True, True, True, True, False, False, False, True]


def test_an_escalation_starts_the_high_burst_when_it_escalates():
    # no new alarm is raised: the annunciated priority changes by itself, and
    # its patterns start then (33 ms tick: the first pulse covers 4 ticks)
    al = AlarmManager(Indicators(), escalate_s=65)
    now = 5000
    al.tick(33, now // 1000)
    al.raise_alarm(MEDIUM)
    while not al.tick(33, now // 1000):
        now += 33
        assert now < 80000
    sound = [al.ind.buzzing]
    for _ in range(5):
        now += 33
        al.tick(33, now // 1000)
        sound.append(al.ind.buzzing)
    assert sound == [True, True, True, True, False, False]
    assert al.ind.leds[LED_RED]


def test_an_audio_pause_over_in_the_first_second_leaves_the_sound_on():
    al = AlarmManager(Indicators())
    al.raise_alarm(HIGH)
    al.audio_pause(0, 0)
    sound = []
    for _ in range(5):
        al.tick(TICK, 0)
        sound.append(al.ind.buzzing)
    assert sound == [True, False, True, False, True]    # slots 0 to 4 of the burst


@pytest.mark.parametrize('code,led,on_ticks,period_ticks', [(HIGH, LED_RED, 2, 5), (MEDIUM, LED_YELLOW, 10, 20)])
def test_the_flash_is_on_for_exactly_its_on_time(code, led, on_ticks, period_ticks):
    # high: 200 ms on in 500 ms (2 Hz, 40 %); medium: 1 s on in 2 s (0.5 Hz, 50 %)
    al = AlarmManager(Indicators())
    al.raise_alarm(code)
    seen = []
    for _ in range(2 * period_ticks):
        al.tick(TICK, 0)
        seen.append(bool(al.ind.leds[led]))
    one = [True] * on_ticks + [False] * (period_ticks - on_ticks)
    assert seen == one + one


def test_an_alarm_raised_before_the_first_tick_escalates_on_time():
    al = AlarmManager(Indicators(), escalate_s=60)
    al.raise_alarm(MEDIUM)          # at boot: uptime 0
    esc = [s for s in range(0, 70) for _ in range(10) if al.tick(TICK, s)]
    assert esc == [60]
