"""Occlusion detector, probe and pressure relief on the fake HAL, with a tiny
integer line model in the test (compliance 2 uL/mmHg, 217 nL per step:
4.34 ADC counts per step at 40 counts/mmHg). Runs under pytest AND
MicroPython."""
from helpers_device import make_pump, start_program
from firmware.compat import heap_lock, heap_unlock
from pumphost.codes import A_OCCLUSION_DOWNSTREAM

RATE_177 = 1773913
BASE_RAW = 3000 + 40 * 87      # 87 mmHg


class Line:
    """Pressure in ADC counts x100 (integers): pushed steps fill the
    compliance; when open it relaxes to the arterial level with tau ~10 s."""

    def __init__(self, hal):
        self.hal = hal
        self.c100 = BASE_RAW * 100
        self.target100 = BASE_RAW * 100
        self.pos = hal.motor.pos
        self.open = True

    def step(self):
        pos = self.hal.motor.pos
        self.c100 += (pos - self.pos) * 434
        self.pos = pos
        if self.open:
            d = self.c100 - self.target100
            if d > 0:                      # anti-reflux valve: outflow only
                self.c100 -= d // 100      # 1 % per 100 ms tick: tau 10 s
        self.hal.pressure.raw = self.c100 // 100


def run(hal, loop, line, n):
    clock = hal.clock
    for _ in range(n):
        line.step()
        clock.advance(100)
        loop.poll()


def _steady(rate=RATE_177):
    hal, pump, loop = make_pump()
    hal.pressure.raw = BASE_RAW
    start_program(hal, pump, loop, rate, 40000000)
    line = Line(hal)
    run(hal, loop, line, 6000)            # settles, learns the baseline
    assert pump.occlusion.learned
    assert pump.state_name() == 'RUNNING'
    return hal, pump, loop, line


def test_blocked_line_alarms_within_3_min_and_relief_backs_off():
    hal, pump, loop, line = _steady()
    line.open = False
    pos0 = hal.motor.pos
    t = 0
    pos_alarm = pos0
    while pump.state_name() == 'RUNNING' and t < 3000:
        pos_alarm = hal.motor.pos          # the relief may start in the alarm tick
        run(hal, loop, line, 1)
        t += 1
    assert pump.state_name() == 'ALARM'
    assert pump.alarms.active[A_OCCLUSION_DOWNSTREAM]
    assert t <= 1800, t                   # 3 min at 1.77 mL/h
    run(hal, loop, line, 300)             # relief: bounded back-off
    pos_relieved = hal.motor.pos
    assert pos_relieved < pos_alarm
    assert pos_relieved >= pos0 - 64 - 8  # never more than pushed since baseline + backlash
    p = hal.pressure.raw
    assert p - BASE_RAW < 40 * 5          # pressure back within 5 mmHg of baseline
    recs = [r for r in pump.journal.records() if r[2] == 12]
    assert recs and recs[-1][3] == pos_alarm - pos_relieved   # journaled
    run(hal, loop, line, 600)
    assert hal.motor.pos == pos_relieved  # nothing moves, nothing resumes
    assert pump.state_name() == 'ALARM'


def test_bp_step_up_is_probed_not_alarmed_and_probe_allocates_nothing():
    hal, pump, loop, line = _steady()
    line.target100 += 40 * 15 * 100       # patient pressure +15 mmHg
    clock = hal.clock
    poll = loop.poll
    occ = pump.occlusion
    probed = False
    err = None
    heap_lock()
    try:
        for _ in range(9000):             # 15 min
            line.step()
            clock.advance(100)
            poll()
            if occ.phase == 2:
                probed = True
    except MemoryError as e:
        err = e
    heap_unlock()
    assert err is None, 'allocation in the probe path'
    assert probed
    assert pump.state_name() == 'RUNNING'
    assert not pump.alarms.active[A_OCCLUSION_DOWNSTREAM]


def test_low_rate_blocked_line_alarms_within_20_min():
    hal, pump, loop, line = _steady(rate=100000)    # 0.1 mL/h
    line.open = False
    t = 0
    while pump.state_name() == 'RUNNING' and t < 20000:
        run(hal, loop, line, 1)
        t += 1
    assert pump.state_name() == 'ALARM'
    assert t <= 12000, t                  # 20 min


def test_probe_keeps_the_delivered_volume_exact():
    hal, pump, loop, line = _steady()
    line.target100 += 40 * 15 * 100
    run(hal, loop, line, 12000)
    # 30 min after the step: the probe's burst was repaid from the schedule
    ticks = 6000 + 12000
    expected = RATE_177 * 100 * ticks // (3600 * 217070)
    assert pump.state_name() == 'RUNNING'
    assert abs(pump.course.steps_commanded - expected) <= 2, (pump.course.steps_commanded, expected)


class SoftLine(Line):
    """Line with a given ADC counts x100 per step: a peristaltic head's 15.6 nL
    into 3 uL/mmHg is 21 (0.0052 mmHg a step)."""

    def __init__(self, hal, per_step):
        Line.__init__(self, hal)
        self.per_step = per_step

    def step(self):
        pos = self.hal.motor.pos
        self.c100 += (pos - self.pos) * self.per_step
        self.pos = pos
        if self.open:
            d = self.c100 - self.target100
            if d > 0:
                self.c100 -= d // 100
        self.hal.pressure.raw = self.c100 // 100


def _relief_record(pump):
    recs = [r for r in pump.journal.records() if r[2] == 12]
    return recs[-1] if recs else None


def test_peristaltic_probes_at_1_77_and_relieves_at_the_syringe_speed():
    # 3 whole steps a tick: over one step, yet the probe runs (the fast path
    # alone needs 100 mmHg x 3 uL/mmHg / 0.49 uL/s = 610 s); the relief backs
    # off 1.7 uL a tick, not 8 of these 15.6 nL steps (0.125 uL)
    hal, pump, loop = make_pump(step_pl=15625, pump_kind=1)
    hal.pressure.raw = BASE_RAW
    start_program(hal, pump, loop, RATE_177, 40000000)
    line = SoftLine(hal, 21)
    run(hal, loop, line, 6000)
    occ = pump.occlusion
    assert occ.learned and occ.q == 3 and pump.state_name() == 'RUNNING'
    line.open = False
    clock = hal.clock
    poll = loop.poll
    probed = False
    t = 0
    err = None
    heap_lock()
    try:
        while pump.state_name() == 'RUNNING' and t < 3000:
            line.step()
            clock.advance(100)
            poll()
            if occ.phase == 2:
                probed = True
            t += 1
    except MemoryError as e:
        err = e
    heap_unlock()
    assert err is None, 'allocation in the probe path'
    assert probed
    assert pump.state_name() == 'ALARM' and pump.alarms.active[A_OCCLUSION_DOWNSTREAM]
    assert t <= 1800, t                   # 3 min
    u = 0
    while _relief_record(pump) is None and u < 3000:
        run(hal, loop, line, 1)
        u += 1
    assert u <= 900, u                    # relieved within 90 s
    assert hal.pressure.raw - BASE_RAW < 40 * 6


def _paused_then_blocked():
    # 25 mL/h: the open line rests 35 mmHg above the patient (the flow
    # through the catheter); a 5 min pause lets it sink to the patient's
    # level; 5 min after the resume the catheter blocks
    hal, pump, loop = make_pump()
    hal.pressure.raw = BASE_RAW
    start_program(hal, pump, loop, 25000000, 40000000)
    line = Line(hal)
    run(hal, loop, line, 6000)
    occ = pump.occlusion
    assert occ.learned and hal.pressure.raw - BASE_RAW > 40 * 25
    assert pump.pause() == 0
    run(hal, loop, line, 3000)
    assert hal.pressure.raw - BASE_RAW < 40 * 2
    assert pump.resume() == 0
    pos_resume = hal.motor.pos
    run(hal, loop, line, 3000)
    base = occ.baseline_x10()
    assert base > 870 + 200
    line.open = False
    t = 0
    while pump.state_name() == 'RUNNING' and t < 3000:
        run(hal, loop, line, 1)
        t += 1
    assert pump.state_name() == 'ALARM'
    run(hal, loop, line, 1200)
    assert _relief_record(pump) is not None
    true_x10 = (line.c100 // 100 - 3000) * 10 // 40
    return hal, base, true_x10, pos_resume


def test_relief_goes_down_to_the_level_seen_in_a_pause_not_below():
    # blocked after the resume, the relief backs off to the level seen in
    # the pause (less left to reach the patient when the line clears)
    hal, base, p, pos_resume = _paused_then_blocked()
    assert p < base - 150, (p, base)         # below the baseline, by 15 mmHg or more
    assert p >= 870 - 20, p                  # not below the level seen in the pause
    assert hal.motor.pos >= pos_resume - 64  # never more than pushed since it was there


def test_relief_is_armed_by_both_pressure_alarms_while_infusing_and_cancelled_by_others():
    from firmware.settings import Settings
    from firmware.occlusion import OcclusionCheck
    from pumphost.codes import A_PRESSURE_HARD_LIMIT, A_AIR_IN_LINE
    for code in (A_OCCLUSION_DOWNSTREAM, A_PRESSURE_HARD_LIMIT):
        occ = OcclusionCheck(Settings())
        occ.begin()
        occ.restart()
        for p in range(870, 1270, 10):     # a line never seen open, rising
            occ.update(p, True)
        occ.stored_steps += 200            # what the course pushed meanwhile
        occ.alarm(code, False)             # not infusing: nothing to relieve
        assert occ.relief_left == 0
        occ.alarm(code, True)
        assert occ.relief_left == 200      # all pushed since start, backlash included
        occ.alarm(A_AIR_IN_LINE, True)     # a later alarm of another kind cancels it
        assert occ.relief_left == 0


def _unit_check(p0):
    from firmware.settings import Settings
    from firmware.occlusion import OcclusionCheck
    occ = OcclusionCheck(Settings())
    occ.begin()
    occ.restart()
    occ.update(p0, True)               # nothing pushed yet: the start level
    return occ


def test_course_end_holds_a_never_opened_line_only_above_the_probe_rate_and_suspect_rise():
    # an unprimed line (10 mmHg at start: never seen open), at exactly the
    # probe rate; the start level is the pressure at start plus the filter lag
    for rise, held in ((30, False), (31, True)):
        occ = _unit_check(100)
        base = occ.baseline_x10()
        assert base == 130
        occ.stored_steps += 50
        occ.q = 1                               # a syringe probes below one step a tick
        for _ in range(200):                    # the fast filter settles exactly
            occ.update(base + rise, True)
        assert occ.filtered == base + rise and occ.phase == 0 and not occ.learned
        assert occ.clear() is (not held)        # held: the verdict comes first
        assert occ.phase == (3 if held else 0)
    # the hold judges the line: flat for 45 s is blocked, and no second probe
    assert occ.burst == -1
    codes = [occ.update(base + 31, True) for _ in range(450)]
    assert codes[:449] == [0] * 449 and codes[449] == A_OCCLUSION_DOWNSTREAM
    occ = _unit_check(100)
    occ.stored_steps += 50
    occ.q = 0                                   # below the probe rate: no hold
    for _ in range(200):
        occ.update(200, True)
    assert occ.clear() is True and occ.phase == 0


def test_course_end_drops_a_probe_still_pushing():
    occ = _unit_check(900)
    for _ in range(2500):              # settles open: two 120 s windows
        occ.update(900, True)
    assert occ.learned and occ.phase == 1
    t = 0
    while occ.phase != 2 and t < 3000:  # a slow rise at a probing rate: probe
        occ.update(1000, True)
        t += 1
    assert occ.phase == 2 and occ.burst > 0
    assert occ.clear() is True
    assert occ.phase == 1 and occ.burst == 0


def test_resume_keeps_a_learned_baseline_and_a_rising_line_stays_unsettled():
    occ = _unit_check(900)
    for _ in range(2500):
        occ.update(900, True)
    assert occ.learned and occ.phase == 1
    occ.restart()                       # a pause and a resume: no new settling
    assert occ.phase == 1
    # a line still rising 0.25 mmHg/s across a resume is not seen open
    occ = _unit_check(400)
    for i in range(1300):
        occ.update(400 + i // 4, True)
    occ.restart()
    for i in range(1300):
        occ.update(725 + i // 4, True)
    assert not occ.learned and occ.phase == 0


class _NoSteps:
    def next_steps(self):
        return 0


def _probing():
    occ = _unit_check(900)
    for _ in range(2500):
        occ.update(900, True)
    t = 0
    while occ.phase != 2 and t < 3000:
        occ.update(1000, True)
        t += 1
    assert occ.phase == 2 and occ.burst > 0
    return occ


def test_a_probe_is_pushed_only_if_the_course_has_its_whole_burst_left():
    occ = _probing()
    b = occ.burst
    assert occ.steps(_NoSteps(), b) == b          # exactly the burst left: pushed
    assert occ.credit == b and occ.phase == 2
    occ = _probing()
    b = occ.burst
    assert occ.steps(_NoSteps(), b - 1) == 0      # the course ends within it: no probe
    assert occ.burst == 0 and occ.phase == 1
    assert occ.steps(_NoSteps(), b - 1) == 0 and occ.credit == 0


def test_the_hard_ceiling_trips_above_its_value_not_at_it():
    from pumphost.codes import A_PRESSURE_HARD_LIMIT
    occ = _unit_check(900)
    for _ in range(2500):
        occ.update(900, True)
    hard = occ.hard
    codes = [occ.update(hard, True) for _ in range(300)]
    assert occ.filtered == hard and A_PRESSURE_HARD_LIMIT not in codes
    codes = [occ.update(hard + 1, True) for _ in range(300)]
    assert codes[-1] == A_PRESSURE_HARD_LIMIT and occ.tripped


def test_peristaltic_probes_never_run_the_pump_more_than_one_probe_ahead():
    # 0.1 mL/h on a 15.6 nL step into stiff 0.5 uL/mmHg tubing (125 counts
    # x100 a step); the patient's pressure steps up 4 mmHg for 5 min in
    # every 10: a suspect rise every 10 min, each probing the open line.
    # A probe (about 13 uL here) is repaid one scheduled step in four (4 uL
    # in 10 min): probing each time, the pump would run away ahead of its
    # schedule; it may be at most one probe ahead
    rate = 100000
    hal, pump, loop = make_pump(step_pl=15625, pump_kind=1)
    hal.pressure.raw = BASE_RAW
    start_program(hal, pump, loop, rate, 40000000)
    line = SoftLine(hal, 125)
    run(hal, loop, line, 6000)
    occ = pump.occlusion
    assert occ.learned and pump.state_name() == 'RUNNING'
    c = pump.course
    s0 = c.steps_commanded
    probes = 0
    burst = 0           # the largest probe: steps pushed while it pushed
    most = 0
    t = 0
    while t < 3 * 36000:                 # 3 h
        if t % 6000 == 0:
            line.target100 = (BASE_RAW + 160) * 100    # + 4 mmHg
        elif t % 6000 == 3000:
            line.target100 = BASE_RAW * 100
        was = occ.phase
        n0 = c.steps_commanded
        run(hal, loop, line, 1)
        t += 1
        if occ.phase == 2 and was != 2:  # its first burst is pushed this tick
            probes += 1
            b = 0
        if occ.phase == 2 or was == 2:
            b += c.steps_commanded - n0
            if b > burst:
                burst = b
        # ahead of the schedule since the baseline was learned (1 of rounding)
        ahead = c.steps_commanded - s0 - rate * t // (36 * 15625) - 1
        if ahead > most:
            most = ahead
    assert pump.state_name() == 'RUNNING'
    assert probes >= 3, probes           # it did probe, more than once
    assert 0 < burst <= 120 * 65         # at most 12 s of 1 uL (65 steps) a tick
    assert most <= burst, (most, burst, probes)


def _blocked_after_a_probe(per_step):
    # blocked just after a probe at 0.1 mL/h: ticks to the alarm
    hal, pump, loop = make_pump(step_pl=15625, pump_kind=1)
    hal.pressure.raw = BASE_RAW
    start_program(hal, pump, loop, 100000, 40000000)
    line = SoftLine(hal, per_step)
    run(hal, loop, line, 6000)
    occ = pump.occlusion
    line.target100 = (BASE_RAW + 160) * 100      # + 4 mmHg: one probe
    t = 0
    while occ.phase != 3 and t < 12000:
        run(hal, loop, line, 1)
        t += 1
    while occ.phase == 3:
        run(hal, loop, line, 1)
    assert occ.credit > 0 and pump.state_name() == 'RUNNING'
    line.open = False
    t = 0
    while pump.state_name() == 'RUNNING' and t < 30000:
        run(hal, loop, line, 1)
        t += 1
    assert pump.alarms.active[A_OCCLUSION_DOWNSTREAM]
    return t


def test_peristaltic_occlusion_during_a_repayment_alarms_within_20_min():
    # the line rises at 3/4 rate while the probe is repaid (31 min into
    # 0.5 uL/mmHg, 4.8 h into 3); the fast path alone takes 40 min into
    # 0.5 and hours into 3, a rise of a probe height 1 h into 3: a rise of
    # twice the suspect level is probed
    t = _blocked_after_a_probe(125)       # 0.5 uL/mmHg
    assert t <= 12000, t                  # 20 min
    t = _blocked_after_a_probe(21)        # 3 uL/mmHg
    assert t <= 12000, t


def _learned_peristaltic_check():
    """A peristaltic head's check (15.6 nL step) settled on an open line at
    90 mmHg."""
    from firmware.settings import Settings
    from firmware.occlusion import OcclusionCheck
    occ = OcclusionCheck(Settings(step_pl=15625, pump_kind=1))
    occ.begin()
    occ.restart()
    for _ in range(2500):
        occ.update(900, True)
    assert occ.learned and occ.phase == 1
    return occ


def test_peristaltic_probes_during_a_repayment_only_on_a_rise_of_twice_the_suspect_level():
    # and only while less than one whole probe (12 s of its 65-step burst)
    # is ahead: at most two probes ahead, however the pressure moves
    occ = _learned_peristaltic_check()
    occ.credit = 100                    # the last probe is being repaid
    for _ in range(2000):
        occ.update(950, True)           # 5 mmHg over: suspect (3), under twice that
    assert occ.phase == 1
    t = 0
    while occ.phase == 1 and t < 2000:
        occ.update(970, True)           # 7 mmHg over: probed in the repayment
        t += 1
    assert occ.phase == 2
    assert occ.clear() and occ.phase == 1   # the course ended: probe dropped
    occ.credit = 120 * 65               # a whole probe ahead
    for _ in range(2000):
        occ.update(1100, True)          # 20 mmHg over
    assert occ.phase == 1
    occ.credit = 120 * 65 - 1
    occ.update(1100, True)
    assert occ.phase == 2


def test_peristaltic_repayment_blocks_a_probe_from_one_step_owed_up_to_exactly_twice_the_suspect_rise():
    # one step still ahead is a repayment; a rise of exactly twice the
    # suspect level is not yet more than it
    occ = _learned_peristaltic_check()
    occ.credit = 1
    for _ in range(3000):
        occ.update(950, True)           # 5 mmHg over: suspect, under twice that
    assert occ.phase == 1
    occ.credit = 100
    for _ in range(6000):
        occ.update(960, True)           # 6 mmHg over: exactly twice the suspect level
    assert occ.phase == 1 and occ.internals()[0] == 960
    t = 0
    while occ.phase == 1 and t < 200:
        occ.update(961, True)
        t += 1
    assert occ.phase == 2               # just over it: probed
