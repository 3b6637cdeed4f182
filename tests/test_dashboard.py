"""The dashboard without a browser: the simulated target's controls
(in-process), the HTTP surface of `pumpsim dashboard`, and `pumpctl
dashboard` on `pumpsim serve` through the signed link."""
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from e2e_helpers import ROOT, pumpctl, start_serve, stop_serve, write_key
from pumphost.dashboard.record import SessionRecord, MAX_SAMPLES
from pumphost.dashboard.server import CommandError
from simulator.runtime.inproc import Simulation
from simulator.scenario import load_scenario
from simulator.ui.dashboard import SimTarget


@pytest.fixture
def target():
    sc = load_scenario('demo')
    sc.events = []
    sim = Simulation(sc)
    sim.boot(program=True)
    t = SimTarget(sim, running=False)
    yield t
    t.close()


def _wait_mode(t, mode='hold', limit=600):
    for _ in range(limit * 20):
        if t.mode == mode:
            return
        time.sleep(0.05)
    raise AssertionError('still %s' % t.mode)


def test_step_inject_until_ack_resume(target):
    t = target
    r = t.command('step', {'span': '2min30s'})
    assert r['ok'] and 'stepped 1500 ticks to 0:02:30.0' in r['message']
    assert t.command('step', {'span': '1'})['message'].startswith('stepped 1 tick ')
    t.command('step', {'span': '10min'})             # longer: run by the worker
    _wait_mode(t)
    d, _ = t.snapshot(None)
    assert d['status']['state'] == 'RUNNING' and d['status']['t_s'] == pytest.approx(750.1)
    assert d['internals']['occlusion']['phase'] == 'monitor'
    assert d['internals']['occlusion']['learned'] is True
    assert t.command('inject', {'fault': 'downstream_occlusion', 'params': {'severity': '1'}})['ok']
    r = t.command('until', {'condition': 'pressure > 110', 'max': '10min'})
    assert r['ok'], r
    _wait_mode(t)
    d, _ = t.snapshot(None)
    assert d['status']['pressure_mmhg'] > 110 and d['status']['state'] in ('RUNNING', 'ALARM')
    t.command('until', {'condition': 'state ALARM', 'max': '10min'})
    _wait_mode(t)
    d, _ = t.snapshot(None)
    assert d['status']['state'] == 'ALARM'
    assert [a['name'] for a in d['status']['alarms']] == ['occlusion_downstream']
    assert d['status']['alarms'][0]['priority'] == 'high'
    assert t.command('resume', {})['ok'] is False           # nothing resumes while latched
    assert t.command('audio_pause', {'seconds': 60})['ok']
    assert t.command('clear', {'fault': 'downstream_occlusion'})['ok']
    t.command('step', {'span': '1min'})     # the line relaxes: the condition goes
    assert t.command('ack', {})['ok']
    assert t.snapshot(None)[0]['status']['state'] == 'PAUSED'
    assert t.command('resume', {})['ok']
    d, _ = t.snapshot(None)
    assert d['status']['state'] == 'RUNNING'
    kinds = [e['kind'] for e in d['events']]
    for k in ('program', 'inject', 'break', 'alarm', 'clear', 'ack', 'resume'):
        assert k in kinds
    times = [e['t_s'] for e in d['events']]
    assert times == sorted(times)
    assert [b[2] for b in d['bands']][-3:] == ['ALARM', 'PAUSED', 'RUNNING']


def test_until_probe_and_journal(target):
    """A 15 mmHg blood-pressure step makes the detector suspect and probe;
    the probe decays (open line) and no alarm follows."""
    t = target
    t.command('step', {'span': '15min'})
    _wait_mode(t)
    t.command('inject', {'fault': 'arterial_step', 'params': {'offset_mmhg': '15'}})
    t.command('until', {'condition': 'probe', 'max': '1h'})
    _wait_mode(t)
    assert t.message.endswith(': probe'), t.message
    assert t.snapshot(None)[0]['internals']['occlusion']['phase'] == 'probe push'
    t.command('until', {'condition': 'journal checkpoint', 'max': '10min'})
    _wait_mode(t)
    assert t.message.endswith('journal checkpoint'), t.message
    assert t.snapshot(None)[0]['status']['alarms'] == []


@pytest.mark.parametrize('action, args, words', [
    ('frob', {}, ["action 'frob': unknown", 'inject']),
    ('inject', {'fault': 'gremlin'}, ["fault='gremlin': unknown", 'air_bubble']),
    ('inject', {'fault': 'air_bubble', 'params': {'size': '3'}}, ["no parameter 'size'", 'volume_ul']),
    ('inject', {'fault': 'air_bubble', 'params': {'volume_ul': 'lots'}}, ["volume_ul='lots' is not a number"]),
    ('inject', {'fault': 'downstream_occlusion', 'params': {'severity': '2'}}, ['severity=2.0 must be in (0, 1]']),
    ('step', {'span': '3x'}, ["'3x' is not a duration", '3min30s']),
    ('step', {'span': '0'}, ['from one tick']),
    ('until', {'condition': 'pressure >> 3'}, ['QUANTITY OP NUMBER']),
    ('until', {'condition': 'state NAPPING'}, ["'NAPPING' is not a state", 'ALARM']),
    ('until', {'condition': 'alarm gremlin'}, ["unknown alarm 'gremlin'"]),
    ('speed', {'speed': '0'}, ['speed=0: allowed 0.1 to 100000']),
    ('audio_pause', {'seconds': 500}, ['seconds=500: allowed 1 to 120']),
])
def test_bad_commands_name_the_field(target, action, args, words):
    k = target.sim.k
    with pytest.raises(CommandError) as e:
        target.command(action, args)
    assert '\n' not in str(e.value)
    for w in words:
        assert w in str(e.value), str(e.value)
    assert target.sim.k == k


def test_record_halves_past_its_limit():
    r = SessionRecord()
    row = dict(t=0.0, pressure=1.0, sensed=1.0, baseline=1.0, delivered=0.0, device_delivered=0.0,
               course=0.0)
    for i in range(MAX_SAMPLES + 1):
        r.sample(dict(row, t=float(i)))
    d, cur = r.since(None)
    assert r.epoch == 1 and r.stride == 2
    assert len(d['samples']['t']) == MAX_SAMPLES // 2 + 1
    d2, _ = r.since(cur)
    assert d2['samples']['t'] == [] and not d2['full']
    r.sample(dict(row, t=1e6))
    r.sample(dict(row, t=1e6 + 1))      # stride 2: one of the two kept
    assert len(r.since(cur)[0]['samples']['t']) == 1


def _http(url, body=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _start(args):
    p = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if 'http://127.0.0.1:' not in line:
        p.kill()
        raise AssertionError(line + p.stderr.read())
    return p, 'http://' + line.split('http://', 1)[1].split()[0].rstrip('/')


def _poll(url, pred, limit_s=60):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        _, d = _http(url + '/api/snapshot')
        if pred(d):
            return d
        time.sleep(0.2)
    raise AssertionError('never: last snapshot %s' % json.dumps(d)[:600])


def test_pumpsim_dashboard_http():
    p, url = _start([sys.executable, '-m', 'simulator.ui.cli', 'dashboard', 'demo', '--hold',
                     '--open-for', '120'])
    try:
        with urllib.request.urlopen(url + '/') as r:
            assert b'id="banner"' in r.read()
        with urllib.request.urlopen(url + '/plotly.min.js') as r:
            assert len(r.read()) > 1000000        # Plotly's bundle from its wheel, no CDN
        _, d = _http(url + '/api/describe')
        assert d['kind'] == 'simulated' and 'downstream_occlusion' in d['faults']
        assert _http(url + '/api/command', b'{not json')[0] == 400
        code, d = _http(url + '/api/command', {'action': 'step', 'span': 'soon'})
        assert code == 400 and not d['ok'] and "'soon' is not a duration" in d['message']
        code, d = _http(url + '/api/command', {'action': 'step', 'span': '1min'})
        assert code == 200 and d['ok']
        _, d = _http(url + '/api/snapshot')
        assert d['status']['t_s'] == pytest.approx(60.0) and len(d['samples']['t']) > 30
    finally:
        p.terminate()
        p.wait(timeout=10)
    assert 'Traceback' not in p.stderr.read()


def test_pumpctl_dashboard_on_serve(tmp_path):
    key = write_key(tmp_path)
    prog = tmp_path / 'p.yaml'
    prog.write_text('pump: bd-plastipak-50\nprogram:\n  drug: saline\n'
                    '  concentration_mg_per_ml: 9\n  rate_ml_h: 20\n  volume_ml: 5\n')
    srv, port, _ = start_serve('cpython', '--speed', '5')
    dash = None
    try:
        rc, out, err = pumpctl(port, key, 'load', str(prog))
        assert rc == 0, err
        h = [w for w in out.split() if len(w) == 64][0]
        assert pumpctl(port, key, 'confirm', h[:12])[0] == 0
        assert pumpctl(port, key, 'start')[0] == 0
        dash, url = _start([sys.executable, '-m', 'pumphost.pumpctl', '--port', port,
                            '--key-file', key, 'dashboard', '--open-for', '120'])
        _, d = _http(url + '/api/describe')
        assert d['kind'] == 'serial' and d['faults'] == {}
        d = _poll(url, lambda d: d['status']['state'] == 'RUNNING' and len(d['samples']['t']) >= 4)
        assert d['program']['steps'][0]['rate_ml_h'] == pytest.approx(20.0)
        assert d['internals'] is None and d['sim'] is None
        code, r = _http(url + '/api/command', {'action': 'inject', 'fault': 'air_bubble'})
        assert code == 400 and 'serial link takes' in r['message']
        code, r = _http(url + '/api/command', {'action': 'pause'})
        assert code == 200 and r['ok'], r
        _poll(url, lambda d: d['status']['state'] == 'PAUSED')
        code, r = _http(url + '/api/command', {'action': 'resume'})   # signed with the key
        assert r['ok'], r
        d = _poll(url, lambda d: d['status']['state'] == 'RUNNING')
        assert [e['kind'] for e in d['events']].count('resume') == 1
        d = _poll(url, lambda d: any('pause' in j['text'] or 'state' in j['text'] for j in d['journal']))
    finally:
        if dash is not None:
            dash.terminate()
            dash.wait(timeout=10)
        stop_serve(srv)
    assert 'Traceback' not in dash.stderr.read()


def test_micropython_runtime_dashboard():
    """The firmware in a real micropython process (behind serve), driven
    from the dashboard's API: load the course, start, inject an occlusion,
    see the alarm; stepping is refused with the reason."""
    p, url = _start([sys.executable, '-m', 'simulator.ui.cli', 'dashboard', 'demo',
                     '--runtime', 'micropython', '--speed', '30', '--open-for', '180'])
    try:
        _, d = _http(url + '/api/describe')
        assert d['kind'] == 'simulated' and 'micropython' in d['detail']
        assert 'power_loss' not in d['faults'] and 'downstream_occlusion' in d['faults']
        code, r = _http(url + '/api/command', {'action': 'step', 'span': '1'})
        assert code == 400 and 'paced to real time' in r['message']
        assert _http(url + '/api/command', {'action': 'load'})[1]['ok']
        assert _http(url + '/api/command', {'action': 'start'})[1]['ok']
        _poll(url, lambda d: d['status']['state'] == 'RUNNING' and d['status']['delivered_ml'] > 0.01)
        code, r = _http(url + '/api/command', {'action': 'inject', 'fault': 'downstream_occlusion',
                                               'params': {'severity': '2'}})
        assert code == 400 and 'must be in (0, 1]' in r['message']
        assert _http(url + '/api/command', {'action': 'inject', 'fault': 'downstream_occlusion'})[1]['ok']
        d = _poll(url, lambda d: d['status']['state'] == 'ALARM', limit_s=90)
        assert [a['name'] for a in d['status']['alarms']] == ['occlusion_downstream']
        assert not d['status']['motor_driven']
    finally:
        p.terminate()
        p.wait(timeout=20)
    assert 'Traceback' not in p.stderr.read()


def test_simulated_device_commands_go_through_the_signed_link(target):
    """The page's device commands reach the firmware through its link
    handler, signed: a client with the wrong key is refused and nothing
    changes."""
    t = target
    t.command('step', {'span': '2min'})
    assert t.command('pause', {})['ok']        # a stop-like command: not signed
    assert t.client.signer is None
    assert t.command('resume', {})['ok']       # therapy: signed
    assert t.client.signer.counter >= 1
    assert t.command('pause', {})['ok']
    t.client.key = bytes(32)                   # a host with another key
    t.client.signer = None
    r = t.command('resume', {})
    assert not r['ok'] and 'refused by the pump' in r['message'] and 'bad_auth' in r['message'], r
    assert t.snapshot(None)[0]['status']['state'] == 'PAUSED'
    journal = ' '.join(j['text'] for j in t.snapshot(None)[0]['journal'])
    assert 'link_reject' in journal, journal
