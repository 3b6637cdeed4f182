"""Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999).

Why COBS: it removes every 0x00 from a frame at a bounded cost (one byte per
254) so that 0x00 can delimit frames and a receiver resynchronises at the
next delimiter after line noise.  This module holds the whole-buffer
encoder/decoder.  The streaming, allocation-free decoder used on the device
lives in ``frame.Decoder`` because it also has to check CRC and header.

Runs on MicroPython 1.29 and CPython 3.11.
"""


class CobsError(ValueError):
    """Raised by decode() on malformed input (never by encode)."""


def max_encoded_len(n):
    """Worst-case encoded size of ``n`` bytes, without the 0x00 delimiter."""
    return n + n // 254 + 1


def encode_into(src, dst, pos=0, n=-1):
    """Encode ``src[:n]`` (all of it if n < 0) into ``dst[pos:]``.

    Returns the end position.  ``dst`` must be a bytearray (or writable
    memoryview) with ``max_encoded_len(n)`` bytes free; no delimiter is
    written.  Nothing is allocated, so it is safe in the device's send path.
    """
    if n < 0:
        n = len(src)
    code_pos = pos
    pos += 1
    code = 1
    i = 0
    while i < n:
        b = src[i]
        i += 1
        if b == 0:
            dst[code_pos] = code
            code_pos = pos
            pos += 1
            code = 1
        else:
            dst[pos] = b
            pos += 1
            code += 1
            if code == 0xFF:
                dst[code_pos] = code
                code = 1
                code_pos = pos
                if i == n:
                    # Canonical form: a full 254-byte block that ends the
                    # input is not followed by an empty 0x01 block.
                    return pos
                pos += 1
    dst[code_pos] = code
    return pos


def encode(src):
    """Return the COBS encoding of ``src`` as bytes (no delimiter)."""
    dst = bytearray(max_encoded_len(len(src)))
    n = encode_into(src, dst, 0)
    return bytes(dst[:n])


def decode(src):
    """Return the decoded bytes of one COBS block (no delimiter).

    Raises CobsError on a 0x00 inside the data or a truncated block.
    """
    n = len(src)
    out = bytearray()
    i = 0
    while i < n:
        code = src[i]
        if code == 0:
            raise CobsError("0x00 inside COBS data at offset %d" % i)
        end = i + code
        if end > n:
            raise CobsError("COBS block at offset %d runs past the end" % i)
        j = i + 1
        while j < end:
            b = src[j]
            if b == 0:
                raise CobsError("0x00 inside COBS data at offset %d" % j)
            out.append(b)
            j += 1
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)
