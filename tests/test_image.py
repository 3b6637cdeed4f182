"""The firmware on the emulated 32-bit board (MicroPython qemu port,
NETDUINO2: STM32F205, 128 KB SRAM, 88 KB heap, device modules frozen in
flash; `make image`): it boots, and the MicroPython gate's scripted run
passes inside it: boot, 1.77 mL/h through the device's checks, 12,000 steady
ticks under heap_lock across the 2**30 clock wrap, then an occlusion stops
the motor.

On the 64-bit unix port small ints reach 2**62; here they end at 2**30 - 1,
and a frozen image keeps a constant tuple's ints above 8191 as long objects
in flash: both make arithmetic allocate, which heap_lock turns into a
MemoryError in the tick. tests/test_small_int.py finds such arithmetic on
CPython over the whole course; this runs the real thing.
"""
import os
import subprocess
import sys

import pytest

from tests.image_support import build_image, image_or_skip
from simulator.runtime.qemu_board import QemuBoard, boot_heap


@pytest.fixture(scope='module')
def elf():
    return image_or_skip()


def test_image_boots_with_the_heap_free(elf):
    free, alloc = boot_heap(elf)
    assert 0 < alloc and free + alloc <= build_image.heap_bytes()
    assert free > 80000, free     # frozen modules cost no heap until imported


def test_heap_lock_tick_run_passes_in_the_image(elf):
    with QemuBoard(elf, timeout=300) as b:
        out = b.exec('import gate_scripted_run\nprint(gate_scripted_run.run(None))')
    assert '1 passed, 0 failed' in out and out.split()[-1] == 'True', out
    assert 'ticks: 12000 steady under heap_lock' in out, out


def test_image_runs_32_bit_small_ints(elf):
    """The platform fact the run above depends on: 2**30 is a long here
    (allocates under heap_lock), 2**30 - 1 is not."""
    with QemuBoard(elf) as b:
        out = b.exec(
            'import micropython\n'
            'def f(a, b):\n'
            '    micropython.heap_lock()\n'
            '    try:\n'
            '        a + b\n'
            '        ok = True\n'
            '    except MemoryError:\n'
            '        ok = False\n'
            '    micropython.heap_unlock()\n'
            '    return ok\n'
            'print(f(1 << 29, (1 << 29) - 1), f(1 << 29, 1 << 29))\n')
    assert out.split() == ['True', 'False'], out


def test_make_image_without_source_or_with_a_bad_one_is_one_line(tmp_path):
    """No MicroPython source (or no toolchain): one line naming what to set
    or install, exit status 2, nothing built."""
    script = str(build_image.ROOT / 'tools' / 'build_image.py')
    env = {k: v for k, v in os.environ.items() if k not in ('MICROPY_SRC', 'MICROPY_TARBALL')}
    r = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('make image: '), r.stderr
    assert 'MICROPY_SRC' in lines[0] or 'apt-get install' in lines[0], lines[0]
    try:
        build_image.check_tools()
        tools = True
    except build_image.ImageError:
        tools = False          # then every case below names the packages to install
    env['MICROPY_TARBALL'] = str(tmp_path / 'missing.tar.gz')
    r = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and r.stderr.count('\n') == 1, r.stderr
    assert ('missing.tar.gz' if tools else 'apt-get install') in r.stderr
    env['MICROPY_TARBALL'] = ''
    env['MICROPY_SRC'] = str(tmp_path)
    r = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and r.stderr.count('\n') == 1, r.stderr
    assert ('no ports/qemu' if tools else 'apt-get install') in r.stderr


def test_bench_image_measures_heap_and_tick_time(elf):
    """make bench-image's run, short: the program runs on the image, the link
    answers every STATUS request, and the heap and CPU figures are there."""
    sys.path.insert(0, str(build_image.ROOT / 'tools'))
    import bench_image
    r = bench_image.run(ticks=300)
    assert r['load_ok'] and r['state'] == 'RUNNING', r
    assert r['link_frames_handled'] == 60, r   # two runs with the link, a STATUS each 10 ticks
    assert (r['heap_free_boot'] > r['heap_free_imported'] > r['heap_free_booted']
            > r['heap_free_link']), r
    assert 0 < r['tick_instructions_mean'] <= r['tick_instructions_max'], r
    assert r['link_tick_instructions_mean'] > r['tick_instructions_mean'], r
    assert r['idle_gc_runs'] > 0, r     # the board's collections ran between ticks


def test_qemu_does_not_outlive_a_killed_host(elf, tmp_path):
    """A host killed without closing the board (SIGKILL) takes qemu with it:
    an orphaned qemu would spin on a core forever."""
    import signal
    import time
    script = tmp_path / 'host.py'
    script.write_text('import os, signal\n'
                      'from simulator.runtime.qemu_board import QemuBoard\n'
                      'b = QemuBoard(%r)\n'
                      'print(b.proc.pid, flush=True)\n'
                      'os.kill(os.getpid(), signal.SIGKILL)\n' % str(elf))
    r = subprocess.run([sys.executable, str(script)], cwd=str(build_image.ROOT),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr
    pid = int(r.stdout.split()[0])

    def alive():
        try:
            with open('/proc/%d/status' % pid) as f:
                return 'State:\tZ' not in f.read()   # a zombie has exited
        except OSError:
            return False
    for _ in range(100):          # a bound on the wait, not a timing check
        if not alive():
            break
        time.sleep(0.1)
    assert not alive(), 'qemu %d outlived its host' % pid
