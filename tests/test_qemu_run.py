"""`pumpsim run --runtime qemu`: a scenario with an occlusion on the board
image gives the same alarm, at the same time, and the same delivered volume
as the in-process runtime under the same seed (a short course here; the
2-hour scenario is in docs/architecture.md)."""
import pytest

from tests.image_support import image_or_skip

SCENARIO = """name: occlusion at 150 s, 20 mL/h
pump: bd-plastipak-50
seed: 7
duration: 4min
trace_period: 10s
patient:
  bsa_m2: 1.7
  systolic_mmhg: 120
  diastolic_mmhg: 80
  heart_rate_bpm: 72
program:
  drug: saline
  concentration_mg_per_ml: 9
  rate_ml_h: 20
  volume_ml: 5
events:
  - at: 150s
    inject: downstream_occlusion
"""


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    elf = image_or_skip()
    from simulator.runtime.qemu_run import run
    from simulator.runtime.inproc import Simulation
    from simulator.scenario import load_scenario
    p = tmp_path_factory.mktemp('sc') / 'occ.yaml'
    p.write_text(SCENARIO)
    sc = load_scenario(str(p))
    ref = Simulation(sc).run()
    return ref, run(sc, elf=elf)


def test_same_alarm_time_and_volume_as_in_process(runs):
    ref, q = runs
    assert q['machine'].startswith('netduino2')
    assert [a['code'] for a in ref['alarms']] == ['occlusion_downstream'], ref['alarms']
    assert [(a['code'], a['t_s']) for a in q['alarms']] == \
        [(a['code'], a['t_s']) for a in ref['alarms']]
    assert q['final_state'] == ref['final_state'] == 'ALARM'
    assert q['delivered_ml'] == ref['delivered_ml']
    assert q['plunger_ml'] == ref['plunger_ml']
    assert q['device_delivered_ml'] == ref['device_delivered_ml']


def test_a_course_the_runtime_cannot_run_is_one_line(tmp_path):
    """The demo's 81.6 mL course needs a syringe change: refused before qemu
    starts, one line, exit status 2 (no image needed)."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'run', 'demo', '--runtime',
                        'qemu', '--out', str(tmp_path / 'out')],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count('\n') == 1 and 'syringe change' in r.stderr, r.stderr
