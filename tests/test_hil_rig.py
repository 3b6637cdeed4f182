"""The acceptance suite's own parts, without a device: the MT-SICS driver
against a simulated balance on a pty, the bench's relay and operator
prompts, the conformance monitor, the target registry and the
traceability checks."""
import os

import pytest
import serial

from acceptance import trace
from acceptance.bench import BenchRig, OperatorPrompt, SerialRelay, load_config, BenchConfigError
from acceptance.monitor import ConformanceMonitor
from pumphost.mtsics import BalanceError, MtSicsBalance, SimBalance
from acceptance.rig import RigError
from acceptance import targets
from protocol import codes as W
from pumphost import codes as C


@pytest.fixture
def balance():
    mass = [12.34567]
    sim = SimBalance(lambda: mass[0])
    bal = MtSicsBalance(sim.path, timeout_s=2.0)
    yield sim, bal, mass
    bal.close()
    sim.close()


def test_mtsics_reads_weight_zero_and_serial_over_a_pty(balance):
    sim, bal, mass = balance
    assert bal.serial_number() == sim.serial
    assert bal.weight_g() == pytest.approx(12.3457, abs=1e-4)   # readability 0.1 mg
    bal.zero()
    mass[0] += 1.5
    assert bal.weight_g() == pytest.approx(1.5, abs=1e-4)
    g, stable = bal.weight_now()
    assert g == pytest.approx(1.5, abs=1e-4) and stable
    assert [c for c in sim.commands if c in ('S', 'SI', 'Z')] == ['S', 'Z', 'S', 'SI']


def test_mtsics_overload_and_errors_are_one_line(balance):
    sim, bal, mass = balance
    mass[0] = 500.0
    with pytest.raises(BalanceError, match='overload'):
        bal.weight_g()
    with pytest.raises(BalanceError, match='syntax error'):
        bal.command('XYZ')


class ScriptedPort:
    """A serial port whose device answers from a script, one line per command."""

    def __init__(self, answers):
        self.answers = [b'I4 A "X"'] + list(answers)
        self.pending = b''
        self.sent = []

    def write(self, data):
        self.sent.append(data)
        if self.answers:          # a script run out: the balance is silent
            self.pending += self.answers.pop(0) + b'\r\n'

    def read(self, n):
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def close(self):
        pass


def test_mtsics_units_and_malformed_answers():
    bal = MtSicsBalance('scripted', port=ScriptedPort(
        [b'S S     250.0 mg', b'S D   0.00125 kg', b'S S 1.0 lb', b'S I', b'X', b'ET']),
        timeout_s=0.2)
    assert bal.weight_g() == pytest.approx(0.25)
    assert bal.weight_now() == (pytest.approx(1.25), False)
    with pytest.raises(BalanceError, match="unit 'lb'"):
        bal.weight_g()
    with pytest.raises(BalanceError, match='busy'):
        bal.weight_g()
    with pytest.raises(BalanceError, match='expected "S S <weight> <unit>"'):
        bal.weight_g()
    with pytest.raises(BalanceError, match='transmission error'):
        bal.zero()
    with pytest.raises(BalanceError, match='no answer to S within'):
        bal.weight_g()


def test_relay_sends_lcus_frames():
    port = serial.serial_for_url('loop://', timeout=0.05)
    r = SerialRelay('loop://', port=port)
    r.set(2, True)
    r.set(2, False)
    assert port.read(8) == bytes((0xA0, 2, 1, 0xA3, 0xA0, 2, 0, 0xA2))


def test_operator_prompt_confirms_times_out_and_refuses(tmp_path):
    out = open(os.devnull, 'w')
    r, w = os.pipe()
    inp = os.fdopen(r)
    os.write(w, b'done\nnope\n')
    op = OperatorPrompt(inp, out, timeout_s=0.5)
    op.ask('clamp the catheter fully')
    with pytest.raises(RigError, match='not done'):
        op.ask('release the catheter clamp')
    with pytest.raises(RigError, match='within 0 s|within 0'):
        op.ask('take the syringe out')
    assert [e['answer'] for e in op.log] == ['done', 'nope', None]
    os.close(w)


def test_bench_rig_capabilities_follow_its_instruments(balance):
    sim, bal, mass = balance
    port = serial.serial_for_url('loop://', timeout=0.05)
    rig = BenchRig(balance=bal, relay=SerialRelay('loop://', port=port),
                   relay_channels={'downstream_occlusion': 1, 'supply': 2})
    assert rig.capabilities == {'balance', 'fault:downstream_occlusion', 'power_cycle'}
    rig.inject('downstream_occlusion')
    assert port.read(4) == bytes((0xA0, 1, 1, 0xA2))
    with pytest.raises(RigError):
        rig.inject('air_bubble')
    mass[0] += 0.998
    assert rig.balance_g() == pytest.approx(0.998, abs=2e-4)   # zeroed at set-up


def test_bench_config_needs_the_pump_port(tmp_path):
    p = tmp_path / 'bench.yaml'
    p.write_text('balance: {port: /dev/null}\n')
    with pytest.raises(BenchConfigError, match='pump.port missing'):
        load_config(str(p))


def test_monitor_flags_a_transition_outside_the_table():
    m = ConformanceMonitor()
    ok = [(1, 0, C.EV_BOOT, 0, 0, True),
          (2, 0, C.EV_STATE, C.S_POST, C.S_IDLE * 256 + C.T_POST_OK, True),
          (3, 1, C.EV_STATE, C.S_IDLE, C.S_PROGRAMMED * 256 + C.T_LOAD, True)]
    m.observe_journal(ok)
    assert m.violations == []
    m.observe_journal(ok + [(4, 2, C.EV_STATE, C.S_PROGRAMMED, C.S_RUNNING * 256 + C.T_RESUME,
                             True)])
    assert len(m.violations) == 1 and 'PROGRAMMED --resume--> RUNNING' in m.violations[0]
    with pytest.raises(AssertionError):
        m.check()


def test_monitor_flags_a_broken_chain_and_an_impossible_wire_change():
    m = ConformanceMonitor()
    m.observe_journal([(1, 0, C.EV_BOOT, 0, 0, True),
                       (2, 0, C.EV_STATE, C.S_IDLE, C.S_PROGRAMMED * 256 + C.T_LOAD, True)])
    assert 'but the device was in POST' in m.violations[0]
    w = ConformanceMonitor()
    for s in (W.STATE_IDLE, W.STATE_REVIEW, W.STATE_READY, W.STATE_RUNNING, W.STATE_ALARM,
              W.STATE_PAUSED, W.STATE_RUNNING, W.STATE_COMPLETE):
        w.observe_wire(0.0, s)
    assert w.violations == []
    w.observe_wire(1.0, W.STATE_FAULT)
    w.observe_wire(2.0, W.STATE_RUNNING)          # nothing leaves FAULT
    assert len(w.violations) == 1 and 'FAULT -> RUNNING' in w.violations[0]


def test_targets_without_their_runtime_say_why():
    assert set(targets.names()) >= {'inproc', 'micropython', 'qemu', 'bench'}
    qemu = targets.TARGETS['qemu']({}).unavailable()   # the image or qemu missing, or None
    assert qemu is None or 'make image' in qemu or 'qemu-system-arm' in qemu, qemu
    assert '--bench' in targets.TARGETS['bench']({'bench': None}).unavailable()
    assert targets.TARGETS['inproc']({}).unavailable() is None


def test_traceability_check_finds_both_directions():
    s = trace.load()
    tests = {t: [r['id'] for r in s.requirements if t in r['verification']]
             for r0 in s.requirements for t in r0['verification']}
    assert trace.check_data(s) == [] and trace.check_suite(s, tests) == []
    tests['test_new_without_requirement'] = []
    first = s.requirements[0]
    for t in first['verification']:
        tests[t] = [r for r in tests[t] if r != first['id']]
    problems = trace.check_suite(s, tests)
    assert any('test_new_without_requirement verifies no requirement' in p for p in problems)
    assert any(first['id'] in p and 'does not name it' in p for p in problems)


def test_accuracy_bench_weighs_a_real_balance_the_same_way(tmp_path):
    """pumpsim bench accuracy --balance: an MT-SICS balance on a pty under a
    pump running 10 % fast; the analysis finds +10 %. A fake clock stands in
    for the wall time."""
    from simulator.benches import accuracy, accuracy_balance
    now = [0.0]
    sim = SimBalance(lambda: 0.998 * 1.1 * now[0] / 3600.0 + 0.5)   # 1.1 mL/h on 0.5 g tare
    try:
        report = accuracy_balance.bench(sim.path, 1.0, 3600.0, 30.0, clock=lambda: now[0],
                                        sleep=lambda s: now.__setitem__(0, now[0] + s))
    finally:
        sim.close()
    run = report['runs'][0]
    assert run['mean_error_pct'] == pytest.approx(10.0, abs=0.1)
    assert len(run['balance']) == 121 and run['balance'][0][1] == pytest.approx(0.0, abs=1e-4)
    assert sim.serial in report['source']
    out = accuracy.write(report, tmp_path)
    assert (out / 'accuracy.json').exists() and (out / 'trumpet.png').exists()


def test_bench_target_end_to_end_on_the_simulated_bench(tmp_path):
    """--target bench through real serial lines: the simulated bench serves the
    pump, an MT-SICS balance and a relay on ptys; a few acceptance tests run
    through them (the power tests are skipped: no switchable supply)."""
    import subprocess
    import sys
    import time
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    cfg = tmp_path / 'bench.yaml'
    sb = subprocess.Popen([sys.executable, '-m', 'acceptance.simbench', '--speed', '50',
                           '--config', str(cfg), '--for', '120'], cwd=root,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = sb.stdout.readline()
        assert 'simbench: pump' in line, line
        deadline = time.monotonic() + 10
        while not cfg.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        r = subprocess.run([sys.executable, '-m', 'pytest', 'acceptance', '-p', 'no:cacheprovider',
                            '-q', '--target', 'bench', '--bench', str(cfg),
                            '--hil-out', str(tmp_path / 'hil'), '-k',
                            'drug_hard_rate or forged_command or syringe_removed_stops '
                            'or power_loss_mid_course'],
                           cwd=root, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-2000:]
        import json
        res = json.loads((tmp_path / 'hil' / 'results.json').read_text())['results']
        assert sorted(e['outcome'] for e in res) == ['passed'] * 3 + ['skipped']
        skipped = [e for e in res if e['outcome'] == 'skipped']
        assert skipped[0]['reason'] == 'target bench: its rig cannot power_cycle'
        syr = [e for e in res if e['test'] == 'test_syringe_removed_stops_the_pump'][0]
        assert syr['serial'] == 'SIM-0007'
        assert syr['conformance']['journal_transitions_checked'] >= 3
    finally:
        sb.terminate()
        sb.wait(timeout=10)
