"""Seeded fuzz of the streaming decoder, shared by the CI test and the bench.

One long byte stream mixes good frames, mutated frames and random garbage,
fed in irregular slices as UART reads arrive. Checked per batch: the decoder
never raises; every frame it accepts is byte-identical to a frame really sent
(no corrupted frame accepted); every good frame that starts right after a
0x00 comes out (it resynchronises on the next good frame); its counters add
up. Batches continue one decoder, so state carries across them.
Host-only (protocol/tools): it builds streams of megabytes.
"""
import random

from protocol.decoder import Decoder
from protocol.frame import encode_frame, FLAG_AUTH, FLAG_REPLY, FLAG_RETRY, FLAG_EVENT


def make_pool(rng, n):
    pool = []
    for i in range(n):
        size = rng.choice([0, 1, 2, 3, 4, 8, 12, 20, 33, 44, 60]) if rng.random() < 0.95 \
            else rng.randrange(61, 257)
        zero_p = rng.choice([0.0, 0.05, 0.3])
        payload = bytes(0 if rng.random() < zero_p else rng.randrange(1, 256)
                        for _ in range(size))
        tr = bytes(rng.randrange(256) for _ in range(20)) if rng.random() < 0.3 else None
        flags = rng.choice([0, FLAG_REPLY, FLAG_RETRY, FLAG_EVENT]) | (FLAG_AUTH if tr else 0)
        pool.append(encode_frame(rng.randrange(256), i & 0xFFFF, flags, payload, tr))
    return pool


def mutate(rng, w):
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


def garbage(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if kind == 1:
        return bytes(rng.randrange(1, 256) for _ in range(rng.randrange(280, 700)))  # too long
    if kind == 2:
        return bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 30))) + b"\x00"
    return b"\x00" * rng.randrange(1, 4)


class Fuzzer:
    def __init__(self, seed, pool_size=600):
        self.rng = random.Random(seed)
        self.pool = make_pool(self.rng, pool_size)
        self.raws = {bytes(Decoder().feed(w)[0].raw): k for k, w in enumerate(self.pool)}
        self.want = [bytes(Decoder().feed(w)[0].raw) for w in self.pool]
        self.dec = Decoder()
        self.frames = 0          # good + bad frames sent
        self.bad = 0
        self.accepted = 0
        self.corrupted_accepted = 0
        self.lost = 0
        self.exceptions = 0

    def batch(self, n_bad):
        """Send frames until n_bad more bad ones went out; check the batch."""
        rng, pool = self.rng, self.pool
        events, protected = [], []
        sent_bad = 0
        prev_ends_zero = True
        while sent_bad < n_bad:
            r = rng.random()
            if r < 0.25:
                k = rng.randrange(len(pool))
                chunk = pool[k]
                if rng.random() < 0.3:
                    chunk = b"\x00" + chunk   # link-layer flush before a frame
                if prev_ends_zero or chunk[0] == 0:
                    protected.append(k)
            elif r < 0.80:
                chunk = mutate(rng, pool[rng.randrange(len(pool))])
                sent_bad += 1
            else:
                chunk = garbage(rng)
                sent_bad += 1
            if chunk:
                events.append(chunk)
                prev_ends_zero = chunk[-1] == 0
                self.frames += 1
        # a delimiter ends the batch so a frame cut at its end cannot glue to
        # the next batch's first good frame (which is then protected)
        stream = b"".join(events) + b"\x00"
        self.bad += sent_bad
        accepted = []
        pos = 0
        try:
            while pos < len(stream):
                step = rng.choice([1, 7, 64, 300, 4096])
                self.dec.feed_into(stream[pos:pos + step], lambda f: accepted.append(bytes(f.raw)))
                pos += step
        except Exception:   # the verdict counts it; never expected
            self.exceptions += 1
        self.accepted += len(accepted)
        self.corrupted_accepted += sum(1 for raw in accepted if raw not in self.raws)
        it = iter(accepted)
        for k in protected:
            for got in it:
                if got == self.want[k]:
                    break
            else:
                self.lost += 1
                break
        return self

    def result(self):
        c = self.dec.counts()
        return {
            'frames': self.frames, 'bad_frames': self.bad, 'accepted': self.accepted,
            'corrupted_accepted': self.corrupted_accepted, 'good_frames_lost': self.lost,
            'exceptions': self.exceptions, 'decoder_counts': c,
            'counts_add_up': sum(c.values()) - c['ok'] == self.dec.errors() and c['ok'] == self.accepted,
        }
