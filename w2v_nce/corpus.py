"""The encoded corpus: int32 vocabulary ids of every in-vocabulary token plus sentence offsets.

`encode_corpus` tokenizes (tokenize.py), counts words exactly within a memory budget (wordcount.py),
builds the vocabulary (vocab.py), drops out-of-vocabulary tokens and writes a directory:

    ids.i32      int32 ids, native byte order      offsets.i64  int64 sentence offsets, starting at 0
    vocab.txt    'word count' lines                meta.json    sizes and digests of the three files

Everything streams through files, so the corpus may be larger than memory. `prepare_corpus` keeps that
directory in the cache (cache.py) or, without one, reads it into memory. `load_encoded` checks a directory
against its meta.json (sizes, digests, ids in range, offsets increasing) before anything trusts it.
"""
import functools
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass

import numpy as np
from numba import njit

from .errors import CorpusError, OutputError, W2VWarning
from .io_utils import describe_os_error, remove_stale_temporaries, temp_prefix
from .memory import PreparationBudget, default_memory_budget
from .tokenize import TokenTable, scan_corpus
from .vocab import Vocab, describe_sources, rank_words
from .wordcount import RunStore, kept_words, merge_runs, table_words
from .words import MAX_WORD_BYTES

ENCODING_FORMAT = 2
REMAP_CHUNK = 1 << 20
READ_BLOCK = 1 << 20
_DIGEST_START = np.uint64(0x9E3779B97F4A7C15)
_DIGEST_PRIME = np.uint64(0x100000001B3)


@dataclass(frozen=True)
class CorpusSettings:
    min_count: int = 5
    max_vocab: int = 0  # 0: no cap
    lowercase: bool = False


@dataclass
class EncodedCorpus:
    ids: np.ndarray        # int32 [n_tokens], vocabulary ids, out-of-vocabulary tokens dropped
    offsets: np.ndarray    # int64 [n_sentences + 1], sentence s is ids[offsets[s]:offsets[s+1]]
    vocab: Vocab
    cache_path: str | None = None  # where it was cached, None if not cached
    from_cache: bool = False

    @property
    def n_tokens(self):
        return int(self.ids.shape[0])

    @property
    def n_sentences(self):
        return int(self.offsets.shape[0] - 1)

    @functools.cached_property
    def longest_sentence(self):
        return int(_longest_sentence(self.offsets))


class DamagedEncoding(Exception):
    """An encoded directory does not match its meta.json (the message says how)."""


# ----------------------------------------------------------------------------------------------------
# Checks


def new_digest():
    """A running 64-bit digest, for _digest_ids and _digest_offsets to continue."""
    return np.array([_DIGEST_START], dtype=np.uint64)


@njit(cache=True, nogil=True)
def _digest_ids(ids, vocab_size, digest):
    """Continue `digest` over ids; returns how many ids lie outside [0, vocab_size)."""
    h = digest[0]
    outside = 0
    for i in range(ids.shape[0]):
        x = ids[i]
        if x < 0 or x >= vocab_size:
            outside += 1
        h = (h ^ np.uint64(np.uint32(x))) * _DIGEST_PRIME
    digest[0] = h
    return outside


@njit(cache=True, nogil=True)
def _digest_offsets(offsets, previous, digest):
    """Continue `digest` over offsets; returns whether each rises strictly above the one before
    (the first above `previous`)."""
    h = digest[0]
    rising = True
    for i in range(offsets.shape[0]):
        x = offsets[i]
        if x <= previous:
            rising = False
        previous = x
        h = (h ^ np.uint64(x)) * _DIGEST_PRIME
    digest[0] = h
    return rising


@njit(cache=True, nogil=True)
def _longest_sentence(offsets):
    longest = 0
    for s in range(offsets.shape[0] - 1):
        longest = max(longest, offsets[s + 1] - offsets[s])
    return longest


def check_encoding(ids, offsets, vocab_size, where):
    """Raise CorpusError unless every id is a vocabulary id and the offsets cut ids into non-empty
    sentences (the kernels index with both unchecked)."""
    outside = _digest_ids(ids, vocab_size, new_digest())
    if outside:
        raise CorpusError(f"{where}: {outside} token ids lie outside the vocabulary of {vocab_size} words")
    if offsets.shape[0] < 1 or offsets[0] != 0 or offsets[-1] != ids.shape[0]:
        raise CorpusError(f"{where}: the sentence offsets do not span the {ids.shape[0]} tokens")
    if not _digest_offsets(offsets[1:], 0, new_digest()):
        raise CorpusError(f"{where}: the sentence offsets do not increase")


# ----------------------------------------------------------------------------------------------------
# Encoding


class SpillableArray:
    """An append-only array of one dtype, in memory up to `memory_limit` bytes and in a file after that.
    Read it once, in order, with `reader()`."""

    def __init__(self, dtype, path, memory_limit):
        self.dtype, self.path, self.memory_limit = np.dtype(dtype), path, memory_limit
        self.chunks, self.in_memory, self.spill, self.size = [], 0, None, 0

    def append(self, chunk):
        self.size += chunk.shape[0]
        if self.spill is None and self.in_memory + chunk.nbytes <= self.memory_limit:
            self.chunks.append(chunk)
            self.in_memory += chunk.nbytes
            return
        if self.spill is None:
            self.spill = open(self.path, "wb")
        self.spill.write(chunk.data)

    def _pieces(self):
        while self.chunks:
            yield self.chunks.pop(0)
        if self.spill is not None:
            self.spill.close()
            with open(self.path, "rb") as spilled:  # read, not mapped: its pages never count as ours
                while True:
                    piece = np.fromfile(spilled, dtype=self.dtype, count=READ_BLOCK)
                    if not piece.size:
                        break
                    yield piece
            os.unlink(self.path)

    def reader(self):
        return _Reader(self._pieces(), self.dtype)


class _Reader:
    def __init__(self, pieces, dtype):
        self.pieces, self.buffer = pieces, np.zeros(0, dtype=dtype)

    def _more(self):
        piece = next(self.pieces, None)
        if piece is None:
            return False
        self.buffer = np.concatenate([self.buffer, piece]) if self.buffer.size else piece
        return True

    def take(self, n):
        """The next n values (fewer at the end)."""
        while self.buffer.shape[0] < n and self._more():
            pass
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def up_to(self, limit):
        """The next values <= limit, for a non-decreasing array."""
        while (not self.buffer.size or self.buffer[-1] <= limit) and self._more():
            pass
        k = int(np.searchsorted(self.buffer, limit, side="right"))
        out, self.buffer = self.buffer[:k], self.buffer[k:]
        return out


@njit(cache=True, nogil=True)
def _remap_chunk(raw, token_to_id, out, ends, first, state, new_ends):
    """out <- the vocabulary ids of raw's in-vocabulary tokens (raw holds tokens first, first + 1, ...).
    For each sentence end in `ends`, the count of kept tokens before it goes to new_ends unless no token
    of the sentence was kept. state = [kept tokens so far, last offset written, longest sentence] is
    updated. Returns (ids written, offsets written)."""
    kept_before = state[0]
    kept = 0
    e = 0
    n_ends = 0
    for i in range(raw.shape[0] + 1):
        while e < ends.shape[0] and ends[e] <= first + i:
            offset = kept_before + kept
            if offset > state[1]:
                state[2] = max(state[2], offset - state[1])
                state[1] = offset
                new_ends[n_ends] = offset
                n_ends += 1
            e += 1
        if i < raw.shape[0]:
            word = token_to_id[raw[i]]
            if word >= 0:
                out[kept] = word
                kept += 1
    state[0] = kept_before + kept
    return kept, n_ends


def warn_if_cut(source, n_cut):
    if n_cut:
        warnings.warn(f"{source}: {n_cut} tokens longer than {MAX_WORD_BYTES} bytes were cut to their first "
                      f"{MAX_WORD_BYTES} bytes", W2VWarning, stacklevel=3)


def encode_corpus(paths, settings, directory, memory_budget=None):
    """Encode `paths` into `directory` (see the module docstring); returns the Vocab. Raises CorpusError
    for unreadable, empty or binary input and EmptyVocabError when no word reaches min_count; an OSError
    means `directory` could not be written."""
    budget = PreparationBudget(memory_budget or default_memory_budget())
    source = describe_sources(paths)
    ids = SpillableArray(np.int32, os.path.join(directory, "scan-ids.i32"), budget.ids_in_memory)
    ends = SpillableArray(np.int64, os.path.join(directory, "scan-ends.i64"), budget.ends_in_memory)
    table = TokenTable(may_grow=budget.table_may_grow)
    runs = RunStore(os.path.join(directory, "runs"))
    run_starts = [0]

    def write_run(tokens_done):  # the table is full: its counts go to disk, and it starts again empty
        runs.write(table_words(table, settings.lowercase))
        table.clear()
        run_starts.append(tokens_done)

    n_raw, n_cut = scan_corpus(paths, table, ids.append, ends.append, write_run)
    if n_raw == 0:
        raise CorpusError(f"{source}: corpus is empty (no tokens)")
    warn_if_cut(source, n_cut)
    if runs.runs == 0:  # everything fitted in one table: no merge
        words = table_words(table, settings.lowercase)
        candidates = kept_words(words, settings.min_count)
        token_to_word = [words.token_to_word]
        del words
    else:
        if run_starts[-1] < n_raw:
            runs.write(table_words(table, settings.lowercase))
        else:
            run_starts.pop()  # the table filled up on the very last token: nothing is left in it
        candidates = merge_runs(runs, settings.min_count)
        token_to_word = None
    table.clear()
    vocab, candidate_to_id = rank_words(candidates, settings.min_count, settings.max_vocab, source)
    candidates.words = None  # the vocabulary holds them now
    run_starts.append(n_raw)

    ids_reader, ends_reader = ids.reader(), ends.reader()
    ids_digest, offsets_digest = new_digest(), new_digest()
    state = np.zeros(3, dtype=np.int64)  # kept tokens, last offset, longest sentence
    out = np.empty(REMAP_CHUNK, dtype=np.int32)
    with open(os.path.join(directory, "ids.i32"), "wb") as ids_file, \
            open(os.path.join(directory, "offsets.i64"), "wb") as offsets_file:
        offsets_file.write(np.zeros(1, dtype=np.int64).data)
        _digest_offsets(np.zeros(1, dtype=np.int64), -1, offsets_digest)
        for run, (lo, hi) in enumerate(zip(run_starts[:-1], run_starts[1:])):
            run_token_to_word = token_to_word[run] if token_to_word else runs.token_to_word(run)
            word_ids, candidate = candidates.patches(run)
            word_to_id = np.full(int(run_token_to_word.max()) + 1, -1, dtype=np.int32)
            word_to_id[word_ids] = candidate_to_id[candidate]
            token_to_id = word_to_id[run_token_to_word]
            del run_token_to_word, word_to_id
            for first in range(lo, hi, REMAP_CHUNK):
                raw = ids_reader.take(min(REMAP_CHUNK, hi - first))
                sentence_ends = ends_reader.up_to(first + raw.shape[0])
                new_ends = np.empty(sentence_ends.shape[0], dtype=np.int64)
                n_kept, n_ends = _remap_chunk(raw, token_to_id, out, sentence_ends, first, state, new_ends)
                ids_file.write(out[:n_kept].data)
                _digest_ids(out[:n_kept], len(vocab), ids_digest)
                offsets_file.write(new_ends[:n_ends].data)
                _digest_offsets(new_ends[:n_ends], -1, offsets_digest)
    shutil.rmtree(runs.directory, ignore_errors=True)
    vocab.save(os.path.join(directory, "vocab.txt"))
    with open(os.path.join(directory, "vocab.txt"), "rb") as saved:
        vocab_digest = hashlib.sha256(saved.read()).hexdigest()
    meta = {"format": ENCODING_FORMAT, "sources": [os.path.abspath(p) if p != "-" else p for p in paths],
            "settings": settings.__dict__, "raw_tokens": n_raw, "cut_tokens": n_cut, "runs": max(runs.runs, 1),
            "n_tokens": int(state[0]), "n_sentences": _count_rows(directory, "offsets.i64", 8) - 1,
            "longest_sentence": int(state[2]), "vocab_size": len(vocab), "vocab_sha256": vocab_digest,
            "ids_digest": _hex(ids_digest), "offsets_digest": _hex(offsets_digest)}
    with open(os.path.join(directory, "meta.json"), "w") as meta_file:
        json.dump(meta, meta_file, indent=1)
    return vocab


def _hex(digest):
    return f"{int(digest[0]):016x}"


def _count_rows(directory, name, itemsize):
    return os.path.getsize(os.path.join(directory, name)) // itemsize


# ----------------------------------------------------------------------------------------------------
# Loading


def read_meta(directory):
    try:
        with open(os.path.join(directory, "meta.json")) as meta_file:
            meta = json.load(meta_file)
    except (OSError, ValueError) as exc:
        raise DamagedEncoding(f"meta.json unreadable ({exc})") from None
    counts = ("n_tokens", "n_sentences", "vocab_size")
    keys = {"format", "vocab_sha256", "ids_digest", "offsets_digest", *counts}
    if not isinstance(meta, dict) or not keys <= set(meta) or meta["format"] != ENCODING_FORMAT \
            or not all(isinstance(meta[k], int) and meta[k] >= 1 for k in counts):
        raise DamagedEncoding("meta.json is not of this version's format")
    return meta


def load_encoded(directory, mmap=True, verify=True, cache_path=None, from_cache=False):
    """The EncodedCorpus of an encoded directory, memory-mapped (mmap) or read. With verify, every file
    is checked against meta.json first; DamagedEncoding says what does not match."""
    meta = read_meta(directory)
    n_tokens, n_sentences = meta["n_tokens"], meta["n_sentences"]
    for name, rows in (("ids.i32", n_tokens * 4), ("offsets.i64", (n_sentences + 1) * 8)):
        try:
            size = os.path.getsize(os.path.join(directory, name))
        except OSError:
            raise DamagedEncoding(f"{name} is missing") from None
        if size != rows:
            raise DamagedEncoding(f"{name} has {size} bytes, meta.json says {rows}")
    vocab_path = os.path.join(directory, "vocab.txt")
    try:
        with open(vocab_path, "rb") as vocab_file:
            vocab_bytes = vocab_file.read()
    except OSError:
        raise DamagedEncoding("vocab.txt is missing") from None
    if verify and hashlib.sha256(vocab_bytes).hexdigest() != meta["vocab_sha256"]:
        raise DamagedEncoding("vocab.txt does not match its digest")
    try:
        vocab = Vocab.parse(vocab_bytes, vocab_path)
    except CorpusError as exc:
        raise DamagedEncoding(str(exc)) from None
    if len(vocab) != meta["vocab_size"] or vocab.total != n_tokens:
        raise DamagedEncoding("vocab.txt does not match the ids")
    ids = _read_rows(directory, "ids.i32", np.int32, n_tokens, mmap)
    offsets = _read_rows(directory, "offsets.i64", np.int64, n_sentences + 1, mmap)
    if verify:
        digest = new_digest()
        if _digest_ids(ids, len(vocab), digest) or _hex(digest) != meta["ids_digest"]:
            raise DamagedEncoding("ids.i32 does not match its digest")
        digest = new_digest()
        rising = _digest_offsets(offsets, -1, digest)
        if not rising or offsets[0] != 0 or offsets[-1] != n_tokens or _hex(digest) != meta["offsets_digest"]:
            raise DamagedEncoding("offsets.i64 does not match its digest")
    return EncodedCorpus(ids, offsets, vocab, cache_path, from_cache)


def _read_rows(directory, name, dtype, rows, mmap):
    path = os.path.join(directory, name)
    try:
        if mmap:
            return np.memmap(path, dtype=dtype, mode="r", shape=(rows,))
        return np.fromfile(path, dtype=dtype, count=rows)
    except (OSError, ValueError) as exc:
        raise DamagedEncoding(f"{name} unreadable ({exc})") from None


# ----------------------------------------------------------------------------------------------------
# Preparation


def check_paths(paths):
    """CorpusError unless every path is a regular file (or '-', standard input)."""
    if not paths:
        raise CorpusError("no corpus file given")
    for path in paths:
        if path != "-" and not os.path.isfile(path):
            raise CorpusError(f"{path}: no such file" if not os.path.exists(path) else f"{path}: not a regular file")


def prepare_corpus(paths, settings=CorpusSettings(), cache_dir=None, memory_budget=None):
    """Tokenize, build the vocabulary and encode `paths` (a list of files, '-' for standard input).

    With `cache_dir` the result is stored under it and reused while the files are unchanged; standard
    input is never cached, and a cache that cannot be written is skipped with a warning. Raises
    CorpusError / EmptyVocabError with a message naming the input.
    """
    from .cache import CacheWriteError, CorpusCache

    paths = [os.fspath(p) for p in paths]
    check_paths(paths)
    if cache_dir is not None and "-" not in paths:
        cache = CorpusCache.open(cache_dir)
        if cache is not None:
            try:
                return cache.get(paths, settings, lambda directory: encode_corpus(paths, settings, directory,
                                                                                  memory_budget))
            except CacheWriteError as exc:
                warnings.warn(f"{exc}; continuing without the corpus cache", W2VWarning, stacklevel=2)
    return _prepare_without_cache(paths, settings, memory_budget)


def _prepare_without_cache(paths, settings, memory_budget):
    parent = tempfile.gettempdir()
    remove_stale_temporaries(parent)
    try:
        with tempfile.TemporaryDirectory(prefix=temp_prefix("w2v-nce-prepare"), dir=parent) as directory:
            encode_corpus(paths, settings, directory, memory_budget)
            return load_encoded(directory, mmap=False, verify=False)
    except OSError as exc:
        raise OutputError(f"{parent}: cannot write temporary files ({describe_os_error(exc)}); set TMPDIR to a "
                          "directory with room") from None
