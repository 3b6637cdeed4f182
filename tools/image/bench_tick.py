"""Heap and CPU of the firmware inside the board image (frozen by
boards/qemu_netduino2/manifest.py; runs only there: it uses the Thumb inline
assembler). tools/bench_image.py runs it under qemu with -icount shift=3:
emulated time is the instruction count, 8 ns each, so the figures are the
same on any host; time.ticks_us is calibrated against a loop of known
instructions, `calibrate`.

    import bench_tick; bench_tick.main(frames, ticks)

On the fake HAL (no I/O waits): boot, a program at 1.77 mL/h through the
device's checks (the allocations of that load, collector off: an upper
bound of its peak), `ticks` steady ticks, then the same with the serial link
handler active: a STATUS request every second (`frames`: wire bytes the host
built), collections left to MicroPython, then once more with the board
entry's idle-time collection (boards.bridge.main.IdleCollector). Prints one
JSON line.
"""
import gc
import json
import time

import micropython


@micropython.asm_thumb
def _spin(r0):
    label(loop)   # noqa: F821 (inline assembler)
    sub(r0, r0, 1)  # noqa: F821
    bne(loop)   # noqa: F821


def calibrate(n=1000000):
    """time.ticks_us for 2 * n instructions: the port's clock assumes a
    25 MHz SysTick, qemu's runs at 120 MHz, so its microsecond is not 1 us
    of emulated time; this measures the scale instead of trusting it."""
    t0 = time.ticks_us()
    _spin(n)
    return time.ticks_diff(time.ticks_us(), t0), 2 * n


def _ticks(hal, loop, link, frames, n, idle=None):
    """Per tick (loop.poll + link.poll): total and max microseconds. `idle`:
    called after each period's work, outside the measured time (the board
    entry's idle-time collection)."""
    clock = hal.clock
    serial = hal.serial
    us = time.ticks_us
    diff = time.ticks_diff
    poll = loop.poll
    total = 0
    worst = 0
    f = 0
    for k in range(n):
        clock.advance(100)
        if link is not None and k % 10 == 0:
            serial.rx.extend(frames[f % len(frames)])
            f += 1
        t0 = us()
        poll()
        if link is not None:
            link.poll()
        dt = diff(us(), t0)
        total += dt
        if dt > worst:
            worst = dt
        if link is not None and len(serial.tx) > 512:
            serial.tx = bytearray()
        if idle is not None:
            idle()
    return total, worst


def main(frames=(), ticks=3000):
    gc.collect()
    r = {'heap_free_boot': gc.mem_free()}
    r['calib_us'], r['calib_instructions'] = calibrate()
    from hal.fake import make_fake_hal
    from firmware.boot import boot
    from firmware.settings import Settings
    from firmware.program import Program
    gc.collect()
    r['heap_free_imported'] = gc.mem_free()
    hal = make_fake_hal(storage_size=8192)
    pump, loop, _cal = boot(hal, Settings())
    hal.clock.advance(100)
    loop.poll()
    gc.collect()
    r['heap_free_booted'] = gc.mem_free()
    a0 = gc.mem_alloc()
    gc.disable()
    prog = Program([(1, 1773913, 40000000)])
    ok = (pump.load(prog), pump.confirm(prog.digest()), pump.start())
    r['load_alloc_bytes'] = gc.mem_alloc() - a0
    gc.enable()
    r['load_ok'] = ok == (0, 0, 0)
    gc.collect()
    r['heap_free_running'] = gc.mem_free()
    total, worst = _ticks(hal, loop, None, frames, ticks)
    r['tick_us_mean'] = total // ticks
    r['tick_us_max'] = worst
    from firmware.link import Link
    link = Link(pump, hal.serial, b'hai-pump-test-key-do-not-deploy!')
    gc.collect()
    r['heap_free_link'] = gc.mem_free()
    total, worst = _ticks(hal, loop, link, frames, ticks)
    r['link_tick_us_mean'] = total // ticks
    r['link_tick_us_max'] = worst
    # the same with the board entry's idle-time collection (boards/qemu_netduino2/main.py)
    from boards.bridge.main import IdleCollector
    from boards.qemu_netduino2.main import IDLE_GC_BUDGET
    gc.collect()
    collector = IdleCollector(IDLE_GC_BUDGET)
    total, worst = _ticks(hal, loop, link, frames, ticks, collector.idle)
    r['idle_gc_tick_us_mean'] = total // ticks
    r['idle_gc_tick_us_max'] = worst
    r['idle_gc_runs'] = collector.runs
    t0 = time.ticks_us()
    gc.collect()
    r['gc_us_collect'] = time.ticks_diff(time.ticks_us(), t0)
    r['link_frames_handled'] = link.frames_handled
    r['telemetry_sent'] = link.tele_sent
    r['heap_free_link_after'] = gc.mem_free()
    r['state'] = pump.state_name()
    r['ticks'] = ticks
    print(json.dumps(r))
