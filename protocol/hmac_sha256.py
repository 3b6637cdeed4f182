"""HMAC-SHA256 (RFC 2104) using only ``hashlib.sha256``.

Why not ``hmac``: MicroPython has no hmac module, and its sha256 object has
no ``copy()`` and allows ``digest()`` only once, so the usual trick of
cloning a pre-keyed inner hash is unavailable.  Instead the two 64-byte pad
blocks are derived once per key (``HmacKey``) and two fresh sha256 objects
are fed per MAC.  Checked against CPython's ``hmac`` on RFC 4231 cases 1-7.

Runs on MicroPython 1.29 and CPython 3.11.
"""

import hashlib

BLOCK_SIZE = 64
DIGEST_SIZE = 32


class HmacKey:
    """A key prepared for HMAC-SHA256.

    Only the ipad/opad blocks are kept, not the key bytes, and no method
    returns them: the key must never leave the device.
    """

    def __init__(self, key):
        key = bytes(key)
        if len(key) > BLOCK_SIZE:
            key = hashlib.sha256(key).digest()
        k = bytearray(BLOCK_SIZE)
        k[0:len(key)] = key
        ipad = bytearray(BLOCK_SIZE)
        opad = bytearray(BLOCK_SIZE)
        for i in range(BLOCK_SIZE):
            ipad[i] = k[i] ^ 0x36
            opad[i] = k[i] ^ 0x5C
            k[i] = 0
        self._ipad = bytes(ipad)
        self._opad = bytes(opad)

    def digest(self, parts):
        """HMAC over the concatenation of the buffers in ``parts``."""
        inner = hashlib.sha256(self._ipad)
        for p in parts:
            inner.update(p)
        outer = hashlib.sha256(self._opad)
        outer.update(inner.digest())
        return outer.digest()

    def __repr__(self):
        return "HmacKey(<hidden>)"


def hmac_sha256(key, msg):
    """Return the 32-byte HMAC-SHA256 of ``msg`` under ``key``."""
    return HmacKey(key).digest((msg,))


def compare_digest(a, b):
    """Compare two byte strings in time independent of where they differ."""
    if len(a) != len(b):
        return False
    acc = 0
    for i in range(len(a)):
        acc |= a[i] ^ b[i]
    return acc == 0
