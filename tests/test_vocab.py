import numpy as np
import pytest

from conftest import write
from w2v_nce.corpus import CorpusSettings, prepare_corpus
from w2v_nce.errors import EmptyVocabError
from w2v_nce.vocab import Vocab


def vocab_of(tmp_path, text, **settings):
    return prepare_corpus([write(tmp_path / "c.txt", text)], CorpusSettings(**settings)).vocab


def test_most_frequent_first_ties_by_code_point(tmp_path):
    vocab = vocab_of(tmp_path, "b a c B é e b a c b\n", min_count=1)
    assert vocab.words == ["b", "a", "c", "B", "e", "é"]
    assert vocab.counts.tolist() == [3, 2, 2, 1, 1, 1]


def test_min_count_and_max_vocab(tmp_path):
    text = "a a a a b b b c c d\n"
    assert vocab_of(tmp_path, text, min_count=2).words == ["a", "b", "c"]
    assert vocab_of(tmp_path, text, min_count=1, max_vocab=2).words == ["a", "b"]


def test_lowercase_merges_unicode_case(tmp_path):
    vocab = vocab_of(tmp_path, "Straße STRASSE straße Ǆ ǆ\n", min_count=1, lowercase=True)
    assert dict(zip(vocab.words, vocab.counts.tolist())) == {"straße": 2, "strasse": 1, "ǆ": 2}


def test_nothing_reaches_min_count(tmp_path):
    with pytest.raises(EmptyVocabError, match="min-count"):
        vocab_of(tmp_path, "a b c\n", min_count=2)


def test_keep_probability_formula():
    vocab = Vocab(["a", "b", "c"], np.array([1000, 100, 1], dtype=np.int64))
    t = 1e-2
    n = 1101
    expected = [min(1.0, (np.sqrt(c / (t * n)) + 1) * (t * n) / c) for c in (1000, 100, 1)]
    np.testing.assert_allclose(vocab.keep_probabilities(t), expected)
    assert vocab.keep_probabilities(0).tolist() == [1.0, 1.0, 1.0]


def test_save_and_load_round_trip(tmp_path):
    vocab = Vocab(["x", "ÿ", "z"], np.array([5, 4, 4], dtype=np.int64))
    path = str(tmp_path / "v.txt")
    vocab.save(path)
    assert open(path, encoding="utf-8").read() == "x 5\nÿ 4\nz 4\n"
    loaded = Vocab.load(path)
    assert loaded.words == vocab.words and loaded.counts.tolist() == [5, 4, 4]
