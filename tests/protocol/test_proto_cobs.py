"""COBS: protocol/cobs.py against the paper's examples and an independent
implementation (tests/protocol/protocol_testlib.py)."""
import random

import pytest
from hypothesis import given, settings, strategies as st

from protocol_testlib import ref_cobs_decode, ref_cobs_encode, load_vectors
from protocol import cobs

# Examples from Cheshire & Baker / the usual COBS tables.
KNOWN = [
    ("", "01"),
    ("00", "0101"),
    ("0000", "010101"),
    ("00110000", "0102110101"),
    ("11220033", "03112202 33".replace(" ", "")),
    ("11223344", "0511223344"),
    ("11000000", "0211010101"),
    (bytes(range(1, 255)).hex(), "ff" + bytes(range(1, 255)).hex()),
    (bytes(range(0, 255)).hex(), "01ff" + bytes(range(1, 255)).hex()),
    (bytes(range(1, 256)).hex(), "ff" + bytes(range(1, 255)).hex() + "02ff"),
]


@pytest.mark.parametrize("raw,enc", KNOWN)
def test_known_examples(raw, enc):
    raw, enc = bytes.fromhex(raw), bytes.fromhex(enc)
    assert ref_cobs_encode(raw) == enc  # the reference itself is right
    assert cobs.encode(raw) == enc
    assert cobs.decode(enc) == raw


def test_vector_file_cobs_cases():
    for v in load_vectors()["cobs"]:
        raw, enc = bytes.fromhex(v["raw_hex"]), bytes.fromhex(v["encoded_hex"])
        assert ref_cobs_encode(raw) == enc, v["name"]
        assert cobs.encode(raw) == enc, v["name"]
        assert cobs.decode(enc) == raw, v["name"]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=1200))
def test_roundtrip_matches_reference(data):
    enc = cobs.encode(data)
    assert 0 not in enc
    assert enc == ref_cobs_encode(data)
    assert len(enc) <= cobs.max_encoded_len(len(data))
    assert cobs.decode(enc) == data
    assert ref_cobs_decode(enc) == data


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0, 1, 0xFF]), max_size=800))
def test_roundtrip_zero_heavy(vals):
    data = bytes(vals)
    assert cobs.decode(cobs.encode(data)) == data


def test_encode_into_offset_and_length():
    dst = bytearray(b"\xee" * 40)
    src = b"\x11\x00\x22\x33\x44"
    end = cobs.encode_into(src, dst, 5, 3)
    assert bytes(dst[5:end]) == ref_cobs_encode(src[:3])
    assert dst[:5] == b"\xee" * 5 and dst[end] == 0xEE


def test_decode_rejects_bad_input_with_cobs_error_only():
    for bad in (b"\x00", b"\x05\x01\x02", b"\x02\x00", b"\x03\x11\x00\x22"):
        with pytest.raises(cobs.CobsError):
            cobs.decode(bad)
    rng = random.Random(7)
    for _ in range(3000):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        try:
            out = cobs.decode(blob)
        except cobs.CobsError:
            continue
        assert ref_cobs_decode(blob) == out
