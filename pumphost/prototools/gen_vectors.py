"""Generate protocol/vectors.json and the message table in protocol/SPEC.md.

Host-only (CPython).  Usage, from anywhere::

    python pumphost/prototools/gen_vectors.py          # rewrite both files
    python pumphost/prototools/gen_vectors.py --check  # exit 1 if either is stale

Why generated: the vectors and the SPEC table come from the same catalogue
and encoder the device runs, and the tests re-derive every vector with an
independent COBS and binascii.crc32, so a codec change that alters bytes on
the wire shows up as a stale-vector failure instead of passing silently.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from protocol import cobs, frame, decoder, messages as m, auth, codes, describe, catalogue  # noqa: E402

TEST_KEY = b"hai-pump-test-key-do-not-deploy!"   # 32 bytes, tests only
WRONG_KEY = b"not-the-pump-key-wrong-wrong-key"
VECTORS_PATH = os.path.join(ROOT, "protocol", "vectors.json")
SPEC_PATH = os.path.join(ROOT, "protocol", "SPEC.md")
TABLE_BEGIN = "<!-- BEGIN GENERATED MESSAGE TABLE (pumphost/prototools/gen_vectors.py) -->"
TABLE_END = "<!-- END GENERATED MESSAGE TABLE -->"


def _hex(b):
    return bytes(b).hex()


def _hash(tag):
    import hashlib
    return hashlib.sha256(tag).digest()


def _frame_vector(name, note, msg_type, seq, flags, fields, signer=None, trailer=None):
    payload = m.pack(msg_type, fields)
    if signer is not None:
        flags |= frame.FLAG_AUTH
        trailer = signer.sign(msg_type, seq, flags, payload)
    counter = None if trailer is None else int.from_bytes(trailer[:4], "little")
    wire = frame.encode_frame(msg_type, seq, flags, payload, trailer)
    raw = cobs.decode(wire[:-1])
    v = {
        "name": name,
        "note": note,
        "version": frame.VERSION,
        "msg_type": msg_type,
        "type_name": m.name(msg_type),
        "seq": seq,
        "flags": flags,
        "fields": describe.to_json_fields(msg_type, fields),
        "payload_hex": _hex(payload),
        "trailer_hex": None if trailer is None else _hex(trailer),
        "auth_counter": counter,
        "crc32": "%08x" % int.from_bytes(raw[-4:], "little"),
        "raw_hex": _hex(raw),
        "wire_hex": _hex(wire),
    }
    return v, wire, trailer


def _bad(name, note, wire, kind):
    return {"name": name, "note": note, "wire_hex": _hex(wire), "error": kind}


def _wire_from_raw(raw_wo_crc):
    import binascii
    crc = binascii.crc32(raw_wo_crc)
    return cobs.encode(raw_wo_crc + crc.to_bytes(4, "little")) + b"\x00"


def build():
    signer = auth.Signer(TEST_KEY, counter=0)
    fv = []

    def add(*a, **k):
        v, wire, trailer = _frame_vector(*a, **k)
        fv.append(v)
        return wire, trailer

    h = _hash(b"example program")
    add("hello", "empty payload", codes.HELLO, 1, 0, {})
    add("device_info", "reply with strings", codes.DEVICE_INFO, 1, frame.FLAG_REPLY,
        {"proto_version": 1, "pump_kind": codes.PUMP_SYRINGE, "max_payload": 256,
         "auth_counter": 0, "fw_version": "0.1.0", "serial": "HAI-0001"})
    add("status_req", "worked example in SPEC.md", codes.STATUS_REQ, 2, 0, {})
    add("last_error_req", "why the last command was refused", codes.LAST_ERROR_REQ, 4, 0, {})
    add("last_error", "reply: the refusal in words", codes.LAST_ERROR, 4, frame.FLAG_REPLY,
        {"text": "program: steps[0].rate_nl_h=20000000 not allowed "
                 "(hard limit rate_nl_h 10000000 for drug 1)"})
    add("status", "reply, 0x00 bytes in payload, two alarms", codes.STATUS, 2,
        frame.FLAG_REPLY,
        {"state": codes.STATE_RUNNING, "rate_nl_h": 1770000, "delivered_nl": 8850000,
         "remaining_nl": 72750000, "pressure_mmhg_x10": 1125, "uptime_s": 18000,
         "alarms": [{"code": 0x0101, "priority": codes.PRIORITY_HIGH},
                    {"code": 0x0203, "priority": codes.PRIORITY_LOW}]})
    add("telemetry", "unsolicited event, negative pressure, no alarms",
        codes.TELEMETRY, 7, frame.FLAG_EVENT,
        {"state": codes.STATE_PAUSED, "rate_nl_h": 0, "delivered_nl": 0,
         "remaining_nl": 81600000, "pressure_mmhg_x10": -35, "uptime_s": 0,
         "alarms": []})
    chunk = bytes((i % 255) + 1 for i in range(254))
    add("program_load_max", "signed, 256-byte payload (largest frame), 254+ run of "
        "non-zero bytes for COBS", codes.PROGRAM_LOAD, 0x0102, 0,
        {"chunk_index": 1, "total_chunks": 2, "data": chunk}, signer=signer)
    add("program_load_zeros", "signed, data full of 0x00", codes.PROGRAM_LOAD, 0x0103, 0,
        {"chunk_index": 0, "total_chunks": 1, "data": bytes(40)}, signer=signer)
    add("program_review_req", "first page", codes.PROGRAM_REVIEW_REQ, 4, 0,
        {"first_step": 0})
    add("program_review", "device echo of hash, rates and durations (5-FU 46 h "
        "example: 81.6 mL at 1.77 mL/h, then a 2 mL flush)", codes.PROGRAM_REVIEW, 4,
        frame.FLAG_REPLY,
        {"program_hash": h, "total_volume_nl": 83600000, "duration_s": 169566,
         "total_steps": 2, "first_step": 0,
         "steps": [{"kind": 1, "rate_nl_h": 1770000, "volume_nl": 81600000,
                    "duration_s": 165966},
                   {"kind": 1, "rate_nl_h": 2000000, "volume_nl": 2000000,
                    "duration_s": 3600}]})
    add("confirm", "signed, 32-byte hash", codes.CONFIRM, 5, 0, {"program_hash": h},
        signer=signer)
    start_wire, start_tr = add("start", "signed, empty payload", codes.START, 6, 0, {},
                               signer=signer)
    add("start_retry", "retry of 'start': RETRY flag, same seq and trailer",
        codes.START, 6, frame.FLAG_AUTH | frame.FLAG_RETRY, {}, trailer=start_tr)
    add("pause", "unsigned by design", codes.PAUSE, 8, 0, {})
    add("resume", "signed", codes.RESUME, 9, 0, {}, signer=signer)
    add("stop", "unsigned by design", codes.STOP, 10, 0, {})
    add("ack_alarm", "signed", codes.ACK_ALARM, 11, 0, {"alarm_code": 0x0101},
        signer=signer)
    add("audio_pause", "signed, 120 s maximum", codes.AUDIO_PAUSE, 12, 0,
        {"duration_s": 120}, signer=signer)
    add("journal_read", "", codes.JOURNAL_READ, 13, 0, {"offset": 100, "count": 16})
    add("journal_data", "opaque records", codes.JOURNAL_DATA, 13, frame.FLAG_REPLY,
        {"offset": 100, "total": 117, "count": 2, "data": bytes.fromhex("0100ff00") * 4})
    add("telemetry_stream", "", codes.TELEMETRY_STREAM, 14, 0,
        {"enable": 1, "period_ms": 1000})
    add("ack", "", codes.ACK, 6, frame.FLAG_REPLY, {"acked_type": codes.START})
    add("nak", "", codes.NAK, 9, frame.FLAG_REPLY,
        {"nak_type": codes.RESUME, "reason": codes.NAK_BAD_STATE, "detail": 0})
    add("seq_max", "seq 0xFFFF", codes.STATUS_REQ, 0xFFFF, 0, {})

    # Auth sequence for a fresh Verifier(TEST_KEY, last_counter=0).
    s2 = auth.Signer(TEST_KEY, counter=0)
    wrong = auth.Signer(WRONG_KEY, counter=0)
    a1, _ = s2.encode(codes.START, 20)                   # counter 1
    a2, _ = s2.encode(codes.RESUME, 21)                  # counter 2
    s_old = auth.Signer(TEST_KEY, counter=0)
    a_stale, _ = s_old.encode(codes.START, 22)           # counter 1 again
    s2.counter = 9
    a10, _ = s2.encode(codes.START, 23)                  # counter 10 (gap ok)
    bad, _ = wrong.encode(codes.START, 24, b"")          # counter 1, wrong key
    unsigned = frame.encode_frame(codes.START, 25, 0)
    # Same trailer as a10 but the seq changed: MAC must fail.
    fr = decoder.Decoder().feed(a10)[0]
    tampered = frame.encode_frame(codes.START, 26, fr.flags, b"", fr.trailer)
    auth_seq = [
        {"wire_hex": _hex(a1), "expect": 0, "why": "counter 1 > 0"},
        {"wire_hex": _hex(a1), "expect": codes.NAK_REPLAY, "why": "same frame again"},
        {"wire_hex": _hex(a2), "expect": 0, "why": "counter 2"},
        {"wire_hex": _hex(a_stale), "expect": codes.NAK_STALE_COUNTER,
         "why": "counter 1 < 2"},
        {"wire_hex": _hex(bad), "expect": codes.NAK_BAD_AUTH, "why": "wrong key"},
        {"wire_hex": _hex(unsigned), "expect": codes.NAK_AUTH_REQUIRED, "why": "no trailer"},
        {"wire_hex": _hex(tampered), "expect": codes.NAK_BAD_AUTH,
         "why": "seq changed after signing"},
        {"wire_hex": _hex(a10), "expect": 0, "why": "counter 10, gaps allowed"},
        {"wire_hex": _hex(a10), "expect": codes.NAK_REPLAY, "why": "replay of 10"},
    ]

    # Frames the decoder must reject, with the error counter they bump.
    good_raw = cobs.decode(start_wire[:-1])
    flipped = bytearray(good_raw)
    flipped[8] ^= 0x01
    bad_frames = [
        _bad("crc", "one bit flipped in the trailer, CRC not updated",
             cobs.encode(bytes(flipped)) + b"\x00", decoder.ERR_CRC),
        _bad("cobs_truncated", "code byte 0x05 announces 4 bytes, 2 follow",
             bytes.fromhex("05010200"), decoder.ERR_COBS),
        _bad("short", "valid COBS, 6 bytes: shorter than header + CRC",
             cobs.encode(bytes.fromhex("010100000000")) + b"\x00", decoder.ERR_SHORT),
        _bad("bad_version", "version 2 with a correct CRC",
             _wire_from_raw(bytes.fromhex("02010100000000")), decoder.ERR_BAD_VERSION),
        _bad("bad_length", "length field 1, no payload, correct CRC",
             _wire_from_raw(bytes.fromhex("01010100000100")), decoder.ERR_BAD_HEADER),
        _bad("bad_flags", "reserved flag bit 0x80 set, correct CRC",
             _wire_from_raw(bytes.fromhex("01010100800000")), decoder.ERR_BAD_HEADER),
        _bad("auth_flag_no_trailer", "FLAG_AUTH set but 0 bytes follow the payload",
             _wire_from_raw(bytes.fromhex("01200600020000")), decoder.ERR_BAD_HEADER),
        _bad("too_long", "400 non-zero bytes before the delimiter",
             bytes([0x11] * 400) + b"\x00", decoder.ERR_TOO_LONG),
    ]

    cobs_vectors = []
    for label, data in (
            ("empty", b""),
            ("one_zero", b"\x00"),
            ("two_zeros", b"\x00\x00"),
            ("mixed", bytes.fromhex("11220033")),
            ("run_253", bytes(range(1, 254))),
            ("run_254", bytes(range(1, 255))),
            ("run_255", bytes(range(1, 256))),
            ("zero_then_run_254", b"\x00" + bytes(range(1, 255))),
            ("run_254_then_zero", bytes(range(1, 255)) + b"\x00"),
            ("run_600", bytes((i % 255) + 1 for i in range(600)))):
        cobs_vectors.append({"name": label, "raw_hex": _hex(data),
                             "encoded_hex": _hex(cobs.encode(data))})

    return {
        "comment": "Generated by pumphost/prototools/gen_vectors.py; see SPEC.md. "
                   "Wire bytes include the trailing 0x00 delimiter.",
        "protocol_version": frame.VERSION,
        "test_key_hex": _hex(TEST_KEY),
        "test_key_ascii": TEST_KEY.decode(),
        "frames": fv,
        "auth_sequence": auth_seq,
        "bad_frames": bad_frames,
        "cobs": cobs_vectors,
    }


def vectors_text():
    """JSON laid out one vector per line.

    Still ordinary JSON, but the device test can read it line by line with
    a small heap instead of loading 26 KB at once: every array element and
    every top-level scalar sits alone on its own line.
    """
    d = build()
    keys = sorted(d)
    lines = ["{"]
    for i, k in enumerate(keys):
        comma = "," if i < len(keys) - 1 else ""
        v = d[k]
        if isinstance(v, list):
            lines.append(" %s: [" % json.dumps(k))
            for j, item in enumerate(v):
                lines.append("  %s%s" % (json.dumps(item, sort_keys=True),
                                         "," if j < len(v) - 1 else ""))
            lines.append(" ]%s" % comma)
        else:
            lines.append(" %s: %s%s" % (json.dumps(k), json.dumps(v), comma))
    lines.append("}")
    return "\n".join(lines) + "\n"


_KIND = {"B": ("u8", 0, 0xFF), "H": ("u16", 0, 0xFFFF), "I": ("u32", 0, 0xFFFFFFFF),
         "h": ("i16", -0x8000, 0x7FFF), "i": ("i32", -0x80000000, 0x7FFFFFFF)}


def _fmt_kinds(fmt):
    """['u8', 'u32', '32s', ...] for a little-endian struct format."""
    out = []
    num = ""
    for ch in fmt[1:]:
        if ch.isdigit():
            num += ch
        elif ch == "s":
            out.append(num + "s")
            num = ""
        else:
            out.extend([ch] * int(num or "1"))
            num = ""
    return out


def _fields_doc(fmt, names, ranges):
    parts = []
    for fname, ch, r in zip(names, _fmt_kinds(fmt), ranges):
        if ch.endswith("s"):
            parts.append("%s [%s]" % (fname, ch[:-1]))
            continue
        kind, lo, hi = _KIND[ch]
        rng = "" if tuple(r) == (lo, hi) else " %d..%d" % tuple(r)
        parts.append("%s %s%s" % (fname, kind, rng))
    return parts


def layout_doc(msg_type):
    """One-line description of a payload layout, for the SPEC table."""
    _, _, fmt, names, ranges, tail = m.CATALOGUE[msg_type]
    parts = _fields_doc(fmt, names, ranges)
    if tail is not None:
        if tail[0] == catalogue.BLOB:
            parts.append("%s [%d..%d] (rest of payload)" % (tail[1], tail[2], tail[3]))
        elif tail[0] == catalogue.STRS:
            for fname in tail[1]:
                parts.append("%s str (u8 len %d..%d + printable ASCII)"
                             % (fname, tail[2], tail[3]))
        else:
            sub = ", ".join(_fields_doc(tail[3], tail[4], tail[5]))
            parts.append("%s: u8 count 0..%d, then count x {%s}" % (tail[1], tail[2], sub))
    return "; ".join(parts) or "(empty)"


def message_table_md():
    lines = [TABLE_BEGIN, "",
             "| type | name | dir | auth | max len | payload (little-endian, in order) |",
             "|---|---|---|---|---|---|"]
    for t in describe.types():
        name, needs_auth = m.CATALOGUE[t][0], m.CATALOGUE[t][1]
        d = "H->D" if t < codes.DEVICE_TO_HOST else "D->H"
        lines.append("| 0x%02X | %s | %s | %s | %d | %s |" % (
            t, name, d, "required" if needs_auth else "-", describe.max_len(t),
            layout_doc(t)))
    lines += ["", TABLE_END]
    return "\n".join(lines)


def spec_text(current):
    start = current.index(TABLE_BEGIN)
    end = current.index(TABLE_END) + len(TABLE_END)
    return current[:start] + message_table_md() + current[end:]


def main(argv):
    check = "--check" in argv
    with open(SPEC_PATH) as fh:
        spec_now = fh.read()
    want = {VECTORS_PATH: vectors_text(), SPEC_PATH: spec_text(spec_now)}
    stale = []
    for path in sorted(want):
        try:
            with open(path) as fh:
                have = fh.read()
        except OSError:
            have = None
        if have != want[path]:
            stale.append(path)
            if not check:
                with open(path, "w") as fh:
                    fh.write(want[path])
    for path in stale:
        print(("stale: %s" if check else "wrote %s") % os.path.relpath(path, ROOT))
    return 1 if (check and stale) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
