"""Non-volatile memory in a file: a board's NV is its own chip (FRAM, flash),
not heap, and neither is this. The bridge board keeps the device's NV in the
file the host prepared; the fake HAL uses it for runs that measure the
firmware's heap."""


class FileStorage:
    def __init__(self, path, size=None):
        """An existing image (`size` None: the file's size), or a new erased
        (0xFF) one of `size` bytes, written in blocks: no size-long temporary."""
        if size is not None:
            ff = b'\xff' * 64
            f = open(path, 'wb')
            for _ in range(size // 64):
                f.write(ff)
            f.write(ff[:size % 64])
            f.close()
        self.file = open(path, 'r+b')
        self.file.seek(0, 2)
        self._size = self.file.tell()

    def size(self):
        return self._size

    def readinto(self, offset, buf):
        f = self.file
        f.seek(offset)
        return f.readinto(buf)

    def write(self, offset, data):
        f = self.file
        f.seek(offset)
        f.write(data)
