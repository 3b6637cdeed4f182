"""The control tick keeps to the clock when the main loop polls off the
deadline, and the scheduler keeps the owed fraction of a step across rate
changes.

A board's main loop does other work (the link, the display) and polls the
tick when it gets round to it, a few ms late, never exactly on the deadline.
Deadlines advance by exactly tick_ms, so over an hour the pump runs one tick
per tick_ms of clock time however the polls fall; a loop that re-based on
`now` would lose the lateness of every tick (4.8 % of the volume at 7 ms
polling, silently: no tick is late enough to be an overrun).
"""
import random
from fractions import Fraction

from helpers_device import make_pump, start_program
from firmware.delivery import StepScheduler
from firmware.loop import Loop
from firmware.program import Program
from pumphost.codes import A_LOOP_OVERRUN, K_CONTINUOUS, K_RAMP
from hal.ticks import WrappingClock as FakeClock

HOUR_MS = 3600 * 1000
RATE = 1773913          # 1.77 mL/h
STEP_PL = 217070


class CountingPump:
    """What Loop needs of a pump: a tick to count and an overrun alarm."""

    class settings:
        max_late_ticks = 10

    tick_ms = 100

    def __init__(self):
        self.ticks = 0
        self.overruns = 0

    def tick(self):
        self.ticks += 1

    def raise_event_alarm(self, code):
        assert code == A_LOOP_OVERRUN
        self.overruns += 1


def _poll_for(loop, clock, total_ms, gaps):
    t = 0
    while t < total_ms:
        g = next(gaps)
        clock.advance(g)
        t += g
        loop.poll()


def _every(ms):
    while True:
        yield ms


def _jitter(seed, lo, hi):
    rnd = random.Random(seed)
    while True:
        yield rnd.randint(lo, hi)


def test_polled_every_7_ms_for_an_hour_the_tick_count_keeps_to_the_clock():
    pump = CountingPump()
    clock = FakeClock()
    loop = Loop(pump, clock)
    _poll_for(loop, clock, HOUR_MS, _every(7))
    assert pump.overruns == 0
    assert abs(pump.ticks - HOUR_MS // 100) <= 1, pump.ticks


def test_jittered_polls_keep_to_the_clock_under_any_seed():
    for seed in range(5):
        pump = CountingPump()
        clock = FakeClock()
        loop = Loop(pump, clock)
        _poll_for(loop, clock, HOUR_MS // 4, _jitter(seed, 1, 60))
        assert pump.overruns == 0
        assert abs(pump.ticks - HOUR_MS // 400) <= 1, (seed, pump.ticks)


def test_a_late_loop_catches_up_one_tick_per_poll_then_an_overrun_rebases():
    pump = CountingPump()
    clock = FakeClock()
    loop = Loop(pump, clock)
    clock.advance(100 + 5 * 100)          # 5 ticks late: within max_late
    ran = 0
    while loop.poll():
        ran += 1
    assert ran == 6 and pump.overruns == 0     # caught up, one tick per poll
    clock.advance(100 + 20 * 100)         # 20 ticks late: an overrun
    assert loop.poll() and pump.overruns == 1
    assert not loop.poll(), 'after an overrun the schedule starts from now (no burst)'
    assert loop.ms_until_due() == 100
    clock.advance(100 + 20 * 100)         # another: both counted
    assert loop.poll() and pump.overruns == 2 and loop.overruns == 2


def test_a_pump_polled_with_jitter_delivers_on_time_for_an_hour():
    hal, pump, loop = make_pump()
    clock = hal.clock
    clock.advance(loop.tick_ms)
    loop.poll()                            # POST
    start_program(hal, pump, loop, RATE, 40000000)
    steps0 = pump.course.steps_commanded
    _poll_for(loop, clock, HOUR_MS, _jitter(1, 1, 15))
    expected = RATE * HOUR_MS // (3600 * STEP_PL)
    done = pump.course.steps_commanded - steps0
    # the start-up fill pushes ahead of the schedule, at most its 0.4 mL
    assert pump.state_name() == 'RUNNING'
    assert abs(done - expected) <= 400000 * 1000 // STEP_PL + 2, (done, expected)
    assert done >= expected - 2, 'under-infused %d of %d steps' % (expected - done, expected)


def _exact_steps(segments, tick_ms, step_pl):
    """Exact microsteps owed by (rate_nl_h, ticks) segments."""
    return sum(Fraction(rate * tick_ms * n, 3600 * step_pl) for rate, n in segments)


def test_the_owed_fraction_survives_every_rate_change():
    # rates under one step per tick change every few ticks (a ramp's
    # sub-steps, a titration): nothing owed may be dropped at a change
    rnd = random.Random(7)
    s = StepScheduler(100, STEP_PL)
    segments = []
    total = 0
    for _ in range(3000):
        rate = rnd.choice((100000, 500000, 1773913, 3000000, 7000000))
        n = rnd.randint(1, 30)
        s.set_rate(rate)
        for _ in range(n):
            total += s.next_steps()
        segments.append((rate, n))
    exact = _exact_steps(segments, 100, STEP_PL)
    # each change may round the carried fraction down by less than 1/den of
    # a step: far less than one step over the whole run
    assert exact - 1 <= total <= exact, (total, float(exact))


def test_a_rate_change_every_tick_still_delivers():
    s = StepScheduler(100, STEP_PL)
    total = 0
    for k in range(36000):
        s.set_rate(1000000 if k % 2 else 2000000)   # 1.5 mL/h on average
        total += s.next_steps()
    exact = _exact_steps([(1000000, 18000), (2000000, 18000)], 100, STEP_PL)
    assert exact - 1 <= total <= exact


def test_a_ramp_delivers_its_volume_on_time():
    from firmware.limits import ramp_volume_nl
    hal, pump, loop = make_pump()
    clock = hal.clock
    clock.advance(loop.tick_ms)
    loop.poll()
    ramp = (K_RAMP, 200000, 0, 3600, 2000000, 0)      # 0.2 -> 2 mL/h over an hour
    vol = ramp_volume_nl(ramp)
    ramp = ramp[:2] + (vol,) + ramp[3:]
    prog = Program([ramp, (K_CONTINUOUS, 2000000, 1000000, 0, 0, 0)])
    assert pump.load(prog) == 0, pump.last_error
    assert pump.confirm(prog.digest()) == 0 and pump.start() == 0
    pump.fill.left = 0                     # no start-up fill: only the schedule
    for _ in range(36000):
        clock.advance(100)
        loop.poll()
    # an hour in, the ramp is done and its whole volume counted, to a step
    assert pump.course.index == 1, pump.course.index
    want = vol * 1000 // STEP_PL
    assert abs(pump.course.steps_commanded - want) <= 2, (pump.course.steps_commanded, want)


def test_ms_until_due_counts_down_to_zero_and_never_below():
    pump = CountingPump()
    clock = FakeClock()
    loop = Loop(pump, clock)
    assert loop.ms_until_due() == 100
    clock.advance(99)
    assert loop.ms_until_due() == 1
    clock.advance(1)
    assert loop.ms_until_due() == 0
    clock.advance(57)                      # late: nothing to wait for
    assert loop.ms_until_due() == 0
