# What the qemu_netduino2 image freezes into flash (tools/build_image.py passes
# this file as FROZEN_MANIFEST; MicroPython runs it with this folder as the
# working directory). Not device code: pumphost.devicebuild leaves it out.
import os

_ROOT = '../..'


def _py_files(pkg, only=None):
    """The .py files under `pkg` (relative to it), or under its `only` subfolders."""
    out = []
    top = os.path.join(_ROOT, pkg)
    for dirpath, _dirs, names in os.walk(top):
        rel = os.path.relpath(dirpath, top).replace(os.sep, '/')
        if only is not None and rel != '.' and rel.split('/')[0] not in only:
            continue
        for n in names:
            if n.endswith('.py') and n != 'manifest.py':
                out.append(n if rel == '.' else rel + '/' + n)
    return sorted(out)


# the device: firmware, HAL, protocol, and of boards/ this board and the
# lockstep bridge it builds on
for _pkg in ('firmware', 'hal', 'protocol'):
    package(_pkg, files=_py_files(_pkg), base_path=_ROOT)   # noqa: F821 (manifest API)
package('boards', files=_py_files('boards', only=('bridge', 'qemu_netduino2')),   # noqa: F821
        base_path=_ROOT)

# harnesses the host runs inside the image: the MicroPython gate's scripted
# heap_lock run (tests/test_image.py) and the tick bench (make bench-image)
for _name in ('gate_scripted_run.py', 'soak_boot.py', 'soak_ticks.py'):
    module(_name, base_path=os.path.join(_ROOT, 'tests', 'device'))   # noqa: F821
module('bench_tick.py', base_path=os.path.join(_ROOT, 'tools', 'image'))   # noqa: F821
