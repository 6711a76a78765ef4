from collections import Counter

import numpy as np
import pytest

from conftest import write
from w2v_nce.corpus import CorpusSettings, prepare_corpus
from w2v_nce.pairs import collect_pairs, epoch_key, is_kept, iter_pairs, max_contexts, window_of


def corpus_from(tmp_path, sentences, min_count=1):
    text = "\n".join(" ".join(s) for s in sentences) + "\n"
    return prepare_corpus([write(tmp_path / "c.txt", text)], CorpusSettings(min_count=min_count))


def all_pairs(corpus, **kwargs):
    words = corpus.vocab.words
    return Counter((words[c], words[x]) for cs, xs in iter_pairs(corpus, **kwargs) for c, x in zip(cs, xs))


def random_sentences(seed, n=60, vocab=12):
    rng = np.random.default_rng(seed)
    return [[f"w{k}" for k in rng.integers(0, vocab, rng.integers(1, 15))] for _ in range(n)]


@pytest.mark.parametrize("window", [1, 2, 5])
def test_fixed_window_without_subsampling_is_the_brute_force_multiset(tmp_path, window):
    sentences = random_sentences(window)
    expected = Counter()
    for s in sentences:
        for i, centre in enumerate(s):
            for j in range(max(0, i - window), min(len(s), i + window + 1)):
                if j != i:
                    expected[(centre, s[j])] += 1
    corpus = corpus_from(tmp_path, sentences)
    assert all_pairs(corpus, window=window, dynamic_window=False, subsample=0) == expected


def test_dynamic_window_and_subsampling_follow_their_definition(tmp_path):
    """Windows are taken over the kept tokens of a sentence, b of them on each side."""
    sentences = random_sentences(3, n=80, vocab=6)
    corpus = corpus_from(tmp_path, sentences)
    keep_prob = corpus.vocab.keep_probabilities(0.05)
    seed, epoch, window = 11, 2, 4
    key = epoch_key(seed, epoch)
    ids = np.asarray(corpus.ids)
    kept = [is_kept(ids, keep_prob, key, p) for p in range(corpus.n_tokens)]
    assert 0 < sum(kept) < corpus.n_tokens
    expected = Counter()
    words = corpus.vocab.words
    for s in range(corpus.n_sentences):
        positions = [p for p in range(corpus.offsets[s], corpus.offsets[s + 1]) if kept[p]]
        for q, p in enumerate(positions):
            b = window_of(key, p, window, True)
            for r in positions[max(0, q - b):q] + positions[q + 1:q + 1 + b]:
                expected[(words[ids[p]], words[ids[r]])] += 1
    got = all_pairs(corpus, window=window, dynamic_window=True, subsample=0.05, seed=seed, epoch=epoch)
    assert got == expected


def test_dynamic_window_is_uniform(tmp_path):
    n, window = 20_000, 4
    corpus = corpus_from(tmp_path, [[f"t{i}" for i in range(n)]])  # one sentence of distinct words
    key = epoch_key(1, 0)
    sizes = Counter(window_of(key, p, window, True) for p in range(n))
    assert sorted(sizes) == [1, 2, 3, 4]
    expected = n / window
    chi2 = sum((sizes[b] - expected) ** 2 / expected for b in sizes)
    assert chi2 < 16.3  # p = 0.001 with 3 degrees of freedom
    # and the pairs of each centre are 2 b (away from the sentence ends)
    pairs = all_pairs(corpus, window=window, dynamic_window=True, subsample=0, seed=1)
    centres = Counter(c for c, _ in pairs.elements())
    for p in range(window, n - window, 997):
        assert centres[f"t{p}"] == 2 * window_of(key, p, window, True)


def test_subsampling_keeps_each_word_at_its_rate(tmp_path):
    rng = np.random.default_rng(0)
    words = rng.choice(["the", "of", "cat", "xylophone"], size=60_000, p=[0.5, 0.3, 0.15, 0.05])
    corpus = corpus_from(tmp_path, [list(words)])
    keep_prob = corpus.vocab.keep_probabilities(1e-2)
    key = epoch_key(5, 0)
    ids = np.asarray(corpus.ids)
    kept = np.array([is_kept(ids, keep_prob, key, p) for p in range(corpus.n_tokens)])
    for word_id, count in enumerate(corpus.vocab.counts):
        rate, p = kept[ids == word_id].mean(), keep_prob[word_id]
        assert abs(rate - p) <= 5 * np.sqrt(p * (1 - p) / count) + 1e-12


NONE_HELD = np.zeros(0, dtype=np.uint8)


@pytest.mark.parametrize("piece", [1, 2, 3, 37])
def test_any_split_of_the_token_range_gives_the_same_pairs(tmp_path, piece):
    """The walk reads kept tokens beyond its range's ends (up to a window's worth, within the sentence):
    ranges shorter than the window, sentences spread over many ranges, held-out sentences."""
    sentences = random_sentences(9, n=200) + [random_sentences(10, n=1)[0] * 20]
    corpus = corpus_from(tmp_path, sentences)
    ids, offsets = np.asarray(corpus.ids), corpus.offsets
    keep_prob = corpus.vocab.keep_probabilities(0.05)
    held = (np.arange(corpus.n_sentences) % 7 == 3).astype(np.uint8)
    out_c = np.empty(10 * corpus.n_tokens, np.int32)
    out_x = np.empty_like(out_c)
    room = max_contexts(5, corpus.longest_sentence)
    n = collect_pairs(ids, offsets, keep_prob, held, 3, 0, 5, True, room, 0, corpus.n_tokens, out_c, out_x)
    whole = list(zip(out_c[:n], out_x[:n]))
    pieces = []
    for lo in range(0, corpus.n_tokens, piece):
        m = collect_pairs(ids, offsets, keep_prob, held, 3, 0, 5, True, room, lo, min(lo + piece, corpus.n_tokens),
                          out_c, out_x)
        pieces.extend(zip(out_c[:m], out_x[:m]))
    assert pieces == whole
    assert n < sum(len(c) for c, _ in iter_pairs(corpus, window=5, subsample=0.05, seed=3))  # some were held out


def test_epochs_draw_differently(tmp_path):
    corpus = corpus_from(tmp_path, random_sentences(4))
    assert all_pairs(corpus, window=5, subsample=0, epoch=0) != all_pairs(corpus, window=5, subsample=0, epoch=1)
