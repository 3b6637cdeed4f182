"""hal.file_storage.FileStorage: the NV the small-heap scripted run boots on (a file,
as a board's NV is its own chip). Runs on MicroPython and CPython."""
import os
import sys

from hal.file_storage import FileStorage
from firmware.compat import heap_lock, heap_unlock


def _path():
    if sys.implementation.name == 'micropython':
        return 'test_file_storage_nv.bin'   # build/mpy, where the gate runs
    import tempfile
    fd, path = tempfile.mkstemp(suffix='.bin')
    os.close(fd)
    return path


def test_file_storage_starts_erased_and_keeps_what_is_written():
    path = _path()
    try:
        st = FileStorage(path, 250)
        assert st.size() == 250
        buf = bytearray(8)
        assert st.readinto(100, buf) == 8
        assert bytes(buf) == b'\xff' * 8
        data = bytearray(b'\x01\x02\x03')
        heap_lock()   # the checkpoint writes NV in the steady tick
        try:
            st.write(100, data)
            n = st.readinto(99, buf)
        finally:
            heap_unlock()
        assert n == 8
        assert bytes(buf) == b'\xff\x01\x02\x03\xff\xff\xff\xff'
        st.file.close()
        assert os.stat(path)[6] == 250   # st_size: nothing appended
    finally:
        os.remove(path)
