"""Numba: rows of the word2vec text format, each value formatted as Python's '%.6f' formats it.

A float32 is an integer significand m times a power of two, so its value times 10**6 is m * 10**6 shifted:
exact in int64 for every float32 below 2**43 in magnitude. Rounding that to an integer, half to even, is
what Python's correctly rounded '%.6f' does; the sign of a negative value that rounds to zero is kept
('-0.000000'), as Python keeps it. Formatting 6.3 M values this way takes a small fraction of the time
Python's formatting takes.
"""
import numpy as np
from numba import njit

LARGEST = 2.0 ** 43  # beyond this the exact product no longer fits in int64
_MAX_VALUE_BYTES = 22  # '-' + 14 integer digits + '.' + 6 digits


@njit(cache=True, inline="always")
def _write_value(value, out, pos):
    """Write '%.6f' % value at out[pos:]; returns the position after it."""
    bits = np.float32(value).view(np.uint32)
    negative = bits >> np.uint32(31)
    exponent = np.int64((bits >> np.uint32(23)) & np.uint32(0xFF))
    significand = np.int64(bits & np.uint32(0x7FFFFF))
    if exponent == 0:
        exponent = 1  # subnormal: no implicit bit
    else:
        significand |= np.int64(1) << 23
    scaled = significand * 1_000_000
    shift = exponent - 150  # value = significand * 2**shift
    if shift >= 0:
        units = scaled << shift
    elif shift <= -45:  # scaled < 2**44: below one half after the shift
        units = 0
    else:
        units = scaled >> -shift
        remainder = scaled - (units << -shift)
        half = np.int64(1) << (-shift - 1)
        if remainder > half or (remainder == half and units & 1):
            units += 1
    if negative:
        out[pos] = 45  # '-'
        pos += 1
    whole, fraction = units // 1_000_000, units % 1_000_000
    digits = 1
    probe = whole
    while probe >= 10:
        probe //= 10
        digits += 1
    for k in range(digits - 1, -1, -1):
        out[pos + k] = 48 + whole % 10
        whole //= 10
    pos += digits
    out[pos] = 46  # '.'
    for k in range(6, 0, -1):
        out[pos + k] = 48 + fraction % 10
        fraction //= 10
    return pos + 7


@njit(cache=True)
def format_rows(vectors, words, word_starts, out):
    """out <- 'word v1 ... vD\\n' for each row (words: the UTF-8 words back to back, word_starts [V + 1]);
    returns the bytes written. out must hold sum of word lengths + V * (D * 23 + 1) bytes."""
    pos = 0
    for r in range(vectors.shape[0]):
        for k in range(word_starts[r], word_starts[r + 1]):
            out[pos] = words[k]
            pos += 1
        for d in range(vectors.shape[1]):
            out[pos] = 32
            pos = _write_value(vectors[r, d], out, pos + 1)
        out[pos] = 10
        pos += 1
    return pos


def text_rows(vectors, words):
    """The word2vec text rows of `vectors` (float32 [n, D], every |value| < 2**43) and their words, as
    bytes."""
    encoded = [w.encode("utf-8") for w in words]
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(w) for w in encoded], out=starts[1:])
    joined = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    out = np.empty(int(starts[-1]) + vectors.shape[0] * (vectors.shape[1] * (_MAX_VALUE_BYTES + 1) + 1),
                   dtype=np.uint8)
    written = format_rows(np.ascontiguousarray(vectors, dtype=np.float32), joined, starts, out)
    return out[:written].tobytes()
