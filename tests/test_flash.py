"""tools/flash.py: what a flashed board gets (a dry run lists it), the one-line
errors, the mpremote call, and that the copied tree alone boots the board
(MicroPython unix port, on the fake machine)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import flash  # noqa: E402
from pumphost import devicebuild  # noqa: E402


@pytest.fixture(scope='module')
def built():
    """One compile for the tests that do not look at the compiling itself."""
    return flash.build(flash.check_board('pico'))


@pytest.mark.parametrize('argv, needle', [
    (['--board', 'pico'], "port = '': missing"),
    (['--board', 'fake', '--port', '/dev/null'], "board = 'fake': not a flashed board (allowed: pico)"),
    (['--port', '/dev/null'], "board = '': missing (allowed: pico)"),
    (['--board', 'pico', '--port', '/dev/ttyNOPE9'], "port = '/dev/ttyNOPE9': no such device"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv, needle, capsys, monkeypatch):
    monkeypatch.setattr(subprocess, 'run', lambda *a, **k: pytest.fail('mpremote must not run'))
    assert flash.main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count('\n') == 1 and 'Traceback' not in err


def test_dry_run_lists_the_board_and_nothing_else(capsys, monkeypatch, built):
    monkeypatch.setattr(flash, 'build', lambda board: built)
    assert flash.main(['--board', 'pico', '--dry-run']) == 0
    out = capsys.readouterr().out
    for f in ('main.py', 'boards/pico/main.mpy', 'boards/pico/hwdef.mpy', 'boards/pico/stepper.mpy',
              'firmware/pump.mpy', 'firmware/calibration.mpy', 'protocol/frame.mpy', 'hal/__init__.mpy'):
        assert '-> :%s ' % f in out, f
    for f in ('boards/bridge', 'boards/fake', 'hal/fake', 'hal/file_storage'):
        assert f not in out
    assert 'fs cp -r boards firmware hal main.py protocol : + reset' in out
    stub = (flash.BUILD / 'pico' / 'main.py').read_text()
    assert stub == 'from boards.pico.main import main\nmain()\n'


def test_mpremote_failure_is_one_line_with_the_way_out(capsys, monkeypatch, built):
    calls = []
    monkeypatch.setattr(flash, 'build', lambda board: built)

    class R:
        returncode = 1
        stdout = ''
        stderr = 'mpremote: could not enter raw repl\n'
    real_tool, real_run = devicebuild.tool, subprocess.run
    monkeypatch.setattr(devicebuild, 'tool', lambda name: '/x/mpremote' if name == 'mpremote' else real_tool(name))
    monkeypatch.setattr(flash.os.path, 'exists', lambda p: True)
    monkeypatch.setattr(subprocess, 'run', lambda cmd, **k: (calls.append((cmd, k)) or R())
                        if cmd[0] == '/x/mpremote' else real_run(cmd, **k))
    assert flash.main(['--board', 'pico', '--port', '/dev/ttyACM0']) == 1
    err = capsys.readouterr().err
    assert 'could not enter raw repl' in err and 'service mode' in err and err.count('\n') == 1
    (cmd, kw), = calls
    assert cmd[:6] == ['/x/mpremote', 'connect', '/dev/ttyACM0', 'fs', 'cp', '-r']
    assert Path(kw['cwd']) == flash.BUILD / 'pico'


def test_the_flashed_tree_alone_boots_the_board(tmp_path, built):
    """Only what flash copies (plus the fake machine): the board comes up."""
    mp = devicebuild.tool('micropython')
    dest, files = built
    tree = tmp_path / 'board'
    shutil.copytree(dest, tree)
    for f in ('fake_machine.py', 'fake_rp2.py', 'pico_bench.py'):
        shutil.copy(ROOT / 'tests' / 'device' / f, tree / f)
    script = ('import pico_bench\nw, b = pico_bench.new_board()\npico_bench.run(w, b, 500)\n'
              'print(b.pump.state_name(), b.link is not None)\n')
    r = subprocess.run([mp, '-X', 'heapsize=512k', '-c', script], cwd=tree, capture_output=True,
                       text=True, env=dict(os.environ, MICROPYPATH='.'), timeout=300)
    assert r.returncode == 0, r.stderr[-800:]
    assert r.stdout.split() == ['IDLE', 'True']
