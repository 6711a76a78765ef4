"""Stream corpus bytes, split them into tokens and count distinct tokens, in Numba.

A token is a maximal run of bytes other than ASCII whitespace (space, \\t, \\n, \\r, \\v, \\f); a newline
ends a sentence. A token longer than MAX_WORD_BYTES is cut to that many bytes (words.py). Tokens are kept
as raw bytes here (a hash table over a byte arena), so text is never decoded per token and never held as a
Python list; decoding, lowercasing and merging happen once per *distinct* token in `wordcount.py`.

`scan_corpus` reads the files chunk by chunk, so a single 100 MB line costs no more than many short ones.
It hands one int32 per token (the token's index in the table) and the sentence ends (token counts) to
sinks, chunk by chunk. The table has a memory budget: when it is full, `scan_corpus` calls `on_full`, which
writes the table's counts out and empties it, and the scan goes on.
"""
import bz2
import gzip
import lzma
import os
import sys

import numpy as np
from numba import njit

from .errors import CorpusError
from .words import MAX_WORD_BYTES

CHUNK_BYTES = 1 << 24
OUT_TOKENS = 1 << 20  # token indices handed to the sink per call (the scan pauses when it has that many)
_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)

# Status codes returned by the scan kernel.
_DONE = 0
_TABLE_FULL = 1
_ARENA_FULL = 2
_OUT_FULL = 3

# Columns of TokenTable.meta: one 32-byte row per distinct token, so a lookup touches one cache line.
# PREFIX holds the token's first 8 bytes (little-endian), so most tokens compare without the arena.
START, LENGTH, COUNT, PREFIX = 0, 1, 2, 3
ROW_BYTES = 32
SLOT_BYTES = 16  # two int64 slots per row: the table is at most half full

# scan_state: the last sentence end written (a token count) and how many tokens were cut.
LAST_END, N_CUT = 0, 1


@njit(cache=True, inline="always")
def _is_space(byte):
    # space, \t, \n, \v, \f, \r
    return byte == 32 or (9 <= byte <= 13)


@njit(cache=True, inline="always")
def _fnv_step(h, byte):
    """One byte of FNV-1a: the token hash, the same wherever a token is placed or looked up."""
    return (h ^ np.uint64(byte)) * _FNV_PRIME


@njit(cache=True, inline="always")
def _hash_and_prefix(data, start, length):
    h = _FNV_OFFSET
    prefix = np.uint64(0)
    for k in range(length):
        h = _fnv_step(h, data[start + k])
        if k < 8:
            prefix |= np.uint64(data[start + k]) << np.uint64(8 * k)
    return h, np.int64(prefix)


@njit(cache=True, inline="always")
def _tag(h):
    """Hash bits 32..62 in the high half of a slot (which therefore stays >= 0; the low half holds the
    token index, and the slot position comes from the low bits of the hash)."""
    return np.int64((h >> np.uint64(32)) & np.uint64(0x7FFFFFFF)) << 32


@njit(cache=True, inline="always")
def _probe(slots, meta, arena, data, start, length, h, prefix):
    """Look data[start:start+length] up: (slot, index), index -1 with the empty slot where it would go."""
    mask = slots.shape[0] - 1
    slot = np.int64(h & np.uint64(mask))
    tag = _tag(h)
    while True:
        packed = slots[slot]
        if packed < 0:
            return slot, -1
        w = packed & 0xFFFFFFFF
        if (packed ^ tag) >> 32 == 0 and meta[w, LENGTH] == length and meta[w, PREFIX] == prefix:
            s = meta[w, START]
            same = True
            for k in range(8, length):
                if arena[s + k] != data[start + k]:
                    same = False
                    break
            if same:
                return slot, w
        slot = (slot + 1) & mask


@njit(cache=True, inline="always")
def cut_length(buf, start):
    """MAX_WORD_BYTES, or up to 3 bytes less so as not to end inside a UTF-8 character."""
    for back in range(4):
        if (buf[start + MAX_WORD_BYTES - back] & 0xC0) != 0x80:
            return MAX_WORD_BYTES - back
    return MAX_WORD_BYTES


@njit(cache=True, nogil=True)
def _scan_kernel(buf, start, end, slots, meta, arena, table_state, scan_state, out_ids, n_out, sent_ends, n_sent,
                 tokens_before):
    """Tokenize buf[start:end] (which ends on whitespace or at end of input) into the hash table.

    slots: open addressing, each used slot = (31 hash bits << 32) | token index, -1 when empty.
    table_state = [n_tokens, arena bytes used]; scan_state = [last sentence end, tokens cut]. Appends each
    token's index to out_ids (from n_out) and the global token count at each newline that closes a
    non-empty sentence to sent_ends (from n_sent; it needs one more slot than out_ids, since a sentence end
    follows a token). Returns (status, position reached, n_out, n_sent); on a full table or arena the
    caller grows it (or empties it), on full out_ids it takes them, and calls again from the position
    reached, always a token boundary.
    """
    n_words = table_state[0]
    arena_used = table_state[1]
    last_end = scan_state[LAST_END]
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
                    scan_state[LAST_END] = total
            i += 1
            continue
        if n_out == out_ids.shape[0]:
            table_state[0] = n_words
            table_state[1] = arena_used
            return _OUT_FULL, i, n_out, n_sent
        if 2 * (n_words + 1) > slots.shape[0] or n_words + 1 > meta.shape[0]:
            table_state[0] = n_words
            table_state[1] = arena_used
            return _TABLE_FULL, i, n_out, n_sent
        j = i
        h = _FNV_OFFSET
        prefix = np.uint64(0)
        while j < end and not _is_space(buf[j]):
            if j - i < MAX_WORD_BYTES:
                h = _fnv_step(h, buf[j])
                if j - i < 8:
                    prefix |= np.uint64(buf[j]) << np.uint64(8 * (j - i))
            j += 1
        length = j - i
        prefix_bits = np.int64(prefix)
        if length > MAX_WORD_BYTES:
            length = cut_length(buf, i)
            h, prefix_bits = _hash_and_prefix(buf, i, length)
        slot, w = _probe(slots, meta, arena, buf, i, length, h, prefix_bits)
        if w < 0:
            if arena_used + length > arena.shape[0]:
                table_state[0] = n_words
                table_state[1] = arena_used
                return _ARENA_FULL, i, n_out, n_sent
            arena[arena_used:arena_used + length] = buf[i:i + length]
            slots[slot] = _tag(h) | n_words
            meta[n_words, START] = arena_used
            meta[n_words, LENGTH] = length
            meta[n_words, COUNT] = 1
            meta[n_words, PREFIX] = prefix_bits
            arena_used += length
            w = n_words
            n_words += 1
        else:
            meta[w, COUNT] += 1
        if j - i > length:
            scan_state[N_CUT] += 1
        out_ids[n_out] = w
        n_out += 1
        i = j
    table_state[0] = n_words
    table_state[1] = arena_used
    return _DONE, i, n_out, n_sent


@njit(cache=True, nogil=True)
def _rehash(slots, meta, arena, n_words):
    """Insert tokens 0..n_words-1 into empty `slots`, placed as _scan_kernel places them."""
    for w in range(n_words):
        h, prefix = _hash_and_prefix(arena, meta[w, START], meta[w, LENGTH])
        slot, _ = _probe(slots, meta, arena, arena, meta[w, START], meta[w, LENGTH], h, prefix)
        slots[slot] = _tag(h) | w


@njit(cache=True, nogil=True)
def _lookup_kernel(slots, meta, arena, other_meta, other_arena, n_other, out):
    """out[i] = this table's index of the other table's token i, or -1."""
    for i in range(n_other):
        start, length = other_meta[i, START], other_meta[i, LENGTH]
        h, prefix = _hash_and_prefix(other_arena, start, length)
        out[i] = _probe(slots, meta, arena, other_arena, start, length, h, prefix)[1]


@njit(cache=True, nogil=True)
def gather_tokens(meta_a, arena_a, meta_b, arena_b, n_a, ids, out):
    """out <- the bytes of each id's token, each followed by '\\n'; ids below n_a are rows of table a, the
    others rows id - n_a of table b. Returns the bytes written."""
    pos = 0
    for i in range(ids.shape[0]):
        w = ids[i]
        if w < n_a:
            start, length = meta_a[w, START], meta_a[w, LENGTH]
            out[pos:pos + length] = arena_a[start:start + length]
        else:
            start, length = meta_b[w - n_a, START], meta_b[w - n_a, LENGTH]
            out[pos:pos + length] = arena_b[start:start + length]
        out[pos + length] = 10
        pos += length + 1
    return pos


class TokenTable:
    """Distinct byte tokens with their counts, in first-seen order (a Numba-friendly hash table).

    With may_grow, the table grows only when may_grow(table, extra_bytes) allows it; otherwise `scan`
    stops early and reports that it is full."""

    def __init__(self, may_grow=None, capacity=1 << 16, arena_bytes=1 << 20):
        self.may_grow = may_grow
        self.slots = np.full(2 * capacity, -1, dtype=np.int64)
        self.meta = np.zeros((capacity, 4), dtype=np.int64)  # START, LENGTH, COUNT, PREFIX per token
        self.arena = np.zeros(arena_bytes, dtype=np.uint8)  # the tokens' bytes back to back
        self.state = np.zeros(2, dtype=np.int64)  # n_tokens, arena bytes used

    def __len__(self):
        return int(self.state[0])

    def clear(self):
        """Forget every token and give the memory back (may_grow stays)."""
        self.__init__(self.may_grow)

    @property
    def nbytes(self):
        return self.slots.nbytes + self.meta.nbytes + self.arena.nbytes

    def _fits(self, extra_bytes):
        return self.may_grow is None or self.may_grow(self, extra_bytes)

    def _grow_table(self):
        capacity = 2 * self.meta.shape[0]
        # while it grows, the old rows and the new rows and slots are all held
        if not self._fits(capacity * (ROW_BYTES + SLOT_BYTES) - self.slots.nbytes):
            return False
        n = len(self)
        self.slots = None
        meta = np.zeros((capacity, 4), dtype=np.int64)
        meta[:n] = self.meta[:n]
        self.meta = meta
        self.slots = np.full(2 * capacity, -1, dtype=np.int64)
        _rehash(self.slots, self.meta, self.arena, n)
        return True

    def _grow_arena(self, at_least):
        size = max(2 * self.arena.shape[0], at_least)
        if not self._fits(size):
            size = at_least
            if not self._fits(size):
                return False
        new = np.zeros(size, dtype=np.uint8)
        new[: self.state[1]] = self.arena[: self.state[1]]
        self.arena = new
        return True

    def scan(self, buf, start, end, scan_state, out_ids, sent_ends, tokens_before):
        """Tokenize buf[start:end] until it ends or out_ids is full. Returns (position reached, n_tokens,
        n_sentence_ends written to out_ids / sent_ends, full): full means the table may not grow any more
        and a new token came at that position."""
        pos, n_out, n_sent = start, 0, 0
        while True:
            status, pos, n_out, n_sent = _scan_kernel(buf, pos, end, self.slots, self.meta, self.arena, self.state,
                                                      scan_state, out_ids, n_out, sent_ends, n_sent, tokens_before)
            if status == _DONE or status == _OUT_FULL:
                return pos, n_out, n_sent, False
            grown = self._grow_table() if status == _TABLE_FULL else self._grow_arena(
                int(self.state[1]) + MAX_WORD_BYTES)
            if not grown:
                return pos, n_out, n_sent, True

    def add(self, joined):
        """Insert the '\\n'-separated tokens of `joined` (uint8, ending in '\\n'); returns their indices.
        Counts are not kept meaningful by this: use it to intern words, not to count them."""
        out_ids = np.empty(joined.shape[0] // 2 + 1, dtype=np.int32)
        sent_ends = np.empty(joined.shape[0] // 2 + 2, dtype=np.int64)
        _, n_out, _, full = self.scan(joined, 0, joined.shape[0], np.zeros(2, dtype=np.int64), out_ids, sent_ends, 0)
        assert not full, "add() is for tables without a budget"
        return out_ids[:n_out]

    def lookup(self, other):
        """This table's index of each of `other`'s tokens, -1 where absent."""
        out = np.empty(len(other), dtype=np.int64)
        _lookup_kernel(self.slots, self.meta, self.arena, other.meta, other.arena, len(other), out)
        return out

    def counts(self):
        return self.meta[: len(self), COUNT]

    def joined(self, ids):
        """The tokens `ids`, each followed by '\\n', as one uint8 array."""
        out = np.empty(int(self.meta[ids, LENGTH].sum()) + ids.shape[0], dtype=np.uint8)
        gather_tokens(self.meta, self.arena, self.meta, self.arena, len(self), ids, out)
        return out


COMPRESSED = (".gz", ".bz2", ".xz")


class ByteRange:
    """Bytes [start, end) of an uncompressed corpus file, cut at line starts (shards.split_ranges), as a
    source `scan_corpus` reads in place of the whole file."""

    def __init__(self, path, start, end):
        self.path, self.start, self.end = path, start, end

    def __repr__(self):
        return f"ByteRange({self.path!r}, {self.start}, {self.end})"

    def __eq__(self, other):
        return isinstance(other, ByteRange) and (self.path, self.start, self.end) == (other.path, other.start,
                                                                                       other.end)

    def __fspath__(self):  # messages and checks name the file
        return self.path


class _RangeReader:
    def __init__(self, byte_range):
        self.left = byte_range.end - byte_range.start
        self.handle = open(byte_range.path, "rb")
        self.handle.seek(byte_range.start)

    def readinto(self, view):
        n = self.handle.readinto(view[:self.left]) if self.left > 0 else 0
        self.left -= n
        return n

    def close(self):
        self.handle.close()


def open_corpus(path):
    """Open one corpus source for binary reading: '-' is standard input; .gz/.bz2/.xz are decompressed;
    a ByteRange reads its bytes of its file."""
    if isinstance(path, ByteRange):
        try:
            return _RangeReader(path)
        except OSError as exc:
            raise CorpusError(f"{path.path}: cannot read ({exc.strerror or exc})") from None
    if path == "-":
        return sys.stdin.buffer
    if not os.path.exists(path):
        raise CorpusError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CorpusError(f"{path}: is a directory, not a corpus file")
    opener = dict(zip(COMPRESSED, (gzip.open, bz2.open, lzma.open))).get(os.path.splitext(path)[1].lower(), open)
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


def scan_corpus(paths, table, ids_sink, ends_sink, on_full, chunk_bytes=CHUNK_BYTES):
    """Tokenize every file (or ByteRange) in `paths` into `table`, passing one int32 array of table indices per chunk
    to `ids_sink(array)` and the sentence ends (int64 token counts, increasing, each sentence non-empty)
    to `ends_sink(array)`. Each file ends a sentence (as a newline would). When the table is full,
    `on_full(tokens_so_far)` must empty it; the indices that follow refer to the emptied table.
    Returns (number of tokens, number of tokens cut to MAX_WORD_BYTES). Raises CorpusError for a file that
    looks binary. One buffer is reused for all reads (fresh allocations are slow on some VMs).
    """
    n_tokens = 0
    scan_state = np.zeros(2, dtype=np.int64)
    buf = bytearray(chunk_bytes)
    out_ids = np.empty(OUT_TOKENS, dtype=np.int32)
    sent_ends = np.empty(OUT_TOKENS + 1, dtype=np.int64)
    for source in paths:
        handle = open_corpus(source)
        path = os.fspath(source)
        carry = 0  # bytes of an unfinished token at the front of buf
        try:
            while True:
                view = memoryview(buf)
                got = _fill(handle, view[carry:], path)
                end = carry + got
                if buf.find(b"\0", carry, end) >= 0:
                    raise CorpusError(f"{path}: looks like a binary file (it contains NUL bytes); give a text corpus")
                data = np.frombuffer(buf, dtype=np.uint8)
                at_eof = end < len(buf)
                # Process up to the last whitespace byte; an unfinished token waits for the next read.
                cut = end if at_eof else max(buf.rfind(c, 0, end) for c in b" \n\t\r\v\f") + 1
                pos = 0
                while pos < cut:
                    pos, n_out, n_sent, full = table.scan(data, pos, cut, scan_state, out_ids, sent_ends, n_tokens)
                    ids_sink(out_ids[:n_out].copy())
                    ends_sink(sent_ends[:n_sent].copy())
                    n_tokens += n_out
                    if full:
                        on_full(n_tokens)
                del data, view
                carry = end - cut
                buf[:carry] = buf[cut:end]
                if carry == len(buf):  # one unfinished token fills the whole buffer
                    if carry > MAX_WORD_BYTES + 1:
                        carry = MAX_WORD_BYTES + 1  # keep enough of it to be cut, drop the rest
                    else:  # a buffer this small grows until it holds a token to cut
                        buf.extend(bytes(len(buf)))
                if at_eof:
                    break
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()
        if n_tokens > scan_state[LAST_END]:
            ends_sink(np.array([n_tokens], dtype=np.int64))
            scan_state[LAST_END] = n_tokens
    return n_tokens, int(scan_state[N_CUT])
