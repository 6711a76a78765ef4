"""Stream corpus bytes, split them into tokens and count distinct tokens, in Numba.

A token is a maximal run of bytes other than ASCII whitespace (space, \\t, \\n, \\r, \\v, \\f); a newline
ends a sentence. Tokens are kept as raw bytes here (a hash table over a byte arena), so text is never
decoded per token and never held as a Python list; decoding, lowercasing and the vocabulary happen once
per *distinct* token in `vocab.py`.

`scan_corpus` reads the files chunk by chunk, so a single 100 MB line costs no more than many short ones,
and hands one int32 per token (its first-seen index in the table) to a sink, chunk by chunk, plus the
sentence ends, for `corpus.py` to remap into vocabulary ids.
"""
import bz2
import gzip
import lzma
import os
import sys
from dataclasses import dataclass

import numpy as np
from numba import njit

from .errors import CorpusError

CHUNK_BYTES = 1 << 24
_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)

# Status codes returned by the scan kernel.
_DONE = 0
_TABLE_FULL = 1
_ARENA_FULL = 2


@njit(cache=True, inline="always")
def _is_space(byte):
    # space, \t, \n, \v, \f, \r
    return byte == 32 or (9 <= byte <= 13)


# Columns of TokenTable.meta: one 32-byte row per distinct token, so a lookup touches one cache line.
# PREFIX holds the token's first 8 bytes (little-endian), so most tokens compare without the arena.
START, LENGTH, COUNT, PREFIX = 0, 1, 2, 3


@njit(cache=True, inline="always")
def _fnv_step(h, byte):
    """One byte of FNV-1a: the token hash, the same in _scan_kernel and _rehash."""
    return (h ^ np.uint64(byte)) * _FNV_PRIME


@njit(cache=True, inline="always")
def _tag(h):
    """Hash bits 32..62 in the high half of a slot (which therefore stays >= 0; the low half holds the
    token index, and the slot position comes from the low bits of the hash)."""
    return np.int64((h >> np.uint64(32)) & np.uint64(0x7FFFFFFF)) << 32


@njit(cache=True, nogil=True)
def _scan_kernel(buf, start, end, slots, meta, arena, n_state, out_ids, n_out, sent_ends, n_sent, tokens_before):
    """Tokenize buf[start:end] (which ends on whitespace or at end of input) into the hash table.

    slots: open addressing, each used slot = (31 hash bits << 32) | token index, -1 when empty.
    n_state = [n_tokens, arena bytes used, last sentence end]. Appends each token's index to out_ids
    (from n_out) and the global token count at each newline that closes a non-empty sentence to
    sent_ends (from n_sent). Returns (status, position reached, n_out, n_sent); on a full table or
    arena the caller grows it and calls again from the position reached, always a token boundary.
    """
    n_words = n_state[0]
    arena_used = n_state[1]
    mask = slots.shape[0] - 1
    last_end = n_state[2]
    i = start
    while i < end:
        byte = buf[i]
        if _is_space(byte):
            if byte == 10:
                total = tokens_before + n_out
                if total > last_end:
                    sent_ends[n_sent] = total
                    n_sent += 1
                    last_end = total
                    n_state[2] = total
            i += 1
            continue
        if 2 * (n_words + 1) > slots.shape[0] or n_words + 1 > meta.shape[0]:
            n_state[0] = n_words
            n_state[1] = arena_used
            return _TABLE_FULL, i, n_out, n_sent
        j = i
        h = _FNV_OFFSET
        prefix = np.uint64(0)
        while j < end and not _is_space(buf[j]):
            h = _fnv_step(h, buf[j])
            if j - i < 8:
                prefix |= np.uint64(buf[j]) << np.uint64(8 * (j - i))
            j += 1
        length = j - i
        prefix_bits = np.int64(prefix)
        slot = np.int64(h & np.uint64(mask))
        tag = _tag(h)
        while True:
            packed = slots[slot]
            if packed < 0:
                if arena_used + length > arena.shape[0]:
                    n_state[0] = n_words
                    n_state[1] = arena_used
                    return _ARENA_FULL, i, n_out, n_sent
                arena[arena_used:arena_used + length] = buf[i:j]
                slots[slot] = tag | n_words
                meta[n_words, START] = arena_used
                meta[n_words, LENGTH] = length
                meta[n_words, COUNT] = 1
                meta[n_words, PREFIX] = prefix_bits
                arena_used += length
                w = n_words
                n_words += 1
                break
            w = packed & 0xFFFFFFFF
            if (packed ^ tag) >> 32 == 0 and meta[w, LENGTH] == length and meta[w, PREFIX] == prefix_bits:
                s = meta[w, START]
                same = True
                for k in range(8, length):
                    if arena[s + k] != buf[i + k]:
                        same = False
                        break
                if same:
                    meta[w, COUNT] += 1
                    break
            slot = (slot + 1) & mask
        out_ids[n_out] = w
        n_out += 1
        i = j
    n_state[0] = n_words
    n_state[1] = arena_used
    return _DONE, i, n_out, n_sent


@njit(cache=True, nogil=True)
def _rehash(slots, meta, arena, n_words):
    """Insert tokens 0..n_words-1 into empty `slots`, placed as _scan_kernel places them."""
    mask = slots.shape[0] - 1
    for w in range(n_words):
        h = _FNV_OFFSET
        for k in range(meta[w, START], meta[w, START] + meta[w, LENGTH]):
            h = _fnv_step(h, arena[k])
        slot = np.int64(h & np.uint64(mask))
        while slots[slot] >= 0:
            slot = (slot + 1) & mask
        slots[slot] = _tag(h) | w


class TokenTable:
    """Distinct byte tokens with their counts, in first-seen order (a Numba-friendly hash table)."""

    def __init__(self, capacity=1 << 16, arena_bytes=1 << 20):
        self.slots = np.full(2 * capacity, -1, dtype=np.int64)
        self.meta = np.zeros((capacity, 4), dtype=np.int64)  # START, LENGTH, COUNT, PREFIX per token
        self.arena = np.zeros(arena_bytes, dtype=np.uint8)  # the tokens' bytes back to back
        self.state = np.zeros(3, dtype=np.int64)  # n_tokens, arena bytes used, last sentence end

    def __len__(self):
        return int(self.state[0])

    def _grow_table(self):
        n = len(self)
        meta = np.zeros((2 * self.meta.shape[0], 4), dtype=np.int64)
        meta[:n] = self.meta[:n]
        self.meta = meta
        self.slots = np.full(2 * meta.shape[0], -1, dtype=np.int64)
        _rehash(self.slots, self.meta, self.arena, n)

    def _grow_arena(self, at_least):
        new = np.zeros(max(2 * self.arena.shape[0], at_least), dtype=np.uint8)
        new[: self.state[1]] = self.arena[: self.state[1]]
        self.arena = new

    def scan(self, buf, end, out_ids, sent_ends, tokens_before):
        """Tokenize buf[:end]; returns (n_tokens, n_sentence_ends) written to out_ids / sent_ends."""
        pos, n_out, n_sent = 0, 0, 0
        while True:
            status, pos, n_out, n_sent = _scan_kernel(buf, pos, end, self.slots, self.meta, self.arena, self.state,
                                                      out_ids, n_out, sent_ends, n_sent, tokens_before)
            if status == _DONE:
                return n_out, n_sent
            if status == _TABLE_FULL:
                self._grow_table()
            else:
                self._grow_arena(int(self.state[1]) + end - pos)

    def lengths(self):
        return self.meta[: len(self), LENGTH]

    def counts(self):
        return self.meta[: len(self), COUNT]

    def token_bytes(self, index):
        start = self.meta[index, START]
        return self.arena[start:start + self.meta[index, LENGTH]].tobytes()


def open_corpus(path):
    """Open one corpus source for binary reading: '-' is standard input; .gz/.bz2/.xz are decompressed."""
    if path == "-":
        return sys.stdin.buffer
    if not os.path.exists(path):
        raise CorpusError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CorpusError(f"{path}: is a directory, not a corpus file")
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(os.path.splitext(path)[1].lower(), open)
    try:
        return opener(path, "rb")
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _fill(handle, view, path):
    """Read into `view` until it is full or the input ends; returns the number of bytes read."""
    filled = 0
    while filled < len(view):
        try:
            got = handle.readinto(view[filled:])
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise CorpusError(f"{path}: cannot read ({exc})") from None
        if not got:
            break
        filled += got
    return filled


@dataclass
class ScanResult:
    table: TokenTable
    n_tokens: int
    sentence_ends: np.ndarray  # int64, token index one past each non-empty sentence


def scan_corpus(paths, sink, chunk_bytes=CHUNK_BYTES):
    """Tokenize every file in `paths`, passing one int32 array of first-seen token indices per chunk to
    `sink(array)`. Each file ends a sentence (as a newline would). Raises CorpusError for a file that
    looks binary. One buffer is reused for all reads (fresh allocations are slow on some VMs).
    """
    table = TokenTable()
    sentence_ends = []
    n_tokens = 0
    buf = bytearray(chunk_bytes)
    out_ids = np.empty(chunk_bytes // 2 + 2, dtype=np.int32)
    sent_ends = np.empty(chunk_bytes + 2, dtype=np.int64)
    for path in paths:
        handle = open_corpus(path)
        carry = 0  # bytes of an unfinished token at the front of buf
        try:
            while True:
                if carry == len(buf):  # one token longer than the buffer: grow it
                    buf.extend(bytes(len(buf)))
                    out_ids = np.empty(len(buf) // 2 + 2, dtype=np.int32)
                    sent_ends = np.empty(len(buf) + 2, dtype=np.int64)
                view = memoryview(buf)
                got = _fill(handle, view[carry:], path)
                end = carry + got
                if buf.find(b"\0", carry, end) >= 0:
                    raise CorpusError(f"{path}: looks like a binary file (it contains NUL bytes); give a text corpus")
                data = np.frombuffer(buf, dtype=np.uint8)
                at_eof = end < len(buf)
                # Process up to the last whitespace byte; an unfinished token waits for the next read.
                cut = end if at_eof else max(buf.rfind(c, 0, end) for c in b" \n\t\r\v\f") + 1
                if cut:
                    n_out, n_sent = table.scan(data, cut, out_ids, sent_ends, n_tokens)
                    sink(out_ids[:n_out].copy())
                    sentence_ends.append(sent_ends[:n_sent].copy())
                    n_tokens += n_out
                del data, view
                carry = end - cut
                buf[:carry] = buf[cut:end]
                if at_eof:
                    break
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()
        sentence_ends.append(np.array([n_tokens], dtype=np.int64))
        table.state[2] = n_tokens
    return ScanResult(table, n_tokens, distinct_positive(np.concatenate(sentence_ends)))


def distinct_positive(sorted_values):
    """Drop zeros and repeats from a non-decreasing array (a file ending in a newline closed its
    last sentence already; an empty file adds nothing)."""
    values = sorted_values[sorted_values > 0]
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if values.size else values
