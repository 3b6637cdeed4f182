"""`make image`: the firmware image for the emulated board: MicroPython's qemu
port, BOARD=NETDUINO2 (STM32F205, Cortex-M3, 128 KB SRAM), every device
module frozen into flash by boards/qemu_netduino2/manifest.py, the heap of
its board.yaml.

  python tools/build_image.py            # build (cached), print flash use and heap free after boot
  python tools/build_image.py --check    # exit 0 if an image can be built here, else 2 + one line

MicroPython source, one of:
  MICROPY_SRC=dir          a MicroPython tree at v1.28.0 (py/, mpy-cross/, ports/qemu/)
  MICROPY_TARBALL=file     a .tar.gz of that tree; extracted once into build/micropython/
Toolchain: arm-none-eabi-gcc with newlib, make, qemu-system-arm
(Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm).

Outputs in build/image/: firmware.elf (the image), image.json (flash use,
heap free after boot), build.log. Rebuilds are incremental: the extracted tree,
mpy-cross and the port's objects are kept; only changed frozen modules
recompile.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))   # run as a script: the repository's packages

from pumphost.boards import load_board                      # noqa: E402
from simulator.runtime import qemu_board                    # noqa: E402
from simulator.runtime.qemu_board import BOARD, ELF, IMAGE_DIR, PORT_BOARD  # noqa: E402

BOARD_DIR = ROOT / 'boards' / BOARD
BUILD = ROOT / 'build'
INFO = IMAGE_DIR / 'image.json'
INSTALL_HINT = ('apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi '
                'qemu-system-arm')


class ImageError(Exception):
    """Why no image can be built or run here: one line for the user."""


def heap_bytes():
    """The heap the board gives MicroPython (board.yaml heap_kb): 128 KB of
    SRAM holds it, MicroPython's state and the stack; the port's default
    heap (140 KB) does not fit."""
    return load_board(BOARD)['heap_kb'] * 1024


def _missing_tools():
    missing = [t for t in ('make', 'arm-none-eabi-gcc', 'qemu-system-arm') if not shutil.which(t)]
    if 'arm-none-eabi-gcc' not in missing:
        r = subprocess.run(['arm-none-eabi-gcc', '-print-file-name=libc.a'],
                           capture_output=True, text=True)
        if not os.path.isabs(r.stdout.strip()):
            missing.append('libnewlib-arm-none-eabi')
    return missing


def _extract(tarball):
    """The tarball's tree under build/micropython/<sha256 prefix>/ (once)."""
    tarball = Path(tarball)
    if not tarball.is_file():
        raise ImageError('MICROPY_TARBALL=%s: no such file (a .tar.gz of MicroPython v1.28.0)'
                         % tarball)
    h = hashlib.sha256()
    with open(tarball, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    dest = BUILD / 'micropython' / h.hexdigest()[:16]
    stamp = dest / '.extracted'
    if not stamp.exists():
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        with tarfile.open(tarball) as t:
            t.extractall(dest, filter='data')
        stamp.write_text(str(tarball) + '\n')
    tops = [p for p in dest.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 and not (dest / 'py').exists() else dest


def source_tree():
    """The MicroPython tree to build from (MICROPY_SRC or MICROPY_TARBALL)."""
    src = os.environ.get('MICROPY_SRC')
    tarball = os.environ.get('MICROPY_TARBALL')
    if src:
        tree = Path(src).resolve()
    elif tarball:
        tree = _extract(tarball)
    else:
        raise ImageError('no MicroPython source: set MICROPY_SRC=<micropython v1.28.0 tree> or '
                         'MICROPY_TARBALL=<its .tar.gz> (git clone --depth 1 --branch v1.28.0 '
                         'https://github.com/micropython/micropython)')
    if not (tree / 'ports' / 'qemu' / 'Makefile').exists() or not (tree / 'mpy-cross').is_dir():
        raise ImageError('MicroPython source %s: no ports/qemu or mpy-cross in it '
                         '(want a v1.28.0 tree)' % tree)
    return tree


def check_tools():
    missing = _missing_tools()
    if missing:
        raise ImageError('missing %s: %s' % (', '.join(missing), INSTALL_HINT))


def check():
    """Raise ImageError (one line) unless an image can be built here."""
    check_tools()
    return source_tree()


def _run(cmd, cwd, log, tree):
    # MicroPython names its version from `git describe` in its tree: stop git
    # from finding this repository around an extracted tarball
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(Path(tree).parent))
    with open(log, 'ab') as f:
        f.write(('$ %s\n' % ' '.join(str(c) for c in cmd)).encode())
        f.flush()
        r = subprocess.run([str(c) for c in cmd], cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                           env=env)
    if r.returncode:
        tail = Path(log).read_text(errors='replace').strip().splitlines()[-15:]
        raise ImageError('%s failed (log %s):\n%s' % (cmd[0], log, '\n'.join(tail)))


def frozen_sources():
    """Every file the image is built from in this repository."""
    from pumphost.devicebuild import device_modules
    out = list(device_modules(ROOT)) + [BOARD_DIR / 'manifest.py', BOARD_DIR / 'board.yaml']
    out += sorted((ROOT / 'tests' / 'device').glob('*.py'))
    out += sorted((ROOT / 'tools' / 'image').glob('*.py'))
    return out


def current_image():
    """build/image/firmware.elf if it is newer than every file it is built
    from, else None (tests use a current image without the source at hand)."""
    if not ELF.exists():
        return None
    t = ELF.stat().st_mtime
    return ELF if all(p.stat().st_mtime <= t for p in frozen_sources()) else None


def build(jobs=2):
    """Build (or bring up to date) build/image/firmware.elf; returns its path.
    One build at a time (parallel test workers share the cache): a lock file."""
    import fcntl
    check_tools()
    IMAGE_DIR.mkdir(parents=True, exist_ok=True)
    with open(IMAGE_DIR / '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(source_tree(), jobs)


def _build(tree, jobs):
    log = IMAGE_DIR / 'build.log'
    log.write_text('')
    if not (tree / 'mpy-cross' / 'build' / 'mpy-cross').exists():
        _run(['make', '-C', tree / 'mpy-cross', '-j%d' % jobs], ROOT, log, tree)
    # the frozen build insists on micropython-lib being present (a README.md
    # in MPY_LIB_DIR) even when the manifest requires nothing from it
    libdir = IMAGE_DIR / 'micropython-lib'
    libdir.mkdir(exist_ok=True)
    (libdir / 'README.md').write_text('Empty: the pump image requires no micropython-lib package.\n')
    port_build = IMAGE_DIR / ('build-' + PORT_BOARD)
    _run(['make', '-C', tree / 'ports' / 'qemu', '-j%d' % jobs, 'BOARD=' + PORT_BOARD,
          'BUILD=%s' % port_build, 'MICROPY_HEAP_SIZE=%d' % heap_bytes(),
          'FROZEN_MANIFEST=%s' % (BOARD_DIR / 'manifest.py'), 'MPY_LIB_DIR=%s' % libdir],
         ROOT, log, tree)
    tmp = ELF.with_suffix('.tmp')   # readers never see a half-copied image
    shutil.copy(port_build / 'firmware.elf', tmp)
    os.replace(tmp, ELF)
    return ELF


def flash_use(elf=ELF):
    """(text, data, bss) bytes of the image (arm-none-eabi-size)."""
    r = subprocess.run(['arm-none-eabi-size', str(elf)], capture_output=True, text=True,
                       check=True)
    text, data, bss = (int(x) for x in r.stdout.splitlines()[1].split()[:3])
    return text, data, bss


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--check', action='store_true',
                    help='only say whether an image can be built here')
    ap.add_argument('-j', type=int, default=2, help='make jobs (default 2)')
    a = ap.parse_args(argv)
    try:
        if a.check:
            print('image: can build from %s' % check())
            return 0
        elf = build(a.j)
        text, data, bss = flash_use(elf)
        free, alloc = qemu_board.boot_heap(elf)
    except (ImageError, qemu_board.BoardError) as e:
        print('make image: %s' % e, file=sys.stderr)
        return 2
    info = {'board': BOARD, 'port_board': PORT_BOARD, 'elf': str(elf.relative_to(ROOT)),
            'flash_text_bytes': text, 'data_bytes': data, 'bss_bytes': bss,
            'heap_bytes': heap_bytes(),
            'heap_free_after_boot': free, 'heap_alloc_after_boot': alloc}
    INFO.write_text(json.dumps(info, indent=1) + '\n')
    print('image: %s (%s, STM32F205: 1 MB flash, 128 KB SRAM)' % (info['elf'], PORT_BOARD))
    print('flash: %d bytes text (%.1f KB of 1024 KB), RAM: %d data + %d bss' % (
        text, text / 1024, data, bss))
    print('heap after boot: %d bytes free of %d (%d in use)' % (free, info['heap_bytes'], alloc))
    return 0


if __name__ == '__main__':
    sys.exit(main())
