"""The arrhythmia fault: irregular beats in the plant, and the firmware's
occlusion detection stays quiet through them yet still catches a real
occlusion."""
import statistics

from simulator.plant import faults
from simulator.plant.arterial import ArterialPressure
from simulator.runtime.inproc import Simulation
from simulator.scenario import load_scenario

import random

SCENARIO = """
name: arrhythmia
pump: bd-plastipak-50
seed: 11
duration: 8h
trace_period: 10s
program: {drug: fluorouracil, concentration_mg_per_ml: 50, rate_ml_h: 1.77, volume_ml: 40}
events:
  - {at: 1h, inject: arrhythmia, params: {irregularity: 0.4}}
%s
"""


def beat_lengths(art, seconds, dt=0.01):
    lengths, t, last, beats = [], 0.0, 0.0, art.beats
    while t < seconds:
        art.advance(dt)
        t += dt
        if art.beats != beats:
            beats = art.beats
            lengths.append(t - last)
            last = t
    return lengths[1:]


def test_beats_are_regular_until_arrhythmia_then_irregular():
    art = ArterialPressure(heart_rate_bpm=60)
    regular = beat_lengths(art, 30)
    assert max(regular) - min(regular) < 0.02
    art.start_arrhythmia(random.Random(1), 0.4)
    irregular = beat_lengths(art, 120)
    assert statistics.pstdev(irregular) > 0.1
    assert 0.6 - 0.02 <= min(irregular) and max(irregular) <= 1.4 + 0.02
    assert abs(statistics.mean(irregular) - 1.0) < 0.1
    art.stop_arrhythmia()
    again = beat_lengths(art, 30)
    assert max(again) - min(again) < 0.02


def test_no_false_alarm_through_arrhythmia_and_occlusion_still_caught(tmp_path):
    quiet = tmp_path / 'quiet.yaml'
    quiet.write_text(SCENARIO % '')
    s = Simulation(load_scenario(quiet)).run()
    assert s['alarms'] == [] and s['final_state'] == 'RUNNING'
    occ = tmp_path / 'occ.yaml'
    occ.write_text(SCENARIO % '  - {at: 5h, inject: downstream_occlusion}')
    s = Simulation(load_scenario(occ)).run()
    hits = [a for a in s['alarms'] if a['code'] == 'occlusion_downstream']
    assert hits and 5 * 3600 < hits[0]['t_s'] < 5 * 3600 + 180


def test_bad_irregularity_refused():
    try:
        faults.check_params('arrhythmia', {'irregularity': 0.3, 'rate': 2})
    except faults.FaultError as e:
        assert 'rate' in str(e)
    else:
        raise AssertionError('unknown parameter accepted')
