"""protocol/vectors.json re-derived with an independent COBS and zlib.crc32,
then checked against the codec."""
import pytest

from protocol_testlib import (load_vectors, ref_cobs_decode, ref_cobs_encode, crc_ok,
                              SPEC_PATH)
from protocol import messages as m, describe
from protocol.auth import Verifier
from protocol.decoder import Decoder
from protocol.frame import encode_frame, FLAG_AUTH

V = load_vectors()
FRAMES = V["frames"]
KEY = bytes.fromhex(V["test_key_hex"])


def test_key_is_the_documented_one():
    assert KEY == b"hai-pump-test-key-do-not-deploy!" == V["test_key_ascii"].encode()
    assert V["test_key_ascii"] in SPEC_PATH.read_text()


def test_vector_coverage():
    names = {v["name"] for v in FRAMES}
    assert {"hello", "status", "program_load_max", "start_retry"} <= names
    assert set(describe.types()) == {v["msg_type"] for v in FRAMES}
    raws = [bytes.fromhex(v["raw_hex"]) for v in FRAMES]
    assert any(len(r) >= 254 + 11 and max(len(run) for run in r.split(b"\x00")) >= 254
               for r in raws), "a 254+ byte non-zero run"
    assert any(0 in bytes.fromhex(v["payload_hex"]) for v in FRAMES)
    assert any(v["payload_hex"] == "" for v in FRAMES)
    assert sum(1 for v in FRAMES if v["trailer_hex"]) >= 6


@pytest.mark.parametrize("v", FRAMES, ids=[v["name"] for v in FRAMES])
def test_frame_vector(v):
    wire = bytes.fromhex(v["wire_hex"])
    assert wire[-1] == 0 and 0 not in wire[:-1]
    raw = ref_cobs_decode(wire[:-1])
    assert raw.hex() == v["raw_hex"]
    assert ref_cobs_encode(raw) == wire[:-1]
    assert crc_ok(raw) and raw[-4:][::-1].hex() == v["crc32"]
    payload = bytes.fromhex(v["payload_hex"])
    trailer = bytes.fromhex(v["trailer_hex"]) if v["trailer_hex"] else None
    hdr = raw[:7]
    assert hdr[0] == v["version"] == 1 and hdr[1] == v["msg_type"]
    assert int.from_bytes(hdr[2:4], "little") == v["seq"] and hdr[4] == v["flags"]
    assert int.from_bytes(hdr[5:7], "little") == len(payload)
    assert raw[7:7 + len(payload)] == payload
    assert (raw[7 + len(payload):-4] or None) == trailer
    # codec agrees
    assert encode_frame(v["msg_type"], v["seq"], v["flags"], payload, trailer) == wire
    fields = describe.from_json_fields(v["msg_type"], v["fields"])
    assert m.pack(v["msg_type"], fields) == payload
    assert m.unpack(v["msg_type"], payload) == fields
    got = Decoder().feed(wire)
    assert len(got) == 1
    g = got[0]
    assert (g.msg_type, g.seq, g.flags, g.payload, g.trailer) == (
        v["msg_type"], v["seq"], v["flags"], payload, trailer)
    if trailer:
        assert v["flags"] & FLAG_AUTH
        assert int.from_bytes(trailer[:4], "little") == v["auth_counter"]
        ver = Verifier(KEY, last_counter=v["auth_counter"] - 1)
        assert ver.check(g) == 0


def test_all_vectors_as_one_stream():
    stream = b"".join(bytes.fromhex(v["wire_hex"]) for v in FRAMES)
    got = Decoder().feed(stream)
    assert [g.seq for g in got] == [v["seq"] for v in FRAMES]


@pytest.mark.parametrize("v", V["bad_frames"], ids=[v["name"] for v in V["bad_frames"]])
def test_bad_frame_vector(v):
    d = Decoder()
    assert d.feed(bytes.fromhex(v["wire_hex"])) == []
    c = d.counts()
    assert c[v["error"]] == 1 and d.errors() == 1
    assert len(d.feed(bytes.fromhex(FRAMES[0]["wire_hex"]))) == 1


def test_auth_sequence():
    ver = Verifier(KEY)
    for step in V["auth_sequence"]:
        f = Decoder().feed(bytes.fromhex(step["wire_hex"]))[0]
        assert ver.check(f) == step["expect"], step["why"]


def test_worked_example_in_spec_matches_vector():
    spec = SPEC_PATH.read_text()
    v = next(v for v in FRAMES if v["name"] == "telemetry_stream")
    wire = bytes.fromhex(v["wire_hex"])
    assert " ".join("%02x" % b for b in wire) in spec
    raw = bytes.fromhex(v["raw_hex"])
    assert " ".join("%02x" % b for b in raw) in spec
