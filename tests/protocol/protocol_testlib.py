"""Shared helpers for the protocol tests (CPython only).

Holds an INDEPENDENT COBS implementation (split-on-zero, written from the
paper's definition, not sharing code with protocol/cobs.py) and the vectors
loader, so the vector tests do not trust the code they check.
"""
import json
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VECTORS_PATH = ROOT / "protocol" / "vectors.json"
SPEC_PATH = ROOT / "protocol" / "SPEC.md"


def ref_cobs_encode(data):
    """COBS by splitting at zeros; canonical (no 0x01 after a final 0xFF block)."""
    data = bytes(data)
    out = bytearray()
    chunks = data.split(b"\x00")
    for idx, chunk in enumerate(chunks):
        last = idx == len(chunks) - 1
        while len(chunk) >= 254:
            out += b"\xff" + chunk[:254]
            chunk = chunk[254:]
            if not chunk and last:
                return bytes(out)
        out += bytes([len(chunk) + 1]) + chunk
    return bytes(out)


def ref_cobs_decode(enc):
    enc = bytes(enc)
    out = bytearray()
    i = 0
    while i < len(enc):
        code = enc[i]
        if code == 0:
            raise ValueError("zero code byte")
        block = enc[i + 1:i + code]
        if len(block) != code - 1 or 0 in block:
            raise ValueError("bad block")
        out += block
        i += code
        if code < 0xFF and i < len(enc):
            out.append(0)
    return bytes(out)


def crc_ok(raw):
    """True if the last 4 bytes are zlib.crc32 of the rest, little-endian."""
    return len(raw) >= 4 and zlib.crc32(raw[:-4]) == int.from_bytes(raw[-4:], "little")


def load_vectors():
    with open(VECTORS_PATH) as fh:
        return json.load(fh)


def load_gen_vectors():
    """The vector generator (pumphost/prototools/gen_vectors.py)."""
    from pumphost.prototools import gen_vectors
    return gen_vectors
