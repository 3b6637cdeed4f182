"""A retried command (same seq, FLAG_RETRY) executes once.

Includes a miniature device link handler wired the way SPEC.md describes:
decode -> duplicate filter -> auth -> unpack -> execute -> reply (cached).
"""
import random

from protocol import codes, messages as m
from protocol.auth import Signer, Verifier
from protocol.decoder import Decoder
from protocol.dedup import DuplicateFilter
from protocol.frame import Encoder, encode_frame, FLAG_AUTH, FLAG_RETRY, FLAG_REPLY
from protocol.codes import ProtocolError

KEY = b"hai-pump-test-key-do-not-deploy!"


class MiniDevice:
    def __init__(self):
        self.dec = Decoder()
        self.enc = Encoder()
        self.dedup = DuplicateFilter()
        self.verifier = Verifier(KEY)
        self.executed = []
        self.sent = []
        self.payload = bytearray(8)

    def receive(self, data):
        self.dec.feed_into(data, self.handle)

    def handle(self, f):
        cached = self.dedup.lookup(f)
        if cached is not None:
            self.sent.append(bytes(cached))
            return
        if not m.is_command(f.msg_type):
            n = m.pack_nak_into(self.payload, 0, f.msg_type, codes.NAK_UNKNOWN_TYPE)
            return self.reply(f, codes.NAK, n)
        if m.requires_auth(f.msg_type):
            r = self.verifier.check(f)
            if r:
                n = m.pack_nak_into(self.payload, 0, f.msg_type, r)
                return self.reply(f, codes.NAK, n)
        try:
            m.unpack(f.msg_type, f.payload)
        except ProtocolError as e:
            n = m.pack_nak_into(self.payload, 0, f.msg_type, e.reason)
            return self.reply(f, codes.NAK, n)
        self.executed.append((f.msg_type, f.seq))
        n = m.pack_ack_into(self.payload, 0, f.msg_type)
        self.reply(f, codes.ACK, n)

    def reply(self, f, t, n):
        w = self.enc.encode(t, f.seq, FLAG_REPLY, memoryview(self.payload)[:n])
        self.dedup.store(f, self.enc.buf, w)
        self.sent.append(bytes(self.enc.buf[:w]))


def test_signed_retry_executes_once_and_gets_same_ack():
    dev, s = MiniDevice(), Signer(KEY)
    wire, trailer = s.encode(codes.START, 10)
    dev.receive(wire)
    # reply lost: host retries with the same seq and trailer
    dev.receive(encode_frame(codes.START, 10, FLAG_AUTH | FLAG_RETRY, b"", trailer))
    dev.receive(encode_frame(codes.START, 10, FLAG_AUTH | FLAG_RETRY, b"", trailer))
    assert dev.executed == [(codes.START, 10)]
    assert len(dev.sent) == 3 and dev.sent[0] == dev.sent[1] == dev.sent[2]
    ack = Decoder().feed(dev.sent[0])[0]
    assert ack.msg_type == codes.ACK and ack.seq == 10
    assert dev.dedup.hits == 2


def test_retry_when_original_was_lost_executes():
    dev, s = MiniDevice(), Signer(KEY)
    _, trailer = s.encode(codes.START, 11)  # never arrives
    dev.receive(encode_frame(codes.START, 11, FLAG_AUTH | FLAG_RETRY, b"", trailer))
    assert dev.executed == [(codes.START, 11)]


def test_unsigned_retry_filtered_but_plain_repeat_executes():
    dev = MiniDevice()
    w = encode_frame(codes.PAUSE, 5, 0)
    dev.receive(w + encode_frame(codes.PAUSE, 5, FLAG_RETRY))
    assert dev.executed == [(codes.PAUSE, 5)] and dev.sent[0] == dev.sent[1]
    # a new host restarting at seq 5 sends STOP twice without RETRY: both run
    s = encode_frame(codes.STOP, 5, 0)
    dev.receive(s + s)
    assert dev.executed == [(codes.PAUSE, 5), (codes.STOP, 5), (codes.STOP, 5)]


def test_signed_exact_repeat_without_retry_flag_gets_cached_reply():
    dev, s = MiniDevice(), Signer(KEY)
    w, _ = s.encode(codes.RESUME, 8)
    dev.receive(w + w)
    assert dev.executed == [(codes.RESUME, 8)] and dev.sent[0] == dev.sent[1]


def test_same_seq_different_command_is_not_a_duplicate():
    dev, s = MiniDevice(), Signer(KEY)
    dev.receive(encode_frame(codes.PAUSE, 5, 0))
    dev.receive(encode_frame(codes.STOP, 5, 0))
    w, _ = s.encode(codes.ACK_ALARM, 5, m.pack(codes.ACK_ALARM, {"alarm_code": 1}))
    dev.receive(w)
    w2, _ = s.encode(codes.ACK_ALARM, 5, m.pack(codes.ACK_ALARM, {"alarm_code": 2}))
    dev.receive(w2)
    assert dev.executed == [(codes.PAUSE, 5), (codes.STOP, 5), (codes.ACK_ALARM, 5),
                            (codes.ACK_ALARM, 5)]


def test_nak_is_cached_too_and_replay_of_old_command_rejected():
    dev, s = MiniDevice(), Signer(KEY)
    bad = encode_frame(codes.START, 1, 0)  # unsigned START
    dev.receive(bad + encode_frame(codes.START, 1, FLAG_RETRY))
    assert dev.executed == [] and dev.sent[0] == dev.sent[1]
    nak = m.unpack(codes.NAK, Decoder().feed(dev.sent[0])[0].payload)
    assert nak["reason"] == codes.NAK_AUTH_REQUIRED
    first, _ = s.encode(codes.START, 2)
    dev.receive(first)
    for seq in range(3, 10):  # push the START out of the cache
        dev.receive(encode_frame(codes.STATUS_REQ, seq, 0))
    dev.receive(first)  # captured and replayed later
    assert dev.executed.count((codes.START, 2)) == 1
    nak = m.unpack(codes.NAK, Decoder().feed(dev.sent[-1])[0].payload)
    assert nak["reason"] == codes.NAK_REPLAY


def test_random_retry_pattern_executes_each_seq_once():
    rng = random.Random(5)
    dev, s = MiniDevice(), Signer(KEY)
    sent = {}
    for seq in range(1, 400):
        t = rng.choice([codes.START, codes.RESUME, codes.PAUSE, codes.STOP, codes.STATUS_REQ])
        if m.requires_auth(t):
            w, tr = s.encode(t, seq)
        else:
            w, tr = encode_frame(t, seq, 0), None
        sent[seq] = (t, tr)
        lose_first = rng.random() < 0.3
        if not lose_first:
            dev.receive(w)
        for _ in range(rng.randrange(0, 3) + (1 if lose_first else 0)):
            flags = FLAG_RETRY | (FLAG_AUTH if tr else 0)
            dev.receive(encode_frame(t, seq, flags, b"", tr))
    seqs = [q for _, q in dev.executed]
    assert seqs == sorted(set(seqs)) and len(seqs) == 399


def test_store_oversized_reply_is_skipped():
    df = DuplicateFilter(slots=2, max_reply=4)
    f = Decoder().feed(encode_frame(codes.PAUSE, 1, FLAG_RETRY))[0]
    df.store(f, b"123456")
    assert df.lookup(f) is None
    df.store(f, b"1234")
    assert bytes(df.lookup(f)) == b"1234"
    df.clear()
    assert df.lookup(f) is None
