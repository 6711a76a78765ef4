"""The vocabulary: words that reach min_count, sorted by frequency.

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
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise CorpusError(f"{path}: cannot read the vocabulary ({exc.strerror or exc})") from None
        return cls.parse(data, path)

    @classmethod
    def parse(cls, data, path):
        """The Vocab of a vocabulary file's bytes; CorpusError names the line of a malformed one."""
        try:
            lines = data.decode("utf-8").split("\n")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
        if lines and lines[-1] == "":
            lines.pop()
        words, counts = [], []
        for line_no, line in enumerate(lines, 1):
            word, _, count = line.rpartition(" ")
            if not word or not count.isdigit() or not count.isascii():
                raise CorpusError(f"{path}:{line_no}: expected 'word count', got {line.strip()[:60]!r}")
            words.append(word)
            counts.append(int(count))
        return cls(words, np.asarray(counts, dtype=np.int64))


def write_vocab(vocab, out):
    for word, count in zip(vocab.words, vocab.counts.tolist()):
        out.write(f"{word} {count}\n")


def rank_words(candidates, min_count, max_vocab, source):
    """The Vocab of wordcount.Candidates (words already at min_count) and each candidate's id (-1 for the
    ones max_vocab leaves out). Decodes candidates.words in place (bytes become str)."""
    if not candidates.words:
        raise EmptyVocabError(
            f"{source}: no word occurs at least {min_count} times (the most frequent occurs "
            f"{candidates.most_frequent}); lower --min-count")
    words = candidates.words
    for i, word in enumerate(words):  # in place: each bytes object is freed as its str is made
        words[i] = word.decode("utf-8")
    counts = candidates.counts
    by_word = np.argsort(np.array(words, dtype=object), kind="stable")  # code point order
    order = by_word[np.argsort(-counts[by_word], kind="stable")]
    del by_word
    if max_vocab:
        order = order[:max_vocab]
    candidate_to_id = np.full(len(words), -1, dtype=np.int32)
    candidate_to_id[order] = np.arange(order.shape[0], dtype=np.int32)
    return Vocab([words[i] for i in order.tolist()], counts[order]), candidate_to_id


def describe_sources(paths):
    return ", ".join("standard input" if p == "-" else os.fspath(p) for p in paths)
