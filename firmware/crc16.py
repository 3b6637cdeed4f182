"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF; check 0x29B1 for b'123456789').

Used for journal records and checkpoint slots: unlike binascii.crc32 its
result is always a small int, so computing it allocates nothing on boards
with 31-bit small ints. Nibble-table driven: a 16-entry tuple (about 150
bytes of heap, where a 256-entry table would cost 2 KB on a 64-bit build) and
two lookups per byte, three times faster than the bitwise loop; the
checkpoint is written in every control tick that moves the motor.
"""


def _entry(i):
    c = i << 12
    for _ in range(4):
        c = ((c << 1) ^ 0x1021) & 0xFFFF if c & 0x8000 else (c << 1) & 0xFFFF
    return c


_T = tuple([_entry(i) for i in range(16)])


def crc16(buf, start=0, end=-1, crc=0xFFFF):
    """CRC of buf[start:end] without slicing (no copy)."""
    if end < 0:
        end = len(buf)
    t = _T
    for i in range(start, end):
        b = buf[i]
        crc = ((crc << 4) & 0xFFFF) ^ t[(crc >> 12) ^ (b >> 4)]
        crc = ((crc << 4) & 0xFFFF) ^ t[(crc >> 12) ^ (b & 15)]
    return crc
