"""Trained vectors with their words: nearest neighbours and the word2vec text and binary formats.

Formats (word2vec C, read by gensim's KeyedVectors.load_word2vec_format): a header line 'V D', then one
row per word, most frequent first. Text rows are 'word v1 ... vD'; binary rows are the word, a space and
D little-endian float32 values, then a newline. `load` tells the two apart by content, not by name. Words
follow words.py: no ASCII whitespace, at most MAX_WORD_BYTES bytes; every other character (a no-break
space, U+3000, ...) is written and read back as it is.
"""
import numpy as np

from .errors import VectorsFormatError, short_repr
from .io_utils import atomic_open
from .textformat import LARGEST, text_rows
from .words import MAX_WORD_BYTES, unwritable

TEXT_ROWS_PER_CHUNK = 50_000
TEXT_BYTES_PER_CHUNK = 32 << 20


class Embeddings:
    """Word vectors in frequency order (row 0 is the most frequent word)."""

    def __init__(self, words, vectors):
        self.words = list(words)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.words):
            raise ValueError(f"{len(self.words)} words but vectors of shape {self.vectors.shape}")
        self.index = {}
        for i, word in enumerate(self.words):
            self.index.setdefault(word, i)  # a repeated word resolves to its most frequent row
        self._unit = None
        self._folded = None

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.index

    def __getitem__(self, word):
        return self.vectors[self.index[word]]

    def lookup(self, word, case_insensitive=False):
        """The vocabulary word `word` stands for: itself, or (case_insensitive) the most frequent word that
        reads the same upper-cased, as evaluation matches words; None if there is none."""
        if word in self.index:
            return word
        if not case_insensitive:
            return None
        if self._folded is None:
            self._folded = {}
            for candidate in self.words:
                self._folded.setdefault(candidate.upper(), candidate)
        return self._folded.get(word.upper())

    @property
    def dim(self):
        return self.vectors.shape[1]

    @property
    def unit(self):
        """Rows scaled to unit length (all-zero rows stay zero)."""
        if self._unit is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            self._unit = self.vectors / np.where(norms > 0, norms, 1.0).astype(np.float32)
        return self._unit

    def most_similar(self, positive=(), negative=(), topn=10, restrict_vocab=None):
        """Words nearest by cosine to sum(positive) - sum(negative) of unit vectors, excluding the query
        words (gensim's most_similar); a single word may be given as a string. Raises KeyError naming a
        word that is not in the vocabulary."""
        positive = [positive] if isinstance(positive, str) else list(positive)
        negative = [negative] if isinstance(negative, str) else list(negative)
        if not positive and not negative:
            raise ValueError("give at least one word")
        query = np.zeros(self.dim, dtype=np.float64)
        for word, sign in [(w, 1.0) for w in positive] + [(w, -1.0) for w in negative]:
            if word not in self.index:
                raise KeyError(word)
            query += sign * self.unit[self.index[word]]
        norm = np.linalg.norm(query)
        query = query / norm if norm > 0 else query
        limit = len(self) if restrict_vocab is None else min(restrict_vocab, len(self))
        scores = self.unit[:limit] @ query.astype(np.float32)
        for word in positive + negative:
            if self.index[word] < limit:
                scores[self.index[word]] = -np.inf
        topn = min(topn, limit)
        best = np.argpartition(-scores, topn - 1)[:topn] if topn < limit else np.arange(limit)
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in best if np.isfinite(scores[i])]

    # ------------------------------------------------------------------------------------------------
    # word2vec formats

    def save(self, path, binary):
        """Write word2vec binary (binary=True) or text format, atomically."""
        problem = unwritable(self.words)
        if problem:
            raise VectorsFormatError(f"{path}: {problem}")
        with atomic_open(path, "wb") as out:
            out.write(f"{len(self)} {self.dim}\n".encode())
            if binary:
                little = self.vectors.astype("<f4", copy=False)
                for word, row in zip(self.words, little):
                    out.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
            else:
                exact = np.all(np.abs(self.vectors) < LARGEST)  # else (never for trained vectors) Python formats
                row_format = " ".join(["%.6f"] * self.dim)
                step = max(1, TEXT_BYTES_PER_CHUNK // (24 * self.dim + 64))
                for lo in range(0, len(self), step):
                    rows, words = self.vectors[lo:lo + step], self.words[lo:lo + step]
                    out.write(text_rows(rows, words) if exact else "".join(
                        f"{w} {row_format % tuple(r)}\n" for w, r in zip(words, rows.tolist())).encode())

    @classmethod
    def load(cls, path):
        """Read a word2vec text or binary file (format detected from the content)."""
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise VectorsFormatError(f"{path}: cannot read vectors ({exc.strerror or exc})") from None
        header_end = data.find(b"\n")
        header = data[:header_end if header_end >= 0 else len(data)].split()
        if data[:4] == b"PK\x03\x04":
            raise VectorsFormatError(f"{path}: a zip archive (a w2v-nce model.npz?), not a word2vec vectors file")
        if len(header) != 2 or not all(h.isdigit() for h in header) or int(header[1]) == 0:
            shown = "".join(c if c.isprintable() else "?" for c in data[:40].split(b"\n")[0].decode("utf-8", "replace"))
            raise VectorsFormatError(f"{path}:1: expected a header 'count dim' (word2vec format), got '{shown}'")
        count, dim = int(header[0]), int(header[1])
        body = memoryview(data)[header_end + 1:]
        if _looks_binary(body, dim):
            words, vectors = _parse_binary(path, data, header_end + 1, count, dim)
        else:
            words, vectors = _parse_text(path, data[header_end + 1:], count, dim)
        return cls(words, vectors)


_NUMBER_BYTES = frozenset(b"0123456789.-+eEinfaINFA \t\r")


def _looks_binary(body, dim):
    """Text if, after the first word, the first row up to its newline is `dim` numbers (only their bytes and
    spaces), which 4 * dim raw float32 bytes essentially never are. Otherwise binary when a newline follows
    the word's 4 * dim bytes (raw floats may hold a newline byte anywhere, the first one included) or the row
    holds bytes no number has; else text (a malformed text row, for the text parser to report)."""
    first = bytes(body[: min(len(body), 2 * MAX_WORD_BYTES + 64 + 40 * dim)])
    space = first.find(b" ")
    newline = first.find(b"\n", space + 1)
    if space < 0 or newline < 0:
        return space >= 0 and len(first) > space + 4 * dim
    row = first[space + 1:newline]
    if set(row) <= _NUMBER_BYTES and len(row.split()) == dim:
        return False
    binary_end = space + 1 + 4 * dim
    return first[binary_end:binary_end + 1] == b"\n" or not set(row) <= _NUMBER_BYTES


def _parse_text(path, body, count, dim):
    text = body.decode("utf-8", "replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != count:
        raise VectorsFormatError(f"{path}: the header says {count} rows but the file has {len(lines)}")
    words, chunks = [], []
    for lo in range(0, len(lines), TEXT_ROWS_PER_CHUNK):
        block = [line.rstrip().split(" ") for line in lines[lo:lo + TEXT_ROWS_PER_CHUNK]]
        for offset, fields in enumerate(block):
            if len(fields) != dim + 1:
                raise VectorsFormatError(f"{path}:{lo + offset + 2}: expected a word and {dim} numbers, got "
                                         f"{len(fields) - 1} numbers")
        words.extend(fields[0] for fields in block)
        try:
            chunks.append(np.array([fields[1:] for fields in block], dtype=np.float32))
        except ValueError:
            for offset, fields in enumerate(block):
                for value in fields[1:]:
                    try:
                        float(value)
                    except ValueError:
                        raise VectorsFormatError(f"{path}:{lo + offset + 2}: {short_repr(value)} is not a number") \
                            from None
            raise
        finite = np.isfinite(chunks[-1]).all(axis=1)
        if not finite.all():
            bad = int(np.flatnonzero(~finite)[0])
            raise VectorsFormatError(f"{path}:{lo + bad + 2}: {short_repr(words[lo + bad])} has a non-finite value "
                                     "(nan or inf)")
    vectors = np.concatenate(chunks) if chunks else np.zeros((0, dim), dtype=np.float32)
    return words, vectors


def _parse_binary(path, data, start, count, dim):
    row_bytes = 4 * dim
    words, offsets = [], []
    position = start
    end = len(data)
    while position < end:
        while position < end and data[position] in b"\n\r":  # word2vec C ends rows with '\n'
            position += 1
        if position >= end:
            break
        space = data.find(b" ", position, position + MAX_WORD_BYTES + 1)
        if space < 0:
            raise VectorsFormatError(f"{path}: row {len(words) + 1}: no word of at most {MAX_WORD_BYTES} bytes "
                                     f"followed by a space at byte {position}")
        if space + 1 + row_bytes > end:
            raise VectorsFormatError(f"{path}: row {len(words) + 1} is cut short (file truncated?)")
        words.append(data[position:space].decode("utf-8", "replace"))
        offsets.append(space + 1)
        position = space + 1 + row_bytes
        if len(words) > count:
            break
    if len(words) != count:
        raise VectorsFormatError(f"{path}: the header says {count} rows but the file has "
                                 f"{'more' if len(words) > count else len(words)}")
    flat = np.frombuffer(data, dtype=np.uint8)
    offsets = np.asarray(offsets, dtype=np.int64)
    vectors = np.empty((count, dim), dtype=np.float32)
    for lo in range(0, count, TEXT_ROWS_PER_CHUNK):  # gather in blocks to bound the index array
        gather = offsets[lo:lo + TEXT_ROWS_PER_CHUNK, None] + np.arange(row_bytes, dtype=np.int64)
        vectors[lo:lo + gather.shape[0]] = flat[gather].view("<f4").reshape(-1, dim)
    if not np.all(np.isfinite(vectors)):
        bad = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
        raise VectorsFormatError(f"{path}: row {bad + 1} ({short_repr(words[bad])}) holds a non-finite value")
    return words, vectors

