"""Peristaltic pump kind: config schema, plant (stroke per revolution,
pulsation with a backflow dip, slip, inlet), upstream occlusion, and the
real firmware driving it through the same HAL."""
import math

import pytest

from simulator.plant import faults
from simulator.plant.arterial import ArterialPressure
from pumphost.config.pumps import CONFIGS, load_pump
from simulator.plant.peristaltic import PeristalticPlant
from simulator.plant import make_plant
from pumphost.config.schema import ConfigError

PUMP = (CONFIGS / "pumps" / "peristaltic-050.yaml").read_text()


def test_config_derives_step_volume_and_kind():
    p = load_pump('peristaltic-050')
    assert p.kind == 'peristaltic'
    assert p.microsteps_per_rev == 3200
    assert p.step_pl == 15625                      # 50 uL / 3200
    fw = p.firmware_settings()
    assert fw['step_pl'] == 15625 and fw['pump_kind'] == 1
    assert fw['syringe_volume_nl'] == 100000000
    assert load_pump('bd-plastipak-50').firmware_settings()['pump_kind'] == 0
    assert isinstance(make_plant(p), PeristalticPlant)


@pytest.mark.parametrize('old,new,expect', [
    ('  rollers: 3', '  roller: 3', ['head.roller', 'unknown key', 'rollers']),
    ('  rollers: 3', '  rollers: 1', ['head.rollers', '2..12']),
    ('kind: peristaltic', 'kind: gear', ['kind', 'gear', 'peristaltic', 'syringe']),
    ('  stroke_volume_ml_per_rev: 0.050', '  stroke_volume_ml_per_rev: 1.5', ['pL per microstep']),
    ('reservoir:', 'syringe:', ['syringe', 'unknown key']),
])
def test_bad_config_one_line(tmp_path, old, new, expect):
    bad = tmp_path / 'bad.yaml'
    assert old in PUMP
    bad.write_text(PUMP.replace(old, new, 1))
    with pytest.raises(ConfigError) as e:
        load_pump(bad)
    msg = str(e.value)
    assert '\n' not in msg
    for part in expect:
        assert part in msg, msg


def _drive(plant, rate_ml_h, seconds, dt=0.1):
    """Constant-rate steps (fractional accumulation), as the scheduler does."""
    per_tick = rate_ml_h * 1000.0 / 3600.0 / plant.cfg.step_ul_nominal * dt
    acc = 0.0
    flows = []
    for _ in range(int(round(seconds / dt))):
        acc += per_tick
        n = int(acc)
        acc -= n
        p0 = plant.pushed_ul
        plant.advance(dt, n)
        flows.append((plant.pushed_ul - p0) / dt)
    return flows


def test_one_revolution_pushes_the_stroke_with_a_backflow_dip():
    cfg = load_pump('peristaltic-050')
    plant = PeristalticPlant(cfg, ArterialPressure(120, 80, 72))
    _drive(plant, 1.0, 600)          # pressurise the line: the valve opens
    assert plant.pressure_mmhg > 80
    p0, d0, pos0 = plant.pushed_ul, plant.drawn_ul, plant.position_steps
    flows = _drive(plant, 1.0, 180)  # exactly one revolution at 1 mL/h
    assert plant.position_steps - pos0 == 3200
    # the whole stroke was drawn from the bag; what the head pushed lacks the
    # slip against back pressure (1 % per 100 mmHg over the inlet)
    assert plant.drawn_ul - d0 == pytest.approx(50.0, abs=1e-6)
    dp = plant.pressure_mmhg - plant.inlet_mmhg
    assert plant.pushed_ul - p0 == pytest.approx(50.0 * (1 - 0.0001 * dp), rel=2e-3)
    # pulsatile: three dips per revolution with backflow, forward peaks above
    # the mean by about the ripple
    mean = 1000.0 / 3600.0
    assert min(flows) < 0
    dips = sum(1 for i in range(1, len(flows)) if flows[i] < 0 <= flows[i - 1])
    assert dips == 3
    assert max(flows) > 1.1 * mean
    assert plant.aspirated_ul == 0.0


def test_no_backflow_into_an_unpressurised_line():
    cfg = load_pump('peristaltic-050')
    plant = PeristalticPlant(cfg, ArterialPressure(0.0, 0.0, 60.0))
    flows = _drive(plant, 1.0, 360)
    assert min(flows) >= 0.0
    # nothing leaks at zero back pressure: what went in came out
    assert plant.delivered_ul + plant.stored_ul == pytest.approx(plant.drawn_ul, rel=1e-9)


def test_upstream_occlusion_output_falls_and_recovers():
    cfg = load_pump('peristaltic-050')
    plant = make_plant(cfg, ArterialPressure(120, 80, 72))
    _drive(plant, 5.0, 900)
    v0 = plant.delivered_ul
    _drive(plant, 5.0, 600)
    normal = plant.delivered_ul - v0
    assert normal == pytest.approx(5000.0 / 6, rel=0.03)
    faults.inject(plant, 'upstream_occlusion')
    _drive(plant, 5.0, 600)            # transient: the tube collapses
    v1 = plant.delivered_ul
    _drive(plant, 5.0, 600)
    blocked = plant.delivered_ul - v1
    assert blocked < 0.1 * normal
    assert plant.inlet_mmhg < -50      # suction on the bag side
    faults.clear(plant, 'upstream_occlusion')
    _drive(plant, 5.0, 300)
    v2 = plant.delivered_ul
    _drive(plant, 5.0, 600)
    assert plant.delivered_ul - v2 == pytest.approx(normal, rel=0.05)


def test_partial_upstream_occlusion_and_syringe_refusal():
    with pytest.raises(faults.FaultError):
        faults.check_params('upstream_occlusion', {'severity': 0})
    with pytest.raises(faults.FaultError):
        faults.inject(make_plant(load_pump('bd-plastipak-50')), 'upstream_occlusion')
    cfg = load_pump('peristaltic-050')
    plant = make_plant(cfg)
    faults.inject(plant, 'upstream_occlusion', severity=0.5)
    assert plant.upstream_factor == pytest.approx(2.0)


def test_firmware_delivers_through_the_same_hal():
    """The real firmware on the peristaltic plant: no alarm, the balance sees
    the programmed rate less the slip against arterial pressure."""
    from simulator.benches.accuracy import run_one
    res, flows = run_one('peristaltic-050', 5.0, True, duration_s=3600.0)
    assert res['alarms'] == []
    assert -1.5 < res['mean_error_pct'] < 0.0
    assert res['startup_delay_s'] is not None and res['startup_delay_s'] <= 120
    # the per-sample flow pulses (roller period 12 s against 30 s samples)
    second_half = flows[len(flows) // 2:]
    assert max(second_half) - min(second_half) > 0.03 * 5.0
    assert math.isfinite(sum(flows))
