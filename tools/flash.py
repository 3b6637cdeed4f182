"""Compile the firmware for a flashed board and copy it with mpremote.

  python tools/flash.py --board pico --port /dev/ttyACM0        compile, copy, reset
  python tools/flash.py --board pico --dry-run [--port PORT]    compile, list what would be copied

(`make flash BOARD=pico PORT=/dev/ttyACM0 [DRY_RUN=1]`). The board must run
stock MicroPython already (docs/bench-bringup.md). What is copied: every
module of firmware/, protocol/, hal/__init__ and the board's folder,
compiled with mpy-cross into build/flash/BOARD/, plus a two-line /main.py
that starts the board's entry. The device key is not copied
(docs/keys.md). A running pump ignores Ctrl-C: hold ACKNOWLEDGE while
resetting the board (service mode) before flashing it again.
Bad arguments: one line naming the field, the value and what is allowed,
exit 2. mpremote missing or failing: one line, exit 1.
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

import boards
from pumphost import boards as hostboards
from pumphost import devicebuild
from pumphost.config.schema import ConfigError

ROOT = devicebuild.DEVICE_ROOT
BUILD = ROOT / 'build' / 'flash'
MAIN_STUB = 'from {module} import main\nmain()\n'


class FlashError(Exception):
    """One line for the user; `status` is the exit status."""

    def __init__(self, msg, status=2):
        Exception.__init__(self, msg)
        self.status = status


def flashable():
    """Boards that are flashed onto an MCU (runtime mcu)."""
    out = []
    for name in boards.BOARDS:
        try:
            if hostboards.load_board(name)['runtime'] == 'mcu':
                out.append(name)
        except ConfigError:
            pass
    return out


def check_board(name):
    allowed = flashable()
    if name not in allowed:
        why = 'missing' if not name else 'not a flashed board'
        raise FlashError('flash: board = %r: %s (allowed: %s)' % (name, why, ', '.join(allowed)))
    return hostboards.load_board(name)


def check_port(port, dry_run):
    if not port:
        if dry_run:
            return None
        raise FlashError("flash: port = '': missing (allowed: the board's USB serial device, "
                         'e.g. /dev/ttyACM0, or an mpremote shortcut such as a0)')
    if port.startswith('/dev/') and not os.path.exists(port):
        raise FlashError('flash: port = %r: no such device (allowed: a connected serial device; '
                         '`mpremote devs` lists them)' % port)
    return port


def sources(board):
    """The device modules the board runs, relative to the repository."""
    pkg = board['main'].rsplit('.', 1)[0].replace('.', '/')     # boards/pico
    keep = []
    for path in devicebuild.device_modules():
        rel = path.relative_to(ROOT).as_posix()
        top = rel.split('/')[0]
        if top in ('firmware', 'protocol') or rel in ('hal/__init__.py', 'boards/__init__.py') \
                or rel.startswith(pkg + '/'):
            keep.append(path)
    return keep


def build(board):
    """Compile into build/flash/NAME; returns (that directory, [relative
    paths to copy]) with the /main.py stub written there."""
    dest = BUILD / board['name']
    if dest.exists():
        import shutil
        shutil.rmtree(dest)
    paths = sources(board)
    try:
        devicebuild.compile_tree(dest, paths, root=ROOT)
    except devicebuild.BuildError as e:
        raise FlashError('flash: %s' % e, status=1)
    (dest / 'main.py').write_text(MAIN_STUB.format(module=board['main']))
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob('*') if p.is_file())
    return dest, files


def mpremote_cmd(mpremote, port, dest):
    tops = sorted({f.split('/')[0] for f in os.listdir(dest)})
    return [mpremote, 'connect', port, 'fs', 'cp', '-r'] + tops + [':', '+', 'reset']


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--board', default='', help='a flashed board: %s' % ', '.join(flashable()))
    ap.add_argument('--port', default='', help='serial device of the board (e.g. /dev/ttyACM0)')
    ap.add_argument('--dry-run', action='store_true', help='compile and list what would be copied')
    a = ap.parse_args(argv)
    try:
        board = check_board(a.board)
        port = check_port(a.port, a.dry_run)
        dest, files = build(board)
        total = sum((dest / f).stat().st_size for f in files)
        mpremote = devicebuild.tool('mpremote') or 'mpremote'
        cmd = mpremote_cmd(mpremote, port or 'PORT', dest)
        if a.dry_run:
            for f in files:
                print('copy %s -> :%s (%d bytes)' % ((dest / f).relative_to(ROOT), f,
                                                      (dest / f).stat().st_size))
            print('%d files, %d bytes; would run in %s: %s' % (
                len(files), total, dest.relative_to(ROOT), ' '.join(cmd)))
            return 0
        if not devicebuild.tool('mpremote'):
            raise FlashError("flash: mpremote not found: pip install -e '.[flash]' "
                             '(make flash does it)', status=1)
        print('flash: %d files, %d bytes to %s' % (len(files), total, port))
        r = subprocess.run(cmd, cwd=dest, capture_output=True, text=True)
        if r.returncode:
            last = (r.stderr or r.stdout).strip().splitlines()
            raise FlashError('flash: mpremote failed on %s (%s): if the pump is running, hold '
                             'ACKNOWLEDGE while resetting the board (service mode) and retry'
                             % (port, last[-1] if last else 'exit %d' % r.returncode), status=1)
        print('flash: done, board reset')
        return 0
    except FlashError as e:
        print(e, file=sys.stderr)
        return e.status


if __name__ == '__main__':
    sys.exit(main())
