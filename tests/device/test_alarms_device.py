"""Alarm manager signals measured on the fake indicators over simulated time
(IEC 60601-1-8: visual flash frequency and duty, auditory bursts), audio
pause expiry, escalation. Runs under pytest AND MicroPython."""
from helpers_device import make_pump, run_ticks, start_program
from hal import LED_RED, LED_YELLOW, LED_CYAN, LED_GREEN
from pumphost.codes import A_OCCLUSION_DOWNSTREAM, A_ON_BATTERY, A_SYRINGE_NEAR_EMPTY, EV_ALARM, EV_ALARM_ESCALATE, PRIO_HIGH, PRIO_MEDIUM


def _record(hal, loop, color, seconds):
    """Sample LED `color` and the buzzer once per 100 ms tick."""
    led = []
    buz = []
    for _ in range(seconds * 10):
        run_ticks(hal, loop, 1)
        led.append(hal.indicators.leds[color])
        buz.append(1 if hal.indicators.buzzing else 0)
    return led, buz


def _rises(x):
    return [i for i in range(1, len(x)) if x[i] and not x[i - 1]]


def _bursts(buz, gap_ticks=10):
    """Group rising edges separated by less than gap_ticks into bursts:
    list of (first rise index, pulses, pulse widths, spacings)."""
    out = []
    cur = None
    prev_fall = 0
    i = 0
    n = len(buz)
    while i < n:
        if buz[i] and (i == 0 or not buz[i - 1]):
            j = i
            while j < n and buz[j]:
                j += 1
            if cur is None or i - prev_fall >= gap_ticks:
                cur = [i, 0, [], []]
                out.append(cur)
            else:
                cur[3].append(i - prev_fall)
            cur[1] += 1
            cur[2].append(j - i)
            prev_fall = j
            i = j
        else:
            i += 1
    return out


def _running(**settings):
    hal, pump, loop = make_pump(**settings)
    start_program(hal, pump, loop, 1773913, 40000000)
    run_ticks(hal, loop, 20)
    return hal, pump, loop


def _near_empty(hal):
    """About 600 um (330 uL, 11 min at 1.77 mL/h) left before the end of
    travel: the monitor raises NEAR EMPTY within a second."""
    hal.syringe.travel_um = 700 + (hal.motor.pos * 25 >> 6)


def test_high_priority_red_flash_and_ten_pulse_bursts():
    hal, pump, loop = _running()
    pump.raise_alarm(A_OCCLUSION_DOWNSTREAM)
    pump.alarms.condition_gone(A_OCCLUSION_DOWNSTREAM)
    led, buz = _record(hal, loop, LED_RED, 60)
    assert not hal.indicators.leds[LED_GREEN]
    rises = _rises(led)
    period_ms = (rises[-1] - rises[0]) * 100 // (len(rises) - 1)
    assert 1000 // 2.8 <= period_ms <= 1000 // 1.4, period_ms      # 1.4..2.8 Hz
    duty = sum(led) * 100 // len(led)
    assert 20 <= duty <= 60, duty
    bursts = _bursts(buz)
    assert len(bursts) >= 5
    for b in bursts:
        assert b[1] == 10, b                       # 10 pulses
        for w in b[2]:
            assert 75 <= w * 100 <= 200            # pulse 75..200 ms
        # x, x, 2x+td, x, 0.35..1.3 s, x, x, 2x+td, x with x 50..125 ms
        s = [v * 100 for v in b[3]]
        for k in (0, 1, 3, 5, 6, 8):
            assert 50 <= s[k] <= 125, s
        assert s[2] == 2 * s[0] + b[2][0] * 100 and s[7] == 2 * s[5] + b[2][5] * 100, s
        assert 350 <= s[4] <= 1300, s
    starts = [b[0] for b in bursts]
    for k in range(1, len(starts)):
        assert 2500 <= (starts[k] - starts[k - 1]) * 100 <= 15000


def test_medium_yellow_flash_three_pulses_and_low_steady():
    hal, pump, loop = _running()
    _near_empty(hal)
    run_ticks(hal, loop, 10)
    assert pump.alarms.active[A_SYRINGE_NEAR_EMPTY]
    assert 0 < pump.monitors.time_left_s < 900
    led, buz = _record(hal, loop, LED_YELLOW, 120)
    assert pump.state_name() == 'RUNNING'          # medium: delivery goes on
    rises = _rises(led)
    period_ms = (rises[-1] - rises[0]) * 100 // (len(rises) - 1)
    assert 1000 // 0.8 <= period_ms <= 1000 // 0.4, period_ms
    duty = sum(led) * 100 // len(led)
    assert 20 <= duty <= 60, duty
    bursts = _bursts(buz)
    assert len(bursts) >= 5
    for b in bursts:
        assert b[1] == 3, b
        for w in b[2]:
            assert 125 <= w * 100 <= 250
        for v in b[3]:
            assert 125 <= v * 100 <= 250
    for k in range(1, len(bursts)):
        assert 2500 <= (bursts[k][0] - bursts[k - 1][0]) * 100 <= 30000
    # acknowledged (condition still present): visual stays, sound stops
    pump.acknowledge()
    led, buz = _record(hal, loop, LED_YELLOW, 30)
    assert sum(buz) == 0 and sum(led) > 0
    # low priority only: cyan steady
    hal2, pump2, loop2 = _running()
    hal2.power.mains = False
    run_ticks(hal2, loop2, 10)
    assert pump2.alarms.active[A_ON_BATTERY]
    led, buz = _record(hal2, loop2, LED_CYAN, 40)
    assert sum(led) == len(led)
    assert not hal2.indicators.leds[LED_YELLOW] and not hal2.indicators.leds[LED_RED]
    assert 1 <= sum(buz) <= 4                      # at most one short burst each 30 s


def test_audio_pause_expires_within_two_minutes_and_new_alarm_ends_it():
    hal, pump, loop = _running()
    pump.raise_alarm(A_OCCLUSION_DOWNSTREAM)
    run_ticks(hal, loop, 5)
    pump.alarms.audio_pause(pump.uptime_s, 600)     # asks for 10 min: capped
    silent = 0
    for _ in range(3000):
        run_ticks(hal, loop, 1)
        if hal.indicators.buzzing:
            break
        silent += 1
    assert 1100 <= silent <= 1200, silent          # sound back within 2 min
    pump.alarms.audio_pause(pump.uptime_s, 60)
    run_ticks(hal, loop, 50)
    assert not hal.indicators.buzzing
    pump.advise(A_SYRINGE_NEAR_EMPTY)             # a new alarm: pause ends
    run_ticks(hal, loop, 1)
    assert hal.indicators.buzzing


def test_unacknowledged_medium_escalates_to_high_annunciation():
    hal, pump, loop = _running(alarm_escalate_s=60)
    _near_empty(hal)
    run_ticks(hal, loop, 10)
    assert pump.alarms.active[A_SYRINGE_NEAR_EMPTY]
    run_ticks(hal, loop, 580)
    assert not pump.alarms.escalated[A_SYRINGE_NEAR_EMPTY]
    assert hal.indicators.leds[LED_YELLOW] or not hal.indicators.leds[LED_RED]
    run_ticks(hal, loop, 20)
    assert pump.alarms.escalated[A_SYRINGE_NEAR_EMPTY]
    led, buz = _record(hal, loop, LED_RED, 35)
    assert not hal.indicators.leds[LED_YELLOW]
    full = [b[1] for b in _bursts(buz)][1:-1]
    assert len(full) >= 2 and full == [10] * len(full)   # high bursts
    assert pump.state_name() == 'RUNNING'                # annunciation only
    recs = pump.journal.records()
    assert [r for r in recs if r[2] == EV_ALARM and r[3] == A_SYRINGE_NEAR_EMPTY]
    assert [r for r in recs if r[2] == EV_ALARM_ESCALATE and r[3] == A_SYRINGE_NEAR_EMPTY]
    pump.acknowledge()
    assert not pump.alarms.escalated[A_SYRINGE_NEAR_EMPTY]
    led, buz = _record(hal, loop, LED_YELLOW, 5)
    assert sum(buz) == 0 and not hal.indicators.leds[LED_RED] and sum(led) > 0
    assert PRIO_HIGH > PRIO_MEDIUM
