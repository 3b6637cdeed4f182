"""pumpsim shell: scripted sessions (tests/shell/*.txt) as regression tests,
plus the shell's own error handling.

Each script's first line is `# pumpsim shell ARGS`; the scripts assert with
`expect` lines, so a script passes when the shell exits 0.
"""
import io
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.runtime.inproc import Simulation
from simulator.scenario import load_scenario
from simulator.ui.shell import Shell, run_session

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / 'tests' / 'shell').glob('*.txt'))


def _shell(script, args, tmp_path=None):
    return subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'shell'] + args,
                          input=script, cwd=ROOT, capture_output=True, text=True, timeout=300)


def _args(path):
    first = path.read_text().splitlines()[0]
    assert first.startswith('# pumpsim shell'), '%s: first line must be "# pumpsim shell ARGS"' % path
    return first[len('# pumpsim shell'):].split()


def test_scripts_exist():
    names = {p.name for p in SCRIPTS}
    assert 'occlusion_ack_resume.txt' in names
    assert len(SCRIPTS) >= 3


@pytest.mark.parametrize('path', SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script(path):
    r = _shell(path.read_text(), _args(path))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert 'FAILED' not in r.stdout and 'error:' not in r.stdout
    assert r.stderr == ''
    n_expect = sum(1 for ln in path.read_text().splitlines() if ln.strip().startswith('expect '))
    assert r.stdout.count('ok: expect ') == n_expect


def test_occlusion_script_shows_alarm_relief_and_resume():
    """The acceptance session's transcript itself: alarm, status, journal."""
    path = ROOT / 'tests' / 'shell' / 'occlusion_ack_resume.txt'
    out = _shell(path.read_text(), _args(path)).stdout
    assert 'alarm occlusion_downstream (high priority)' in out
    assert 'state      ALARM' in out
    assert 'alarms     occlusion_downstream (high, condition present)' in out
    assert 'resume: refused bad_state' in out
    assert 'ack: ok, state PAUSED' in out
    assert 'resume: ok, state RUNNING' in out
    assert 'checkpoint delivered' in out       # journal decoded with catalog names


def test_failed_expectation_fails_the_script():
    r = _shell('load\nstart\nstep 1min\nexpect state ALARM\nexpect delivered > 5\nstep 1s\n',
               ['demo', '--no-events'])
    assert r.returncode == 1
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith('error:')]
    assert len(lines) == 2
    assert lines[0].startswith('error: line 4: FAILED expect state ALARM: got RUNNING')
    assert 'line 5: FAILED expect delivered > 5: got delivered = ' in lines[1]
    assert 't=0:01:01.0' in r.stdout          # went on after the failures
    assert 'Traceback' not in r.stdout + r.stderr


@pytest.mark.parametrize('line, words', [
    ('frobnicate', ["unknown command 'frobnicate'", 'step']),
    ('step', ['step needs one argument']),
    ('step 5 min', ['step needs one argument']),
    ('step 3x', ["step: '3x' is not a duration", 'min']),
    ('step 0', ["step: '0' is less than one tick"]),
    ('run until lunch', ["run: 'until lunch' not understood"]),
    ('run until state SLEEPING', ["'SLEEPING' is not a state", 'RUNNING']),
    ('run until alarm fire', ["unknown alarm 'fire'", 'occlusion_downstream']),
    ('run until alarm max soon', ["'soon' is not a duration"]),
    ('inject', ['inject needs a fault name', 'downstream_occlusion']),
    ('inject meteor', ["unknown fault 'meteor'", 'air_bubble']),
    ('inject air_bubble volume=3', ["no parameter 'volume'", 'volume_ul']),
    ('inject air_bubble volume_ul=lots', ["volume_ul='lots' is not a number"]),
    ('inject air_bubble volume_ul=-5', ['volume_ul=-5', 'must be in']),
    ('inject downstream_occlusion severity=2', ['severity=2', 'must be in (0, 1]']),
    ('inject downstream_occlusion 2', ["'2' is not key=value", 'severity']),
    ('clear stuff', ["unknown fault 'stuff'"]),
    ('ack now', ["ack takes no argument (got 'now')"]),
    ('journal x', ["journal: 'x' is not a record count"]),
    ('journal 0', ['journal: N=0']),
    ('plot out.txt', ["'out.txt' must end in .png"]),
    ('plot /nonexistent/dir/x.png', ["directory '/nonexistent/dir' does not exist"]),
    ('expect', ['expect needs what to check']),
    ('expect state SLEEPING', ["'SLEEPING' is not a state"]),
    ('expect alarm fire', ["unknown alarm 'fire'"]),
    ('expect alarm air_in_line red', ["priority 'red' is not low, medium or high"]),
    ('expect motor spinning', ['expect motor stopped|forward|reverse']),
    ('expect result fine', ['expect result REASON', 'bad_state']),
    ('expect delivered > lots', ["'lots' is not a number"]),
    ('expect delivered about 3', ['OP NUMBER']),
    ('expect delivered since mark > 1', ['no `mark` yet']),
    ('expect happiness > 1', ["'happiness' not understood", 'delivered']),
])
def test_bad_input_one_line_and_goes_on(line, words):
    sim = Simulation(load_scenario('demo'))
    sim.boot(program=False)
    out = io.StringIO()
    sh = Shell(sim, out=out)
    rc = run_session(sh, io.StringIO(line + '\nstatus\n'), interactive=False)
    text = out.getvalue()
    err = [ln for ln in text.splitlines() if ln.startswith('error:')]
    assert len(err) == 1, text
    assert err[0].startswith('error: line 1: ')
    for w in words:
        assert w in err[0], (w, err[0])
    assert 'state      IDLE' in text      # the next line still ran
    assert rc == 1


def test_comments_blank_lines_quit_and_echo():
    r = _shell('# a comment\n\n  load   # inline comment\nquit\nfrobnicate\n',
               ['demo', '--no-events', '--echo'])
    assert r.returncode == 0, r.stdout
    assert '> load' in r.stdout and 'load: ok' in r.stdout
    assert 'frobnicate' not in r.stdout    # after quit


def test_scenario_events_happen_and_start_flag(tmp_path):
    sc = tmp_path / 'sc.yaml'
    sc.write_text('name: t\npump: bd-plastipak-50\nseed: 2\nduration: 2h\npatient: {bsa_m2: 1.7}\n'
                  'program: {rate_ml_h: 1.77, volume_ml: 10}\n'
                  'events:\n  - {at: 30min, inject: downstream_occlusion}\n')
    r = _shell('expect state RUNNING\nrun until alarm max 1h\nexpect alarm occlusion_downstream\n'
               'expect time_s > 1800\n', [str(sc), '--start'])
    assert r.returncode == 0, r.stdout
    assert 'scenario event: inject downstream_occlusion' in r.stdout


def test_plot_and_run_until_state(tmp_path):
    png = tmp_path / 'so_far.png'
    r = _shell('load\nstart\nstep 5min\npause\nrun until state RUNNING max 10min\n'
               'expect state PAUSED\nresume\nrun until state RUNNING\nstep 5min\nplot %s\n' % png,
               ['demo', '--no-events'])
    assert r.returncode == 0, r.stdout
    assert 'no state RUNNING within 0:10:00.0' in r.stdout
    assert 'already in state RUNNING' in r.stdout
    assert png.stat().st_size > 10000


def test_bad_scenario_is_one_line_exit_2():
    r = _shell('', ['no-such-scenario'])
    assert r.returncode == 2
    assert r.stderr.count('\n') == 1 and 'no-such-scenario' in r.stderr
    assert 'Traceback' not in r.stderr
