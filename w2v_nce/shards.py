"""A corpus cut into byte ranges that separate processes count and encode: the preparation of a run on a
cluster (cluster.py), in plain NumPy and the scan's Numba kernels, without Ray.

`split_ranges` cuts each file at line starts, so every range holds whole sentences; a compressed file is
one range (it cannot be entered in the middle). `count_range` counts one range's words as the scan does,
split into partitions by a hash of the word; `sum_counts` sums one partition over all ranges, and
`merged_vocab` ranks the words of all partitions into the Vocab a single process builds from the whole
corpus (same words, counts and order: the order is a function of the counts). `encode_shard` then turns a worker's
ranges into vocabulary ids with that global vocabulary: the same ids and sentences as the same stretch of
the single-process encoding.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .corpus import EncodedCorpus, _remap_chunk, check_paths, warn_if_cut
from .errors import CorpusError
from .tokenize import COMPRESSED, ByteRange, TokenTable, scan_corpus
from .vocab import describe_sources, rank_words
from .wordcount import Candidates, sum_words, table_words

RANGE_BYTES = 64 << 20   # a counting task's share of a file
_FIND_BLOCK = 1 << 16


def split_ranges(paths, range_bytes=RANGE_BYTES):
    """ByteRanges of about range_bytes covering every file of `paths` in order, each starting at a line
    start. Raises CorpusError for standard input (a cluster's workers cannot read it) and missing files."""
    check_shareable(paths)
    ranges = []
    for path in paths:
        size = os.path.getsize(path)
        if os.path.splitext(path)[1].lower() in COMPRESSED:
            ranges.append(ByteRange(os.path.abspath(path), 0, size))
            continue
        start = 0
        with open(path, "rb") as handle:
            while start < size:
                end = _line_start_after(handle, min(start + range_bytes, size), size)
                ranges.append(ByteRange(os.path.abspath(path), start, end))
                start = end
    return ranges


def check_shareable(paths):
    """CorpusError unless every path is a corpus file (a cluster's workers cannot read standard input)."""
    if "-" in paths:
        raise CorpusError("standard input cannot be shared with a cluster's workers; give corpus files that every "
                          "worker can read")
    check_paths(paths)


def _line_start_after(handle, position, size):
    """The first line start at or after `position` (the file's size when no newline follows)."""
    if position >= size:
        return size
    handle.seek(position - 1)
    while True:
        block = handle.read(_FIND_BLOCK)
        if not block:
            return size
        newline = block.find(b"\n")
        if newline >= 0:
            return handle.tell() - len(block) + newline + 1


@dataclass
class WordCounts:
    """Words ('\n'-separated UTF-8 as uint8) with their counts."""
    joined: np.ndarray
    counts: np.ndarray


@dataclass
class RangeTotals:
    raw_tokens: int
    cut_tokens: int


def count_range(byte_range, lowercase):
    """The words of one range and their counts (tokenize.py, wordcount.py), as (RangeTotals, then one
    WordCounts per partition of the words by hash: wordcount.PARTITIONS of them), so that each partition
    can be summed over all ranges apart. The range's distinct tokens are held in memory: RANGE_BYTES bounds
    them."""
    table = TokenTable()
    raw, cut = scan_corpus([byte_range], table, lambda ids: None, lambda ends: None, on_full=None)
    words = table_words(table, lowercase)
    grouped, starts = words.grouped_by_partition(np.flatnonzero(words.counts > 0))
    parts = [grouped[a:b] for a, b in zip(starts[:-1], starts[1:])]
    return (RangeTotals(raw, cut), *(WordCounts(words.joined_bytes(part), words.counts[part]) for part in parts))


def sum_counts(min_count, *parts):
    """One partition's words summed over its WordCounts: the Candidates (words as bytes) that reach
    min_count."""
    table, _, totals = sum_words(np.concatenate([part.joined for part in parts]),
                                 np.concatenate([part.counts for part in parts]))
    kept = np.flatnonzero(totals >= min_count)
    return Candidates(table.joined(kept).tobytes().split(b"\n")[:-1], totals[kept],
                      int(totals.max()) if totals.size else 0, None)


def merged_vocab(totals, candidates, paths, min_count, max_vocab):
    """The Vocab of every range's RangeTotals and every partition's Candidates: what preparation builds of
    the whole corpus (CorpusError / EmptyVocabError and the warning for cut tokens included)."""
    source = describe_sources(paths)
    if not sum(t.raw_tokens for t in totals):
        raise CorpusError(f"{source}: corpus is empty (no tokens)")
    warn_if_cut(source, sum(t.cut_tokens for t in totals))
    words = [word for part in candidates for word in part.words]
    counts = np.concatenate([part.counts for part in candidates]) if candidates else np.zeros(0, dtype=np.int64)
    most_frequent = max((part.most_frequent for part in candidates), default=0)
    vocab, _ = rank_words(Candidates(words, counts, most_frequent, None), min_count, max_vocab, source)
    return vocab


def vocabulary_table(words):
    """A TokenTable holding the vocabulary's words in id order (the table index of a word is its id)."""
    table = TokenTable()
    if words:
        index = table.add(np.frombuffer(("\n".join(words) + "\n").encode("utf-8"), dtype=np.uint8))
        if not np.array_equal(index, np.arange(len(words))):
            raise CorpusError("the vocabulary holds a word twice or a word with whitespace")
    return table


def encode_shard(ranges, words, lowercase, threads=1):
    """The EncodedCorpus (with no vocab) of `ranges`, in order, under the vocabulary `words` (by id): tokens
    outside it are dropped, and sentences left empty with them. The ranges are encoded on `threads` threads
    (the scan releases the GIL) and joined."""
    vocabulary = vocabulary_table(words)  # only read from here on, so the threads share it
    with ThreadPoolExecutor(max(1, min(threads, len(ranges)))) as pool:
        parts = list(pool.map(lambda byte_range: _encode_range(byte_range, vocabulary, lowercase), ranges))
    ids = np.concatenate([part.ids for part in parts]) if parts else np.zeros(0, dtype=np.int32)
    starts = np.cumsum([0] + [part.n_tokens for part in parts[:-1]])
    offsets = np.concatenate([np.zeros(1, dtype=np.int64)] + [part.offsets[1:] + start
                                                              for part, start in zip(parts, starts)])
    return EncodedCorpus(ids, offsets, None)


def _encode_range(byte_range, vocabulary, lowercase):
    table = TokenTable()
    raw_chunks, end_chunks = [], []
    scan_corpus([byte_range], table, raw_chunks.append, end_chunks.append, on_full=None)
    table_of_words = table_words(table, lowercase)
    word_to_id = np.concatenate([vocabulary.lookup(table_of_words.table), vocabulary.lookup(table_of_words.extra)])
    token_to_id = word_to_id[table_of_words.token_to_word].astype(np.int32)
    raw_ids = np.concatenate(raw_chunks) if raw_chunks else np.zeros(0, dtype=np.int32)
    ends = np.concatenate(end_chunks) if end_chunks else np.zeros(0, dtype=np.int64)
    del raw_chunks, end_chunks
    ids = np.empty(raw_ids.shape[0], dtype=np.int32)
    new_ends = np.empty(ends.shape[0], dtype=np.int64)
    kept, n_ends = _remap_chunk(raw_ids, token_to_id, ids, ends, 0, np.zeros(3, dtype=np.int64), new_ends)
    return EncodedCorpus(ids[:kept].copy(), np.concatenate([np.zeros(1, dtype=np.int64), new_ends[:n_ends]]), None)


def assign_ranges(ranges, workers):
    """Cut the ranges, in corpus order, into `workers` consecutive groups of about equal bytes (a worker's
    shard is contiguous text): a range goes to the group its middle byte falls in. Fewer groups when there
    are fewer ranges."""
    sizes = np.array([r.end - r.start for r in ranges], dtype=np.float64)
    middles = (np.cumsum(sizes) - sizes / 2) / max(sizes.sum(), 1.0)
    groups = [[] for _ in range(workers)]
    for r, middle in zip(ranges, middles):
        groups[min(workers - 1, int(middle * workers))].append(r)
    return [group for group in groups if group]
