"""Words and their exact counts, from the scan's token tables, within a memory budget.

A table (tokenize.py) counts distinct byte tokens. Here tokens become words: decoded as UTF-8 (an invalid
sequence becomes U+FFFD), lowercased if asked, and tokens that then read the same are one word. Only
tokens that can change are decoded, in chunks, so no Python object is made per distinct token.

When the scan's table reaches its budget, its words and counts are written to disk as a *run*, grouped
into PARTITIONS by a hash of the word, and the table starts empty (`RunStore`). At the end each partition
is read back from every run and its words are summed in a fresh table: the counts are exact, and only one
partition's words are in memory at a time.
"""
import os
from dataclasses import dataclass

import numpy as np
from numba import njit

from .pairs import mix64
from .tokenize import LENGTH, START, TokenTable, _hash_and_prefix, gather_tokens

NORMALIZE_CHUNK = 1 << 20   # tokens decoded by Python at a time
PARTITIONS = 64
_PARTITION_SHIFT = np.uint64(58)  # the top 6 bits of the mixed hash pick one of 64 partitions
_KEEP, _ASK_PYTHON = 0, 1


@njit(cache=True, inline="always")
def _valid_utf8(data, start, length):
    """Whether data[start:start+length] is valid UTF-8 as Python's decoder judges it (no overlong forms,
    no surrogates, nothing above U+10FFFF)."""
    i, end = start, start + length
    while i < end:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        if 0xC2 <= b <= 0xDF:
            n, lo, hi = 1, 0x80, 0xBF
        elif b == 0xE0:
            n, lo, hi = 2, 0xA0, 0xBF
        elif b == 0xED:
            n, lo, hi = 2, 0x80, 0x9F
        elif 0xE1 <= b <= 0xEF:
            n, lo, hi = 2, 0x80, 0xBF
        elif b == 0xF0:
            n, lo, hi = 3, 0x90, 0xBF
        elif 0xF1 <= b <= 0xF3:
            n, lo, hi = 3, 0x80, 0xBF
        elif b == 0xF4:
            n, lo, hi = 3, 0x80, 0x8F
        else:
            return False
        if i + n >= end or not lo <= data[i + 1] <= hi:
            return False
        for k in range(2, n + 1):
            if data[i + k] & 0xC0 != 0x80:
                return False
        i += n + 1
    return True


@njit(cache=True, nogil=True)
def _classify(meta, arena, n, lowercase, codes):
    """codes[t] = _KEEP where token t is its own word (valid UTF-8, and nothing to lowercase), else
    _ASK_PYTHON: decoding and lowercasing may change it."""
    for t in range(n):
        start, length = meta[t, START], meta[t, LENGTH]
        ascii_only, upper = True, False
        for k in range(length):
            b = arena[start + k]
            if b >= 0x80:
                ascii_only = False
                break
            if 65 <= b <= 90:
                upper = True
        if ascii_only:
            codes[t] = _ASK_PYTHON if lowercase and upper else _KEEP
        else:
            codes[t] = _ASK_PYTHON if lowercase or not _valid_utf8(arena, start, length) else _KEEP


@njit(cache=True, nogil=True)
def _sum_by(index, values, n):
    totals = np.zeros(n, dtype=np.int64)
    for i in range(index.shape[0]):
        totals[index[i]] += values[i]
    return totals


@njit(cache=True, nogil=True)
def _group_by_partition(meta_a, arena_a, meta_b, arena_b, n_a, ids, grouped, record_starts):
    """grouped <- ids ordered by partition (the top bits of the word's mixed FNV-1a hash), stably;
    record_starts[p] <- where partition p begins in grouped (record_starts has PARTITIONS + 1 entries)."""
    partition = np.empty(ids.shape[0], dtype=np.uint8)
    for i in range(ids.shape[0]):
        w = ids[i]
        if w < n_a:
            h, _ = _hash_and_prefix(arena_a, meta_a[w, START], meta_a[w, LENGTH])
        else:
            h, _ = _hash_and_prefix(arena_b, meta_b[w - n_a, START], meta_b[w - n_a, LENGTH])
        partition[i] = mix64(h) >> _PARTITION_SHIFT
    record_starts[:] = 0
    for i in range(ids.shape[0]):
        record_starts[partition[i] + 1] += 1
    for p in range(PARTITIONS):
        record_starts[p + 1] += record_starts[p]
    filled = record_starts[:-1].copy()
    for i in range(ids.shape[0]):
        grouped[filled[partition[i]]] = ids[i]
        filled[partition[i]] += 1


def _normalize(joined, lowercase):
    text = joined.tobytes().decode("utf-8", "replace")
    return np.frombuffer((text.lower() if lowercase else text).encode("utf-8"), dtype=np.uint8)


@dataclass
class TableWords:
    """The words of one token table. Word w < len(table) is table token w; word len(table) + j is row j of
    `extra`, the normalized forms that are not tokens of the table. Tokens merged into another word keep
    their id with count 0."""
    table: TokenTable
    extra: TokenTable
    token_to_word: np.ndarray  # int32 [tokens of the table]
    counts: np.ndarray         # int64 [len(table) + len(extra)]

    def lengths(self, ids):
        n = len(self.table)
        in_table = ids < n
        out = np.empty(ids.shape[0], dtype=np.int64)
        out[in_table] = self.table.meta[ids[in_table], LENGTH]
        out[~in_table] = self.extra.meta[ids[~in_table] - n, LENGTH]
        return out

    def joined_bytes(self, ids):
        """The words `ids`, each followed by '\\n', as one uint8 array."""
        out = np.empty(int(self.lengths(ids).sum()) + ids.shape[0], dtype=np.uint8)
        gather_tokens(self.table.meta, self.table.arena, self.extra.meta, self.extra.arena, len(self.table), ids, out)
        return out

    def grouped_by_partition(self, ids):
        """(ids ordered by partition, int32; where each partition starts, PARTITIONS + 1 entries)."""
        grouped = np.empty(ids.shape[0], dtype=np.int32)
        record_starts = np.empty(PARTITIONS + 1, dtype=np.int64)
        _group_by_partition(self.table.meta, self.table.arena, self.extra.meta, self.extra.arena, len(self.table),
                            ids, grouped, record_starts)
        return grouped, record_starts


def table_words(table, lowercase):
    """Merge the tokens of `table` into words (see TableWords)."""
    n = len(table)
    codes = np.empty(n, dtype=np.uint8)
    _classify(table.meta, table.arena, n, lowercase, codes)
    asked = np.flatnonzero(codes == _ASK_PYTHON)
    extra = TokenTable()
    normal_form = np.empty(asked.shape[0], dtype=np.int64)  # row in `extra` of each asked token's word
    for lo in range(0, asked.shape[0], NORMALIZE_CHUNK):
        chunk = asked[lo:lo + NORMALIZE_CHUNK]
        joined = np.empty(int(table.meta[chunk, LENGTH].sum()) + chunk.shape[0], dtype=np.uint8)
        gather_tokens(table.meta, table.arena, table.meta, table.arena, n, chunk, joined)
        normal_form[lo:lo + chunk.shape[0]] = extra.add(_normalize(joined, lowercase))
    in_table = table.lookup(extra)  # the table token that reads like each normal form, or -1
    # An asked token is its own word when its normal form is itself; other tokens whose normal form reads
    # the same then merge into it.
    is_word = codes == _KEEP
    is_word[asked] = in_table[normal_form] == asked
    word_of_form = np.where((in_table >= 0) & is_word[np.maximum(in_table, 0)], in_table,
                            n + np.arange(len(extra)))
    token_to_word = np.arange(n, dtype=np.int32)
    token_to_word[asked] = word_of_form[normal_form]
    counts = _sum_by(token_to_word, table.counts(), n + len(extra))
    return TableWords(table, extra, token_to_word, counts)


# ----------------------------------------------------------------------------------------------------
# Spilled runs


def _write_array(path, array):
    with open(path, "wb") as out:
        out.write(np.ascontiguousarray(array).data)


def _read_array(path, dtype, lo=0, hi=None):
    """Items lo..hi of a raw array file, read (not mapped, so its pages never count as this process's)."""
    dtype = np.dtype(dtype)
    with open(path, "rb") as handle:
        handle.seek(lo * dtype.itemsize)
        return np.fromfile(handle, dtype=dtype, count=-1 if hi is None else hi - lo)


class RunStore:
    """Runs of spilled word counts in `directory`: run r holds its table's token -> word map and, per
    partition, its words (with counts) as '\\n'-separated bytes. The merge adds, per run, where each of its
    words that reached min_count went (`patches`)."""

    def __init__(self, directory):
        self.directory = directory
        self.runs = 0

    def _path(self, run, name):
        return os.path.join(self.directory, f"run{run}.{name}")

    def write(self, words):
        os.makedirs(self.directory, exist_ok=True)
        ids, record_starts = words.grouped_by_partition(np.flatnonzero(words.counts > 0))
        byte_starts = np.concatenate([[0], np.cumsum(words.lengths(ids) + 1)])[record_starts]
        run = self.runs
        _write_array(self._path(run, "token_to_word.i32"), words.token_to_word)
        _write_array(self._path(run, "words.i32"), ids)
        _write_array(self._path(run, "counts.i64"), words.counts[ids])
        _write_array(self._path(run, "bytes.u8"), words.joined_bytes(ids))
        _write_array(self._path(run, "index.i64"), np.concatenate([record_starts, byte_starts]))
        self.runs += 1

    def partition(self, p):
        """(run of each record, word of each record in its run, counts, '\\n'-separated bytes) of partition p."""
        runs, words, counts, joined = [], [], [], []
        for run in range(self.runs):
            index = _read_array(self._path(run, "index.i64"), np.int64)
            lo, hi = index[p], index[p + 1]
            words.append(_read_array(self._path(run, "words.i32"), np.int32, lo, hi))
            counts.append(_read_array(self._path(run, "counts.i64"), np.int64, lo, hi))
            joined.append(_read_array(self._path(run, "bytes.u8"), np.uint8, index[PARTITIONS + 1 + p],
                                      index[PARTITIONS + 2 + p]))
            runs.append(np.full(hi - lo, run, dtype=np.int32))
        return np.concatenate(runs), np.concatenate(words), np.concatenate(counts), np.concatenate(joined)

    def add_patches(self, run, words, candidates):
        with open(self._path(run, "patches.i32"), "ab") as out:
            out.write(np.stack([words, candidates.astype(np.int32)], axis=1).data)

    def patches(self, run):
        """(words of the run, their candidate) for every word of run `run` that reached min_count."""
        try:
            pairs = _read_array(self._path(run, "patches.i32"), np.int32).reshape(-1, 2)
        except FileNotFoundError:
            pairs = np.zeros((0, 2), dtype=np.int32)
        return pairs[:, 0], pairs[:, 1]

    def token_to_word(self, run):
        return _read_array(self._path(run, "token_to_word.i32"), np.int32)


@dataclass
class Candidates:
    """Words that reach min_count: their UTF-8 bytes and counts, and for each run a function giving
    (words of the run, their candidate index)."""
    words: list          # bytes
    counts: np.ndarray   # int64
    most_frequent: int   # the highest count of any word, kept or not
    patches: object      # run -> (word ids in the run, candidate index)


def kept_words(words, min_count):
    """Candidates of one table's words (the single-run case: no merge needed)."""
    kept = np.flatnonzero(words.counts >= min_count)
    joined = words.joined_bytes(kept).tobytes()
    return Candidates(joined.split(b"\n")[:-1], words.counts[kept],
                      int(words.counts.max()) if words.counts.size else 0,
                      lambda run: (kept, np.arange(kept.shape[0])))


def sum_words(joined, counts):
    """The distinct words of `joined` ('\\n'-separated UTF-8 as uint8; a word may come more than once) as a
    TokenTable, each record's index in it, and each word's summed count (counts: one per record)."""
    table = TokenTable()
    index = table.add(joined)
    return table, index, _sum_by(index, counts, len(table))


def merge_runs(store, min_count):
    """Exact counts over every run, partition by partition: the Candidates of all runs."""
    candidates, counts, most_frequent = [], [], 0
    for p in range(PARTITIONS):
        runs, words, run_counts, joined = store.partition(p)
        if not runs.shape[0]:
            continue
        merged, index, totals = sum_words(joined, run_counts)
        del joined
        most_frequent = max(most_frequent, int(totals.max()))
        kept = np.flatnonzero(totals >= min_count)
        candidate_of = np.full(len(merged), -1, dtype=np.int64)
        candidate_of[kept] = len(candidates) + np.arange(kept.shape[0])
        candidates.extend(merged.joined(kept).tobytes().split(b"\n")[:-1])
        counts.append(totals[kept])
        of_record = candidate_of[index]
        has_candidate = of_record >= 0
        for run in np.unique(runs[has_candidate]).tolist():
            mine = has_candidate & (runs == run)
            store.add_patches(run, words[mine], of_record[mine])
    return Candidates(candidates, np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64), most_frequent,
                      store.patches)
