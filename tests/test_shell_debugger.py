"""The shell's debugger tools: compound durations, breakpoints, watches,
the detectors' internals in `status`, events in time order, tab
completion and the session plot (tests/shell/debugger.txt is the scripted
session)."""
import io

import pytest

from simulator.runtime.inproc import Simulation
from simulator.scenario import load_scenario
from simulator.ui import debug
from simulator.ui.completion import candidates
from simulator.ui.session_plot import plot_session
from simulator.ui.shell import COMMANDS, Shell, run_session


def _session(script, scenario='demo', events=False, program=False):
    sc = load_scenario(scenario)
    if not events:
        sc.events = []
    sim = Simulation(sc)
    sim.boot(program=program)
    out = io.StringIO()
    sh = Shell(sim, out=out)
    rc = run_session(sh, io.StringIO(script), interactive=False)
    return rc, out.getvalue(), sh


@pytest.mark.parametrize('text, seconds', [
    ('30s', 30), ('5min', 300), ('3min30s', 210), ('1h30min', 5400), ('1d2h', 93600),
    ('1.5s', 1.5), ('2s500ms', 2.5)])
def test_compound_durations(text, seconds):
    assert debug.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize('text', ['3x', '30', 'min', '3min30', '1h1h', '30s3min ', ''])
def test_bad_durations_name_the_word(text):
    with pytest.raises(debug.DebugError) as e:
        debug.parse_duration(text)
    assert repr(text) in str(e.value) and '3min30s' in str(e.value)


def test_events_print_in_time_order(tmp_path):
    """A scenario injection and the alarm it causes within one step: the
    injection first (it used to come after every alarm of the step)."""
    sc = tmp_path / 'sc.yaml'
    sc.write_text('name: t\npump: bd-plastipak-50\nseed: 2\nduration: 2h\npatient: {bsa_m2: 1.7}\n'
                  'program: {rate_ml_h: 1.77, volume_ml: 10}\n'
                  'events:\n  - {at: 30min, inject: downstream_occlusion}\n'
                  '  - {at: 50min, clear: downstream_occlusion}\n')
    rc, out, _ = _session('load\nstart\nstep 1h\n', scenario=str(sc), events=True)
    assert rc == 0, out
    lines = [ln for ln in out.splitlines() if ln.startswith('  t=')]
    kinds = [('inject' if 'inject' in ln else 'alarm' if ' alarm ' in ln else 'clear' if 'clear' in ln
              else 'other') for ln in lines]
    assert kinds[:3] == ['inject', 'alarm', 'clear'], lines
    times = [ln.split()[0] for ln in lines]
    assert times == sorted(times)


def test_status_shows_the_detectors():
    rc, out, _ = _session('load\nstart\nstep 20min\nstatus\n')
    assert rc == 0
    occ = [ln for ln in out.splitlines() if ln.startswith('occlusion  ')][0]
    assert occ.startswith('occlusion  monitor for ') and 'baseline learned 8' in occ
    assert 'probe above +3.0, alarm above +100.0' in occ
    assert 'stored ' in out and 'probe reference ' in out
    assert 'air        bubble 0.00 uL (alarm at 50), window 0.00 uL (alarm at 1000)' in out


def test_watch_per_step_and_per_tick():
    rc, out, _ = _session('load\nstart\nwatch pressure stored_steps\nstep 1min\n'
                          'watch sensed every tick\nstep 5\nwatch every 2s\nwatch\nunwatch\nstep 1s\n')
    lines = out.splitlines()
    per_step = [ln for ln in lines if ln.startswith('  watch t=0:01:00.0 pressure=')]
    assert len(per_step) == 1 and 'stored_steps=' in per_step[0]
    ticks = [ln for ln in lines if ln.startswith('  watch t=0:01:00.') and 'sensed=' in ln]
    # the `watch` that sets it, five ticks, and the plain `watch` that lists it
    assert [ln.split()[1] for ln in ticks] == ['t=0:01:00.0', 't=0:01:00.1', 't=0:01:00.2',
                                               't=0:01:00.3', 't=0:01:00.4', 't=0:01:00.5',
                                               't=0:01:00.5']
    assert 'error: line 7: watch needs at least one quantity' in out
    assert 'watching sensed every 1 tick(s)' in out
    assert 'no watches' in out
    assert not [ln for ln in lines if ln.startswith('  watch t=0:01:01.5')]   # after unwatch
    assert rc == 1      # the one bad line


@pytest.mark.parametrize('line, words', [
    ('watch happiness', ["'happiness' is not a quantity", 'baseline']),
    ('watch pressure every', ['every needs one argument']),
    ('run until probe now', ['probe takes no argument']),
    ('run until journal', ['journal needs one word']),
    ('run until pressure about 3', ['QUANTITY OP NUMBER']),
    ('step 3min30', ["'3min30' is not a duration", '3min30s']),
])
def test_bad_debugger_input_one_line(line, words):
    rc, out, _ = _session(line + '\nstatus\n')
    err = [ln for ln in out.splitlines() if ln.startswith('error:')]
    assert len(err) == 1, out
    for w in words:
        assert w in err[0], err[0]
    assert 'state      IDLE' in out and rc == 1


def test_breakpoint_on_a_figure_stops_on_the_tick():
    rc, out, sh = _session('load\nstart\nrun until pressure > 50 max 10min\n')
    assert rc == 0 and 'reached pressure > 50 after ' in out
    sim = sh.sim
    assert sim.plant.pressure_mmhg > 50
    # one tick earlier it was not: the pressure rises by far less than 50 mmHg a tick
    assert sim.trace and 'RUNNING' in out


def test_already_true_conditions_do_not_step():
    rc, out, sh = _session('load\nstart\nrun until time_s >= 0\nrun until state RUNNING\n')
    assert 'already time_s >= 0' in out and 'already in state RUNNING' in out
    assert sh.sim.k == 0


def test_completion():
    assert 'inject' in candidates('', COMMANDS) and 'watch' in candidates('wa', COMMANDS)
    assert 'downstream_occlusion' in candidates('inject ', COMMANDS)
    assert candidates('inject air_bubble ', COMMANDS) == ['volume_ul=']
    assert candidates('run ', COMMANDS) == ['until']
    assert 'probe' in candidates('run until ', COMMANDS) and 'baseline' in candidates('run until ', COMMANDS)
    assert 'ALARM' in candidates('run until state ', COMMANDS)
    assert 'occlusion_downstream' in candidates('run until alarm ', COMMANDS)
    assert '>' in candidates('run until pressure ', COMMANDS)
    assert candidates('watch pressure every ', COMMANDS)[0] == 'tick'
    assert 'PAUSED' in candidates('expect state ', COMMANDS)


def test_session_plot_is_zoomed_and_marked(tmp_path):
    rc, out, sh = _session('load\nstart\nstep 20min\ninject downstream_occlusion\n'
                           'run until alarm max 5min\nstep 3min\nclear downstream_occlusion\n'
                           'step 1min\nack\nresume\nstep 10min\nplot %s\n' % (tmp_path / 's.png'))
    assert rc == 0, out
    sim = sh.sim
    sim._record(sim.k)
    info = plot_session(tmp_path / 't.png', sim)
    assert info['unit'] == 'min'                   # a 35-minute session, not hours
    assert info['volume_top_ml'] < 2.0             # scaled to the session, not the 81.6 mL course
    labels = ' | '.join(m[2] for m in info['marks'])
    for word in ('inject downstream_occlusion', 'occlusion_downstream', 'clear downstream_occlusion',
                 'ack', 'resume'):
        assert word in labels, labels
    assert (tmp_path / 's.png').stat().st_size > 10000
