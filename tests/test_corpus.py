import os
import time

import numpy as np

from conftest import write
from w2v_nce.corpus import CorpusSettings, prepare_corpus


def test_out_of_vocabulary_tokens_are_dropped_and_sentences_kept(tmp_path):
    path = write(tmp_path / "c.txt", "a b rare a\nrare\nb a b\n")
    corpus = prepare_corpus([path], CorpusSettings(min_count=3))
    assert corpus.vocab.words == ["a", "b"]
    assert corpus.ids.tolist() == [0, 1, 0, 1, 0, 1]
    assert corpus.offsets.tolist() == [0, 3, 6]  # the sentence of only 'rare' is gone


def test_cache_hit_then_miss_when_the_file_changes(tmp_path):
    cache = str(tmp_path / "cache")
    path = write(tmp_path / "c.txt", "a a b b\n")
    first = prepare_corpus([path], CorpusSettings(min_count=1), cache_dir=cache)
    second = prepare_corpus([path], CorpusSettings(min_count=1), cache_dir=cache)
    assert not first.from_cache and second.from_cache
    assert isinstance(second.ids, np.memmap)
    assert second.ids.tolist() == first.ids.tolist()
    time.sleep(0.01)
    write(path, "a a b b c c c\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    third = prepare_corpus([path], CorpusSettings(min_count=1), cache_dir=cache)
    assert not third.from_cache and third.vocab.words == ["c", "a", "b"]


def test_cache_key_includes_the_settings(tmp_path):
    cache = str(tmp_path / "cache")
    path = write(tmp_path / "c.txt", "a a b\n")
    prepare_corpus([path], CorpusSettings(min_count=1), cache_dir=cache)
    other = prepare_corpus([path], CorpusSettings(min_count=2), cache_dir=cache)
    assert not other.from_cache and other.vocab.words == ["a"]


def test_no_cache_leaves_nothing_behind(tmp_path):
    path = write(tmp_path / "c.txt", "a a b\n")
    corpus = prepare_corpus([path], CorpusSettings(min_count=1), cache_dir=None)
    assert corpus.cache_path is None and corpus.ids.tolist() == [0, 0, 1]
    assert sorted(os.listdir(tmp_path)) == ["c.txt"]
