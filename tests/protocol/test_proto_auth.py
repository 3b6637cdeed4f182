"""HMAC-SHA256 against CPython's hmac (RFC 4231) and the Signer/Verifier."""
import hashlib
import hmac as std_hmac
import random

import pytest
from hypothesis import given, settings, strategies as st

from protocol.hmac_sha256 import hmac_sha256, HmacKey, compare_digest
from protocol.auth import Signer, Verifier, TRAILER_LEN, MAC_LEN
from protocol.decoder import Decoder
from protocol.frame import encode_frame, FLAG_AUTH, FLAG_RETRY, FLAG_REPLY
from protocol import codes
from protocol.codes import (NAK_BAD_AUTH, NAK_REPLAY, NAK_STALE_COUNTER,
                            NAK_AUTH_REQUIRED, ProtocolError)

KEY = b"hai-pump-test-key-do-not-deploy!"

# RFC 4231 section 4: (key, data, HMAC-SHA-256, truncate-to-bytes)
RFC4231 = [
    (b"\x0b" * 20, b"Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32),
    (b"Jefe", b"what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32),
    (b"\xaa" * 20, b"\xdd" * 50,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 32),
    (bytes(range(1, 26)), b"\xcd" * 50,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 32),
    (b"\x0c" * 20, b"Test With Truncation",
     "a3b6167473100ee06e0c796c2955552b", 16),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32),
    (b"\xaa" * 131, b"This is a test using a larger than block-size key and a larger "
     b"than block-size data. The key needs to be hashed before being used by the HMAC "
     b"algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 32),
]


@pytest.mark.parametrize("case", range(1, 8))
def test_rfc4231(case):
    key, data, expect, trunc = RFC4231[case - 1]
    ours = hmac_sha256(key, data)
    ref = std_hmac.new(key, data, hashlib.sha256).digest()
    assert ours == ref
    assert ours[:trunc].hex() == expect
    # split input gives the same MAC
    assert HmacKey(key).digest((data[:7], memoryview(data)[7:])) == ref


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=300))
def test_hmac_matches_cpython(key, data):
    assert hmac_sha256(key, data) == std_hmac.new(key, data, hashlib.sha256).digest()


def test_compare_digest():
    assert compare_digest(b"abc", b"abc")
    assert not compare_digest(b"abc", b"abd")
    assert not compare_digest(b"abc", b"ab")
    assert compare_digest(b"", b"")
    assert compare_digest(memoryview(b"xy"), b"xy")


def _decode(wire):
    fr = Decoder().feed(wire)
    assert len(fr) == 1
    return fr[0]


def test_sign_verify_accept_then_replay_and_stale():
    s, v = Signer(KEY), Verifier(KEY)
    w1, _ = s.encode(codes.START, 1)
    w2, _ = s.encode(codes.RESUME, 2)
    f1, f2 = _decode(w1), _decode(w2)
    assert f1.flags & FLAG_AUTH and len(f1.trailer) == TRAILER_LEN
    assert v.check(f1) == 0 and v.last_counter == 1
    assert v.check(f1) == NAK_REPLAY
    assert v.check(f2) == 0 and v.last_counter == 2
    assert v.check(f1) == NAK_STALE_COUNTER and v.last_rejected_counter == 1
    assert v.last_counter == 2


def test_wrong_key_and_tampering_rejected():
    s = Signer(KEY)
    payload = bytes(34)
    wire, trailer = s.encode(codes.PROGRAM_LOAD, 7, b"\x00\x01" + payload[2:])
    f = _decode(wire)
    assert Verifier(b"another-key").check(f) == NAK_BAD_AUTH
    v = Verifier(KEY)
    for t, seq, flags, p, tr in [
        (codes.CONFIRM, 7, FLAG_AUTH, f.payload, f.trailer),                  # type
        (f.msg_type, 8, FLAG_AUTH, f.payload, f.trailer),                     # seq
        (f.msg_type, 7, FLAG_AUTH | FLAG_REPLY, f.payload, f.trailer),        # flags
        (f.msg_type, 7, FLAG_AUTH, f.payload[:-1] + b"\x01", f.trailer),      # payload
        (f.msg_type, 7, FLAG_AUTH, f.payload, f.trailer[:4] + bytes(16)),     # mac
        (f.msg_type, 7, FLAG_AUTH, f.payload, b"\x09" + f.trailer[1:]),       # counter
    ]:
        assert v.check(_decode(encode_frame(t, seq, flags, p, tr))) == NAK_BAD_AUTH
    assert v.last_counter == 0
    assert v.check(f) == 0


def test_check_parts_never_raises_on_odd_fields():
    v = Verifier(KEY)
    tr = b"\x01" * 20
    assert v.check_parts(1, 300, 1, FLAG_AUTH, b"", tr) == NAK_BAD_AUTH
    assert v.check_parts(1, 1, 70000, FLAG_AUTH, b"", tr) == NAK_BAD_AUTH
    assert v.check_parts(1, 1, 1, FLAG_AUTH, b"x" * 300, tr) == NAK_BAD_AUTH


def test_missing_trailer():
    v = Verifier(KEY)
    assert v.check(_decode(encode_frame(codes.START, 1, 0))) == NAK_AUTH_REQUIRED
    assert v.check_parts(1, codes.START, 1, FLAG_AUTH, b"", b"\x00" * 5) == NAK_AUTH_REQUIRED


def test_retry_flag_keeps_trailer_valid():
    s, v = Signer(KEY), Verifier(KEY)
    wire, trailer = s.encode(codes.START, 42)
    retry = encode_frame(codes.START, 42, FLAG_AUTH | FLAG_RETRY, b"", trailer)
    assert retry != wire
    # the device never saw the first copy: the retry is accepted once
    assert v.check(_decode(retry)) == 0
    assert v.check(_decode(wire)) == NAK_REPLAY


def test_signer_counter_start_and_exhaustion():
    s = Signer(KEY, counter=1000)
    v = Verifier(KEY, last_counter=1000)
    w, tr = s.encode(codes.START, 1)
    assert int.from_bytes(tr[:4], "little") == 1001 and v.check(_decode(w)) == 0
    s.counter = 0xFFFFFFFF
    with pytest.raises(ProtocolError):
        s.sign(codes.START, 1, FLAG_AUTH)


def test_key_not_exposed():
    v = Verifier(KEY)
    s = Signer(KEY)
    for obj in (v, s, v._key):
        assert KEY.hex() not in repr(obj) and "hai-pump" not in repr(obj)
        for val in vars(obj).values():
            assert val != KEY and not (isinstance(val, (bytes, bytearray)) and KEY in bytes(val))


def test_random_forgeries_rejected():
    rng = random.Random(11)
    s, v = Signer(KEY), Verifier(KEY)
    good, _ = s.encode(codes.CONFIRM, 3, bytes(range(32)))
    gf = _decode(good)
    rejected = 0
    for _ in range(3000):
        raw = bytearray(gf.raw)
        for _ in range(rng.randint(1, 3)):
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        if bytes(raw) == bytes(gf.raw):
            continue
        flags = raw[4] & 0x0F | FLAG_AUTH
        tr = bytes(raw[-20:])
        try:
            w = encode_frame(raw[1], raw[2] | raw[3] << 8, flags, bytes(raw[7:-20]), tr)
        except ProtocolError:
            continue
        fr = Decoder().feed(w)
        if not fr:
            continue
        if (fr[0].msg_type, fr[0].seq, fr[0].flags & ~FLAG_RETRY, fr[0].payload, fr[0].trailer) == \
                (gf.msg_type, gf.seq, gf.flags, gf.payload, gf.trailer):
            continue  # only the RETRY bit changed: same command
        assert v.check(fr[0]) == NAK_BAD_AUTH
        rejected += 1
    assert rejected > 2000 and v.last_counter == 0
    assert v.check(gf) == 0


def test_mac_length_is_128_bits():
    assert MAC_LEN == 16 and TRAILER_LEN == 20


def test_counter_bytes_above_sixteen_bits_signed_and_read_exactly():
    # every byte of the counter distinct and non-zero: a shift or mask
    # wrong for any byte changes the trailer or the counter read back
    s = Signer(KEY, counter=0x12345677)
    v = Verifier(KEY, last_counter=0x12345600)
    wire, trailer = s.encode(codes.START, 3)
    assert trailer[:4] == bytes((0x78, 0x56, 0x34, 0x12))
    assert v.check(_decode(wire)) == 0 and v.last_counter == 0x12345678
    s = Signer(KEY, counter=0xFEDCBA97)
    wire, trailer = s.encode(codes.START, 4)
    assert trailer[:4] == bytes((0x98, 0xBA, 0xDC, 0xFE))
    assert v.check(_decode(wire)) == 0 and v.last_counter == 0xFEDCBA98


def test_sign_without_payload_covers_the_empty_payload():
    s, v = Signer(KEY), Verifier(KEY)
    trailer = s.sign(codes.START, 5, FLAG_AUTH)
    assert v.check_parts(1, codes.START, 5, FLAG_AUTH, b"", trailer) == 0


def test_exhausted_counter_names_the_remedy():
    s = Signer(KEY, counter=0xFFFFFFFF)
    with pytest.raises(ProtocolError) as e:
        s.sign(codes.START, 1, FLAG_AUTH)
    assert e.value.reason == codes.NAK_LIMIT
    assert str(e.value) == "auth counter exhausted: rotate the key"
    assert s.counter == 0xFFFFFFFF


def test_encode_keeps_the_callers_flags_and_never_marks_a_first_send_retry():
    s = Signer(KEY)
    f = _decode(s.encode(codes.START, 6, flags=FLAG_RETRY)[0])
    assert f.flags == FLAG_AUTH
    f = _decode(s.encode(codes.START, 7, flags=FLAG_REPLY)[0])
    assert f.flags == FLAG_AUTH | FLAG_REPLY


def test_a_trailer_counts_only_with_the_auth_flag():
    s, v = Signer(KEY), Verifier(KEY)
    trailer = s.sign(codes.START, 8, FLAG_AUTH)
    # a valid trailer on a frame whose AUTH flag is clear is not authentic
    assert v.check_parts(1, codes.START, 8, 0, b"", trailer) == NAK_AUTH_REQUIRED
    assert v.check_parts(1, codes.START, 8, FLAG_AUTH, b"", None) == NAK_AUTH_REQUIRED
    assert v.last_counter == 0
    assert v.check_parts(1, codes.START, 8, FLAG_AUTH, b"", trailer) == 0


def test_replay_records_the_rejected_counter_and_repr_shows_the_counters():
    s, v = Signer(KEY), Verifier(KEY)
    assert v.last_rejected_counter is None
    f = _decode(s.encode(codes.START, 9)[0])
    assert v.check(f) == 0
    assert v.check(f) == NAK_REPLAY and v.last_rejected_counter == 1
    assert repr(s) == "Signer(counter=1)"
    assert repr(v) == "Verifier(last_counter=1)"
