"""Memory and CPU of the firmware on the emulated 32-bit board (`make bench-image`).

Uses a current image or builds it (tools/build_image.py), then inside qemu with
-icount shift=3 (one instruction per 8 ns, about 125 MIPS, deterministic):
heap after boot, after the firmware's imports, booted, running a program,
with the serial link active, the allocations of a program load, and the
control tick's time, alone and with the link (a STATUS request every
second, telemetry). Writes out/bench-image/bench.json; prints the figures.

  python tools/bench_image.py [--ticks N] [--out DIR]
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'tools'))

import build_image                       # noqa: E402
from simulator.runtime import qemu_board  # noqa: E402


def status_frames(n=16):
    from protocol import codes as C
    from protocol import messages as M
    from protocol.frame import encode_frame
    return [encode_frame(C.STATUS_REQ, 1000 + i, 0, M.pack(C.STATUS_REQ, None)) for i in range(n)]


def run(ticks=3000):
    build_image.check_tools()
    elf = build_image.current_image() or build_image.build()
    text, data, bss = build_image.flash_use(elf)
    free, alloc = qemu_board.boot_heap(elf)
    frames = ', '.join('bytes.fromhex(%r)' % f.hex() for f in status_frames())
    with qemu_board.QemuBoard(elf, timeout=600) as b:
        out = b.exec('import bench_tick\nbench_tick.main([%s], %d)' % (frames, ticks))
    r = json.loads(out.strip().splitlines()[-1])
    # ticks_us -> instructions -> microseconds at 8 ns an instruction (125 MIPS)
    per_us = r['calib_instructions'] / r['calib_us']
    for k in ('tick_us_mean', 'tick_us_max', 'link_tick_us_mean', 'link_tick_us_max',
              'idle_gc_tick_us_mean', 'idle_gc_tick_us_max', 'gc_us_collect'):
        r[k.replace('_us_', '_instructions_')] = int(r[k] * per_us)
        r[k.replace('_us_', '_cpu_us_')] = round(r[k] * per_us * 8 / 1000.0, 1)
    r.update({'board': qemu_board.BOARD, 'flash_text_bytes': text, 'ram_data_bss': data + bss,
              'heap_bytes': build_image.heap_bytes(),
              'heap_free_after_boot_repl': free, 'icount': 'shift=3 (8 ns per instruction)'})
    return r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--ticks', type=int, default=3000)
    ap.add_argument('--out', default=str(ROOT / 'out' / 'bench-image'))
    a = ap.parse_args(argv)
    try:
        r = run(a.ticks)
    except (build_image.ImageError, qemu_board.BoardError) as e:
        print('bench image: %s' % e, file=sys.stderr)
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'bench.json').write_text(json.dumps(r, indent=1) + '\n')
    h = r['heap_bytes']
    print('image      %s, flash %d bytes (text), heap %d bytes' % (r['board'], r['flash_text_bytes'], h))
    for key, what in (('heap_free_boot', 'after boot'), ('heap_free_imported', 'firmware imported'),
                      ('heap_free_booted', 'pump booted (fake HAL, 8 KB NV on the heap)'),
                      ('heap_free_running', 'program running'), ('heap_free_link', 'link handler added'),
                      ('heap_free_link_after', 'after %d ticks with the link' % r['ticks'])):
        print('heap free  %6d bytes (%5.1f KB used)  %s' % (r[key], (h - r[key]) / 1024, what))
    print('load       %d bytes allocated by load + confirm + start (collector off)' %
          r['load_alloc_bytes'])
    print('tick       %.0f us mean, %.0f us max at 125 MIPS (%d / %d instructions; %d steady '
          'ticks, 1.77 mL/h)' % (r['tick_cpu_us_mean'], r['tick_cpu_us_max'],
                                 r['tick_instructions_mean'], r['tick_instructions_max'], r['ticks']))
    print('tick+link  %.0f us mean, %.0f us max at 125 MIPS (STATUS each second: %d frames '
          'handled, %d telemetry)' % (r['link_tick_cpu_us_mean'], r['link_tick_cpu_us_max'],
                                      r['link_frames_handled'], r['telemetry_sent']))
    print('tick+link  %.0f us mean, %.0f us max with the board\'s idle-time collection '
          '(%d collections between ticks, %.0f us each)' % (
              r['idle_gc_tick_cpu_us_mean'], r['idle_gc_tick_cpu_us_max'], r['idle_gc_runs'],
              r['gc_cpu_us_collect']))
    print('written    %s' % (out / 'bench.json'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
