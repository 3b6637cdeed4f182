"""Monitors against the simulator: plant faults (pressure sensor, lead screw
slip, power, syringe diameter) end in the right alarm, in time, with the
motor stopped for a high-priority one; alarm codes, names and docs agree."""
from pathlib import Path

import pytest

from firmware import alarms as A
from firmware import monitors as M
from pumphost.catalog import ALARM_NAMES, alarm_name
from simulator.plant import faults
from pumphost.config.pumps import load_pump
from simulator.plant import SyringePlant
from simulator.runtime.inproc import Simulation
from simulator.scenario import load_scenario
from pumphost import codes

ROOT = Path(__file__).resolve().parent.parent

BASE = """
name: monitor fault
pump: bd-plastipak-50
seed: 4
duration: {duration}
trace_period: 60s
syringe_fill_ml: {fill}
patient: {{bsa_m2: 1.7}}
program:
  rate_ml_h: {rate}
  volume_ml: {volume}
events:
{events}
"""


def _run(tmp_path, events, duration='1h', rate=1.77, volume=40, fill=50):
    p = tmp_path / 'sc.yaml'
    p.write_text(BASE.format(duration=duration, rate=rate, volume=volume, fill=fill,
                             events=''.join('  - %s\n' % e for e in events) or '  []\n'))
    if not events:
        p.write_text(p.read_text().replace('events:\n  []', 'events: []'))
    sim = Simulation(load_scenario(p))
    return sim, sim.run()


def _first(s, code):
    for a in s['alarms']:
        if a['code'] == code:
            return a
    return None


def test_monitor_codes_match_alarms_and_have_names_and_docs():
    pairs = {'_A_SYRINGE_EMPTY': codes.A_SYRINGE_EMPTY, '_A_SYRINGE_NEAR_EMPTY': codes.A_SYRINGE_NEAR_EMPTY,
             '_A_OVER_INFUSION': codes.A_OVER_INFUSION, '_A_UNDER_INFUSION': codes.A_UNDER_INFUSION,
             '_A_ON_BATTERY': codes.A_ON_BATTERY, '_A_LOW_BATTERY': codes.A_LOW_BATTERY,
             '_A_BATTERY_CRITICAL': codes.A_BATTERY_CRITICAL, '_A_PRESSURE_STUCK': codes.A_PRESSURE_STUCK,
             '_A_PRESSURE_DRIFT': codes.A_PRESSURE_DRIFT}
    src = (ROOT / 'firmware' / 'monitors.py').read_text()
    for name, code in pairs.items():
        assert '%s = const(%d)' % (name, code) in src, name
    assert len(ALARM_NAMES) == codes.N_ALARMS == len(A.ALARM_PRIORITY)
    doc = (ROOT / 'docs' / 'alarms.md').read_text()
    for code in range(1, codes.N_ALARMS):
        assert '`%s`' % alarm_name(code) in doc, alarm_name(code)


def test_stuck_pressure_sensor_alarms_in_stuck_s(tmp_path):
    sim, s = _run(tmp_path, ['{at: 20min, inject: pressure_sensor, params: {mode: stuck}}'],
                  duration='30min')
    a = _first(s, 'pressure_sensor_stuck')
    assert a is not None and a['priority'] == 'high'
    assert 1230 <= a['t_s'] <= 1232, a          # 30 s after the sensor froze
    assert s['final_state'] == 'ALARM' and not s['motor_running']
    assert [x['code'] for x in s['alarms']] == ['pressure_sensor_stuck']


def test_disconnected_and_negative_offset_sensor(tmp_path):
    sim, s = _run(tmp_path, ['{at: 10min, inject: pressure_sensor, params: {mode: disconnected}}'],
                  duration='11min')
    a = _first(s, 'pressure_sensor')
    assert a is not None and a['t_s'] <= 600.2 and s['final_state'] == 'ALARM'
    # a reading 20 mmHg below zero gauge: with the line near 85 mmHg that
    # takes an offset of about -105 mmHg (over the scenario range: via the API)
    p = tmp_path / 'n.yaml'
    p.write_text(BASE.format(duration='11min', rate=1.77, volume=40, fill=50, events='  []\n')
                 .replace('events:\n  []', 'events: []'))
    sim = Simulation(load_scenario(p))
    sim.hook = lambda sim, k: (k == 6000 and faults.inject(
        sim.plant, 'pressure_sensor', mode='offset', offset_mmhg=-150.0) and False)
    s = sim.run()
    a = _first(s, 'pressure_sensor_drift')
    assert a is not None and a['priority'] == 'medium' and 600 < a['t_s'] <= 603, a
    assert s['final_state'] == 'RUNNING'


def test_no_monitor_alarm_in_a_normal_hour(tmp_path):
    sim, s = _run(tmp_path, [], duration='1h')
    assert s['alarms'] == [] and s['final_state'] == 'RUNNING'


def test_lead_screw_slip_under_infusion_and_siphon_over(tmp_path):
    sim, s = _run(tmp_path, ['{at: 30min, inject: lead_screw_slip, params: {slip: 0.25}}'],
                  duration='2h', rate=10)
    a = _first(s, 'under_infusion')
    assert a is not None and a['priority'] == 'high' and s['final_state'] == 'ALARM'
    assert 1800 + 360 <= a['t_s'] <= 1800 + 900, a   # 25 %: over 10 % in 40-60 % of 15 min
    sim, s = _run(tmp_path, ['{at: 30min, inject: lead_screw_slip, params: {slip: -0.3}}'],
                  duration='2h', rate=10)
    a = _first(s, 'over_infusion')
    assert a is not None and 1800 < a['t_s'] <= 1800 + 900, a


def test_power_battery_drain_low_then_critical(tmp_path):
    sim, s = _run(tmp_path, ['{at: 5min, inject: power, params: {battery_mv: 3700, '
                             'drain_mv_per_h: 600}}'], duration='1h')
    codes = [a['code'] for a in s['alarms']]
    assert codes[:3] == ['on_battery', 'low_battery', 'battery_critical'], codes
    t = {a['code']: a['t_s'] for a in s['alarms']}
    assert 300 < t['on_battery'] <= 302
    assert 300 + 600 < t['low_battery'] <= 300 + 602      # 100 mV at 600 mV/h
    assert 300 + 1800 < t['battery_critical'] <= 300 + 1802
    assert s['final_state'] == 'ALARM' and not s['motor_running']


def test_wrong_syringe_empties_before_the_program_near_empty_then_empty(tmp_path):
    # a 28 mm barrel instead of 26.6 mm, filled with 10 mL, at 60 mL/h: one
    # syringe load is 10 - 0.2 dead space - 0.5 fill reserve = 9.3 mL counted
    # on the nominal barrel, but the real barrel's 10 mL is 16.24 mm of travel;
    # the empty margin (100 um) leaves 16.14 mm = 41,318 microsteps = 8.97 mL
    # counted (+ backlash): the plunger bottoms out at about 539 s, before the
    # load is done
    sim, s = _run(tmp_path, ['{at: 0.1s, inject: syringe_diameter, params: {diameter_mm: 28}}'],
                  duration='15min', rate=60, volume=50, fill=10)
    near, empty = _first(s, 'syringe_near_empty'), _first(s, 'syringe_empty')
    assert near is not None and empty is not None, s['alarms']
    assert near['t_s'] <= 2 and near['priority'] == 'medium'
    assert 525 <= empty['t_s'] <= 555, empty
    assert 8.93 <= s['device_delivered_ml'] <= 9.03 < 9.3
    assert s['final_state'] == 'ALARM' and not s['motor_running']
    assert sim.plant.syringe_ul < 70


def test_plant_faults_physics():
    cfg = load_pump('bd-plastipak-50')
    pl = SyringePlant(cfg)
    t0 = pl.plunger_travel_um()
    faults.inject(pl, 'lead_screw_slip', slip=0.5)
    pl.advance(0.1, 1000)
    moved = t0 - pl.plunger_travel_um()
    assert pl.position_steps == 1000
    assert abs(moved - (500 - pl.backlash_steps) * 0.390625) < 2   # slip, then backlash
    faults.clear(pl, 'lead_screw_slip')
    # a wrong diameter: the same travel, more volume per step
    pl2 = SyringePlant(cfg)
    faults.inject(pl2, 'syringe_diameter', diameter_mm=28.0)
    assert pl2.step_ul > pl.step_ul * 1.1
    faults.inject(pl2, 'power', battery_mv=3800, drain_mv_per_h=3600)
    for _ in range(10):
        pl2.advance(0.1, 0)
    assert not pl2.mains and abs(pl2.battery_mv - 3799) < 0.01
    faults.clear(pl2, 'power')
    assert pl2.mains
    for mode in faults.PSENSOR_MODES:
        faults.inject(pl2, 'pressure_sensor', mode=mode)
        pl2.pressure_raw()
        faults.clear(pl2, 'pressure_sensor')
    with pytest.raises(faults.FaultError):
        faults.inject(pl2, 'pressure_sensor', mode='melted')
    assert M._SLOTS == 4
