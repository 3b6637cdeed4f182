"""End to end: `pumpsim serve` in a subprocess over a pty, driven by pumpctl."""
import re
from pathlib import Path

import pytest

from e2e_helpers import (load_confirm_start, pumpctl, start_serve as _start, stop_serve, write_key,
                         write_program)


def start_serve(*extra):
    p, port, _ = _start('cpython', '--speed', '5', *extra)
    return p, port


@pytest.fixture
def key_file(tmp_path):
    return write_key(tmp_path)


def test_serve_pumpctl_session(tmp_path, key_file):
    prog = write_program(tmp_path, 'p.yaml')
    flox = tmp_path / 'flox.yaml'
    flox.write_text('program: {drug: floxuridine, concentration_mg_per_ml: 5, rate_ml_h: 20, '
                    'volume_ml: 5}\n')
    p, port = start_serve()
    try:
        rc, out, err = pumpctl(port, key_file, 'info')
        assert rc == 0 and 'serial SIM-' in out and 'firmware 0.1.0' in out, err
        rc, out, err = pumpctl(port, key_file, 'status')
        assert rc == 0 and 'state IDLE' in out, err
        rc, out, err = pumpctl(port, key_file, 'start')
        assert rc == 1 and 'START refused by the pump: command start not allowed in state IDLE' in err
        for check in ([], ['--no-host-check']):   # host check, then the pump's own
            rc, out, err = pumpctl(port, key_file, 'load', *check, str(flox))
            assert rc == (1 if check else 2) and err.count('\n') == 1, (out, err)
            assert 'hard limit rate 10 mL/h for floxuridine' in err, err
        load_confirm_start(port, key_file, prog)
        rc, out, err = pumpctl(port, key_file, 'status')
        assert rc == 0 and 'state RUNNING' in out and 'rate 20.000 mL/h' in out, err
        rc, out, err = pumpctl(port, key_file, 'monitor', '--count', '2', '--period-ms', '200')
        assert rc == 0 and out.count('state RUNNING') == 2, err
        rc, out, err = pumpctl(port, key_file, 'stop')
        assert rc == 0 and 'state IDLE' in out, err
        rc, out, err = pumpctl(port, key_file, 'log')
        assert rc == 0 and 'program' in out and 'confirm' in out, err
        assert int(Path(key_file + '.counter').read_text()) >= 3
    finally:
        out = stop_serve(p)
    assert 'frames handled' in out and 'Traceback' not in out


@pytest.mark.parametrize('runtime', ['cpython', 'micropython'])
def test_serve_survives_noisy_link(key_file, runtime):
    p, port, _ = _start(runtime, '--speed', '5', '--flip', '0.004', '--garbage', '0.004',
                        '--drop', '0.004')
    try:
        for _ in range(5):
            rc, out, err = pumpctl(port, key_file, '--retries', '10', '--timeout', '0.2', 'status')
            assert rc == 0 and 'state IDLE' in out, err
    finally:
        out = stop_serve(p)
    assert 'Traceback' not in out
    m = re.search(r"'dropped': (\d+), 'flipped': (\d+), 'garbage': (\d+)", out)
    assert m and sum(int(x) for x in m.groups()) > 0, out
    assert 'frames handled' in out and 'Traceback' not in out
