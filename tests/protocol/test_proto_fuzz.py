"""Seeded fuzz of the streaming decoder: 100,000+ random and mutated frames.

Asserts, for one long byte stream mixing good frames, mutated frames and
random garbage:
* the decoder never raises;
* every frame it accepts is byte-identical to a frame that was really sent
  (no corrupted frame accepted);
* every good frame that starts right after a 0x00 is decoded (it
  resynchronises on the next good frame);
* its counters add up.
Fast enough for CI (a few seconds); the seed makes failures reproducible.
"""
import random
import zlib

from protocol.decoder import Decoder
from protocol.frame import FLAG_AUTH
from pumphost.prototools.fuzz import Fuzzer, make_pool as _pool, mutate as _mutate

SEED = 20261127
MIN_BAD_FRAMES = 100_000


def test_fuzz_stream_decoder():
    fz = Fuzzer(SEED).batch(MIN_BAD_FRAMES)
    r = fz.result()
    assert r['bad_frames'] >= MIN_BAD_FRAMES
    assert r['exceptions'] == 0
    assert r['corrupted_accepted'] == 0          # nothing corrupted got through
    assert r['good_frames_lost'] == 0            # every protected good frame came out
    assert r['counts_add_up']
    c = r['decoder_counts']
    assert c["crc"] > 1000 and c["cobs"] > 100 and c["too_long"] > 100 and c["short"] > 100


def test_fuzz_batches_continue_one_decoder():
    fz = Fuzzer(SEED + 3)
    for _ in range(3):
        fz.batch(5000)
    r = fz.result()
    assert r['exceptions'] == r['corrupted_accepted'] == r['good_frames_lost'] == 0
    assert r['counts_add_up'] and r['accepted'] > 3000


def test_fuzz_feed_byte_equals_bulk():
    rng = random.Random(SEED + 1)
    pool = _pool(rng, 50)
    parts = []
    for _ in range(3000):
        w = pool[rng.randrange(len(pool))]
        parts.append(_mutate(rng, w) if rng.random() < 0.5 else w)
    stream = b"".join(parts)
    a, b = Decoder(), Decoder()
    out_a = [bytes(f.raw) for f in a.feed(stream)]
    out_b = []
    for byte in stream:
        f = b.feed_byte(byte)
        if f is not None:
            out_b.append(bytes(f.raw))
    assert out_a == out_b and a.counts() == b.counts()


def test_fuzz_crc_collisions_not_accepted_as_other_frames():
    """Random bodies with a *valid* CRC but random header bytes: anything
    accepted must satisfy every header rule."""
    rng = random.Random(SEED + 2)
    d = Decoder()
    for _ in range(20000):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        raw = body + zlib.crc32(body).to_bytes(4, "little")
        from protocol_testlib import ref_cobs_encode
        for f in d.feed(ref_cobs_encode(raw) + b"\x00"):
            assert f.version == 1 and f.flags & 0xF0 == 0
            assert 7 + len(f.payload) + (20 if f.flags & FLAG_AUTH else 0) == len(body)
            assert (f.trailer is not None) == bool(f.flags & FLAG_AUTH)


def test_fuzz_bench_cli_small(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent.parent
    r = subprocess.run([sys.executable, '-m', 'simulator.ui.cli', 'bench', 'fuzz', '--frames', '20000',
                        '--seed', '4', '--out', str(tmp_path)], cwd=root, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    d = json.loads((tmp_path / 'fuzz.json').read_text())
    assert d['met'] and d['frames'] >= 20000 and d['corrupted_accepted'] == 0
