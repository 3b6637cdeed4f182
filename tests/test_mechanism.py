"""The bench mechanism (simulator/plant/mechanism.py): each effect does what its
parameter says, all off is the ideal plant, and the accuracy bench on the
bench plant shows the mechanism in its trumpet."""
import math

import pytest

from pumphost.config.pumps import load_pump
from simulator.plant.mechanism import (BALANCE_DEFAULTS, BENCH_DEFAULTS, IDEAL, BenchBalance,
                                 BenchMechanism, make_mechanism)
from simulator.plant import make_plant

PUMP = load_pump('bd-plastipak-50')
REV = 3200                                  # microsteps per lead-screw revolution


class Line:
    """What the mechanism reads of the plant."""
    def __init__(self, p=0.0):
        self.pressure_mmhg = p
        self.t_s = 0.0


def only(**kw):
    p = dict(IDEAL)
    p.update(kw)
    return p


def push(mech, line, steps_per_call, calls, dt_s):
    out = []
    for _ in range(calls):
        out.append(mech.displace(line, steps_per_call, dt_s))
        line.t_s += dt_s
    return out


def test_all_effects_off_is_the_ideal_plant():
    assert make_mechanism('ideal', PUMP) is None
    mech = BenchMechanism(PUMP, IDEAL)
    vols = push(mech, Line(), 7, 1000, 0.1)
    assert sum(vols) == pytest.approx(7000 * PUMP.step_ul_true, rel=1e-9)
    assert max(vols) - min(vols) < 1e-9


def test_lead_screw_error_is_periodic_per_revolution_with_its_rate_amplitude():
    mech = BenchMechanism(PUMP, only(lead_screw_error_um=5.0), seed=3)
    vols = push(mech, Line(), 32, 2 * REV // 32, 1.0)     # two revolutions in steps of 32
    nominal = 32 * PUMP.step_ul_true
    # over whole revolutions the screw error averages out
    assert sum(vols[:REV // 32]) == pytest.approx(REV * PUMP.step_ul_true, rel=1e-6)
    dev = [v / nominal - 1.0 for v in vols]
    amp = 2 * math.pi * 5.0 / 1250.0                      # 2.5 %: slope of 5 um over 1.25 mm
    assert max(dev) == pytest.approx(amp, rel=0.02) and min(dev) == pytest.approx(-amp, rel=0.02)


def test_microstep_error_repeats_every_four_full_steps():
    mech = BenchMechanism(PUMP, only(microstep_error_fraction=0.05), seed=1)
    vols = push(mech, Line(), 1, 4 * 16 * 3, 1.0)
    assert vols[:64] == pytest.approx(vols[64:128], rel=1e-9)
    assert sum(vols[:64]) == pytest.approx(64 * PUMP.step_ul_true, rel=1e-6)
    assert max(vols) > 1.05 * PUMP.step_ul_true


def test_stopper_sticks_then_slips_at_low_flow_and_slides_at_high_flow():
    mech = BenchMechanism(PUMP, only(stopper_static_ul=1.2, stopper_dynamic_ul=0.7,
                                     stick_slip_below_ul_s=0.5), seed=0)
    step = PUMP.step_ul_true
    vols = push(mech, Line(), 1, 200, 10.0)               # 0.02 uL/s: stick-slip
    bursts = [v for v in vols if v > 0]
    assert len(bursts) < len(vols) / 2
    assert all(0.5 - step <= b <= 0.5 + step + 1e-9 for b in bursts[1:]), bursts[:5]
    assert sum(vols) == pytest.approx(200 * step - mech.windup_ul, rel=1e-9)
    fast = push(mech, Line(), 40, 50, 0.1)                # 87 uL/s: slides
    assert all(v == pytest.approx(40 * step) for v in fast[1:])


def test_a_forward_push_never_draws_fluid_back_while_the_stopper_winds_up():
    """A stopper starting unwound and sliding at once (one step a tick is
    above the stick-slip flow) winds up to its dynamic hold first: it passes
    nothing until then, and never a negative volume (that would be the plant
    aspirating from the patient on a forward step)."""
    mech = BenchMechanism(PUMP, only(stopper_static_ul=1.2, stopper_dynamic_ul=0.7,
                                     stick_slip_below_ul_s=0.5), seed=0)
    step = PUMP.step_ul_true
    vols = push(mech, Line(), 1, 20, 0.1)                 # 2.2 uL/s: slides from the start
    assert min(vols) >= 0.0, vols[:5]
    assert sum(vols) == pytest.approx(20 * step - 0.7, rel=1e-9)
    assert mech.windup_ul == pytest.approx(0.7)


def test_one_step_every_few_ticks_is_a_slow_stopper_that_sticks_and_slips():
    """At 1 mL/h a 50 mL syringe steps about every 8th tick of 100 ms: the
    stopper's speed is a step over that whole gap (0.28 uL/s, under the
    stick-slip flow), not over the tick the step lands in (2.2 uL/s)."""
    mech = BenchMechanism(PUMP, only(stopper_static_ul=1.2, stopper_dynamic_ul=0.7,
                                     stick_slip_below_ul_s=0.5), seed=0)
    line = Line()
    vols = []
    for tick in range(8 * 200):
        if tick % 8 == 0:
            vols.append(mech.displace(line, 1, 0.1))
        line.t_s += 0.1
    assert vols.count(0.0) > len(vols) / 2          # held, then a burst
    assert max(vols) > 2 * PUMP.step_ul_true


def test_creep_takes_volume_under_pressure_with_its_time_constant():
    mech = BenchMechanism(PUMP, only(creep_ul_per_mmhg=0.3, creep_tau_s=600.0), seed=0)
    line = Line(100.0)
    vols = push(mech, line, 1, 600, 1.0)                  # one time constant
    taken = 600 * PUMP.step_ul_true - sum(vols)
    assert taken == pytest.approx(30.0 * (1 - math.exp(-1)), rel=0.01)
    assert mech.held_ul() == pytest.approx(taken)


def test_sensor_resolution_and_drift():
    mech = BenchMechanism(PUMP, only(adc_bits=12, sensor_offset_drift_mmhg_h=1.0))
    assert mech.pressure_raw(3017, 0.0, 40) == 3008          # 16-count steps
    assert mech.pressure_raw(3017, 3600.0, 40) == 3056       # +1 mmHg after an hour


def test_balance_resolution_noise_and_evaporation():
    bal = BenchBalance({'noise_mg': 0.0, 'resolution_mg': 0.1, 'evaporation_mg_h': 0.6})
    assert bal.reading_g(1.00004, 0.0) == pytest.approx(1.0)
    assert bal.reading_g(1.0, 3600.0) == pytest.approx(0.9994)
    noisy = BenchBalance({'resolution_mg': 0.0}, seed=4)
    r = [noisy.reading_g(1.0, 0.0) - 1.0 for _ in range(2000)]
    sd = (sum(x * x for x in r) / len(r)) ** 0.5
    assert sd * 1000 == pytest.approx(BALANCE_DEFAULTS['noise_mg'], rel=0.1)


def test_bad_parameters_are_refused_naming_them():
    with pytest.raises(ValueError, match='lead_screw_um.*unknown'):
        BenchMechanism(PUMP, {'lead_screw_um': 5})
    with pytest.raises(ValueError, match='creep_tau_s=-1'):
        BenchMechanism(PUMP, {'creep_tau_s': -1})
    with pytest.raises(ValueError, match='stopper_dynamic_ul'):
        BenchMechanism(PUMP, {'stopper_dynamic_ul': 2.0, 'stopper_static_ul': 1.0})
    with pytest.raises(ValueError, match='mechanism'):
        make_mechanism('realistic', PUMP)


def test_plant_travel_sensor_sees_the_carriage_not_the_stopper():
    plant = make_plant(PUMP, seed=0, mechanism='bench')
    plant.slack_steps = 0
    t0 = plant.plunger_travel_um()
    for _ in range(100):
        plant.advance(1.0, 1)           # slow: the stopper holds some back
    moved_um = t0 - plant.plunger_travel_um()
    nominal_um = 100 * 1250.0 / REV
    assert abs(moved_um - nominal_um) <= BENCH_DEFAULTS['lead_screw_error_um'] * 2 + 1
    assert plant.pushed_ul < 100 * PUMP.step_ul_true


def test_accuracy_bench_shows_the_mechanism_in_its_trumpet():
    from simulator.benches.accuracy import run_one
    ideal, _ = run_one('bd-plastipak-50', 1.0, True, duration_s=3600, sample_s=30, seed=1)
    bench, _ = run_one('bd-plastipak-50', 1.0, True, duration_s=3600, sample_s=30, seed=1,
                       plant='bench')
    spread = lambda r: r['windows'][0]['ep_max_pct'] - r['windows'][0]['ep_min_pct']  # noqa: E731
    assert spread(ideal) < 0.5
    assert spread(bench) > 2.0, bench['windows'][0]
    assert bench['plant'] == 'bench' and ideal['plant'] == 'ideal'
