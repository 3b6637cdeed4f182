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
from protocol.frame import encode_frame, FLAG_AUTH, FLAG_REPLY, FLAG_RETRY, FLAG_EVENT

SEED = 20261127
MIN_BAD_FRAMES = 100_000


def _pool(rng, n):
    pool = []
    for i in range(n):
        size = rng.choice([0, 1, 2, 3, 4, 8, 12, 20, 33, 44, 60]) if rng.random() < 0.95 \
            else rng.randrange(61, 257)
        zero_p = rng.choice([0.0, 0.05, 0.3])
        payload = bytes(0 if rng.random() < zero_p else rng.randrange(1, 256)
                        for _ in range(size))
        tr = bytes(rng.randrange(256) for _ in range(20)) if rng.random() < 0.3 else None
        flags = rng.choice([0, FLAG_REPLY, FLAG_RETRY, FLAG_EVENT]) | (FLAG_AUTH if tr else 0)
        wire = encode_frame(rng.randrange(256), i & 0xFFFF, flags, payload, tr)
        pool.append(wire)
    return pool


def _mutate(rng, w):
    w = bytearray(w)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 5])):
        op = rng.randrange(9)
        if not w:
            w.append(rng.randrange(256))
            continue
        i = rng.randrange(len(w))
        if op == 0:
            w[i] ^= 1 << rng.randrange(8)            # bit flip
        elif op == 1:
            w[i] = rng.randrange(256)                 # byte replace
        elif op == 2:
            w.insert(i, rng.randrange(256))           # insert
        elif op == 3:
            del w[i]                                  # delete
        elif op == 4:
            del w[i:]                                 # truncate (drops delimiter)
        elif op == 5:
            w[i] = 0                                  # early delimiter
        elif op == 6:
            j = rng.randrange(len(w))
            w[i], w[j] = w[j], w[i]                   # swap
        elif op == 7:
            w[i:i] = w[i:i + rng.randrange(1, 8)]     # duplicate a slice
        else:
            for k in range(i, min(len(w), i + rng.randrange(2, 6))):
                w[k] ^= rng.randrange(1, 256)         # burst
    return bytes(w)


def _garbage(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if kind == 1:
        return bytes(rng.randrange(1, 256) for _ in range(rng.randrange(280, 700)))  # too long
    if kind == 2:
        return bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 30))) + b"\x00"
    return b"\x00" * rng.randrange(1, 4)


def test_fuzz_stream_decoder():
    rng = random.Random(SEED)
    pool = _pool(rng, 600)
    raws = set()
    for w in pool:
        d = Decoder()
        raws.add(bytes(d.feed(w)[0].raw))
    events = []       # (bytes, index of good frame in expected order or -1)
    protected = []    # pool indices of good frames that must come out
    n_bad = 0
    prev_ends_zero = True
    while n_bad < MIN_BAD_FRAMES:
        r = rng.random()
        if r < 0.25:
            k = rng.randrange(len(pool))
            chunk = pool[k]
            if rng.random() < 0.3:
                chunk = b"\x00" + chunk   # link-layer flush before a frame
            if prev_ends_zero or chunk[0] == 0:
                protected.append(k)
        elif r < 0.80:
            chunk = _mutate(rng, pool[rng.randrange(len(pool))])
            n_bad += 1
        else:
            chunk = _garbage(rng)
            n_bad += 1
        if chunk:
            events.append(chunk)
            prev_ends_zero = chunk[-1] == 0
    stream = b"".join(events)

    dec = Decoder()
    accepted = []
    # feed in irregular slices, as reads from a UART would arrive
    pos = 0
    while pos < len(stream):
        step = rng.choice([1, 7, 64, 300, 4096])
        dec.feed_into(stream[pos:pos + step], lambda f: accepted.append(bytes(f.raw)))
        pos += step

    assert n_bad >= MIN_BAD_FRAMES
    # nothing corrupted got through
    for raw in accepted:
        assert raw in raws
    # every protected good frame came out, in order
    it = iter(accepted)
    for k in protected:
        want = bytes(Decoder().feed(pool[k])[0].raw)
        for got in it:
            if got == want:
                break
        else:
            raise AssertionError("good frame %d lost after resync" % k)
    c = dec.counts()
    assert c["ok"] == len(accepted) >= len(protected)
    assert c["crc"] > 1000 and c["cobs"] > 100 and c["too_long"] > 100 and c["short"] > 100
    assert sum(c.values()) - c["ok"] == dec.errors()


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
