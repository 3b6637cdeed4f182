"""The emulated board's image for tests (tools/build_image.py, `make image`):
a current build/image/firmware.elf is used as it is; otherwise it is built
(incremental, a few seconds once the port's objects exist) from
MICROPY_SRC or MICROPY_TARBALL.

Without the toolchain or the MicroPython source the image tests cannot run:
under CI (CI=true) that is a failure naming what is missing, elsewhere a skip
with the same reason.
"""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'tools'))
import build_image  # noqa: E402


def under_ci():
    return os.environ.get('CI', '').lower() in ('true', '1', 'yes')


def image_or_skip():
    """Path of a current build/image/firmware.elf."""
    try:
        build_image.check_tools()
        return build_image.current_image() or build_image.build()
    except build_image.ImageError as e:
        msg = 'board image unavailable: %s' % e
        if under_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
