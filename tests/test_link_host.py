"""Host client and pumpctl against the firmware link in-process (no OS I/O).

`DevicePort` is a pyserial-like port: write() hands bytes to the device's
serial and runs link.poll(); read() returns what the device sent. Faults
(dropping the device's replies) are injected per test.
"""

import pytest

from firmware.link import Link
from firmware.program import Program
from hal.fake import make_fake_hal
from firmware.settings import Settings
from firmware.pump import Pump
from firmware.loop import Loop
from protocol import codes as C
from pumphost import pumpctl
from pumphost.client import (PumpClient, Nak, LinkTimeout, TEST_KEY, encode_program,
                                  read_key_file)
from pumphost import codes
from pumphost.config.drugs import program_drugs

WRONG = b'x' * 32


SALINE = program_drugs('saline', 9.0)


class DevicePort:
    def __init__(self):
        self.hal = make_fake_hal()
        self.pump = Pump(self.hal, Settings())
        self.loop = Loop(self.pump, self.hal.clock)
        self.tick()
        self.link = Link(self.pump, self.hal.serial, TEST_KEY, pump_kind=C.PUMP_SIMULATED)
        self.drop_replies = 0     # drop the next N device writes
        self.written = []

    def tick(self, n=1):
        for _ in range(n):
            self.hal.clock.advance(100)
            self.loop.poll()

    def write(self, data):
        self.written.append(bytes(data))
        self.hal.serial.rx.extend(data)
        while self.link.poll():
            pass

    def read(self, n):
        tx = self.hal.serial.tx
        if not tx:
            return b''
        if self.drop_replies:
            self.drop_replies -= 1
            self.hal.serial.tx = bytearray()
            return b''
        out = bytes(tx)
        self.hal.serial.tx = bytearray()
        return out

    def close(self):
        pass


def client(dev, key=TEST_KEY, **kw):
    kw.setdefault('timeout', 0.01)
    return PumpClient(port=dev, key=key, **kw)


def test_encode_program_matches_firmware():
    steps = [(1, 1234567, 890000), (1, 10000, 1)]
    assert encode_program(steps) == Program(steps).encode()


def test_full_session(tmp_path):
    dev = DevicePort()
    c = client(dev, counter_file=str(tmp_path / 'k.counter'))
    assert c.hello()['serial'] == 'SIM-0001'
    review = c.load_program([(1, 2000000, 1000000)], SALINE)
    assert review['steps'][0]['duration_s'] == 1800
    c.confirm(review['program_hash'])
    c.start()
    dev.tick(20)
    s = c.status()
    assert s['state'] == C.STATE_RUNNING and s['delivered_nl'] > 0
    c.stop()
    assert c.status()['state'] == C.STATE_IDLE
    assert int((tmp_path / 'k.counter').read_text()) == c.signer.counter == 3
    log = c.journal()
    assert [r[0] for r in log] == list(range(1, len(log) + 1)) and all(r[5] for r in log)


def test_large_program_is_chunked_and_reviewed_in_pages():
    dev = DevicePort()
    c = client(dev)
    steps = [(1, 1000000 + i, 100000) for i in range(30)]
    review = c.load_program(steps, SALINE)
    assert len(review['steps']) == 30
    assert [s['rate_nl_h'] for s in review['steps']] == [s[1] for s in steps]
    from protocol.decoder import Decoder
    sent = Decoder().feed(b''.join(dev.written))
    loads = [f for f in sent if f.msg_type == C.PROGRAM_LOAD]
    # 4 + 38 (one drug) + 30 * 18 = 582 bytes: chunks of 254 (+ 2 header bytes each)
    assert [len(f.payload) for f in loads] == [256, 256, 2 + 74]


def test_lost_reply_is_retried_with_same_seq_and_acts_once():
    dev = DevicePort()
    c = client(dev)
    review = c.load_program([(1, 2000000, 1000000)], SALINE)
    c.confirm(review['program_hash'])
    before = len(dev.pump.journal.records())
    dev.drop_replies = 2
    c.start()
    assert c.retries_used == 2
    assert dev.link.dedup.hits == 2
    assert dev.pump.state_name() == 'RUNNING'
    states = [r for r in dev.pump.journal.records()[before:] if r[2] == 2]
    assert len(states) == 1   # one transition PROGRAMMED -> RUNNING


def test_timeout_raises_linktimeout():
    dev = DevicePort()
    c = client(dev, retries=1)
    dev.drop_replies = 5
    with pytest.raises(LinkTimeout, match='no reply to STATUS_REQ'):
        c.status()


def test_wrong_key_is_refused():
    dev = DevicePort()
    c = client(dev)
    review = c.load_program([(1, 2000000, 1000000)], SALINE)
    bad = client(dev, key=WRONG)
    with pytest.raises(Nak) as e:
        bad.confirm(review['program_hash'])
    assert e.value.reason == C.NAK_BAD_AUTH and 'CONFIRM refused' in str(e.value)


def test_counter_resumes_after_host_restart(tmp_path):
    dev = DevicePort()
    cf = str(tmp_path / 'c')
    c1 = client(dev, counter_file=cf)
    c1.load_program([(1, 2000000, 1000000)], SALINE)
    c2 = client(dev, counter_file=cf)         # a new pumpctl process
    c2.load_program([(1, 2000000, 1000000)], SALINE)  # not stale
    # a host that lost its counter file learns the device's counter
    c3 = client(dev)
    c3.load_program([(1, 2000000, 1000000)], SALINE)
    assert dev.link.rejected == 0


def test_unsigned_client_gets_clear_error():
    dev = DevicePort()
    c = client(dev, key=None)
    with pytest.raises(Exception, match='must be signed'):
        c.start()


def test_read_key_file(tmp_path):
    p = tmp_path / 'k'
    p.write_text(TEST_KEY.hex() + '\n')
    assert read_key_file(str(p)) == TEST_KEY
    p.write_bytes(b'short')
    with pytest.raises(ValueError, match='expected 32 raw bytes'):
        read_key_file(str(p))


# ------------------------------------------------------------------ pumpctl
def run(capsys, *argv):
    rc = pumpctl.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_pumpctl_bad_arguments(capsys, tmp_path):
    rc, out, err = run(capsys, '--port', 'loop://', 'audio-pause', '500')
    assert rc == 2 and "'500' not allowed (1..120)" in err and '\n' == err[-1] and err.count('\n') == 1
    rc, out, err = run(capsys, '--port', 'loop://', 'fly')
    assert rc == 2 and 'invalid choice' in err
    rc, out, err = run(capsys, '--port', 'loop://', '--key-file', str(tmp_path / 'none'), 'status')
    assert rc == 2 and '--key-file=' in err and 'No such file' in err


def test_pumpctl_program_file_errors(capsys, tmp_path):
    p = tmp_path / 'p.yaml'
    p.write_text('program: {drug: saline, concentration_mg_per_ml: 9, rate_ml_h: 400, volume_ml: 2}\n')
    rc, out, err = run(capsys, '--port', 'loop://', '--test-key', 'load', str(p))
    assert rc == 2 and 'program.rate' in err and '400' in err and 'Traceback' not in err
    p.write_text('program: {drug: saline, concentration_mg_per_ml: 9, rate_ml_h: 4}\n')
    rc, out, err = run(capsys, '--port', 'loop://', '--test-key', 'load', str(p))
    assert rc == 2 and 'program.volume_ml: missing' in err
    p.write_text('program: {rate_ml_h: 4, volume_ml: 2}\n')
    rc, out, err = run(capsys, '--port', 'loop://', '--test-key', 'load', str(p))
    assert rc == 2 and 'program.drug: missing' in err and err.count('\n') == 1
    p.write_text('program: {drug: aspirin, concentration_mg_per_ml: 9, rate_ml_h: 4, volume_ml: 2}\n')
    rc, out, err = run(capsys, '--port', 'loop://', '--test-key', 'load', str(p))
    assert rc == 2 and "unknown drug" in err


def test_pumpctl_dose_form_splits_over_syringes(tmp_path):
    p = tmp_path / 'p.yaml'
    p.write_text('patient: {bsa_m2: 1.7}\nprogram:\n'
                 '  drug: 5-fu\n  dose_mg_per_m2: 2400\n  concentration_mg_per_ml: 50\n'
                 '  duration: 46h\n')
    prog, desc, lines = pumpctl.read_program_file(str(p))
    kinds = [s[0] for s in prog.steps]
    assert kinds == [codes.K_CONTINUOUS, codes.K_SYRINGE, codes.K_CONTINUOUS]
    assert abs(sum(s[2] for s in prog.steps) - 81600000) <= 1
    assert prog.drugs[0][0] == 2 and 'fluorouracil 4080 mg' in desc


def test_pumpctl_timeout_is_link_lost_one_line_exit_3(capsys):
    # loop:// echoes our own frames back: no device reply ever comes
    rc, out, err = run(capsys, '--port', 'loop://', '--timeout', '0.05', '--retries', '1', 'status')
    assert rc == pumpctl.EXIT_LINK_LOST == 3
    assert 'link lost' in err and 'no reply to STATUS_REQ' in err and err.count('\n') == 1


def test_pumpctl_nak_exit_1_in_words(capsys, monkeypatch):
    dev = DevicePort()
    monkeypatch.setattr(pumpctl, 'PumpClient',
                        lambda url, **kw: PumpClient(port=dev, **kw))
    rc, out, err = run(capsys, '--port', 'x', '--test-key', 'resume')
    assert rc == 1 and 'RESUME refused by the pump: command resume not allowed in state IDLE' in err
    rc, out, err = run(capsys, '--port', 'x', 'status')
    assert rc == 0 and 'state IDLE' in out


def _on_device(monkeypatch, dev):
    monkeypatch.setattr(pumpctl, 'PumpClient', lambda url, **kw: PumpClient(port=dev, **kw))


FLOX_OVER = 'program: {drug: floxuridine, concentration_mg_per_ml: 5, rate_ml_h: 20, volume_ml: 10}\n'


def test_floxuridine_over_its_hard_limit_is_refused_by_host_and_by_pump(capsys, monkeypatch, tmp_path):
    p = tmp_path / 'flox.yaml'
    p.write_text(FLOX_OVER)
    dev = DevicePort()
    _on_device(monkeypatch, dev)
    # the host's check: nothing is sent
    rc, out, err = run(capsys, '--port', 'x', '--test-key', 'load', str(p))
    assert rc == 2 and err.count('\n') == 1
    assert 'above the hard limit rate 10 mL/h for floxuridine' in err
    assert not [w for w in dev.written if len(w) > 40]
    # without the host's check the pump refuses on its own, in the same words
    rc, out, err = run(capsys, '--port', 'x', '--test-key', 'load', '--no-host-check', str(p))
    assert rc == 1 and err.count('\n') == 1, err
    assert 'PROGRAM_LOAD refused by the pump' in err
    assert 'rate=20 mL/h not allowed (hard limit rate 10 mL/h for floxuridine)' in err
    assert dev.pump.program is None
    rc, out, err = run(capsys, '--port', 'x', 'status')
    assert 'state IDLE' in out


def test_pumpctl_loads_a_template_with_patient_data(capsys, monkeypatch):
    dev = DevicePort()
    _on_device(monkeypatch, dev)
    rc, out, err = run(capsys, '--port', 'x', '--test-key', 'load', 'haic-folfox',
                       '--height-cm', '170', '--weight-kg', '61.2')
    assert rc == 0, err
    assert 'syringe change' in out and 'bolus' in out and 'kvo' in out
    hint = [ln for ln in out.splitlines() if 'confirm with:' in ln][0]
    assert hint.split('confirm with: ')[1].startswith('pumpctl --port x --test-key confirm ')
    assert [d[0] for d in dev.pump.program.drugs] == [3, 4, 2]


def test_pumpctl_on_link_loss_stop_reaches_the_device(tmp_path):
    from pumphost.codes import FLAG_STOP_ON_LINK_LOSS
    p = tmp_path / 'p.yaml'
    body = 'program: {drug: saline, concentration_mg_per_ml: 9, rate_ml_h: 2, volume_ml: 1}\n'
    p.write_text('on_link_loss: stop\n' + body)
    prog, desc, _ = pumpctl.read_program_file(str(p))
    assert prog.flags == FLAG_STOP_ON_LINK_LOSS and 'stops on link loss' in desc
    p.write_text(body)
    assert pumpctl.read_program_file(str(p))[0].flags == 0
    p.write_text('on_link_loss: maybe\n' + body)
    with pytest.raises(pumpctl.UsageError):
        pumpctl.read_program_file(str(p))
    p.write_text('on_link_loss: stop\n' + body)
    dev = DevicePort()
    c = PumpClient(port=dev, key=TEST_KEY, timeout=1.0, retries=0)
    c.hello()
    c.load_program(pumpctl.read_program_file(str(p))[0])
    assert dev.pump.program.flags == FLAG_STOP_ON_LINK_LOSS


def test_link_program_size_matches_the_program_encoding():
    # firmware.link keeps its own figure so it need not import firmware.program
    # until a program arrives (heap); its code copies: tests/test_device_codes.py
    from firmware import link
    assert link._MAX_BYTES == codes.MAX_BYTES
