"""Compile the device packages for MicroPython, on the host.

The device packages (firmware/, hal/, protocol/, boards/) sit side by side,
in the repository or in site-packages when installed from a wheel. Each
module compiles with mpy-cross into a tree of .mpy files that a
`micropython` process runs from (the MicroPython gate, the bridge runtime,
the device benches) as a board runs its frozen modules.
"""
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import firmware

DEVICE_ROOT = Path(firmware.__file__).resolve().parent.parent
DEVICE_PACKAGES = ('firmware', 'hal', 'protocol', 'boards')


class BuildError(Exception):
    """A device module did not compile, or a tool is missing: one line."""


def tool(name):
    """The venv's copy of a MicroPython tool first, then PATH; None if absent."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def device_modules(root=DEVICE_ROOT):
    for pkg in DEVICE_PACKAGES:
        # a board's manifest.py is its image's build script, not device code
        yield from sorted(p for p in (Path(root) / pkg).rglob('*.py') if p.name != 'manifest.py')


def mpy_cross_cmd(mpy_cross, rel, out):
    """How a device module is compiled (the gate, the bridge, a board image).
    The source name recorded in the .mpy is the .mpy's own path, which is
    also its `__file__`: one string for both, where the .py path made a
    second qstr per module (about 0.7 KB of heap for the firmware core).
    Tracebacks name the module and the line of its source."""
    return [mpy_cross, '-s', PurePosixPath(rel).with_suffix('.mpy').as_posix(),
            '-o', str(out), str(rel)]


def compile_tree(dest, paths=None, root=DEVICE_ROOT):
    """mpy-cross each module (default: every device module) to the same
    relative path under `dest`; raises BuildError naming every module that
    fails."""
    mpy_cross = tool('mpy-cross')
    if not mpy_cross:
        raise BuildError('mpy-cross not found (pip install mpy-cross)')
    root, dest = Path(root), Path(dest)
    paths = list(device_modules(root) if paths is None else paths)

    def run(path):
        rel = Path(path).relative_to(root)
        out = dest / rel.with_suffix('.mpy')
        out.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(mpy_cross_cmd(mpy_cross, rel, out), cwd=root,
                           capture_output=True, text=True)
        return None if r.returncode == 0 else '%s: %s' % (rel, (r.stderr or r.stdout).strip())

    with ThreadPoolExecutor(max_workers=8) as ex:
        fails = [f for f in ex.map(run, paths) if f]
    if fails:
        raise BuildError('mpy-cross failed: ' + '; '.join(fails))
