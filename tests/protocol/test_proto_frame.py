"""Frame encoder and streaming decoder."""
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from protocol_testlib import ref_cobs_decode, ref_cobs_encode, crc_ok
from protocol import frame, cobs
from protocol.codes import ProtocolError, NAK_LIMIT
from protocol.decoder import Decoder, ERROR_KINDS
from protocol.frame import (encode_frame, Encoder, Frame, FLAG_AUTH, FLAG_RETRY,
                            FLAG_REPLY, FLAG_EVENT, MAX_PAYLOAD)


def test_size_constants_are_consistent():
    assert frame.HEADER_LEN == 7
    assert frame.MAX_RAW == frame.HEADER_LEN + MAX_PAYLOAD + frame.AUTH_TRAILER_LEN + frame.CRC_LEN
    assert frame.MAX_ENCODED == cobs.max_encoded_len(frame.MAX_RAW)
    assert frame.MAX_WIRE == frame.MAX_ENCODED + 1
    big = encode_frame(0x10, 0xFFFF, FLAG_AUTH, b"\x01" * MAX_PAYLOAD, b"\x02" * 20)
    assert len(big) <= frame.MAX_WIRE


def test_private_const_copies_match_frame():
    # decoder/auth/dedup/messages keep private const copies (MicroPython folds
    # them); they must equal the public values in frame.py.
    from protocol import decoder, auth, dedup, messages
    assert (decoder._VERSION, decoder._HEADER_LEN, decoder._CRC_LEN, decoder._TRAILER_LEN,
            decoder._MAX_PAYLOAD, decoder._FLAG_AUTH, decoder._FLAGS_KNOWN) == (
        frame.VERSION, frame.HEADER_LEN, frame.CRC_LEN, frame.AUTH_TRAILER_LEN,
        frame.MAX_PAYLOAD, frame.FLAG_AUTH, frame.FLAGS_KNOWN)
    assert (auth.TRAILER_LEN, auth._HEADER_LEN, auth._FLAG_AUTH, auth._FLAG_RETRY) == (
        frame.AUTH_TRAILER_LEN, frame.HEADER_LEN, FLAG_AUTH, FLAG_RETRY)
    assert (dedup._MAX_WIRE, dedup._FLAG_RETRY) == (frame.MAX_WIRE, FLAG_RETRY)
    assert messages._MAX_PAYLOAD == MAX_PAYLOAD
    import protocol
    assert protocol.PROTOCOL_VERSION == frame.VERSION


def _raw(msg_type, seq, flags, payload, trailer=None):
    hdr = bytes([1, msg_type, seq & 0xFF, seq >> 8, flags, len(payload) & 0xFF, len(payload) >> 8])
    body = hdr + payload + (trailer or b"")
    return body + zlib.crc32(body).to_bytes(4, "little")


frames_st = st.builds(
    lambda t, s, f, p, tr: (t, s, (f & ~FLAG_AUTH) | (FLAG_AUTH if tr else 0), p, tr),
    st.integers(0, 255), st.integers(0, 0xFFFF),
    st.sampled_from([0, FLAG_REPLY, FLAG_RETRY, FLAG_EVENT, FLAG_REPLY | FLAG_RETRY]),
    st.binary(max_size=MAX_PAYLOAD),
    st.one_of(st.none(), st.binary(min_size=20, max_size=20)))


@settings(max_examples=300, deadline=None)
@given(frames_st)
def test_encode_matches_independent_layout_and_decodes(fr):
    t, s, f, p, tr = fr
    wire = encode_frame(t, s, f, p, tr)
    assert wire[-1] == 0 and 0 not in wire[:-1]
    raw = ref_cobs_decode(wire[:-1])
    assert raw == _raw(t, s, f, p, tr)
    assert crc_ok(raw)
    assert wire[:-1] == ref_cobs_encode(raw)
    d = Decoder()
    got = d.feed(wire)
    assert len(got) == 1
    g = got[0]
    assert (g.version, g.msg_type, g.seq, g.flags, g.payload, g.trailer) == (1, t, s, f, p, tr)
    assert g.raw == raw[:-4]
    assert d.errors() == 0 and d.frames_ok == 1


def test_encode_into_offset_and_reuse():
    enc = Encoder()
    out = bytearray(b"\xaa" * 600)
    end = enc.encode_into(out, 10, 0x83, 5, FLAG_REPLY, b"\x00\x01\x00")
    assert out[:10] == b"\xaa" * 10
    assert bytes(out[10:end]) == encode_frame(0x83, 5, FLAG_REPLY, b"\x00\x01\x00")
    n = enc.encode(0x01, 1, 0)
    assert bytes(enc.buf[:n]) == encode_frame(0x01, 1, 0)


@pytest.mark.parametrize("kw", [
    dict(msg_type=256), dict(msg_type=-1), dict(seq=0x10000), dict(seq=-1),
    dict(flags=0x10), dict(flags=True), dict(version=256), dict(payload=b"x" * 257),
    dict(msg_type=1.0),
])
def test_encode_range_checks(kw):
    args = dict(msg_type=1, seq=0, flags=0, payload=b"")
    args.update(kw)
    with pytest.raises(ProtocolError):
        encode_frame(**args)


def test_auth_flag_must_match_trailer():
    with pytest.raises(ProtocolError):
        encode_frame(0x20, 1, FLAG_AUTH, b"")
    with pytest.raises(ProtocolError):
        encode_frame(0x20, 1, 0, b"", b"\x01" * 20)
    with pytest.raises(ProtocolError):
        encode_frame(0x20, 1, FLAG_AUTH, b"", b"\x01" * 19)


def test_limit_reason():
    with pytest.raises(ProtocolError) as e:
        encode_frame(1, 70000, 0)
    assert e.value.reason == NAK_LIMIT and "seq" in str(e.value)


def test_feed_styles_agree():
    wires = [encode_frame(i, i * 7, 0, bytes(range(i))) for i in range(1, 40)]
    stream = b"\x00\x13\x99\x00" + b"".join(wires) + b"\x05\x01"
    a = Decoder().feed(stream)
    b = []
    d = Decoder()
    for byte in stream:
        b.extend(d.feed(byte))
    c = []
    d2 = Decoder()
    n = d2.feed_into(stream, lambda f: c.append(f.copy()))
    e = []
    d3 = Decoder()
    for byte in stream:
        f = d3.feed_byte(byte)
        if f is not None:
            e.append(f.copy())
    assert n == 39 and len(a) == 39
    key = [(f.msg_type, f.seq, bytes(f.payload)) for f in a]
    for other in (b, c, e):
        assert [(f.msg_type, f.seq, bytes(f.payload)) for f in other] == key


def test_frame_views_valid_until_next_byte_and_copy_detaches():
    d = Decoder()
    w1 = encode_frame(1, 1, 0, b"abc")
    f = None
    for byte in w1:
        f = d.feed_byte(byte) or f
    assert isinstance(f.payload, memoryview) and bytes(f.payload) == b"abc"
    kept = f.copy()
    d.feed(encode_frame(2, 2, 0, b"xyz"))
    assert kept.payload == b"abc" and kept.msg_type == 1
    assert "type=0x01" in repr(kept)


def test_empty_frames_are_ignored_not_counted():
    d = Decoder()
    assert d.feed(b"\x00\x00\x00") == []
    assert d.errors() == 0


def test_error_kinds_counted_and_resync():
    good = encode_frame(0x02, 9, 0)
    d = Decoder()
    bad_crc = bytearray(cobs.encode(_raw(2, 9, 0, b"")))
    bad_crc[3] ^= 0x40
    v2 = b"\x02" + _raw(2, 9, 0, b"")[1:-4]
    stream = (bytes(bad_crc) + b"\x00" + good
              + b"\x05\x01\x02\x00" + good                      # cobs
              + cobs.encode(b"\x01\x02\x03") + b"\x00" + good   # short
              + b"\x07" * 1000 + b"\x00" + good                 # too long
              + cobs.encode(v2 + zlib.crc32(v2).to_bytes(4, "little")) + b"\x00" + good)
    got = d.feed(stream)
    assert len(got) == 5 and all(g.seq == 9 for g in got)
    c = d.counts()
    assert c["crc"] == 1 and c["bad_version"] == 1 and c["cobs"] == 1 and c["short"] == 1 and c["too_long"] == 1
    assert c["ok"] == 5 and set(ERROR_KINDS) <= set(c)


def test_bad_version_and_header_with_valid_crc():
    def wire(hdr, rest=b""):
        body = hdr + rest
        return cobs.encode(body + zlib.crc32(body).to_bytes(4, "little")) + b"\x00"
    d = Decoder()
    assert d.feed(wire(bytes([2, 1, 0, 0, 0, 0, 0]))) == []
    assert d.err_bad_version == 1
    assert d.feed(wire(bytes([1, 1, 0, 0, 0, 5, 0]), b"abc")) == []   # length mismatch
    assert d.feed(wire(bytes([1, 1, 0, 0, 0x40, 0, 0]))) == []        # reserved flag
    assert d.feed(wire(bytes([1, 1, 0, 0, FLAG_AUTH, 0, 0]), b"x" * 19)) == []
    assert d.err_bad_header == 3


def test_max_payload_bound_is_enforced():
    d = Decoder(max_payload=16)
    assert d.feed(encode_frame(1, 1, 0, b"\x01" * 16))
    assert d.feed(encode_frame(1, 1, 0, b"\x01" * 17)) == []
    assert d.err_too_long == 1
    assert d.feed(encode_frame(1, 2, 0, b"\x01" * 3))[0].seq == 2


def test_largest_frame_decodes_and_one_more_byte_is_too_long():
    d = Decoder()
    w = encode_frame(0x10, 1, FLAG_AUTH, b"\x01" * MAX_PAYLOAD, b"\x03" * 20)
    assert len(d.feed(w)) == 1
    # A well-formed frame claiming 257 bytes cannot fit the buffer.
    raw = _raw(0x10, 1, FLAG_AUTH, b"\x01" * 257, b"\x03" * 20)
    assert d.feed(ref_cobs_encode(raw) + b"\x00") == []
    assert d.err_too_long == 1


def test_reset_drops_partial_frame():
    d = Decoder()
    w = encode_frame(1, 1, 0, b"hello")
    d.feed(w[:5])
    d.reset()
    assert d.feed(w[5:]) == []
    assert len(d.feed(w)) == 1


def test_frame_constructor_defaults():
    f = Frame(3, 4, 0, b"x")
    assert f.version == 1 and f.trailer is None and f.copy().payload == b"x"
