"""The device link handler on the fake HAL. Runs under pytest AND MicroPython.

The test plays the host: it builds frames with the protocol codec, puts them
in FakeSerial.rx, polls the link and decodes FakeSerial.tx.
"""
import struct

from helpers_device import make_pump, run_ticks
from firmware.link import Link
from pumphost.codes import EV_LINK_REJECT, EV_LINK_LOST, EV_LINK_BACK, EV_AUTH_MARK
from firmware.program import Program
from firmware.alarms import ALARM_PRIORITY
from protocol import codes as C
from protocol import messages as M
from protocol.frame import encode_frame, FLAG_AUTH, FLAG_RETRY, FLAG_REPLY, FLAG_EVENT
from protocol.decoder import Decoder
from protocol.auth import Signer
from pumphost.codes import A_LINK_LOST, EV_ALARM, EV_REJECT, FLAG_STOP_ON_LINK_LOSS, K_CONTINUOUS, PRIO_MEDIUM

KEY = b'hai-pump-test-key-do-not-deploy!'


def lib_drug(drug_id, conc):
    """A program's drug entry from the device's own library row."""
    from firmware.druglib import LIB
    for row in LIB:
        if row[0] == drug_id:
            return (drug_id, conc) + tuple(row[3:])


SALINE = lib_drug(6, 9000)              # 9 mg/mL
FLOXURIDINE = lib_drug(1, 5000)         # 5 mg/mL, hard rate 10 mL/h
WRONG = b'not-the-key-not-the-key-not-the!'


class Host:
    def __init__(self, key=KEY, **settings):
        self.hal, self.pump, self.loop = make_pump(**settings)
        run_ticks(self.hal, self.loop, 1)  # POST
        self.link = Link(self.pump, self.hal.serial, KEY)
        self.signer = Signer(key)
        self.dec = Decoder()
        self.seq = 100

    def raw(self, msg_type, fields=None, sign=None, seq=None, flags=0, trailer=None):
        """Wire bytes of a command; returns (wire, seq, trailer)."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        payload = M.pack(msg_type, fields)
        if sign is None:
            sign = M.requires_auth(msg_type)
        if trailer is not None:
            return encode_frame(msg_type, seq, flags | FLAG_AUTH, payload, trailer), seq, trailer
        if sign:
            trailer = self.signer.sign(msg_type, seq, flags | FLAG_AUTH, payload)
            return encode_frame(msg_type, seq, flags | FLAG_AUTH, payload, trailer), seq, trailer
        return encode_frame(msg_type, seq, flags, payload), seq, None

    def exchange(self, wire, polls=3):
        self.hal.serial.rx.extend(wire)
        for _ in range(polls):
            self.link.poll()
        out = self.dec.feed(bytes(self.hal.serial.tx))
        self.hal.serial.tx = bytearray()
        return out

    def cmd(self, msg_type, fields=None, **kw):
        wire, seq, _ = self.raw(msg_type, fields, **kw)
        frames = self.exchange(wire)
        replies = [f for f in frames if f.flags & FLAG_REPLY]
        assert len(replies) == 1, replies
        f = replies[0]
        assert f.seq == seq
        return f.msg_type, M.unpack(f.msg_type, f.payload)

    def load(self, steps, flags=0):
        prog = Program(steps, (SALINE,), flags)
        data = prog.encode()
        t, d = self.cmd(C.PROGRAM_LOAD, {'chunk_index': 0, 'total_chunks': 1, 'data': data})
        assert t == C.ACK, d
        return prog

    def ready(self, rate=2000000, vol=1000000, flags=0):
        prog = self.load([(K_CONTINUOUS, rate, vol)], flags)
        t, d = self.cmd(C.CONFIRM, {'program_hash': prog.digest()})
        assert t == C.ACK, d
        return prog

    def events(self, ev):
        return [r for r in self.pump.journal.records() if r[2] == ev]

    def state(self):
        t, d = self.cmd(C.STATUS_REQ)
        assert t == C.STATUS
        return d['state']


def test_hello_returns_device_info():
    h = Host()
    t, d = h.cmd(C.HELLO)
    assert t == C.DEVICE_INFO
    assert d['proto_version'] == 1 and d['max_payload'] == 256
    assert d['serial'] == 'SIM-0001' and d['auth_counter'] == 0


def test_status_reports_idle_then_running():
    h = Host()
    assert h.state() == C.STATE_IDLE
    h.ready(rate=3600000)
    assert h.state() == C.STATE_READY
    t, d = h.cmd(C.START)
    assert t == C.ACK and d['acked_type'] == C.START
    run_ticks(h.hal, h.loop, 50)
    t, d = h.cmd(C.STATUS_REQ)
    assert d['state'] == C.STATE_RUNNING and d['rate_nl_h'] == 3600000
    assert d['delivered_nl'] > 0 and d['remaining_nl'] < 1000000


def test_program_review_echoes_rates_and_hash():
    h = Host()
    prog = h.load([(K_CONTINUOUS, 2000000, 1000000), (K_CONTINUOUS, 500000, 250000)])
    t, d = h.cmd(C.PROGRAM_REVIEW_REQ, {'first_step': 0})
    assert t == C.PROGRAM_REVIEW
    assert d['program_hash'] == prog.digest()
    assert d['total_steps'] == 2 and d['total_volume_nl'] == 1250000
    assert d['steps'][0]['rate_nl_h'] == 2000000 and d['steps'][0]['duration_s'] == 1800
    assert d['steps'][1]['duration_s'] == 1800 and d['duration_s'] == 3600


def test_chunked_program_load():
    h = Host()
    steps = [(K_CONTINUOUS, 1000000 + i, 100000) for i in range(30)]
    data = Program(steps, (SALINE,)).encode()
    assert 400 < len(data) <= 600
    t, d = h.cmd(C.PROGRAM_LOAD, {'chunk_index': 0, 'total_chunks': 3, 'data': data[:200]})
    assert t == C.ACK
    assert h.state() == C.STATE_LOADING
    t, d = h.cmd(C.PROGRAM_LOAD, {'chunk_index': 1, 'total_chunks': 3, 'data': data[200:400]})
    assert t == C.ACK, d
    t, d = h.cmd(C.PROGRAM_LOAD, {'chunk_index': 2, 'total_chunks': 3, 'data': data[400:]})
    assert t == C.ACK, d
    t, d = h.cmd(C.PROGRAM_REVIEW_REQ, {'first_step': 16})
    assert d['first_step'] == 16 and len(d['steps']) == 14 and d['total_steps'] == 30
    assert d['steps'][13]['rate_nl_h'] == 1000029


def test_out_of_order_chunk_is_refused():
    h = Host()
    t, d = h.cmd(C.PROGRAM_LOAD, {'chunk_index': 1, 'total_chunks': 2, 'data': b'\x01'})
    assert t == C.NAK and d['reason'] == C.NAK_CHUNK_ORDER


def test_program_beyond_device_limit_is_refused():
    h = Host()
    data = Program([(K_CONTINUOUS, 200000000, 1000000)], (SALINE,)).encode()  # 200 mL/h > 150
    t, d = h.cmd(C.PROGRAM_LOAD, {'chunk_index': 0, 'total_chunks': 1, 'data': data})
    assert t == C.NAK and d['reason'] == C.NAK_BAD_PROGRAM
    assert 'rate_nl_h=200000000' in h.pump.last_error
    assert h.state() == C.STATE_IDLE


def test_program_without_a_drug_is_refused_over_the_link():
    h = Host()
    data = Program([(K_CONTINUOUS, 2000000, 1000000)]).encode()
    t, d = h.cmd(C.PROGRAM_LOAD, {'chunk_index': 0, 'total_chunks': 1, 'data': data})
    assert t == C.NAK and d['reason'] == C.NAK_BAD_PROGRAM
    assert h.state() == C.STATE_IDLE
    t, d = h.cmd(C.LAST_ERROR_REQ)
    assert t == C.LAST_ERROR and 'names no drug' in d['text']


def test_drug_above_its_hard_limit_is_refused_with_the_limit_in_words():
    h = Host()
    data = Program([(K_CONTINUOUS, 20000000, 10000000)], (FLOXURIDINE,)).encode()  # 20 mL/h
    t, d = h.cmd(C.PROGRAM_LOAD, {'chunk_index': 0, 'total_chunks': 1, 'data': data})
    assert t == C.NAK and d['reason'] == C.NAK_BAD_PROGRAM
    assert h.state() == C.STATE_IDLE and h.pump.program is None
    t, d = h.cmd(C.LAST_ERROR_REQ)
    assert t == C.LAST_ERROR
    assert 'rate_nl_h=20000000' in d['text'] and 'hard limit rate_nl_h 10000000 for drug 1' in d['text']


def test_malformed_program_bytes_refused():
    h = Host()
    t, d = h.cmd(C.PROGRAM_LOAD, {'chunk_index': 0, 'total_chunks': 1, 'data': b'\x02\x00\x01'})
    assert t == C.NAK and d['reason'] == C.NAK_BAD_PROGRAM


def test_confirm_with_wrong_hash_refused():
    h = Host()
    h.load([(K_CONTINUOUS, 2000000, 1000000)])
    t, d = h.cmd(C.CONFIRM, {'program_hash': b'\x11' * 32})
    assert t == C.NAK and d['reason'] == C.NAK_HASH_MISMATCH
    t, d = h.cmd(C.START)
    assert t == C.NAK and d['reason'] == C.NAK_BAD_STATE
    assert h.pump.state_name() == 'PROGRAMMED'


def test_unauthenticated_start_refused_and_journaled():
    h = Host()
    h.ready()
    t, d = h.cmd(C.START, sign=False)
    assert t == C.NAK and d['reason'] == C.NAK_AUTH_REQUIRED
    assert h.pump.state_name() == 'PROGRAMMED'
    ev = h.events(EV_LINK_REJECT)
    assert ev[-1][3] == C.START + 256 * C.NAK_AUTH_REQUIRED and ev[-1][4] == -1


def test_wrong_key_start_refused_and_journaled():
    h = Host()
    h.ready()
    bad = Signer(WRONG, counter=h.signer.counter)
    payload = b''
    trailer = bad.sign(C.START, 777, FLAG_AUTH, payload)
    t, d = h.cmd(C.START, seq=777, trailer=trailer)
    assert t == C.NAK and d['reason'] == C.NAK_BAD_AUTH
    assert h.pump.state_name() == 'PROGRAMMED'
    assert h.events(EV_LINK_REJECT)[-1][3] == C.START + 256 * C.NAK_BAD_AUTH


def test_replayed_start_refused_and_journaled():
    h = Host()
    h.ready()
    wire, seq, trailer = h.raw(C.START)
    h.exchange(wire)
    assert h.pump.state_name() == 'RUNNING'
    assert h.cmd(C.PAUSE)[0] == C.ACK
    # an attacker replays the captured START under a new seq: MAC fails;
    # with the same seq but no RETRY mark and a different header it is a
    # replay of the counter once re-signed parts match; try both
    t, d = h.cmd(C.START, seq=seq + 50, trailer=trailer)
    assert t == C.NAK and d['reason'] == C.NAK_BAD_AUTH
    old = h.signer.counter
    h.signer.counter = old - 1          # same counter, freshly MACed: a replay
    t, d = h.cmd(C.RESUME)
    assert t == C.NAK and d['reason'] == C.NAK_REPLAY
    h.signer.counter = old - 3          # an older counter: stale
    t, d = h.cmd(C.RESUME)
    assert t == C.NAK and d['reason'] == C.NAK_STALE_COUNTER
    assert h.pump.state_name() == 'PAUSED'
    reasons = [r[3] >> 8 for r in h.events(EV_LINK_REJECT)]
    assert C.NAK_REPLAY in reasons and C.NAK_STALE_COUNTER in reasons


def test_retried_start_acts_once():
    h = Host()
    h.ready()
    wire, seq, trailer = h.raw(C.START)
    first = h.exchange(wire)
    assert first[0].msg_type == C.ACK
    starts = len([r for r in h.pump.journal.records() if r[2] == 2])  # EV_STATE
    retry = encode_frame(C.START, seq, FLAG_AUTH | FLAG_RETRY, b'', trailer)
    for _ in range(3):
        again = h.exchange(retry)
        assert len(again) == 1 and again[0].msg_type == C.ACK and again[0].seq == seq
    assert h.pump.state_name() == 'RUNNING'
    assert len([r for r in h.pump.journal.records() if r[2] == 2]) == starts
    assert h.link.dedup.hits == 3
    assert not h.events(EV_LINK_REJECT)


def test_retried_program_load_does_not_restart_a_load():
    h = Host()
    prog = Program([(K_CONTINUOUS, 1000000 + i, 100000) for i in range(30)], (SALINE,))
    data = prog.encode()
    w0, s0, tr0 = h.raw(C.PROGRAM_LOAD, {'chunk_index': 0, 'total_chunks': 3, 'data': data[:200]})
    assert h.exchange(w0)[0].msg_type == C.ACK
    w1, s1, tr1 = h.raw(C.PROGRAM_LOAD, {'chunk_index': 1, 'total_chunks': 3, 'data': data[200:400]})
    assert h.exchange(w1)[0].msg_type == C.ACK
    w2, s2, tr2 = h.raw(C.PROGRAM_LOAD, {'chunk_index': 2, 'total_chunks': 3, 'data': data[400:]})
    assert h.exchange(w2)[0].msg_type == C.ACK
    # a late retry of chunk 0 must not reopen the load
    retry = encode_frame(C.PROGRAM_LOAD, s0, FLAG_AUTH | FLAG_RETRY,
                         M.pack(C.PROGRAM_LOAD, {'chunk_index': 0, 'total_chunks': 3,
                                                 'data': data[:200]}), tr0)
    assert h.exchange(retry)[0].msg_type == C.ACK
    assert h.state() == C.STATE_REVIEW
    assert h.pump.program_digest == prog.digest()


def test_unsigned_stop_with_reused_seq_is_executed():
    h = Host()
    h.ready()
    assert h.cmd(C.STOP, seq=5)[0] == C.ACK
    h.ready()
    # a new host process reuses seq 5 for STOP: it must act, not get a cached ACK
    assert h.cmd(C.STOP, seq=5)[0] == C.ACK
    assert h.pump.state_name() == 'IDLE'


def test_pause_and_stop_need_no_auth():
    h = Host()
    h.ready()
    assert h.cmd(C.START)[0] == C.ACK
    assert h.cmd(C.PAUSE)[0] == C.ACK
    assert h.pump.state_name() == 'PAUSED'
    assert h.cmd(C.RESUME)[0] == C.ACK
    assert h.cmd(C.STOP)[0] == C.ACK
    assert h.pump.state_name() == 'IDLE'


def test_bad_state_command_nak_and_pump_journal():
    h = Host()
    t, d = h.cmd(C.RESUME)
    assert t == C.NAK and d['reason'] == C.NAK_BAD_STATE
    assert h.events(EV_REJECT)


def test_garbage_between_frames_survived():
    h = Host()
    w1, s1, _ = h.raw(C.HELLO)
    w2, s2, _ = h.raw(C.STATUS_REQ)
    junk = bytes((i * 37 + 11) & 0xFF for i in range(300))
    frames = h.exchange(junk + b'\x00' + w1 + b'\x13\x37\xff' + b'\x00' + junk[:40] + b'\x00' + w2, polls=20)
    types = [f.msg_type for f in frames]
    assert types == [C.DEVICE_INFO, C.STATUS], types
    assert h.link.decoder.errors() >= 1


def test_corrupted_frame_not_executed():
    h = Host()
    h.ready()
    wire, seq, _ = h.raw(C.START)
    bad = bytearray(wire)
    bad[5] ^= 0x10
    assert h.exchange(bytes(bad)) == []
    assert h.pump.state_name() == 'PROGRAMMED'


def test_poll_is_bounded():
    h = Host()
    wire = b''
    for _ in range(10):
        wire += h.raw(C.STATUS_REQ)[0]
    h.hal.serial.rx.extend(wire)
    assert h.link.poll() == 4
    assert h.link.poll() == 4
    assert h.link.poll() == 2
    assert h.link.poll() == 0


def test_device_frames_are_not_answered():
    h = Host()
    echo = encode_frame(C.STATUS, 3, FLAG_REPLY, M.pack(C.STATUS, {
        'state': 0, 'rate_nl_h': 0, 'delivered_nl': 0, 'remaining_nl': 0,
        'pressure_mmhg_x10': 0, 'uptime_s': 0, 'alarms': []}))
    assert h.exchange(echo) == []
    t, d = h.cmd(C.ACK, {'acked_type': 1})
    assert t == C.NAK and d['reason'] == C.NAK_UNKNOWN_TYPE


def test_bad_payload_is_naked():
    h = Host()
    wire = encode_frame(C.JOURNAL_READ, 9, 0, b'\x00\x00\x00\x00\x00')  # count 0
    f = h.exchange(wire)[0]
    assert f.msg_type == C.NAK and M.unpack(C.NAK, f.payload)['reason'] == C.NAK_LIMIT


def test_telemetry_stream():
    h = Host()
    assert h.cmd(C.TELEMETRY_STREAM, {'enable': 1, 'period_ms': 500})[0] == C.ACK
    got = []
    for _ in range(30):
        run_ticks(h.hal, h.loop, 1)
        got += h.exchange(b'', polls=1)
    assert len(got) == 6, len(got)
    assert all(f.msg_type == C.TELEMETRY and f.flags & FLAG_EVENT for f in got)
    assert M.unpack(C.TELEMETRY, got[0].payload)['state'] == C.STATE_IDLE
    assert h.cmd(C.TELEMETRY_STREAM, {'enable': 0, 'period_ms': 0})[0] == C.ACK
    run_ticks(h.hal, h.loop, 10)
    assert h.exchange(b'') == []


def test_alarm_ack_and_audio_pause():
    h = Host()
    h.ready()
    assert h.cmd(C.START)[0] == C.ACK
    h.pump.raise_alarm(1)  # occlusion condition, as the monitor would
    h.pump.alarms.condition_gone(1)
    t, d = h.cmd(C.STATUS_REQ)
    assert d['state'] == C.STATE_ALARM and d['alarms'][0]['code'] == 1
    assert d['alarms'][0]['priority'] == C.PRIORITY_HIGH
    assert h.cmd(C.AUDIO_PAUSE, {'duration_s': 60})[0] == C.ACK
    assert h.pump.alarms.audio_paused_until_s == h.pump.uptime_s + 60
    t, d = h.cmd(C.ACK_ALARM, {'alarm_code': 1}, sign=False)
    assert t == C.NAK and d['reason'] == C.NAK_AUTH_REQUIRED
    assert h.cmd(C.ACK_ALARM, {'alarm_code': 1})[0] == C.ACK
    assert h.pump.state_name() == 'PAUSED'


def test_journal_read_pages():
    h = Host()
    h.ready()
    total = h.pump.journal.next_seq - 1
    t, d = h.cmd(C.JOURNAL_READ, {'offset': 0, 'count': 64})
    assert t == C.JOURNAL_DATA and d['total'] == total and d['offset'] == 0
    assert d['count'] == min(12, total) and len(d['data']) == 20 * d['count']
    seq, _t, ev = struct.unpack_from('<IIH', d['data'], 0)
    assert seq == 1
    t, d = h.cmd(C.JOURNAL_READ, {'offset': total - 1, 'count': 5})
    assert d['count'] == 1 and struct.unpack_from('<I', d['data'], 0)[0] == total


def test_link_loss_journaled_and_therapy_continues():
    h = Host()
    h.ready()
    assert h.cmd(C.START)[0] == C.ACK
    for _ in range(150):   # 15 s without a frame
        run_ticks(h.hal, h.loop, 1)
        h.link.poll()
    assert h.link.link_lost
    assert h.pump.state_name() == 'RUNNING'
    assert len(h.events(EV_LINK_LOST)) == 1
    h.cmd(C.STATUS_REQ)
    assert not h.link.link_lost
    back = h.events(EV_LINK_BACK)
    assert len(back) == 1 and back[0][3] >= 10


def test_auth_counter_survives_reboot():
    h = Host()
    h.ready()
    assert h.cmd(C.START)[0] == C.ACK
    used = h.signer.counter
    marks = [r[3] for r in h.events(EV_AUTH_MARK)]
    assert max(marks) >= used
    # reboot: same storage, new pump and link
    from firmware.pump import Pump
    pump2 = Pump(h.hal, h.pump.settings)
    link2 = Link(pump2, h.hal.serial, KEY)
    assert link2.verifier.last_counter >= used


# ---------------------------------------------------------------- partial writes
def _run(h, polls, step_ms=5):
    """Advance time step_ms per poll: control ticks when due, link every poll."""
    for _ in range(polls):
        h.hal.clock.advance(step_ms)
        h.loop.poll()
        h.link.poll()


def test_partial_writes_every_frame_arrives_intact():
    h = Host()
    ser = h.hal.serial
    ser.write_limit = 7        # a UART with a full transmit buffer: 7 bytes per call
    cmds = ((C.TELEMETRY_STREAM, {'enable': 1, 'period_ms': 100}), (C.HELLO, None),
            (C.JOURNAL_READ, {'offset': 0, 'count': 12}), (C.STATUS_REQ, None),
            (C.PROGRAM_REVIEW_REQ, {'first_step': 0}), (C.STATUS_REQ, None))
    wire = b''
    seqs = []
    for t, fields in cmds:
        w, seq, _ = h.raw(t, fields)
        wire += w
        seqs.append(seq)
    ser.rx.extend(wire)        # back to back, as a host pipelining them would
    _run(h, 400)
    frames = h.dec.feed(bytes(ser.tx))
    assert h.dec.errors() == 0, h.dec.errors()
    replies = [f for f in frames if f.flags & FLAG_REPLY]
    assert [f.seq for f in replies] == seqs
    assert [f.msg_type for f in replies] == [C.ACK, C.DEVICE_INFO, C.JOURNAL_DATA, C.STATUS,
                                             C.NAK, C.STATUS]
    for f in replies:
        M.unpack(f.msg_type, f.payload)
    j = M.unpack(C.JOURNAL_DATA, replies[2].payload)
    assert j['count'] >= 2 and len(j['data']) == 20 * j['count']
    tele = [f for f in frames if f.flags & FLAG_EVENT]
    assert len(tele) >= 10
    assert [f.seq for f in tele] == list(range(len(tele)))   # no frame lost or cut
    for f in tele:
        assert f.msg_type == C.TELEMETRY
        M.unpack(C.TELEMETRY, f.payload)
    assert h.link.tele_skipped >= 1   # the 265-byte journal page kept the line busy


def test_blocked_line_skips_telemetry_and_keeps_the_reply():
    h = Host()
    ser = h.hal.serial
    assert h.cmd(C.TELEMETRY_STREAM, {'enable': 1, 'period_ms': 100})[0] == C.ACK
    ser.write_limit = 0        # the line takes nothing
    w, seq, _ = h.raw(C.STATUS_REQ)
    _run(h, 30)                # a telemetry frame is due and started: nothing goes out
    assert h.link._out_n > 0
    ser.rx.extend(w)
    _run(h, 200)               # 1 s blocked: due telemetry frames are skipped
    assert len(ser.tx) == 0
    assert h.link.tele_skipped >= 9
    assert h.link._out_n > 0 and len(ser.rx) > 0    # the command waits, unread
    ser.write_limit = 5
    _run(h, 300)
    frames = h.dec.feed(bytes(ser.tx))
    assert h.dec.errors() == 0
    replies = [f for f in frames if f.flags & FLAG_REPLY]
    assert len(replies) == 1 and replies[0].seq == seq and replies[0].msg_type == C.STATUS
    tele = [f.seq for f in frames if f.flags & FLAG_EVENT]
    # seq 0 went out before the line blocked; the blocked frame (seq 1) is
    # completed, the skipped ones used no seq: no gap the host could see
    assert tele == list(range(1, 1 + len(tele))) and len(tele) >= 5


def test_period_zero_streams_as_fast_as_the_line_takes():
    h = Host()
    ser = h.hal.serial
    ser.write_limit = 16
    assert h.cmd(C.TELEMETRY_STREAM, {'enable': 1, 'period_ms': 0})[0] == C.ACK
    w, seq, _ = h.raw(C.STATUS_REQ)
    ser.tx = bytearray()
    ser.writes = 0
    _run(h, 100, step_ms=1)
    ser.rx.extend(w)
    _run(h, 100, step_ms=1)
    frames = h.dec.feed(bytes(ser.tx))
    assert h.dec.errors() == 0
    tele = [f.seq for f in frames if f.flags & FLAG_EVENT]
    assert len(tele) >= 50 and tele == list(range(tele[0], tele[0] + len(tele)))
    assert [f.seq for f in frames if f.flags & FLAG_REPLY] == [seq]
    # the line is never left idle: every poll hands the serial at least a
    # full write's worth
    idle = 0
    for _ in range(100):
        n0 = len(ser.tx)
        _run(h, 1, step_ms=1)
        idle += len(ser.tx) - n0 < 16
    assert idle == 0
    # without a limit, a burst of frames per poll (bounded), not one per period
    ser.write_limit = None
    ser.tx = bytearray()
    h.link.poll()
    n = len(h.dec.feed(bytes(ser.tx)))
    assert 2 <= n <= 5    # the tail pending from before, then at most TELE_BURST new
    assert h.cmd(C.TELEMETRY_STREAM, {'enable': 0, 'period_ms': 0})[0] == C.ACK
    _run(h, 10)
    assert h.exchange(b'') == []


# ---------------------------------------------------------------- link loss, stop
def test_link_loss_pauses_a_program_that_says_stop():
    h = Host()
    h.ready(rate=3600000, flags=FLAG_STOP_ON_LINK_LOSS)
    assert h.cmd(C.START)[0] == C.ACK
    run_ticks(h.hal, h.loop, 50)
    assert h.pump.state_name() == 'RUNNING'
    for _ in range(110):   # 11 s without a frame
        run_ticks(h.hal, h.loop, 1)
        h.link.poll()
    assert h.link.link_lost
    assert h.pump.state_name() == 'PAUSED'
    assert h.pump.alarms.active[A_LINK_LOST] and ALARM_PRIORITY[A_LINK_LOST] == PRIO_MEDIUM
    assert len(h.events(EV_LINK_LOST)) == 1
    assert [r for r in h.events(EV_ALARM) if r[3] == A_LINK_LOST]
    pos = h.hal.motor.pos
    delivered = h.pump.course.delivered_nl
    for _ in range(600):   # a minute more: nothing moves, nothing resumes by itself
        run_ticks(h.hal, h.loop, 1)
        h.link.poll()
    assert h.hal.motor.pos == pos and h.pump.course.delivered_nl == delivered
    assert h.pump.state_name() == 'PAUSED'
    # the host comes back: the gap is journaled, still paused
    t, d = h.cmd(C.STATUS_REQ)
    assert d['state'] == C.STATE_PAUSED
    assert [a['code'] for a in d['alarms']] == [A_LINK_LOST]
    assert d['alarms'][0]['priority'] == C.PRIORITY_MEDIUM
    assert len(h.events(EV_LINK_BACK)) == 1
    assert not h.pump.alarms.condition[A_LINK_LOST]
    run_ticks(h.hal, h.loop, 20)
    assert h.pump.state_name() == 'PAUSED'
    t, d = h.cmd(C.RESUME, sign=False)
    assert t == C.NAK and d['reason'] == C.NAK_AUTH_REQUIRED
    assert h.pump.state_name() == 'PAUSED'
    assert h.cmd(C.RESUME)[0] == C.ACK
    assert h.pump.state_name() == 'RUNNING'
    run_ticks(h.hal, h.loop, 20)
    assert h.hal.motor.pos > pos
    assert h.cmd(C.ACK_ALARM, {'alarm_code': A_LINK_LOST})[0] == C.ACK
    assert not h.pump.alarms.active[A_LINK_LOST]


def test_link_loss_with_default_program_raises_no_alarm():
    h = Host()
    h.ready(rate=3600000)
    assert h.cmd(C.START)[0] == C.ACK
    for _ in range(150):
        run_ticks(h.hal, h.loop, 1)
        h.link.poll()
    assert h.link.link_lost and h.pump.state_name() == 'RUNNING'
    assert not h.pump.alarms.active[A_LINK_LOST]
