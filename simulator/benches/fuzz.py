"""`pumpsim bench fuzz`: the streaming decoder against millions of random and
mutated frames (pumphost/prototools/fuzz.py; CI runs 100,000 of them).

Writes DIR/fuzz.json: frames sent, bad frames, accepted, corrupted frames
accepted (must be 0), good frames lost after a resync (must be 0), exceptions
(must be 0), the decoder's error counters, wall time. Exit 1 if any check
fails. Deterministic under --seed.
"""
import json
import sys
import time
from pathlib import Path

from pumphost.config.schema import ConfigError

BATCH_BAD_FRAMES = 100_000


def run(frames, seed, progress=False):
    from pumphost.prototools.fuzz import Fuzzer
    fz = Fuzzer(seed)
    t0 = time.perf_counter()
    while fz.frames < frames:
        fz.batch(min(BATCH_BAD_FRAMES, max(1, int((frames - fz.frames) * 0.75))))
        if progress:
            sys.stderr.write('\r%d / %d frames' % (fz.frames, frames))
            sys.stderr.flush()
    if progress:
        sys.stderr.write('\n')
    r = fz.result()
    wall = time.perf_counter() - t0
    r.update({'seed': seed, 'frames_requested': frames, 'wall_seconds': round(wall, 1),
              'frames_per_second': round(r['frames'] / wall) if wall else None,
              'met': r['exceptions'] == 0 and r['corrupted_accepted'] == 0
              and r['good_frames_lost'] == 0 and r['counts_add_up']})
    return r


def cmd_fuzz(a):
    if a.frames < 1000 or a.frames > 100_000_000:
        raise ConfigError('--frames=%d: allowed 1000..100000000' % a.frames)
    r = run(a.frames, a.seed, progress=sys.stderr.isatty())
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'fuzz.json').write_text(json.dumps(r, indent=2) + '\n')
    from simulator.benches.plots import plot_fuzz
    plot_fuzz(out / 'fuzz.png', r)
    print('fuzz %d frames (%d bad), seed %d: accepted %d, corrupted accepted %d, good lost %d, '
          'exceptions %d -> %s (%.0f s, %s frames/s)' % (
              r['frames'], r['bad_frames'], a.seed, r['accepted'], r['corrupted_accepted'],
              r['good_frames_lost'], r['exceptions'], 'met' if r['met'] else 'FAILED',
              r['wall_seconds'], r['frames_per_second']))
    print('written   %s/fuzz.json, fuzz.png' % out)
    return 0 if r['met'] else 1


def register(bench):
    p = bench.add_parser('fuzz', help='decoder fuzz: millions of random and mutated frames')
    p.add_argument('--frames', type=int, default=10_000_000)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--out', default='out/bench-fuzz')
    p.set_defaults(func=cmd_fuzz)
