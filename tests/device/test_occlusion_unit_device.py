"""The occlusion check on its own (no pump): settle windows, probe and hold
timing, the hold's verdict at its boundaries, the floor, the relief's
amount, target and speed, the repayment of a probe's steps. Pressures are
fed exactly (the integer filters settle on the value fed), the pump's
pushes are added to stored_steps and floor_steps as Course.moved does.
Runs under pytest AND MicroPython."""
from firmware.settings import Settings
from firmware.occlusion import OcclusionCheck
from pumphost.codes import A_OCCLUSION_DOWNSTREAM, A_PRESSURE_HARD_LIMIT

PERISTALTIC = {'pump_kind': 1, 'step_pl': 15600}


def _start(p0, **settings):
    """A program start: the pressure at start is p0 (x10 mmHg)."""
    occ = OcclusionCheck(Settings(**settings))
    occ.begin()
    occ.restart()
    occ.update(p0, True)
    return occ


def _feed(occ, p, n, delivering=True):
    """n samples of p; the alarm codes returned, in order."""
    return [occ.update(p, delivering) for _ in range(n)]


def _push(occ, n):
    occ.stored_steps += n
    occ.floor_steps += n


def _settled(p=900, q=0, **settings):
    occ = _start(p, **settings)
    _feed(occ, p, 2399)
    assert occ.learned and occ.phase == 1
    occ.q = q
    return occ


def _fast_to(occ, p, delivering=True):
    """Feed p until the fast filter reads it exactly."""
    for _ in range(200):
        occ.update(p, delivering)
        if occ.filtered == p:
            return
    assert False, 'the fast filter did not settle on %d' % p


def _slow_to(occ, p, delivering=True):
    for _ in range(3000):
        occ.update(p, delivering)
        if occ.internals()[0] == p:
            return
    assert False, 'the slow filter did not settle on %d' % p


class _Sched:
    def __init__(self, n):
        self.n = n

    def next_steps(self):
        return self.n


class _Motor:
    """Records what the relief asks of the motor."""

    def __init__(self):
        self.moves = []
        self.forward = True
        self.back = 0

    def set_direction(self, forward):
        self.forward = forward

    def move(self, steps, window_ms):
        self.moves.append((steps, window_ms, self.forward))
        self.back += steps

    def stop(self):
        pass


# ------------------------------------------------------------- settling

def test_a_steady_line_is_seen_open_at_the_end_of_its_second_120_s_window():
    # the first window rises from nothing, the second is flat: open at
    # exactly 2 x 1200 ticks of 100 ms, not a tick earlier
    occ = _start(900)
    _feed(occ, 900, 2398)
    assert not occ.learned and occ.phase == 0
    _feed(occ, 900, 1)
    assert occ.learned and occ.phase == 1
    occ.restart()                   # a resume after a pause: nothing to settle
    assert occ.phase == 1


def test_a_line_rising_by_the_stability_limit_in_a_window_is_not_yet_settled():
    occ = _start(0)
    _feed(occ, 900, 1199)           # window 1 ends on 90.0 mmHg
    assert occ.internals()[0] == 900
    _feed(occ, 903, 1200)           # window 2 rose 0.3 mmHg: still rising
    assert occ.internals()[0] == 903 and not occ.learned
    _feed(occ, 903, 1200)           # window 3 flat: open
    assert occ.learned


def test_a_line_flat_at_30_mmhg_is_never_seen_open_and_above_it_is():
    occ = _start(300)
    _feed(occ, 300, 3600)
    assert not occ.learned          # no artery sits at 30 mmHg: not pressurised
    occ = _start(301)
    _feed(occ, 301, 2399)
    assert occ.learned


def test_a_line_never_seen_open_alarms_above_200_mmhg_on_the_fast_filter():
    occ = _start(100)
    assert A_OCCLUSION_DOWNSTREAM not in _feed(occ, 2000, 300)
    assert occ.filtered == 2000
    codes = _feed(occ, 2001, 100)
    assert codes[-1] == A_OCCLUSION_DOWNSTREAM


def test_a_line_never_seen_open_alarms_above_three_quarters_of_a_low_ceiling():
    # ceiling 240 mmHg: the plausibility limit is 180 mmHg, not 200
    occ = _start(100, pressure_hard_limit_mmhg_x10=2400)
    assert A_OCCLUSION_DOWNSTREAM not in _feed(occ, 1800, 300)
    assert occ.filtered == 1800
    codes = _feed(occ, 1801, 100)
    assert codes[-1] == A_OCCLUSION_DOWNSTREAM and A_PRESSURE_HARD_LIMIT not in codes


# ----------------------------------------------------- seen open: floor

def _opened_from(p0, push, level):
    """A line at p0 at start, filled by `push` steps to `level`, seen open
    there (the start-up fill's knee)."""
    occ = _start(p0)
    _push(occ, push)
    _fast_to(occ, level)
    assert occ.phase == 0 and not occ.learned
    occ.opened()
    assert occ.learned and occ.phase == 1 and occ.baseline_x10() == level
    assert occ.stored_steps == 0
    return occ


def test_seen_open_above_a_pressurised_start_the_floor_keeps_the_start_level():
    # a primed line at 50 mmHg filled to 90: the steps since start are
    # above the floor (the start level); relief may take them back
    occ = _opened_from(500, 100, 900)
    assert occ.floor_steps == 100
    # an unprimed start (30 mmHg is no pressurised line) or one already at
    # the level seen open: nothing above the floor
    for p0, level in ((300, 900), (100, 900), (900, 900)):
        occ = _opened_from(p0, 100, level)
        assert occ.floor_steps == 0, (p0, level, occ.floor_steps)


def test_the_floor_step_count_restarts_when_the_line_is_back_at_the_floor():
    occ = _opened_from(500, 100, 900)
    _feed(occ, 900, 50, False)          # a pause: the line well above its floor
    assert occ.floor_steps == 100
    _feed(occ, 500, 600, False)         # sinks back to the start level
    assert occ.floor_steps == 0


def test_the_floor_step_count_restarts_at_exactly_3_mmhg_above_the_floor():
    occ = _settled(900)                 # floor = baseline = 90 mmHg
    _slow_to(occ, 1000, False)
    _push(occ, 100)
    _slow_to(occ, 931, False)
    assert occ.floor_steps == 100
    _slow_to(occ, 930, False)
    assert occ.floor_steps == 0


def test_the_floor_is_not_followed_while_a_pressure_alarm_is_on():
    occ = _opened_from(500, 100, 900)
    occ.q = 1
    codes = _feed(occ, 2000, 20)        # the fast path trips
    assert A_OCCLUSION_DOWNSTREAM in codes and occ.tripped
    _feed(occ, 500, 600, False)         # in ALARM the line sinks to the floor
    assert occ.floor_steps == 100       # kept for the relief


def test_after_a_trip_the_condition_stays_while_more_than_suspect_above_baseline():
    occ = _settled(900, q=1)
    codes = _feed(occ, 2000, 20)
    assert A_OCCLUSION_DOWNSTREAM in codes and occ.baseline_x10() == 900
    _fast_to(occ, 931, False)
    assert occ.update(931, False) == A_OCCLUSION_DOWNSTREAM
    _fast_to(occ, 930, False)
    assert occ.update(930, False) == 0


# ------------------------------------------------------- probe and hold

def _probe_started(occ, p=1000):
    t = 0
    while occ.phase != 2 and t < 3000:
        occ.update(p, True)
        t += 1
    assert occ.phase == 2 and occ.burst > 0
    return occ.internals()[1]           # the fast pressure the probe rises from


def _count_phase(occ, phase, p, limit):
    """Samples of p while the check stays in `phase` (the last one, which
    leaves it, counted); the last code returned."""
    n = 0
    code = 0
    while occ.phase == phase and n < limit:
        code = occ.update(p, True)
        n += 1
    return n, code


def test_a_probe_rises_exactly_its_height_or_pushes_12_s_then_holds_45_s():
    for resume in (False, True):
        occ = _settled(900)
        if resume:
            occ.restart()               # a pause and a resume: first probe again
        p1 = _probe_started(occ)
        # the push ends when the fast pressure rose exactly the probe height
        n, code = _count_phase(occ, 2, p1 + 250, 200)
        assert occ.phase == 3 and occ.filtered == p1 + 250 and n < 120, n
        assert occ.burst == -1
        # the hold: 45 s = 450 ticks; a flat line gets a second probe first
        n, code = _count_phase(occ, 3, p1 + 250, 1000)
        assert n == 450 and code == 0 and occ.phase == 2, (resume, n, occ.phase)
        # the second probe does not rise: it pushes exactly 12 s
        n, code = _count_phase(occ, 2, p1 + 250, 1000)
        assert n == 120 and occ.phase == 3
        n, code = _count_phase(occ, 3, p1 + 250, 1000)
        assert n == 450 and code == A_OCCLUSION_DOWNSTREAM


def test_a_hold_ordered_on_a_flat_line_alarms_without_a_second_probe():
    occ = _start(100)
    occ.q = 0                           # below the probe rate
    occ.hold()
    codes = _feed(occ, 100, 450)
    assert codes[449] == A_OCCLUSION_DOWNSTREAM and occ.phase == 1


def _hold_verdict(peak, tail, q=0):
    """hold() on a line at 90 mmHg; 20 samples (the first 2 s), 350 of
    peak[-1], 80 (the last 8 s): the code at the end and the check."""
    occ = _start(900)
    occ.q = q
    occ.hold()
    code = 0
    for p in list(peak) + [peak[-1]] * 350 + list(tail):
        code = occ.update(p, True)
    assert occ.phase != 3
    return code, occ


def test_the_hold_decays_by_an_eighth_of_the_probe_height_judged_on_whole_means():
    # an eighth of 25 mmHg is 3.1 (31 x10): mean of the first 2 s against
    # the mean of the last 8 s, each rounded down
    peak = [1000] * 19 + [1019]         # mean 1000.95 -> 1000
    code, occ = _hold_verdict(peak, [970] * 80)
    assert code == A_OCCLUSION_DOWNSTREAM          # 30: flat
    tail = [969] * 79 + [1048]          # mean 969.99 -> 969
    code, occ = _hold_verdict([1000] * 20, tail)
    assert code == 0 and occ.learned               # 31: decayed, seen open


def test_a_hold_that_decays_to_zero_gauge_bases_the_line_there():
    code, occ = _hold_verdict([40] * 20, [0] * 80, q=1)
    assert code == 0 and occ.learned and occ.filtered == 0
    assert occ.baseline_x10() == 0


def test_a_peristaltic_probe_that_decays_bases_the_line_where_the_probe_began():
    occ = _settled(900, q=4, **PERISTALTIC)
    p1 = _probe_started(occ)
    pre = occ.internals()[0]            # the slow pressure when it began
    assert 900 < pre < 1000
    _count_phase(occ, 2, p1 + 250, 200)
    assert occ.phase == 3
    _feed(occ, p1 + 250, 20)            # the hold's first 2 s at the top
    n, code = _count_phase(occ, 3, 850, 1000)      # then it sinks to the trough
    assert code == 0 and occ.phase == 1 and occ.filtered < pre
    assert occ.baseline_x10() == pre
    _feed(occ, pre, 10)                 # and the line is there: it stays
    assert occ.baseline_x10() == pre and occ.internals()[0] == pre


def test_a_pause_ends_a_probe_and_its_hold():
    occ = _settled(900)
    _probe_started(occ)
    occ.update(1000, False)
    assert occ.phase == 1 and occ.burst == 0
    occ = _start(900)
    occ.hold()
    occ.update(900, False)
    assert occ.phase == 1 and occ.burst == 0


# --------------------------------------------------- the probe's steps

def test_a_probe_is_repaid_one_scheduled_step_in_four_to_the_last_step():
    occ = _start(900)
    one = _Sched(1)
    assert [occ.steps(one, 1000) for _ in range(3)] == [1, 1, 1]
    occ.burst = 5                       # a probe's burst
    assert occ.steps(one, 1000) == 5 and occ.credit == 4
    occ.burst = 0
    got = [occ.steps(one, 1000) for _ in range(20)]
    assert got == [1, 1, 1, 0] * 4 + [1] * 4 and occ.credit == 0
    # at 8 steps a tick a quarter is 2, but only 1 is owed
    occ.burst = 9
    assert occ.steps(_Sched(8), 1000) == 9 and occ.credit == 1
    occ.burst = 0
    assert occ.steps(_Sched(8), 1000) == 7 and occ.credit == 0


def test_the_steps_missed_in_a_hold_are_caught_up_one_extra_a_tick():
    occ = _start(900)
    one = _Sched(1)
    occ.burst = -1
    assert [occ.steps(one, 1000) for _ in range(5)] == [-1] * 5
    assert occ.credit == -5
    occ.burst = 0
    assert [occ.steps(one, 1000) for _ in range(7)] == [2] * 5 + [1, 1]
    assert occ.credit == 0


# ------------------------------------------------------------- relief

def _blocked_after_opened(start_push, push, rise_to=1300):
    """Start at 50 mmHg, filled by start_push steps to 90 and seen open;
    then blocked: rises to rise_to (x10) while `push` steps go in."""
    occ = _opened_from(500, start_push, 900)
    occ.q = 1                           # the baseline follows (no probe)
    _fast_to(occ, rise_to)
    assert occ.baseline_x10() == 900 and occ.stored_steps == 0
    _push(occ, push)
    return occ


def test_relief_after_a_rise_from_a_re_based_line_goes_to_the_floor():
    # floor 50 mmHg (the start), baseline 90, 100 steps stored for a 40 mmHg
    # rise: the gap to the floor holds 1.5 x 100 x 40/40: 150 more
    occ = _blocked_after_opened(300, 100)
    assert occ.floor_steps == 400
    occ.alarm(A_OCCLUSION_DOWNSTREAM, True)
    assert occ.relief_left == 250 + 64
    # capped at what was pushed since the line was at the floor
    occ2 = _blocked_after_opened(50, 100)
    occ2.alarm(A_OCCLUSION_DOWNSTREAM, True)
    assert occ2.relief_left == 150 + 64
    # the speed: 100 steps for 40 mmHg, at most 1.7 mmHg a tick: 4 steps;
    # a tick's steps spread over the tick
    motor = _Motor()
    assert occ.relieve(motor, 100) is False
    assert motor.moves == [(4, 100, False)]
    assert occ.relieved == 4 and occ.stored_steps == 96 and occ.floor_steps == 396
    assert occ.relief_left == 310
    occ.update(701, False)              # the sample 20.1 mmHg above the floor
    occ.relieve(motor, 100)
    occ.update(700, False)              # 20 mmHg: the last of it, 1/8 as fast
    occ.relieve(motor, 100)
    assert [m[0] for m in motor.moves] == [4, 4, 1]
    _fast_to(occ, 600, False)           # 10 mmHg above the floor: on
    assert occ.relieve(motor, 100) is False and motor.moves[-1][0] == 1
    _fast_to(occ, 530, False)           # 3 mmHg above it: done
    n = len(motor.moves)
    assert occ.relieve(motor, 100) is True and len(motor.moves) == n
    assert occ.relief_left == 0 and motor.forward is True


def test_relief_when_the_line_is_at_its_baseline_or_just_above():
    # at the baseline: what is stored and the backlash, at full speed
    occ = _opened_from(500, 300, 900)
    _push(occ, 100)
    assert occ.filtered == 900
    occ.alarm(A_PRESSURE_HARD_LIMIT, True)
    assert occ.relief_left == 164
    # 0.1 mmHg above: down to the floor, as much as was pushed since
    occ = _opened_from(500, 300, 900)
    occ.q = 1
    _fast_to(occ, 901)
    _push(occ, 10)
    occ.alarm(A_OCCLUSION_DOWNSTREAM, True)
    assert occ.relief_left == occ.floor_steps + 64 == 310 + 64


def _settled_blocked(rise_to, push, q=1, **settings):
    """Seen open at 90 mmHg (floor there too), then blocked."""
    occ = _settled(900, q=q, **settings)
    _fast_to(occ, rise_to)
    assert occ.internals()[0] > 930     # stored_steps counts from here
    assert occ.baseline_x10() == 900 and occ.stored_steps == 0
    _push(occ, push)
    return occ


def test_relief_speed_follows_the_blocked_line_stiffness():
    # nothing stored: the backlash at full speed (8 steps of 217 nL)
    occ = _settled_blocked(1300, 0)
    occ.alarm(A_OCCLUSION_DOWNSTREAM, True)
    assert occ.relief_left == 64
    motor = _Motor()
    occ.relieve(motor, 100)
    assert motor.moves == [(8, 100, False)]
    # one step for 40 mmHg: a stiff line, one step a tick
    occ = _settled_blocked(1300, 1)
    occ.alarm(A_OCCLUSION_DOWNSTREAM, True)
    assert occ.relief_left == 65
    motor = _Motor()
    occ.relieve(motor, 100)
    assert motor.moves == [(1, 100, False)]


def test_a_relief_that_does_not_lower_the_pressure_stops_at_what_it_may_take_back():
    occ = _settled_blocked(1000, 97)
    occ.alarm(A_OCCLUSION_DOWNSTREAM, True)
    assert occ.relief_left == 161
    motor = _Motor()
    t = 0
    while not occ.relieve(motor, 100) and t < 1000:
        t += 1
    assert motor.back == 161 and occ.relieved == 161


def test_relief_of_a_line_never_seen_open_goes_back_to_its_start_level():
    occ = _start(900)                   # primed: 90 mmHg at start (+3 lag)
    _push(occ, 200)
    _fast_to(occ, 1300)
    occ.alarm(A_OCCLUSION_DOWNSTREAM, True)
    assert occ.relief_left == 200
    motor = _Motor()
    assert occ.relieve(motor, 100) is False
    _fast_to(occ, 950, False)           # 2 mmHg above the start level: done
    n = len(motor.moves)
    assert occ.relieve(motor, 100) is True and len(motor.moves) == n


def _unprimed_alarm(p0):
    occ = _start(p0)
    _push(occ, 200)
    _fast_to(occ, 1000)
    occ.alarm(A_OCCLUSION_DOWNSTREAM, True)
    return occ


def test_relief_of_an_unprimed_line_stops_on_the_sample_near_zero_gauge():
    # start at 10 mmHg (target 13): the sample 3 mmHg above it stops the
    # relief though the lagging filter is far above
    occ = _unprimed_alarm(100)
    occ.update(160, False)
    assert occ.filtered - 130 > 30
    motor = _Motor()
    assert occ.relieve(motor, 100) is True and motor.moves == []
    # start at 27 mmHg (target 30: a pressurised level): the filter decides
    occ = _unprimed_alarm(270)
    occ.update(320, False)
    motor = _Motor()
    assert occ.relieve(motor, 100) is False and len(motor.moves) == 1


def test_peristaltic_relief_leaves_an_eighth_and_keeps_its_speed_and_near_speed():
    occ = _settled_blocked(1300, 800, q=20, **PERISTALTIC)
    occ.alarm(A_OCCLUSION_DOWNSTREAM, True)
    assert occ.relief_left == 700 + 64          # an eighth left (slip)
    # 800 steps for 40 mmHg: 34 a tick; 4 over the last 20 mmHg
    motor = _Motor()
    occ.relieve(motor, 100)
    occ.update(1100, False)
    occ.relieve(motor, 100)
    assert [m[0] for m in motor.moves] == [34, 4]
    # a coarser head (100 nL steps): still a peristaltic head
    occ = _settled_blocked(1300, 800, q=20, pump_kind=1, step_pl=100000)
    occ.alarm(A_OCCLUSION_DOWNSTREAM, True)
    assert occ.relief_left == 700 + 64
    # the rise was 0.1 mmHg at the alarm: one step is stiff, 17 a tick
    occ = _settled(900, q=20, **PERISTALTIC)
    _fast_to(occ, 901)
    _push(occ, 1)
    occ.alarm(A_OCCLUSION_DOWNSTREAM, True)
    assert occ.relief_left == 65
    occ.update(2000, False)             # the filter catches up the sample
    motor = _Motor()
    occ.relieve(motor, 100)
    assert [m[0] for m in motor.moves] == [17]


def test_the_floor_creeps_toward_the_baseline_also_while_the_line_sits_on_it():
    # floor 50 mmHg, baseline 87-90: the floor follows the baseline up at
    # 1/32768 of the gap a tick (about an hour), and a line sitting exactly
    # on the floor does not restart that: 4.5 s on it, then blocked, and
    # the relief's target is 50.1 mmHg (it stops 3 mmHg above that)
    occ = _opened_from(500, 300, 900)
    _slow_to(occ, 500, False)           # a pause: the line sinks onto its floor
    _feed(occ, 500, 45, False)
    occ.q = 1
    _fast_to(occ, 1300)
    _push(occ, 100)
    occ.alarm(A_OCCLUSION_DOWNSTREAM, True)
    motor = _Motor()
    _fast_to(occ, 532, False)
    assert occ.relieve(motor, 100) is False
    _fast_to(occ, 531, False)
    assert occ.relieve(motor, 100) is True


# ------------------------------------- who probes, and how the baseline follows

def test_above_the_probe_rate_a_line_never_seen_open_may_rise_by_the_catheter_flow_drop():
    # 15 whole steps a tick of 217.07 nL: 200 mmHg + 15 x 21.7 = 525.5 mmHg
    occ = _start(100)
    occ.q = 15
    assert A_OCCLUSION_DOWNSTREAM not in _feed(occ, 5255, 300)
    assert occ.filtered == 5255
    assert _feed(occ, 5256, 100)[-1] == A_OCCLUSION_DOWNSTREAM


def test_a_probe_pushes_about_1_ul_a_tick_whatever_the_step():
    occ = _settled(900)
    _probe_started(occ)
    assert occ.burst == 5               # 5 x 217 nL
    occ = _settled(900, q=4, **PERISTALTIC)
    _probe_started(occ)
    assert occ.burst == 65              # 65 x 15.6 nL


def _probes(q, **settings):
    occ = _settled(900, q=q, **settings)
    for _ in range(300):                # a 10 mmHg rise
        occ.update(1000, True)
        if occ.phase == 2:
            return True
    return False


def test_a_syringe_probes_below_one_step_a_tick_a_peristaltic_head_below_a_quarter_burst():
    assert _probes(0) and not _probes(1)
    assert not _probes(1, step_pl=100000)          # a syringe with a fine step too
    assert _probes(15, **PERISTALTIC) and not _probes(16, **PERISTALTIC)


def _probe_hold(peak, tail, q=0, **settings):
    """A probe pushed its height; then its hold: 20 samples (the first 2 s),
    350 of peak[-1], 80 (the last 8 s)."""
    occ = _settled(900, **settings)
    p1 = _probe_started(occ)
    pre = occ.internals()[0]
    _count_phase(occ, 2, p1 + 250, 200)
    assert occ.phase == 3
    occ.q = q
    code = 0
    for p in list(peak) + [peak[-1]] * 350 + list(tail):
        code = occ.update(p, True)
    return occ, code, pre


def test_a_probe_hold_is_judged_on_whole_means_then_a_flat_line_is_probed_again():
    occ, code, pre = _probe_hold([1000] * 19 + [1019], [970] * 80)
    assert code == 0 and occ.phase == 2            # 30: flat, a second probe
    occ, code, pre = _probe_hold([1000] * 20, [969] * 79 + [1048])
    assert code == 0 and occ.phase == 1            # 31: decayed


def test_a_syringe_probe_that_decays_below_its_start_bases_the_line_where_it_ended():
    occ, code, pre = _probe_hold([1150] * 20, [850] * 80)
    assert code == 0 and occ.phase == 1 and pre > 850
    assert occ.baseline_x10() == 850 and occ.internals()[0] == 850


def test_a_flat_hold_alarms_at_once_if_the_rate_rose_to_the_probe_rate_meanwhile():
    occ, code, pre = _probe_hold([1150] * 20, [1150] * 80, q=1)
    assert code == A_OCCLUSION_DOWNSTREAM and occ.phase == 1


def test_the_fast_path_alarms_above_delta_over_the_baseline_not_at_it():
    occ = _settled(900, q=1)
    _fast_to(occ, 1900)
    assert not occ.tripped and occ.baseline_x10() == 900
    codes = _feed(occ, 1901, 20)
    assert A_OCCLUSION_DOWNSTREAM in codes


def test_at_exactly_3_mmhg_above_the_baseline_a_probing_line_keeps_its_count_and_is_not_probed():
    occ = _settled(900)
    _slow_to(occ, 930)
    assert occ.phase == 1
    _push(occ, 50)
    occ.update(930, True)
    assert occ.stored_steps == 50 and occ.phase == 1
    _slow_to(occ, 931)                  # 3.1 mmHg: suspect
    assert occ.phase == 2


def test_the_baseline_follows_a_falling_line_down_within_minutes():
    occ = _settled(900)
    _feed(occ, 800, 1000)               # 100 s
    assert 800 < occ.baseline_x10() < 810, occ.baseline_x10()


def test_the_baseline_follows_a_rise_only_above_the_probe_rate():
    occ = _settled(900, q=0)            # probing: never (only a probe re-bases)
    _feed(occ, 925, 3000)
    assert occ.baseline_x10() == 900
    occ = _settled(900, q=1)            # within 3 mmHg: 1/4096 of the gap a tick
    _feed(occ, 925, 3000)
    assert 910 <= occ.baseline_x10() < 925, occ.baseline_x10()
    occ = _settled(900, q=1)            # beyond: 1/16 of that, 0.2 mmHg in 200 s
    _feed(occ, 1000, 2000)
    assert occ.baseline_x10() == 902


def test_the_filters_start_from_zero_and_follow_a_step_by_an_eighth_and_a_64th_a_tick():
    # integer filters: x += p - (x >> k), read x >> k; from x = 0 at boot
    occ = OcclusionCheck(Settings())
    fast = slow = 0
    for _ in range(40):
        occ.update(900, False)
        fast += 900 - (fast >> 3)
        slow += 900 - (slow >> 6)
        assert occ.filtered == fast >> 3 and occ.internals()[0] == slow >> 6
