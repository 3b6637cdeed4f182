"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF; check 0x29B1 for b'123456789').

Used for journal records: unlike binascii.crc32 its result is always a small
int, so computing it allocates nothing on boards with 31-bit small ints.
Bitwise rather than table-driven: journal records are 18 bytes and rare, and
a 256-entry table would cost 2 KB of heap on a 64-bit build.
"""


def crc16(buf, start=0, end=-1, crc=0xFFFF):
    """CRC of buf[start:end] without slicing (no copy)."""
    if end < 0:
        end = len(buf)
    for i in range(start, end):
        crc ^= buf[i] << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc
