"""I2C FRAM as the device's non-volatile storage (hal.interfaces.Storage).

One driver for the Fujitsu MB85RC family, the addressing as data:
  addr_bytes  memory-address bytes sent after the device address (2 for
              MB85RC256V, 1 for MB85RC16 / MB85RC04V)
  size        bytes of the chip; what does not fit in the address bytes
              goes in the low bits of the I2C device address (MB85RC16:
              3 bits, eight 256-byte blocks), so a transfer never crosses
              a block: it is split there.
The chip itself wraps silently at its end (a sequential write past the
last byte goes on at 0, and an address bit above the size is ignored):
an access outside 0..size is refused here, before the bus is touched,
so NV never overwrites its own beginning.

FRAM writes take effect at once (no page buffer, no erase, no write
delay): a write is one I2C transaction of at most `chunk` bytes from a
staging buffer made at start. The control tick writes its checkpoint and
journal records through here, so a write that fits one chunk and one block
allocates nothing: machine.I2C.writeto_mem would (the RP2040 port joins
the address and the data in a temporary), and slicing a memoryview makes
an object, so the exact-length views of the staging buffer are made once,
on first use.
"""


class Fram:
    def __init__(self, i2c, i2c_addr, size, addr_bytes, chunk):
        if addr_bytes not in (1, 2):
            raise ValueError('fram: addr_bytes = %r: 1 or 2' % (addr_bytes,))
        self.i2c = i2c
        self.dev = i2c_addr
        self._size = size
        self.ab = addr_bytes
        self.shift = 8 * addr_bytes
        self.block = 1 << self.shift
        self.chunk = chunk
        self.stage = bytearray(addr_bytes + chunk)
        self.mv = memoryview(self.stage)
        self.views = [None] * (addr_bytes + chunk + 1)
        self.room = 0

    def size(self):
        return self._size

    def _check(self, offset, n):
        if offset < 0 or offset + n > self._size:
            raise ValueError('fram: %d bytes at %d: outside 0..%d' % (n, offset, self._size))

    def _view(self, n):
        v = self.views[n]
        if v is None:
            v = self.views[n] = self.mv[:n]
        return v

    def _address(self, off):
        """The memory address bytes of byte `off` into the staging buffer;
        returns the device address. `self.room`: bytes left in its block.
        (No tuple: a return value allocates nothing.)"""
        low = off & (self.block - 1)
        st = self.stage
        if self.ab == 2:
            st[0] = low >> 8
            st[1] = low & 0xFF
        else:
            st[0] = low
        self.room = self.block - low
        return self.dev | (off >> self.shift)

    def write(self, offset, data):
        n = len(data)
        self._check(offset, n)
        ab = self.ab
        st = self.stage
        pos = 0
        while pos < n:
            dev = self._address(offset + pos)
            k = n - pos
            if k > self.chunk:
                k = self.chunk
            if k > self.room:
                k = self.room
            if k == n:
                st[ab:ab + k] = data
            else:
                for i in range(k):
                    st[ab + i] = data[pos + i]
            self.i2c.writeto(dev, self._view(ab + k))
            pos += k

    def readinto(self, offset, buf):
        n = len(buf)
        self._check(offset, n)
        pos = 0
        while pos < n:
            dev = self._address(offset + pos)
            k = n - pos
            if k > self.room:
                k = self.room
            self.i2c.writeto(dev, self._view(self.ab), False)   # address, repeated start
            self.i2c.readfrom_into(dev, buf if k == n else memoryview(buf)[pos:pos + k])
            pos += k
        return n
