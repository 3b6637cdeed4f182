"""End to end over a pty, the firmware in a real `micropython` process:
`pumpsim serve --runtime micropython` driven by pumpctl (issue 5 acceptance).

info, load an HAI program, confirm, start, status RUNNING, telemetry,
occlusion injected on serve's stdin, the alarm in status and telemetry,
acknowledge, journal download."""
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEY = b'hai-pump-test-key-do-not-deploy!'


def start_serve(*extra):
    p = subprocess.Popen([sys.executable, '-m', 'simulator.cli', 'serve', '--runtime', 'micropython',
                          '--link', 'pty', '--speed', '5'] + list(extra),
                         cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith('port: '):
            return p, line.split(None, 1)[1].strip(), lines
    p.kill()
    pytest.fail('serve printed no port: %r' % lines)


def say(p, line):
    p.stdin.write(line + '\n')
    p.stdin.flush()


def stop_serve(p):
    try:
        say(p, 'quit')
        out = p.communicate(timeout=20)[0]
    except (subprocess.TimeoutExpired, OSError):
        p.kill()
        out = p.communicate()[0]
    return out


def pumpctl(port, key_file, *args):
    r = subprocess.run([sys.executable, '-m', 'protocol.host.pumpctl', '--port', port,
                        '--key-file', key_file] + list(args),
                       cwd=ROOT, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def _uptime(status_line):
    return int(re.search(r'uptime (\d+) s', status_line).group(1))


@pytest.fixture
def key_file(tmp_path):
    k = tmp_path / 'pump.key'
    k.write_bytes(KEY)
    return str(k)


def test_micropython_firmware_over_pty(tmp_path, key_file):
    prog = tmp_path / 'hai.yaml'
    prog.write_text('pump: bd-plastipak-50\nprogram:\n  drug: floxuridine\n'
                    '  rate_ml_h: 20\n  volume_ml: 5\n')
    p, port, head = start_serve()
    try:
        assert 'firmware (micropython)' in ''.join(head)
        rc, out, err = pumpctl(port, key_file, 'info')
        assert rc == 0 and 'serial SIM-' in out and 'firmware 0.1.0' in out, err
        rc, out, err = pumpctl(port, key_file, 'load', str(prog))
        assert rc == 0 and 'step 1: 20.0000 mL/h for 5.0000 mL' in out, (out, err)
        h = [w for w in out.split() if len(w) == 64][0]
        rc, out, err = pumpctl(port, key_file, 'confirm', h[:12])
        assert rc == 0 and 'confirmed ' + h[:16] in out, err
        rc, out, err = pumpctl(port, key_file, 'start')
        assert rc == 0 and 'state RUNNING' in out, err
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


def test_micropython_serve_survives_noisy_link(key_file):
    p, port, _ = start_serve('--flip', '0.004', '--garbage', '0.004', '--drop', '0.004')
    try:
        for _ in range(5):
            rc, out, err = pumpctl(port, key_file, '--retries', '10', '--timeout', '0.2', 'status')
            assert rc == 0 and 'state IDLE' in out, err
    finally:
        out = stop_serve(p)
    assert 'Traceback' not in out
    m = re.search(r"'dropped': (\d+), 'flipped': (\d+), 'garbage': (\d+)", out)
    assert m and sum(int(x) for x in m.groups()) > 0, out
