"""The vocabulary: distinct tokens decoded and merged, thresholded, sorted by frequency.

Id 0 is the most frequent word (ties: code points ascending), so ids are Zipf-ordered and a
log-uniform sampler over ids approximates the unigram distribution.
"""
import os
from dataclasses import dataclass

import numpy as np

from .errors import CorpusError, EmptyVocabError
from .io_utils import atomic_open


@dataclass(frozen=True)
class Vocab:
    words: list          # id -> word
    counts: np.ndarray   # id -> count, int64, non-increasing

    def __len__(self):
        return len(self.words)

    @property
    def total(self):
        """Number of in-vocabulary tokens in the corpus."""
        return int(self.counts.sum())

    def index(self):
        return {w: i for i, w in enumerate(self.words)}

    def keep_probabilities(self, subsample):
        """word2vec C's subsampling: keep a token of count c with min(1, (sqrt(c/(t N)) + 1) t N / c)."""
        if subsample <= 0:
            return np.ones(len(self), dtype=np.float64)
        threshold = subsample * self.total
        ratio = threshold / self.counts.astype(np.float64)
        return np.minimum(1.0, (np.sqrt(1.0 / ratio) + 1.0) * ratio)

    def save(self, path):
        """word2vec C's -save-vocab format: one 'word count' per line, most frequent first."""
        with atomic_open(path, "w", encoding="utf-8", newline="\n") as out:
            write_vocab(self, out)

    @classmethod
    def load(cls, path):
        """Read a 'word count' per line file (as written by save or word2vec C's -save-vocab)."""
        with open(path, encoding="utf-8", newline="\n") as handle:
            lines = handle.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        words, counts = [], []
        for line_no, line in enumerate(lines, 1):
            word, _, count = line.rpartition(" ")
            if not word or not count.isdigit():
                raise CorpusError(f"{path}:{line_no}: expected 'word count', got {line.strip()[:60]!r}")
            words.append(word)
            counts.append(int(count))
        return cls(words, np.asarray(counts, dtype=np.int64))


def write_vocab(vocab, out):
    for word, count in zip(vocab.words, vocab.counts.tolist()):
        out.write(f"{word} {count}\n")


def merge_tokens(table, lowercase):
    """Decode each distinct byte token once (invalid UTF-8 becomes U+FFFD), lowercase if asked, and
    merge tokens that become equal. Returns (words, counts, token_to_word) where token_to_word maps
    the table's first-seen index to an index into words."""
    n = len(table)
    # Decode all tokens in one call: join them with '\n' (never inside a token, and never swallowed by
    # an invalid sequence, so this equals decoding each token on its own).
    # The arena holds the tokens back to back in first-seen order: byte i of it, in token t, goes to i + t.
    used = int(table.state[1])
    joined = np.full(used + n, ord("\n"), dtype=np.uint8)
    joined[np.arange(used) + np.repeat(np.arange(n), table.lengths())] = table.arena[:used]
    text = joined.tobytes().decode("utf-8", "replace")
    if lowercase:
        text = text.lower()
    tokens = text.split("\n")[:n]
    counts = table.counts()
    if len(set(tokens)) == n:
        return tokens, counts.copy(), np.arange(n, dtype=np.int64)
    index = {}
    token_to_word = np.fromiter((index.setdefault(w, len(index)) for w in tokens), dtype=np.int64, count=n)
    merged = np.bincount(token_to_word, weights=counts, minlength=len(index)).astype(np.int64)
    return list(index), merged, token_to_word


def build_vocab(words, counts, min_count, max_vocab, source):
    """Threshold and sort. Returns (Vocab, word_to_id) with word_to_id[i] = id of words[i] or -1."""
    kept = np.flatnonzero(counts >= min_count)
    if kept.size == 0:
        raise EmptyVocabError(
            f"{source}: no word occurs at least {min_count} times (the most frequent occurs "
            f"{int(counts.max()) if counts.size else 0}); lower --min-count")
    by_word = np.asarray(sorted(kept.tolist(), key=words.__getitem__), dtype=np.int64)
    order = by_word[np.argsort(-counts[by_word], kind="stable")].tolist()
    if max_vocab:
        order = order[:max_vocab]
    word_to_id = np.full(len(words), -1, dtype=np.int32)
    word_to_id[order] = np.arange(len(order), dtype=np.int32)
    return Vocab([words[i] for i in order], counts[order]), word_to_id


def describe_sources(paths):
    return ", ".join("standard input" if p == "-" else os.fspath(p) for p in paths)
