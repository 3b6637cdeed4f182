"""The course on its own (firmware.delivery.Course, StepScheduler): the
order it runs a program's steps in, what each step holds, the counts of
what was given, and a checkpointed phase put back. Runs under pytest AND
MicroPython."""
from firmware.delivery import Course, StepScheduler, gcd
from firmware.dose_limits import walk
from firmware.program import ramp_sub
from pumphost.codes import K_BOLUS, K_CONTINUOUS, K_CYCLE, K_KVO, K_PAUSE, K_RAMP, K_SYRINGE


class _Occlusion:
    """What the course tells the occlusion check: whole steps per tick and
    the steps pushed into the line."""
    def __init__(self):
        self.q = 0
        self.stored_steps = 0
        self.floor_steps = 0


def course(step_pl=1000, tick_ms=100):
    return Course(StepScheduler(tick_ms, step_pl), _Occlusion())


def cycle(first, times):
    return (K_CYCLE, 0, 0, 0, (first << 16) | times, 0)


def run_order(steps):
    c = course()
    c.begin(steps, 0)
    seen = [(c.index, c.sub)]
    while c.next(0):
        seen.append((c.index, c.sub))
    return seen


def test_the_course_runs_cycles_and_ramps_in_the_order_the_dose_check_walks():
    ramp = (K_RAMP, 1000000, ramp_sub((K_RAMP, 1000000, 0, 180, 2000000), 0)[1]
            + ramp_sub((K_RAMP, 1000000, 0, 180, 2000000), 1)[1]
            + ramp_sub((K_RAMP, 1000000, 0, 180, 2000000), 2)[1], 180, 2000000, 0)
    bolus = (K_BOLUS, 5000000, 1000, 0, 0, 0)
    run = (K_CONTINUOUS, 1000000, 2000, 0, 0, 0)
    pause = (K_PAUSE, 0, 0, 60, 0, 0)
    programs = [
        [run, bolus, run],                                  # no cycle: each step once
        [bolus, run, cycle(1, 2)],                          # a cycle from step 1
        [bolus, run, pause, ramp, cycle(2, 1), run],        # from step 2, a ramp inside
        [bolus, run, run, pause, run, cycle(4, 3), (K_SYRINGE, 0, 0, 0, 0, 0), run,
         (K_KVO, 100000, 1000, 0, 0, 0)],                   # from step 4, then more
        [run, ramp, (K_KVO, 100000, 1000, 0, 0, 0)],        # a ramp entered from the step before
    ]
    for steps in programs:
        assert run_order(steps) == list(walk(steps)), steps
    # spelled out for the first three: the cycle repeats steps 1..1 twice more,
    # steps 2..3 once more (the ramp from its first sub-step each time)
    assert run_order(programs[0]) == [(0, 0), (1, 0), (2, 0)]
    assert run_order(programs[1]) == [(0, 0), (1, 0), (1, 0), (1, 0)]
    assert run_order(programs[2]) == [(0, 0), (1, 0), (2, 0), (3, 0), (3, 1), (3, 2),
                                      (2, 0), (3, 0), (3, 1), (3, 2), (5, 0)]


def test_a_ramp_after_another_step_starts_at_its_first_sub_rate():
    ramp = (K_RAMP, 1000000, 0, 180, 4000000, 0)
    first = ramp_sub(ramp, 0)
    c = course()
    c.begin([(K_CONTINUOUS, 1000000, 2000, 0, 0, 0), ramp], 0)
    assert c.next(0)
    assert (c.index, c.sub, c.rate_nl_h, c.left) == (1, 0, first[0], first[1])


def test_a_pause_or_syringe_change_step_has_no_rate_and_no_motor_steps():
    for kind, dur in ((K_PAUSE, 60), (K_SYRINGE, 0)):
        c = course()
        c.begin([(K_CONTINUOUS, 1000000, 2000, 0, 0, 0), (kind, 0, 0, dur, 0, 0),
                 (K_CONTINUOUS, 1000000, 2000, 0, 0, 0)], 100)
        c.next(100)
        assert (c.index, c.rate_nl_h, c.left, c.dwell_end) == (1, 0, 0, 100 + dur), kind


def test_motor_steps_are_the_cumulative_volume_rounded_down_from_the_program_start():
    # 1 nL a step: a 2000 nL step is 2000 steps; at 3 nL a step three
    # steps of 4000 nL follow the cumulative volume (1333.3, 2666.7, 4000
    # steps): 1333, 1333, 1334
    c = course(step_pl=1000)
    c.begin([(K_CONTINUOUS, 1000000, 2000, 0, 0, 0)], 0)
    assert (c.left, c.cum_nl, c.cum_steps) == (2000, 2000, 2000)
    c = course(step_pl=3000)
    steps = [(K_CONTINUOUS, 1000000, 4000, 0, 0, 0)] * 3
    c.begin(steps, 0)
    lefts = [c.left]
    while c.next(0):
        lefts.append(c.left)
    assert lefts == [1333, 1333, 1334] and c.cum_steps == 4000


def test_a_new_program_counts_what_it_gives_from_zero():
    # 1001 pL a step: 999 steps are 999999 pL, 999 nL and 999 pL over;
    # one more step makes 1001 nL. A second program starts again from 0,
    # the first one's sub-nL remainder dropped
    c = course(step_pl=1001)
    steps = [(K_CONTINUOUS, 1000000, 5000, 0, 0, 0)]
    for _ in range(2):
        c.begin(steps, 0)
        c.give(999)
        assert (c.delivered_nl, c.pl_rem) == (999, 999)
        c.give(1)
        assert (c.delivered_nl, c.pl_rem) == (1001, 0)
        c.moved(1000)
        assert c.steps_commanded == 1000


def test_steps_moved_count_into_the_line_for_the_occlusion_check():
    # what the relief may take back: every step pushed since the line was
    # last at its baseline (stored) and at its floor
    c = course()
    c.begin([(K_CONTINUOUS, 1000000, 5000, 0, 0, 0)], 0)
    c.moved(3)
    c.moved(4)
    assert (c.occlusion.stored_steps, c.occlusion.floor_steps, c.steps_commanded) == (7, 7, 7)


def test_a_checkpointed_phase_comes_back_only_below_one_whole_step():
    # 1 mL/h at 100 ms and 217070 pL a step: 100000000 / 781452000 steps a
    # tick, reduced by the gcds as set_rate does
    s = StepScheduler(100, 217070)
    s.set_rate(1000000)
    den = 3600 * 217070
    den //= gcd(1000000, den)
    den //= gcd(100, den)
    s.restore_phase(den)
    assert s.phase() == 0
    s.restore_phase(den - 1)
    assert s.phase() == den - 1
    assert s.next_steps() == 1      # the owed step is due at the next tick


def test_muldiv_is_the_exact_quotient_and_remainder_of_the_product():
    from firmware.delivery import muldiv
    for c in (1, 2, 3, 4, 6, 7, 8, 10, 64, 1000, 3600, 781452000, (1 << 29) + 1):
        for a in (0, 1, 2, 3, 5, c - 1, c, c + 1, 2 * c + 3, 12345):
            for b in (0, 1, 2, 3, 4, 5, 6, 7, 8, 100, 1000, 65535):
                assert muldiv(a, b, c) == a * b // c, (a, b, c)
                assert muldiv(a, b, c, True) == a * b % c, (a, b, c)


def test_a_new_scheduler_has_no_rate_emits_nothing_and_keeps_no_phase():
    s = StepScheduler(100, 217070)
    assert s.rate_nl_h == 0 and s.phase() == 0
    assert [s.next_steps() for _ in range(5)] == [0] * 5
    s.restore_phase(1)          # no rate: no fraction of a step fits
    assert s.phase() == 0


def test_the_scheduler_has_emitted_exactly_floor_n_rate_tick_over_step_after_every_tick():
    for tick_ms, step_pl, rate in ((100, 217070, 1000000), (100, 217070, 1773913),
                                   (100, 217070, 150000000), (10, 1000, 10000),
                                   (100, 1000, 36000)):        # 36000: exactly one step a tick
        s = StepScheduler(tick_ms, step_pl)
        s.set_rate(rate)
        assert s.rate_nl_h == rate
        total = 0
        for n in range(1, 1501):
            total += s.next_steps()
            assert total == n * rate * tick_ms // (3600 * step_pl), (rate, n, total)


def test_a_step_volume_too_large_for_exact_scheduling_is_refused():
    StepScheduler(100, 298000).set_rate(1000000)     # the largest step the settings allow
    try:
        StepScheduler(100, 300000).set_rate(1000000)
    except ValueError as e:
        assert str(e) == 'step volume too large for exact scheduling', str(e)
    else:
        raise AssertionError('3600 * 300000 pL scheduled')


def test_a_loaded_program_not_yet_started_has_given_nothing_and_has_no_rate():
    from helpers_device import make_pump, run_ticks
    from firmware.program import Program
    hal, pump, loop = make_pump()
    run_ticks(hal, loop, 1)
    assert pump.load(Program([(K_CONTINUOUS, 1000000, 2000000)])) == 0, pump.last_error
    run_ticks(hal, loop, 25)            # the monitors' once-a-second checks run
    assert pump.state_name() == 'PROGRAMMED'
    assert (pump.course.delivered_nl, pump.remaining_nl()) == (0, 2000000)
    assert pump.course.index == 0          # the step the dashboard shows as current
    assert pump.course.rate_nl_h == 0 and pump.monitors.time_left_s == -1
