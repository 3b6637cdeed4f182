"""The device's own dose check (firmware.dose_limits, stage 2 of
Program.validate): the most of a drug given in any 24 h window, and the
lines a refusal shows. Runs under pytest AND MicroPython.

Amounts: a step of v nL at a concentration of c milli-units/mL holds v * c
units of 1e-6 milli-units; heparin at 1000000 mU/mL makes 1 nL exactly one
mU, so a 24 h dose in mU reads as the volume in nL. A step of v nL at r
nL/h lasts v * 3600000 // r ms."""
from firmware.druglib import LIB
from firmware.program import Program
from firmware.settings import Settings
from pumphost.codes import FLAG_OVERRIDE, K_BOLUS, K_CONTINUOUS, K_CYCLE, K_PAUSE, K_RAMP, K_SYRINGE

FUDR = 1
HEPARIN = 5
HOUR_NL = 1000000           # 1 mL/h
SETTINGS = Settings(syringe_volume_nl=100000000)   # 100 mL: the long programs fit one syringe


def entry(drug_id, conc):
    for e in LIB:
        if e[0] == drug_id:
            return (drug_id, conc) + tuple(e[3:])
    raise AssertionError(drug_id)


def check(steps, drugs, flags=FLAG_OVERRIDE):
    p = Program(steps, drugs, flags)
    return p.validate(SETTINGS), p


def heparin(steps, flags=FLAG_OVERRIDE):
    """Heparin at 1000000 mU/mL (1 nL = 1 mU), soft limits overridden:
    only the hard limits refuse (dose_day 40000000 mU)."""
    return check(steps, [entry(HEPARIN, 1000000)], flags)[0]


def day_refusal(mu):
    return 'drugs[0] dose in 24 h=%d not allowed (hard limit dose_day 40000000 for drug 5)' % mu


def test_the_busiest_window_starts_at_a_step_and_spans_the_next():
    # 20 mL in the first hour, then 1 mL/h for 48 h: the first 24 h hold
    # 20 mL + 23 mL; a window ending at a step's end, or starting at the
    # second step, holds at most 24 mL
    steps = [(K_CONTINUOUS, 20 * HOUR_NL, 20000000), (K_CONTINUOUS, HOUR_NL, 48000000)]
    assert heparin(steps) == day_refusal(43000000)


def test_the_busiest_window_ends_at_a_step_and_spans_the_one_before():
    # mirrored: 1 mL/h for 48 h, then 20 mL in an hour; the last 24 h hold
    # 23 mL + 20 mL, a window from any step's start at most 24 mL
    steps = [(K_CONTINUOUS, HOUR_NL, 48000000), (K_CONTINUOUS, 20 * HOUR_NL, 20000000)]
    assert heparin(steps) == day_refusal(43000000)


def test_a_window_counts_the_part_of_a_step_that_started_late():
    # a 2 h pause first: the window from the 20 mL step's start (2 h) holds
    # it and the first 23 h of the 48 h step (started at 3 h)
    steps = [(K_PAUSE, 0, 0, 7200), (K_CONTINUOUS, 20 * HOUR_NL, 20000000),
             (K_CONTINUOUS, HOUR_NL, 48000000)]
    assert heparin(steps) == day_refusal(43000000)


def test_a_window_of_exactly_the_hard_limit_passes_and_one_mu_more_is_refused():
    # 17 mL in the first hour, then 1 mL/h for 48 h: the first 24 h hold
    # 17 + 23 = 40 mL = 40000000 mU, exactly the hard dose_day
    steps = [(K_CONTINUOUS, 17 * HOUR_NL, 17000000), (K_CONTINUOUS, HOUR_NL, 48000000)]
    assert heparin(steps) is None
    # one nL more in the first hour (still 1 h at the floor of its duration)
    steps[0] = (K_CONTINUOUS, 17 * HOUR_NL, 17000001)
    assert heparin(steps) == day_refusal(40000001)


def test_an_instantaneous_bolus_on_either_edge_of_the_window_counts_in_it():
    # 41 nL at 150 mL/h lasts 41 * 3600000 // 150000000 = 0 ms: a bolus at
    # one instant. 2 mL/h for 48 h gives 48 mL in any 24 h; the bolus on
    # the window's first or last instant adds its 41 mU
    bolus = (K_BOLUS, 150000000, 41)
    infusion = (K_CONTINUOUS, 2 * HOUR_NL, 96000000)
    assert heparin([bolus, infusion]) == day_refusal(48000041)
    assert heparin([infusion, bolus]) == day_refusal(48000041)


def test_a_window_cutting_a_step_rounds_its_share_up():
    """FUDR at 9973 ug/mL (hard dose_day 90000 mg = 9e10 units of 1e-6 mg).
    A: 6996993 nL at 807587 nL/h lasts 31190664 ms and holds 69781011189
    units; a 1 s pause; B: 3966014 nL at 132200 nL/h lasts D = 108000381 ms
    and holds 39552057622 units. The window from A's start leaves B
    86400000 - 31191664 = 55208336 ms of it: 39552057622 * 55208336 =
    20218988811 * D + 1, rounded up 20218988812. The window holds
    69781011189 + 20218988812 = 9e10 + 1: one unit over the hard limit,
    where rounding down would have let the program through."""
    a = (K_CONTINUOUS, 807587, 6996993)
    b = (K_CONTINUOUS, 132200, 3966014)
    err, _ = check([a, (K_PAUSE, 0, 0, 1), b], [entry(FUDR, 9973)])
    assert err == 'drugs[0] dose in 24 h=90000 not allowed (hard limit dose_day 90000 for drug 1)', err


def test_each_drug_is_judged_on_its_own_steps_whatever_comes_first():
    # FUDR first (5 mg in an hour), a syringe change, then heparin over
    # its day limit: the heparin check reads past the FUDR steps
    steps = [(K_CONTINUOUS, HOUR_NL, HOUR_NL, 0, 0, 0), (K_SYRINGE, 0, 0),
             (K_CONTINUOUS, 2 * HOUR_NL, 96000000, 0, 0, 1)]
    err, _ = check(steps, [entry(FUDR, 5000), entry(HEPARIN, 1000000)])
    assert err == 'drugs[1] dose in 24 h=48000000 not allowed (hard limit dose_day 40000000 for drug 5)', err
    # and heparin first, FUDR after, over the FUDR day limit (20 mL/day at
    # 5000 ug/mL = 100 mg > 90 mg)
    steps = [(K_CONTINUOUS, HOUR_NL, HOUR_NL, 0, 0, 1), (K_SYRINGE, 0, 0),
             (K_CONTINUOUS, 1000000, 20000000, 0, 0, 0)]
    err, _ = check(steps, [entry(FUDR, 5000), entry(HEPARIN, 1000000)])
    assert err == 'drugs[0] dose in 24 h=100000 not allowed (hard limit dose_day 90000 for drug 1)', err


def test_soft_limit_refusals_name_the_value_the_limit_and_the_drug():
    # FUDR soft limits: rate 2 mL/h, dose per day 30 mg, per cycle 420 mg,
    # volume 100 mL; without the override flag each is refused with its
    # line, with it the first one exceeded is kept for the journal
    cases = [
        ([(K_CONTINUOUS, 3 * HOUR_NL, HOUR_NL)], 1000,           # 3 mL/h
         'steps[0].rate_nl_h=3000000 not allowed (soft limit rate_nl_h 2000000', (0, 3000000)),
        ([(K_CONTINUOUS, HOUR_NL, 35000000)], 1500,              # 24 mL a day: 36 mg
         'drugs[0] dose in 24 h=36000 not allowed (soft limit dose_day 30000', (1, 36000)),
        ([(K_CONTINUOUS, 300000, 50000000)], 10000,              # 50 mL: 500 mg
         'drugs[0] dose per cycle=500000 not allowed (soft limit dose_cycle 420000', (2, 500000)),
        ([(K_CONTINUOUS, 2 * HOUR_NL, 50000000), (K_SYRINGE, 0, 0),
          (K_CONTINUOUS, 2 * HOUR_NL, 50000001)], 100,           # 100 mL + 1 nL
         'drugs[0] volume_nl=100000001 not allowed (soft limit vtbi_nl 100000000', (3, 100000001)),
    ]
    for steps, conc, line, soft in cases:
        err, p = check(steps, [entry(FUDR, conc)], 0)
        assert err == line + ' for drug 1; needs the override flag)', err
        err, p = check(steps, [entry(FUDR, conc)])
        assert err is None and p.soft == (FUDR,) + soft, (err, p.soft)


def test_a_drug_entry_unlike_the_library_is_refused_with_its_line():
    e = entry(FUDR, 5000)
    run = [(K_CONTINUOUS, HOUR_NL, HOUR_NL)]
    cases = [
        (e[:9], 'drugs[0] has 9 fields (10)'),
        ((99,) + e[1:], 'drugs[0].id=99 not allowed (not in the device drug library)'),
        (e[:6] + (999000000,) + e[7:], 'drugs[0] limits differ from the device library entry for drug 1'),
        (entry(FUDR, 99), 'drugs[0].conc=99 not allowed (drug 1: 100..10000 milli-units/mL)'),
        (entry(FUDR, 10001), 'drugs[0].conc=10001 not allowed (drug 1: 100..10000 milli-units/mL)'),
        (entry(FUDR, 5000.0), 'drugs[0].conc=5000.0 not allowed (drug 1: 100..10000 milli-units/mL)'),
    ]
    for drug, line in cases:
        assert check(run, [drug], 0)[0] == line, drug
    # the concentrations at the library's bounds are allowed
    for conc in (100, 10000):
        assert check(run, [entry(FUDR, conc)], 0)[0] is None, conc


def test_a_syringe_may_be_filled_exactly_and_again_after_a_change():
    # no drug: only the syringe's 100 mL (SETTINGS) bounds what is drawn
    half = (K_CONTINUOUS, 2 * HOUR_NL, 50000000)
    assert check([half, half], [])[0] is None
    assert check([half, half, (K_SYRINGE, 0, 0), half, half], [])[0] is None
    assert check([half, half, (K_SYRINGE, 0, 0), half, half, (K_CONTINUOUS, HOUR_NL, 1)], [])[0] == (
        'steps[5]: 100000001 nL since the last syringe change not allowed (the syringe holds 100000000)')


def test_a_program_expands_to_at_most_512_delivering_steps():
    # (with a drug: the dose check keeps each delivering step in time)
    run = (K_CONTINUOUS, HOUR_NL, 1000)
    fudr = [entry(FUDR, 100)]
    assert check([run, (K_CYCLE, 0, 0, 0, 511)], fudr)[0] is None          # 1 + 511 repeats
    assert check([run, (K_CYCLE, 0, 0, 0, 512)], fudr)[0] == (
        'program expands to more than 512 delivering steps (cycles)')


def test_a_ramp_is_judged_on_the_higher_of_its_start_and_end_rates():
    # FUDR hard rate 10 mL/h; over one minute (one sub-step) the ramp's
    # sub-rate is the midpoint, 5.75 mL/h, under it either way
    from firmware.limits import ramp_volume_nl
    fudr = [entry(FUDR, 1000)]
    for r0, r1 in ((1000000, 10500000), (10500000, 1000000)):
        ramp = (K_RAMP, r0, 0, 60, r1)
        ramp = (K_RAMP, r0, ramp_volume_nl(ramp), 60, r1)
        assert check([(K_CONTINUOUS, HOUR_NL, HOUR_NL), ramp], fudr)[0] == (
            'steps[1].rate_nl_h=10500000 not allowed (hard limit rate_nl_h 10000000 for drug 1)'), (r0, r1)
        # up to exactly the hard rate: allowed (the soft one overridden)
        ramp = (K_RAMP, min(r0, r1), 0, 60, 10000000)
        ramp = ramp[:2] + (ramp_volume_nl(ramp),) + ramp[3:]
        err, p = check([ramp], fudr)
        assert err is None and p.soft == (FUDR, 0, 10000000), err


def test_a_dose_per_cycle_sums_every_step_and_both_slots_of_a_drug():
    # FUDR hard dose per cycle 1260 mg: 63 mL at 10000 ug/mL (630 mg), a
    # syringe change, 70 mL of FUDR at 9000 ug/mL (630 mg): exactly 1260 mg
    slow = 300000      # 0.3 mL/h: at most 7.2 mL (72 mg) in any 24 h
    drugs = [entry(FUDR, 10000), entry(FUDR, 9000)]
    half = (K_CONTINUOUS, slow, 31500000, 0, 0, 0)
    steps = [half, half, (K_SYRINGE, 0, 0), (K_CONTINUOUS, slow, 70000000, 0, 0, 1)]
    err, p = check(steps, drugs)
    assert err is None and p.soft == (FUDR, 3, 133000000), (err, p.soft)
    steps[3] = (K_CONTINUOUS, slow, 70000001, 0, 0, 1)
    assert check(steps, drugs)[0] == (
        'drugs[0] dose per cycle=1260000 not allowed (hard limit dose_cycle 1260000 for drug 1)')
    # without the override the two slots' volume is over the soft 100 mL
    assert check(steps, drugs, 0)[0] == ('drugs[0] volume_nl=133000001 not allowed (soft limit '
                                         'vtbi_nl 100000000 for drug 1; needs the override flag)')


def test_a_pause_separates_doses_in_time():
    # 30 mL of heparin (30000000 mU) in 1.5 h, a day's pause, 30 mL again:
    # no 24 h window holds both (hard dose_day 40000000 mU)
    dose = (K_CONTINUOUS, 20 * HOUR_NL, 30000000)
    assert heparin([dose, (K_PAUSE, 0, 0, 86400), dose]) is None
    assert heparin([dose, (K_PAUSE, 0, 0, 3600), dose]) == day_refusal(60000000)
