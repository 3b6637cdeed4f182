"""End to end over a pty, the firmware in a real `micropython` process:
`pumpsim serve --runtime micropython` driven by pumpctl.

info, load an HAI program, confirm, start, status RUNNING, telemetry,
occlusion injected on serve's stdin, the alarm in status and telemetry,
acknowledge, journal download."""
import re
import time

import pytest

from e2e_helpers import (load_confirm_start, pumpctl, say, start_serve as _start, stop_serve,
                         write_key, write_program)


def start_serve(*extra):
    return _start('micropython', '--speed', '5', *extra, stdin=True)


def _uptime(status_line):
    return int(re.search(r'uptime (\d+) s', status_line).group(1))


@pytest.fixture
def key_file(tmp_path):
    return write_key(tmp_path)


def test_micropython_firmware_over_pty(tmp_path, key_file):
    prog = write_program(tmp_path, 'hai.yaml')
    flox = tmp_path / 'flox.yaml'
    flox.write_text('program: {drug: floxuridine, concentration_mg_per_ml: 5, rate_ml_h: 20, '
                    'volume_ml: 5}\n')
    p, port, head = start_serve()
    try:
        assert 'firmware (micropython)' in ''.join(head)
        rc, out, err = pumpctl(port, key_file, 'info')
        assert rc == 0 and 'serial SIM-' in out and 'firmware 0.1.0' in out, err
        for check in ([], ['--no-host-check']):   # host check, then the pump's own
            rc, out, err = pumpctl(port, key_file, 'load', *check, str(flox))
            assert rc == (1 if check else 2) and err.count('\n') == 1, (out, err)
            assert 'hard limit rate 10 mL/h for floxuridine' in err, err
        load_confirm_start(port, key_file, prog)
        say(p, 'speed 50')
        rc, out, err = pumpctl(port, key_file, 'status')
        assert rc == 0 and 'state RUNNING' in out and 'rate 20.000 mL/h' in out, err
        rc, out, err = pumpctl(port, key_file, 'monitor', '--count', '2', '--period-ms', '500')
        assert rc == 0 and out.count('state RUNNING') == 2, err
        rc, out, err = pumpctl(port, key_file, 'status')
        up0 = _uptime(out)
        deadline = time.monotonic() + 30      # let the occlusion check learn its baseline
        while _uptime(out) < up0 + 300 and time.monotonic() < deadline:
            time.sleep(0.5)
            rc, out, err = pumpctl(port, key_file, 'status')
            assert rc == 0 and 'state RUNNING' in out, (out, err)
        say(p, 'inject downstream_occlusion')
        deadline = time.monotonic() + 30       # 1500 s simulated at 50x
        while time.monotonic() < deadline:
            rc, out, err = pumpctl(port, key_file, 'status')
            assert rc == 0, err
            if 'state ALARM' in out:
                break
            time.sleep(0.3)
        assert 'state ALARM' in out and 'occlusion' in out.lower(), out
        rc, out, err = pumpctl(port, key_file, 'monitor', '--count', '1', '--period-ms', '500')
        assert rc == 0 and 'ALARM' in out and 'occlusion' in out.lower(), (out, err)
        rc, out, err = pumpctl(port, key_file, 'ack')
        assert rc == 0, err
        rc, out, err = pumpctl(port, key_file, 'log')
        assert rc == 0, err
        assert re.search(r'alarm .*occlusion', out, re.I), out
        assert 'alarm_ack' in out and 'program' in out and 'confirm' in out, out
    finally:
        out = stop_serve(p)
    assert 'Traceback' not in out, out
    m = re.search(r'serve: ([\d.]+) s simulated \((\d+) ticks/s\), state (\w+), (\d+) frames handled', out)
    assert m and int(m.group(4)) >= 10, out
    assert 'runtime micropython' in out

# the noisy-link test runs for both runtimes in tests/test_link_e2e.py
