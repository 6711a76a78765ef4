"""The encoded corpus: int32 vocabulary ids of every in-vocabulary token plus sentence offsets.

`prepare_corpus` tokenizes (tokenize.py), builds the vocabulary (vocab.py), drops out-of-vocabulary
tokens and stores the result in a cache directory keyed on the input files (path, size, modification
time) and the settings that change it. A second run memory-maps the cached arrays and skips all of it,
and corpora larger than memory work because every step streams through files.
"""
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass

import numpy as np
from numba import njit

from .errors import CorpusError
from .io_utils import atomic_directory
from .tokenize import distinct_positive, scan_corpus
from .vocab import Vocab, build_vocab, describe_sources, merge_tokens

CACHE_FORMAT = 1
REMAP_CHUNK = 1 << 24
RAW_MEMORY_BUDGET = 1 << 28  # bytes of per-token ids held in memory before spilling to disk


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


def default_cache_dir():
    return os.environ.get("W2V_NCE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "w2v-nce")


def cache_key(paths, settings):
    files = []
    for path in paths:
        stat = os.stat(path)
        files.append([os.path.abspath(path), stat.st_size, stat.st_mtime_ns])
    blob = json.dumps({"format": CACHE_FORMAT, "files": files, "min_count": settings.min_count,
                       "max_vocab": settings.max_vocab, "lowercase": settings.lowercase}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def prepare_corpus(paths, settings=CorpusSettings(), cache_dir=None):
    """Tokenize, build the vocabulary and encode `paths` (a list of files, '-' for standard input).

    With `cache_dir` the result is stored under it and reused while the files are unchanged; standard
    input is never cached. Raises CorpusError / EmptyVocabError with a message naming the input.
    """
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise CorpusError("no corpus file given")
    for path in paths:
        if path != "-" and not os.path.isfile(path):
            raise CorpusError(f"{path}: no such file" if not os.path.exists(path) else f"{path}: not a regular file")
    if cache_dir is None or "-" in paths:
        with tempfile.TemporaryDirectory(prefix="w2v-nce-") as tmp:
            vocab = _encode_into(paths, settings, tmp)
            return _load(tmp, mmap=False, cache_path=None, from_cache=False, vocab=vocab)
    entry = os.path.join(cache_dir, cache_key(paths, settings))
    if os.path.isfile(os.path.join(entry, "meta.json")):
        try:
            return _load(entry, mmap=True, cache_path=entry, from_cache=True)
        except (OSError, ValueError):
            pass  # a damaged entry is rebuilt below
    with atomic_directory(entry) as tmp:
        vocab = _encode_into(paths, settings, tmp)
    return _load(entry, mmap=True, cache_path=entry, from_cache=False, vocab=vocab)


class _RawIds:
    """The scan's per-token ids: kept in memory up to `budget` bytes, then spilled to a file."""

    def __init__(self, spill_path, budget=RAW_MEMORY_BUDGET):
        self.chunks, self.in_memory, self.budget = [], 0, budget
        self.spill_path, self.spill = spill_path, None

    def __call__(self, chunk):
        if self.spill is None and self.in_memory + chunk.nbytes <= self.budget:
            self.chunks.append(chunk)
            self.in_memory += chunk.nbytes
            return
        if self.spill is None:
            self.spill = open(self.spill_path, "wb")
        self.spill.write(chunk.tobytes())

    def __iter__(self):
        """The ids in order, as arrays (the spilled part in pieces of REMAP_CHUNK)."""
        yield from self.chunks
        if self.spill is not None:
            self.spill.close()
            with open(self.spill_path, "rb") as spilled:  # read, not mapped: its pages never count as ours
                while True:
                    chunk = np.fromfile(spilled, dtype=np.int32, count=REMAP_CHUNK)
                    if not chunk.size:
                        break
                    yield chunk
            os.unlink(self.spill_path)


def _encode_into(paths, settings, directory):
    source = describe_sources(paths)
    raw = _RawIds(os.path.join(directory, "raw.i32"))
    scan = scan_corpus(paths, raw)
    if scan.n_tokens == 0:
        raise CorpusError(f"{source}: corpus is empty (no tokens)")
    words, counts, token_to_word = merge_tokens(scan.table, settings.lowercase)
    vocab, word_to_id = build_vocab(words, counts, settings.min_count, settings.max_vocab, source)
    token_to_id = word_to_id[token_to_word].astype(np.int32)
    new_ends = np.empty(scan.sentence_ends.shape[0], dtype=np.int64)
    state = np.zeros(3, dtype=np.int64)  # raw tokens done, kept tokens so far, sentence ends done
    # ids.npy is written chunk by chunk (not through a writable memory map, whose dirty pages would all
    # count as this process's memory): an .npy header for the known length, then the raw int32s.
    with open(os.path.join(directory, "ids.npy"), "wb") as ids_file:
        np.lib.format.write_array_header_1_0(
            ids_file, {"descr": np.dtype(np.int32).str, "fortran_order": False, "shape": (vocab.total,)})
        kept = np.empty(0, dtype=np.int32)
        for chunk in raw:
            if kept.shape[0] < chunk.shape[0]:
                kept = np.empty(chunk.shape[0], dtype=np.int32)
            n_kept = _remap_chunk(chunk, token_to_id, kept, scan.sentence_ends, new_ends, state)
            ids_file.write(kept[:n_kept].data)
    new_ends[state[2]:] = state[1]
    offsets = np.concatenate([[0], distinct_positive(new_ends)]).astype(np.int64)
    np.save(os.path.join(directory, "offsets.npy"), offsets)
    vocab.save(os.path.join(directory, "vocab.txt"))
    with open(os.path.join(directory, "meta.json"), "w") as meta:
        json.dump({"format": CACHE_FORMAT, "sources": paths, "raw_tokens": scan.n_tokens,
                   "settings": settings.__dict__}, meta)
    return vocab


@njit(cache=True, nogil=True)
def _remap_chunk(raw, token_to_id, out, sentence_ends, new_ends, state):
    """Map the next raw chunk to vocabulary ids in out, dropping -1, and translate the sentence ends in
    it; returns how many ids it wrote."""
    done = state[0]
    kept_before = state[1]
    kept = kept_before
    s = state[2]
    for i in range(raw.shape[0]):
        while s < sentence_ends.shape[0] and sentence_ends[s] <= done + i:
            new_ends[s] = kept
            s += 1
        word = token_to_id[raw[i]]
        if word >= 0:
            out[kept - kept_before] = word
            kept += 1
    state[0] = done + raw.shape[0]
    state[1] = kept
    state[2] = s
    return kept - kept_before


def _load(directory, mmap, cache_path, from_cache, vocab=None):
    """The arrays of an encoded directory (memory-mapped if mmap); the vocabulary is read unless given."""
    mode = "r" if mmap else None
    ids = np.load(os.path.join(directory, "ids.npy"), mmap_mode=mode)
    offsets = np.load(os.path.join(directory, "offsets.npy"))
    if vocab is None:
        vocab = Vocab.load(os.path.join(directory, "vocab.txt"))
    if offsets[-1] != ids.shape[0] or vocab.total != ids.shape[0]:
        raise ValueError("inconsistent cache entry")
    return EncodedCorpus(ids, offsets, vocab, cache_path, from_cache)
