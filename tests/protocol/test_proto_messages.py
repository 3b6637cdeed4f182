"""Message catalogue, pack/unpack and their checks."""
import random
import struct

import pytest
from hypothesis import given, settings, strategies as st

from protocol import messages as m, codes, describe, catalogue
from protocol.codes import ProtocolError, NAK_LIMIT, NAK_BAD_PAYLOAD, NAK_UNKNOWN_TYPE
from protocol.frame import MAX_PAYLOAD
from protocol_testlib import load_gen_vectors, SPEC_PATH

ALL = describe.types()


def _int_strategy(r):
    return st.integers(r[0], r[1])


def _fields_strategy(t):
    """Hypothesis strategy for valid fields of type t, built from the table."""
    _, _, fmt, names, ranges, tail = m.CATALOGUE[t]
    parts = {}
    for n, r in zip(names, ranges):
        parts[n] = st.binary(min_size=32, max_size=32) if r is None else _int_strategy(r)
    if tail is not None:
        if tail[0] == catalogue.BLOB:
            parts[tail[1]] = st.binary(min_size=tail[2], max_size=tail[3])
        elif tail[0] == catalogue.STRS:
            for n in tail[1]:
                parts[n] = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                                   min_size=tail[2], max_size=tail[3])
        else:
            rec = st.fixed_dictionaries({n: _int_strategy(r) for n, r in zip(tail[4], tail[5])})
            parts[tail[1]] = st.lists(rec, max_size=tail[2])
    s = st.fixed_dictionaries(parts)
    if t == codes.PROGRAM_LOAD:
        s = s.filter(lambda d: d["chunk_index"] < d["total_chunks"])
    if t == codes.TELEMETRY_STREAM:
        s = s.filter(lambda d: not d["enable"] or d["period_ms"] == 0 or d["period_ms"] >= 100)
    if t == codes.JOURNAL_DATA:
        s = s.filter(lambda d: not d["count"] or d["data"])
    if t == codes.PROGRAM_REVIEW:
        s = s.map(lambda d: dict(d, total_steps=min(255, d["first_step"] + len(d["steps"]))))
        s = s.filter(lambda d: d["first_step"] + len(d["steps"]) <= 255)
    return s


@pytest.mark.parametrize("t", ALL, ids=[m.name(t) for t in ALL])
def test_roundtrip_every_type(t):
    @settings(max_examples=60, deadline=None)
    @given(_fields_strategy(t))
    def check(fields):
        p = m.pack(t, fields)
        assert len(p) <= describe.max_len(t) <= MAX_PAYLOAD
        assert m.unpack(t, p) == fields
        assert m.unpack(t, memoryview(p)) == fields
        buf = bytearray(300)
        assert m.pack_into(buf, 5, t, fields) == 5 + len(p) and bytes(buf[5:5 + len(p)]) == p
    check()


def test_catalogue_is_consistent():
    seen = set()
    for t in ALL:
        name, auth, fmt, names, ranges, tail = m.CATALOGUE[t]
        assert name not in seen and getattr(codes, name) == t
        seen.add(name)
        assert len(names) == len(ranges) == len(struct.unpack(fmt, bytes(struct.calcsize(fmt))))
        assert len(set(m.field_names(t))) == len(m.field_names(t))
        assert describe.max_len(t) <= MAX_PAYLOAD
        assert m.is_command(t) == (t < 0x80)
        assert not (auth and t >= 0x80)


def test_auth_policy():
    needs = {t for t in ALL if m.requires_auth(t)}
    assert needs == {codes.PROGRAM_LOAD, codes.CONFIRM, codes.START, codes.RESUME,
                     codes.ACK_ALARM, codes.AUDIO_PAUSE}
    # stopping delivery must always be possible
    assert not m.requires_auth(codes.PAUSE) and not m.requires_auth(codes.STOP)
    assert not m.requires_auth(0x7F)


def test_example_status_layout():
    p = m.pack(codes.STATUS, {"state": 4, "rate_nl_h": 1770000, "delivered_nl": 1,
                              "remaining_nl": 2, "pressure_mmhg_x10": -1, "uptime_s": 3,
                              "alarms": [(0x0101, 3)]})
    assert p == (bytes([4]) + (1770000).to_bytes(4, "little") + (1).to_bytes(4, "little")
                 + (2).to_bytes(4, "little") + b"\xff\xff" + (3).to_bytes(4, "little")
                 + b"\x01\x01\x01\x03")


def test_fast_paths_equal_generic():
    rng = random.Random(3)
    for _ in range(300):
        alarms = [(rng.randrange(65536), rng.randrange(4)) for _ in range(rng.randrange(9))]
        vals = (rng.randrange(256), rng.randrange(catalogue.MAX_RATE_NL_H + 1),
                rng.randrange(2**32), rng.randrange(2**32), rng.randrange(-32768, 32768),
                rng.randrange(2**32))
        buf = bytearray(64)
        n = m.pack_status_into(buf, 0, *vals, alarms)
        names = ("state", "rate_nl_h", "delivered_nl", "remaining_nl", "pressure_mmhg_x10", "uptime_s")
        d = dict(zip(names, vals), alarms=alarms)
        assert bytes(buf[:n]) == m.pack(codes.STATUS, d) == m.pack(codes.TELEMETRY, d)
    buf = bytearray(8)
    assert m.pack_ack_into(buf, 0, codes.START) == 1 and buf[0] == codes.START
    n = m.pack_nak_into(buf, 1, codes.START, codes.NAK_BAD_STATE, 513)
    assert bytes(buf[1:n]) == m.pack(codes.NAK, {"nak_type": codes.START,
                                                  "reason": codes.NAK_BAD_STATE, "detail": 513})


@pytest.mark.parametrize("call", [
    lambda b: m.pack_status_into(b, 0, 0, catalogue.MAX_RATE_NL_H + 1, 0, 0, 0, 0),
    lambda b: m.pack_status_into(b, 0, 0, 0, 2**32, 0, 0, 0),
    lambda b: m.pack_status_into(b, 0, 0, 0, 0, 0, 40000, 0),
    lambda b: m.pack_status_into(b, 0, 0, 0, 0, 0, 0, 0, [(1, 4)]),
    lambda b: m.pack_status_into(b, 0, 0, 0, 0, 0, 0, 0, [(1, 1)] * 9),
    lambda b: m.pack_status_into(b, 0, True, 0, 0, 0, 0, 0),
    lambda b: m.pack_status_into(bytearray(10), 0, 0, 0, 0, 0, 0, 0),
    lambda b: m.pack_nak_into(b, 0, 1, 0),
    lambda b: m.pack_ack_into(b, 0, 256),
])
def test_fast_path_checks(call):
    with pytest.raises(ProtocolError):
        call(bytearray(64))


def _valid(t):
    return _fields_strategy(t).example()


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_every_int_field_is_range_checked():
    for t in ALL:
        _, _, fmt, names, ranges, tail = m.CATALOGUE[t]
        for n, r in zip(names, ranges):
            if r is None:
                continue
            for bad in (r[0] - 1, r[1] + 1):
                f = dict(_valid(t))
                f[n] = bad
                with pytest.raises(ProtocolError) as e:
                    m.pack(t, f)
                assert e.value.reason == NAK_LIMIT, (m.name(t), n, bad)
            f = dict(_valid(t))
            f[n] = True if r[0] <= 1 <= r[1] else "1"
            with pytest.raises(ProtocolError) as e:
                m.pack(t, f)
            assert e.value.reason == NAK_BAD_PAYLOAD


def test_unpack_range_checks_report_limit():
    p = bytearray(m.pack(codes.AUDIO_PAUSE, {"duration_s": 120}))
    p[0] = 121
    with pytest.raises(ProtocolError) as e:
        m.unpack(codes.AUDIO_PAUSE, bytes(p))
    assert e.value.reason == NAK_LIMIT and "duration_s" in str(e.value)


REVIEW = {"program_hash": b"\x00" * 32, "total_volume_nl": 0, "duration_s": 0,
          "total_steps": 1, "first_step": 0, "steps": [(1, 1, 1, 1)]}


def test_review_paging_accepts_valid_page():
    p = m.pack(codes.PROGRAM_REVIEW, dict(REVIEW, total_steps=40, first_step=16,
                                          steps=[(1, 2, 3, 4)] * 16))
    assert len(p) <= MAX_PAYLOAD
    assert m.unpack(codes.PROGRAM_REVIEW, p)["steps"][15] == {
        "kind": 1, "rate_nl_h": 2, "volume_nl": 3, "duration_s": 4}


@pytest.mark.parametrize("t,fields", [
    (codes.PROGRAM_LOAD, {"chunk_index": 2, "total_chunks": 2, "data": b"x"}),
    (codes.PROGRAM_LOAD, {"chunk_index": 0, "total_chunks": 1, "data": b""}),
    (codes.PROGRAM_LOAD, {"chunk_index": 0, "total_chunks": 1, "data": b"x" * 255}),
    (codes.PROGRAM_LOAD, {"chunk_index": 0, "total_chunks": 1, "data": "text"}),
    (codes.TELEMETRY_STREAM, {"enable": 1, "period_ms": 99}),
    (codes.CONFIRM, {"program_hash": b"\x00" * 31}),
    (codes.CONFIRM, {"program_hash": "00" * 32}),
    (codes.CONFIRM, {}),
    (codes.CONFIRM, {"program_hash": b"\x00" * 32, "extra": 1}),
    (codes.DEVICE_INFO, {"proto_version": 1, "pump_kind": 1, "max_payload": 256,
                         "auth_counter": 0, "fw_version": "", "serial": "x"}),
    (codes.DEVICE_INFO, {"proto_version": 1, "pump_kind": 1, "max_payload": 256,
                         "auth_counter": 0, "fw_version": "v\n", "serial": "x"}),
    (codes.DEVICE_INFO, {"proto_version": 1, "pump_kind": 1, "max_payload": 256,
                         "auth_counter": 0, "fw_version": "v" * 33, "serial": "x"}),
    (codes.DEVICE_INFO, {"proto_version": 1, "pump_kind": 1, "max_payload": 256,
                         "auth_counter": 0, "fw_version": "v", "serial": b"x"}),
    (codes.PROGRAM_REVIEW, dict(REVIEW, steps=[(1, 1, 1, 1)] * 17, total_steps=17)),
    (codes.PROGRAM_REVIEW, dict(REVIEW, steps=[{"rate_nl_h": 1}])),
    (codes.PROGRAM_REVIEW, dict(REVIEW, steps="x")),
    (codes.PROGRAM_REVIEW, dict(REVIEW, steps=[(1, 1, 1, 1)] * 2, first_step=1,
                                total_steps=2)),
    (codes.PROGRAM_REVIEW, dict(REVIEW, steps=[(1, 999000001, 1, 1)])),
    (codes.JOURNAL_DATA, {"offset": 0, "total": 1, "count": 1, "data": b""}),
    (codes.STATUS_REQ, {"x": 1}),
    (0x7F, {}),
    ("STATUS", {}),
])
def test_pack_rejects(t, fields):
    with pytest.raises(ProtocolError):
        m.pack(t, fields)


def test_pack_rejects_non_dict_and_small_buffer():
    with pytest.raises(ProtocolError):
        m.pack(codes.ACK, [1])
    with pytest.raises(ProtocolError):
        m.pack_into(bytearray(3), 0, codes.CONFIRM, {"program_hash": b"\x01" * 32})
    with pytest.raises(ProtocolError):
        m.pack_into(bytearray(10), 0, codes.PROGRAM_LOAD,
                    {"chunk_index": 0, "total_chunks": 1, "data": b"x" * 20})


def test_unknown_type():
    with pytest.raises(ProtocolError) as e:
        m.unpack(0x55, b"")
    assert e.value.reason == NAK_UNKNOWN_TYPE
    assert m.name(0x55) == "UNKNOWN_0x55"
    assert m.field_names(0x55) == ()


@pytest.mark.parametrize("t", ALL, ids=[m.name(t) for t in ALL])
def test_unpack_never_raises_anything_but_protocol_error(t):
    rng = random.Random(t)
    for _ in range(1500):
        n = rng.choice([0, 1, 2, 3, 5, 8, 19, 20, 23, 32, 40, 74, 233, 256, 257, rng.randrange(300)])
        blob = bytes(rng.randrange(256) for _ in range(n))
        try:
            d = m.unpack(t, blob)
        except ProtocolError as e:
            assert e.reason in (NAK_LIMIT, NAK_BAD_PAYLOAD)
            assert str(e)
            continue
        assert m.pack(t, d) == blob  # whatever is accepted re-encodes identically


def test_truncated_and_extended_payloads_rejected():
    for v in load_gen_vectors().build()["frames"]:
        t = v["msg_type"]
        p = bytes.fromhex(v["payload_hex"])
        if p:
            with pytest.raises(ProtocolError):
                m.unpack(t, p[:-1]) if t not in (codes.JOURNAL_DATA, codes.PROGRAM_LOAD) \
                    else m.unpack(t, p[:1])
        tail = m.CATALOGUE[t][5]
        if tail is None or tail[0] != catalogue.BLOB:
            with pytest.raises(ProtocolError):
                m.unpack(t, p + b"\x00")


def test_json_form_roundtrip():
    for v in load_gen_vectors().build()["frames"]:
        t = v["msg_type"]
        f = describe.from_json_fields(t, v["fields"])
        assert describe.to_json_fields(t, f) == v["fields"]
        assert m.pack(t, f).hex() == v["payload_hex"]
    with pytest.raises(ProtocolError):
        describe.from_json_fields(codes.CONFIRM, {"program_hash": "zz"})


def test_names():
    assert describe.nak_name(codes.NAK_REPLAY) == "replay"
    assert describe.nak_name(200) == "reason_200"
    assert describe.state_name(codes.STATE_RUNNING) == "running"
    for r in range(1, 14):
        assert not describe.nak_name(r).startswith("reason_")


def test_spec_table_and_vectors_are_up_to_date():
    gen = load_gen_vectors()
    spec = SPEC_PATH.read_text()
    assert gen.spec_text(spec) == spec, "run python pumphost/prototools/gen_vectors.py"
    assert gen.VECTORS_PATH and open(gen.VECTORS_PATH).read() == gen.vectors_text()
    for t in ALL:
        assert "| 0x%02X | %s |" % (t, m.name(t)) in spec


def test_telemetry_stream_period_zero_means_as_fast_as_the_line_takes():
    # enable=1, period 0 is valid (stream flat out); 1..99 ms stays refused
    d = {"enable": 1, "period_ms": 0}
    assert m.unpack(codes.TELEMETRY_STREAM, m.pack(codes.TELEMETRY_STREAM, d)) == d
    with pytest.raises(codes.ProtocolError) as e:
        m.unpack(codes.TELEMETRY_STREAM, b"\x01\x01\x00")
    assert e.value.reason == codes.NAK_LIMIT
