"""Protocol checks that run unchanged under pytest (CPython) and MicroPython.

Plain test_* functions and assert only: no pytest, no fixtures.  The vectors
file is read line by line (one vector per line) to keep the heap small.
"""
import binascii
import json

from protocol import cobs, codes
from protocol import messages as m
from protocol.auth import Signer, Verifier
from protocol.codes import ProtocolError
from protocol.decoder import Decoder
from protocol.dedup import DuplicateFilter
from protocol.catalogue import CATALOGUE
from protocol.frame import (Encoder, encode_frame, FLAG_AUTH, FLAG_REPLY,
                            FLAG_RETRY, MAX_WIRE)
from protocol.hmac_sha256 import hmac_sha256

try:
    import micropython
except ImportError:
    micropython = None


def _vectors_path():
    cands = []
    try:
        here = __file__.replace("\\", "/")
        d = here.rsplit("/", 1)[0] if "/" in here else "."
        cands.append(d + "/../../protocol/vectors.json")
    except NameError:
        pass
    cands.append("protocol/vectors.json")
    for p in cands:
        try:
            open(p).close()
            return p
        except OSError:
            pass
    raise AssertionError("protocol/vectors.json not found (run from the repo root)")


def _section(name):
    """Yield the vectors of one top-level array, one JSON line at a time."""
    cur = None
    with open(_vectors_path()) as f:
        for line in f:
            s = line.strip()
            if s.endswith("[") and s.startswith('"'):
                cur = s[1:s.index('"', 1)]
            elif s.startswith("]"):
                cur = None
            elif cur == name and s.startswith("{"):
                yield json.loads(s[:-1] if s.endswith(",") else s)


def _top(key):
    with open(_vectors_path()) as f:
        for line in f:
            s = line.strip()
            if s.startswith('"%s":' % key):
                return json.loads("{" + (s[:-1] if s.endswith(",") else s) + "}")[key]
    raise AssertionError("no %s in vectors" % key)


def _unhex(h):
    return binascii.unhexlify(h) if h else b""


def from_json_fields(msg_type, fields):
    # hashes (range None) and blobs are hex in the vectors
    spec = CATALOGUE[msg_type]
    out = dict(fields)
    for i in range(len(spec[3])):
        if spec[4][i] is None:
            out[spec[3][i]] = _unhex(fields[spec[3][i]])
    tail = spec[5]
    if tail is not None and tail[0] == "blob":
        out[tail[1]] = _unhex(fields[tail[1]])
    return out


def _ref_cobs_decode(enc):
    # Deliberately independent of protocol/cobs.py.
    out = bytearray()
    i = 0
    while i < len(enc):
        code = enc[i]
        assert code != 0
        out.extend(enc[i + 1:i + code])
        i += code
        if code < 0xFF and i < len(enc):
            out.append(0)
    return bytes(out)


def _crc_le(raw):
    c = binascii.crc32(raw)
    return bytes((c & 0xFF, (c >> 8) & 0xFF, (c >> 16) & 0xFF, (c >> 24) & 0xFF))


def test_vectors_decode():
    n = 0
    for v in _section("frames"):
        wire = _unhex(v["wire_hex"])
        raw = _ref_cobs_decode(wire[:-1])
        assert raw == _unhex(v["raw_hex"]), v["name"]
        assert _crc_le(raw[:-4]) == raw[-4:], v["name"]
        got = Decoder().feed(wire)
        assert len(got) == 1, v["name"]
        f = got[0]
        payload = _unhex(v["payload_hex"])
        trailer = _unhex(v["trailer_hex"]) if v["trailer_hex"] else None
        assert f.msg_type == v["msg_type"] and f.seq == v["seq"], v["name"]
        assert f.flags == v["flags"] and f.payload == payload and f.trailer == trailer
        fields = from_json_fields(v["msg_type"], v["fields"])
        assert m.unpack(v["msg_type"], f.payload) == fields, v["name"]
        n += 1
    assert n >= 20


def test_vectors_encode_equal():
    enc = Encoder()
    for v in _section("frames"):
        wire = _unhex(v["wire_hex"])
        fields = from_json_fields(v["msg_type"], v["fields"])
        payload = m.pack(v["msg_type"], fields)
        assert payload == _unhex(v["payload_hex"]), v["name"]
        trailer = _unhex(v["trailer_hex"]) if v["trailer_hex"] else None
        assert encode_frame(v["msg_type"], v["seq"], v["flags"], payload, trailer) == wire
        k = enc.encode(v["msg_type"], v["seq"], v["flags"], payload, trailer)
        assert bytes(enc.buf[:k]) == wire, v["name"]


def test_bad_frame_vectors():
    good = None
    for v in _section("frames"):
        good = _unhex(v["wire_hex"])
        break
    for v in _section("bad_frames"):
        d = Decoder()
        assert d.feed(_unhex(v["wire_hex"])) == [], v["name"]
        assert d.counts()[v["error"]] == 1 and d.errors() == 1, v["name"]
        assert len(d.feed(good)) == 1, v["name"]


def test_cobs_vectors():
    for v in _section("cobs"):
        raw, enc = _unhex(v["raw_hex"]), _unhex(v["encoded_hex"])
        assert cobs.encode(raw) == enc, v["name"]
        assert cobs.decode(enc) == raw, v["name"]
        assert _ref_cobs_decode(enc) == raw, v["name"]


# RFC 4231 section 4, HMAC-SHA-256 (case 5 truncated to 128 bits).
_RFC4231 = (
    (b"\x0b" * 20, b"Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (bytes(range(1, 26)), b"\xcd" * 50,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (b"\x0c" * 20, b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (b"\xaa" * 131, b"This is a test using a larger than block-size key and a larger "
     b"than block-size data. The key needs to be hashed before being used by the HMAC "
     b"algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
)


def test_hmac_rfc4231():
    for key, data, expect in _RFC4231:
        mac = hmac_sha256(key, data)
        assert len(mac) == 32
        assert binascii.hexlify(mac[:len(expect) // 2]).decode() == expect


def test_auth_sequence_vectors():
    ver = Verifier(_unhex(_top("test_key_hex")))
    n = 0
    for step in _section("auth_sequence"):
        f = Decoder().feed(_unhex(step["wire_hex"]))[0]
        assert ver.check(f) == step["expect"], step["why"]
        n += 1
    assert n >= 8


def test_verifier_rejects_replay_stale_and_wrong_key():
    key = b"k" * 32
    s, v = Signer(key), Verifier(key)
    w1, t1 = s.encode(codes.START, 1)
    w2, _ = s.encode(codes.RESUME, 2)
    f1 = Decoder().feed(w1)[0]
    f2 = Decoder().feed(w2)[0]
    assert v.check(f1) == 0
    assert v.check(f1) == codes.NAK_REPLAY
    assert v.check(f2) == 0
    assert v.check(f1) == codes.NAK_STALE_COUNTER
    assert Verifier(b"x" * 32).check(f2) == codes.NAK_BAD_AUTH
    retry = Decoder().feed(encode_frame(codes.START, 1, FLAG_AUTH | FLAG_RETRY, b"", t1))[0]
    assert Verifier(key).check(retry) == 0  # RETRY bit is outside the MAC


def test_decoder_resync():
    good = encode_frame(codes.STATUS_REQ, 77, 0)
    d = Decoder()
    stream = (b"\x12\x34\x00" + good + b"\x05\x01\x00" + good
              + b"\x33" * 400 + b"\x00" + good + good[:5] + b"\x00" + good)
    got = d.feed(stream)
    assert len(got) == 4
    for f in got:
        assert f.seq == 77 and f.msg_type == codes.STATUS_REQ
    c = d.counts()
    assert c["too_long"] == 1 and c["cobs"] >= 1 and d.errors() == 4


def test_duplicate_executes_once():
    key = b"k" * 32
    s = Signer(key)
    ver, dedup, enc, dec = Verifier(key), DuplicateFilter(), Encoder(), Decoder()
    executed = []
    sent = []
    pay = bytearray(4)

    def handle(f):
        cached = dedup.lookup(f)
        if cached is not None:
            sent.append(bytes(cached))
            return
        r = ver.check(f)
        if r:
            k = m.pack_nak_into(pay, 0, f.msg_type, r)
            t = codes.NAK
        else:
            executed.append(f.seq)
            k = m.pack_ack_into(pay, 0, f.msg_type)
            t = codes.ACK
        n = enc.encode(t, f.seq, FLAG_REPLY, memoryview(pay)[:k])
        dedup.store(f, enc.buf, n)
        sent.append(bytes(enc.buf[:n]))

    w, tr = s.encode(codes.START, 9)
    dec.feed_into(w, handle)
    dec.feed_into(encode_frame(codes.START, 9, FLAG_AUTH | FLAG_RETRY, b"", tr), handle)
    dec.feed_into(w, handle)
    assert executed == [9]
    assert len(sent) == 3 and sent[0] == sent[1] == sent[2]


def test_messages_reject_out_of_range():
    bad = (
        (codes.AUDIO_PAUSE, {"duration_s": 121}),
        (codes.ACK_ALARM, {"alarm_code": 0x10000}),
        (codes.ACK_ALARM, {"alarm_code": -1}),
        (codes.ACK_ALARM, {"alarm_code": True}),
        (codes.JOURNAL_READ, {"offset": 2 ** 32, "count": 1}),
        (codes.CONFIRM, {"program_hash": b"\x00" * 31}),
    )
    for t, fields in bad:
        try:
            m.pack(t, fields)
        except ProtocolError as e:
            assert e.reason in (codes.NAK_LIMIT, codes.NAK_BAD_PAYLOAD)
            continue
        assert False, "accepted %r" % (fields,)


def test_unpack_garbage_raises_only_protocol_error():
    x = 12345
    types = (codes.PROGRAM_LOAD, codes.CONFIRM, codes.ACK_ALARM, codes.AUDIO_PAUSE,
             codes.JOURNAL_READ, codes.TELEMETRY_STREAM, codes.STATUS,
             codes.DEVICE_INFO, codes.PROGRAM_REVIEW, codes.JOURNAL_DATA, 0x55)
    buf = bytearray(64)
    for i in range(600):
        n = i % 48
        for j in range(n):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            buf[j] = (x >> 16) & 0xFF
        try:
            m.unpack(types[i % len(types)], bytes(buf[:n]))
        except ProtocolError:
            pass


def _allocates(fn):
    micropython.heap_lock()
    try:
        fn()
        ok = True
    except MemoryError:
        ok = False
    micropython.heap_unlock()
    return not ok


def test_feed_byte_allocates_nothing():
    if micropython is None or not hasattr(micropython, "heap_lock"):
        return  # CPython: nothing to measure
    d = Decoder()
    w = encode_frame(codes.STATUS_REQ, 3, 0, b"\x01\x02")
    body = w[:-1]

    def feed_body():
        for i in range(len(body)):
            d.feed_byte(body[i])
        for i in range(300):  # garbage past the buffer: discard path
            d.feed_byte(0x41)

    assert not _allocates(feed_body)
    d.reset()
    for i in range(len(body)):
        d.feed_byte(body[i])
    assert d.feed_byte(0) is not None


def test_telemetry_encode_allocates_nothing():
    if micropython is None or not hasattr(micropython, "heap_lock"):
        return
    enc = Encoder()
    out = bytearray(MAX_WIRE)
    alarms = ((0x0101, 3), (0x0203, 1))
    # STATUS with two alarms is 26 bytes: a buffer of exactly that size is
    # sent whole, so no memoryview slice (which would allocate) is needed.
    payload = bytearray(26)
    n = [0]

    def telemetry():
        m.pack_status_into(payload, 0, 4, 1770000, 8850000, 72750000, 1125, 18000, alarms)
        n[0] = enc.encode_into(out, 0, codes.TELEMETRY, 7, 0x08, payload, None)

    assert not _allocates(telemetry)
    f = Decoder().feed(bytes(out[:n[0]]))[0]
    assert m.unpack(codes.TELEMETRY, f.payload)["rate_nl_h"] == 1770000
