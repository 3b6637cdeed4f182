"""Sessions that last: several clients on one pump through the multiplexer
(pumphost/mux.py), telemetry at the period each asked for, a session that
takes commands on one connection, and the link lost: one line, exit 3."""
import subprocess
import sys
import time

from e2e_helpers import ROOT, start_serve, stop_serve, write_key

PUMPCTL = [sys.executable, '-m', 'pumphost.pumpctl']


def _spawn(*args, stdin=None):
    return subprocess.Popen(PUMPCTL + list(args), cwd=ROOT, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc, timeout=30):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError('did not end: %r %r' % (out[-500:], err[-500:]))
    return proc.returncode, out, err


def _link_lost_line(rc, err):
    lines = [ln for ln in err.splitlines() if not ln.startswith('mux: client')]
    return rc == 3 and len(lines) == 1 and 'link lost' in lines[0] and 'Traceback' not in err


def test_monitors_and_status_share_one_pump_then_the_pump_goes_away():
    serve, port, _ = start_serve('cpython', '--speed', '1')
    mux = _spawn('--port', port, 'mux', '--listen', '127.0.0.1:0')
    try:
        url = mux.stdout.readline().split()[4]
        assert url.startswith('socket://127.0.0.1:')
        slow = _spawn('--port', url, 'monitor', '--period-ms', '2000')
        fast = _spawn('--port', url, 'monitor', '--period-ms', '500', '--json')
        t0 = time.monotonic()
        polls = 0
        while time.monotonic() - t0 < 12:
            r = subprocess.run(PUMPCTL + ['--port', url, 'status'], cwd=ROOT,
                               capture_output=True, text=True, timeout=30)
            assert r.returncode == 0 and 'state IDLE' in r.stdout, r.stderr
            polls += 1
        watched_s = time.monotonic() - t0
        serve.kill()
        serve.wait()
        rc, out_slow, err = _finish(slow)
        assert _link_lost_line(rc, err), (rc, err)
        rc, out_fast, err = _finish(fast)
        assert _link_lost_line(rc, err), (rc, err)
        rc, _, err = _finish(mux)
        assert _link_lost_line(rc, err), (rc, err)
    finally:
        for p in (serve, mux):
            if p.poll() is None:
                p.kill()
    assert polls >= 2
    n_slow = len(out_slow.splitlines())
    n_fast = len(out_fast.splitlines())
    # each at its own period, neither evicted by the other nor by the status polls:
    # the ratio of the two counts, not their number per wall second (a loaded
    # machine delays both alike)
    assert n_slow >= 2 and n_slow <= watched_s / 2.0 + 3, (n_slow, watched_s)
    assert n_fast >= 2.5 * n_slow, (n_fast, n_slow)


def test_monitor_alone_sees_the_server_killed(tmp_path):
    serve, port, _ = start_serve('cpython', '--speed', '1')
    mon = _spawn('--port', port, 'monitor', '--period-ms', '500')
    try:
        first = mon.stdout.readline()      # the monitor has the pump: then it goes away
        serve.kill()
        serve.wait()
        rc, out, err = _finish(mon)
    finally:
        if serve.poll() is None:
            serve.kill()
    assert 'state IDLE' in first + out
    assert _link_lost_line(rc, err), (rc, err)


def test_session_takes_commands_on_one_connection(tmp_path):
    key = write_key(tmp_path)
    prog = tmp_path / 'p.yaml'
    prog.write_text('program: {drug: saline, concentration_mg_per_ml: 9, rate_ml_h: 20, '
                    'volume_ml: 5}\non_link_loss: stop\n')
    serve, port, _ = start_serve('cpython', '--speed', '1')
    s = _spawn('--port', port, '--key-file', key, 'session', '--period-ms', '1000',
               stdin=subprocess.PIPE)
    try:
        s.stdin.write('load %s\n' % prog)
        s.stdin.flush()
        time.sleep(3)
        s.stdin.write('confirm\nstart\nack no_such_alarm\n')
        s.stdin.flush()
        time.sleep(14)      # longer than the pump's 10 s link timeout: the session keeps it
        s.stdin.write('status\nquit\n')
        s.stdin.flush()
        rc, out, err = _finish(s)
    finally:
        log = stop_serve(serve)
    assert rc == 0, err
    assert 'confirmed' in out and 'start: ok; state RUNNING' in out, out
    assert "'no_such_alarm' is not an alarm" in err and 'Traceback' not in err + log
    last = [ln for ln in out.splitlines() if 'state ' in ln][-1]
    assert 'state RUNNING' in last and 'link_lost' not in out, out
