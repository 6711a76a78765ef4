"""Held-out loss: the pair rule, held-out sentences never trained on, and the full losses equal to the
float64 NumPy reference (losses.full_softmax_loss / full_sigmoid_loss) computed from model.npz."""
import json

import numpy as np
import pytest

from conftest import TOY_CORPUS, write
from w2v_nce import api, losses
from w2v_nce.config import resolve
from w2v_nce.corpus import CorpusSettings, prepare_corpus
from w2v_nce.errors import ConfigError, CorpusError, W2VWarning
from w2v_nce.heldout import corpus_pairs, file_pairs, full_losses
from w2v_nce.modelfile import load_model
from w2v_nce.structs import Model
from w2v_nce.pairs import held_out_sentences
from w2v_nce.train import init_model

QUICK = {"epochs": 2, "threads": 1, "dim": 16}


def reference_losses(model, pairs):
    weights, biases = model.w_out.astype(np.float64), model.b_out.astype(np.float64)
    inputs, labels = model.w_in[pairs.inputs].astype(np.float64), pairs.labels.reshape(-1, 1)
    return (losses.full_softmax_loss(weights, biases, labels, inputs).mean(),
            losses.full_sigmoid_loss(weights, biases, labels, inputs).mean())


def test_the_pair_rule_every_pair_within_the_window_in_file_order_capped(tmp_path):
    corpus = prepare_corpus([write(tmp_path / "c.txt", "a b c d\ne f\n")], CorpusSettings(min_count=1))
    path = write(tmp_path / "h.txt", "a b zzz c\n\nd a\n")  # zzz is not in the vocabulary: dropped first
    pairs = file_pairs(path, corpus.vocab, lowercase=False, window=2)
    words = corpus.vocab.words
    got = [(words[c], words[x]) for c, x in zip(pairs.labels, pairs.inputs)]
    assert got == [("a", "b"), ("a", "c"), ("b", "a"), ("b", "c"), ("c", "a"), ("c", "b"), ("d", "a"), ("a", "d")]
    capped = file_pairs(path, corpus.vocab, lowercase=False, window=2, max_pairs=3)
    assert list(capped.labels) == list(pairs.labels[:3]) and list(capped.inputs) == list(pairs.inputs[:3])
    with pytest.raises(CorpusError, match="no held-out pairs"):
        file_pairs(write(tmp_path / "empty.txt", "zzz\n"), corpus.vocab, lowercase=False, window=2)


def test_a_held_out_file_cuts_long_tokens_as_the_corpus_does(tmp_path):
    long = "\u00e9" * 800 + "x"  # 1601 bytes: cut to 1000 bytes, 500 characters
    with pytest.warns(W2VWarning, match="3 tokens longer than 1000 bytes were cut"):
        corpus = prepare_corpus([write(tmp_path / "c.txt", f"a {long} b\n" * 3)], CorpusSettings(min_count=1))
    assert "\u00e9" * 500 in corpus.vocab.words
    pairs = file_pairs(write(tmp_path / "h.txt", f"a {long}\n"), corpus.vocab, lowercase=False, window=2)
    words = corpus.vocab.words
    assert [(words[c], words[x]) for c, x in zip(pairs.labels, pairs.inputs)] == [
        ("a", "\u00e9" * 500), ("\u00e9" * 500, "a")]


def test_full_losses_equal_the_float64_reference(tmp_path):
    rng = np.random.default_rng(3)
    corpus = prepare_corpus([TOY_CORPUS], CorpusSettings())
    pairs = corpus_pairs(corpus, 0.02, seed=5, window=3)
    vocab_size = len(corpus.vocab)
    model = Model(rng.normal(0, 0.5, (vocab_size, 16)).astype(np.float32),
                  rng.normal(0, 0.5, (vocab_size, 16)).astype(np.float32),
                  rng.normal(0, 1, vocab_size).astype(np.float32))
    softmax, sigmoid = full_losses(model, pairs)
    expected_softmax, expected_sigmoid = reference_losses(model, pairs)
    assert softmax == pytest.approx(expected_softmax, rel=1e-5)
    assert sigmoid == pytest.approx(expected_sigmoid, rel=1e-5)


@pytest.mark.parametrize("loss", ["nce", "neg"])
def test_metrics_record_the_held_out_losses_of_the_saved_model(tmp_path, loss):
    config = resolve(overrides={**QUICK, "loss": loss, "holdout": 0.01})
    api.train(TOY_CORPUS, config, out=str(tmp_path / "out"))
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    model, vocab, saved, _ = load_model(str(tmp_path / "out" / "model.npz"))
    corpus = api.prepare(TOY_CORPUS, api.corpus_settings(saved))
    pairs = corpus_pairs(corpus, saved.holdout, saved.seed, saved.window)
    expected_softmax, expected_sigmoid = reference_losses(model, pairs)
    last = metrics["epochs"][-1]["heldout"]
    assert last["pairs"] == len(pairs) > 1000
    assert last["softmax_loss"] == pytest.approx(expected_softmax, rel=1e-5)
    assert last["sigmoid_loss"] == pytest.approx(expected_sigmoid, rel=1e-5)
    assert all("heldout" in epoch for epoch in metrics["epochs"])


def test_held_out_sentences_are_never_trained_on(tmp_path, cli):
    corpus = prepare_corpus([TOY_CORPUS], CorpusSettings())
    held = held_out_sentences(corpus.n_sentences, 0.05, 1)
    assert 0.03 < held.mean() < 0.07
    offsets = np.asarray(corpus.offsets)
    held_positions = np.zeros(corpus.n_tokens, dtype=bool)
    for s in np.flatnonzero(held):
        held_positions[offsets[s]:offsets[s + 1]] = True
    trained = sum(len(c) for c, _ in api.pairs(corpus, window=5, holdout=0.05, seed=1))
    everything = sum(len(c) for c, _ in api.pairs(corpus, window=5, seed=1))
    assert trained < everything * 0.97
    config = resolve(overrides={**QUICK, "holdout": 0.05})
    result = api.train(corpus, config)
    assert result.epochs[0]["pairs"] == sum(len(c) for c, _ in api.pairs(
        corpus, window=config.window, subsample=config.subsample, holdout=0.05, seed=1, epoch=0))


def test_a_word_only_in_held_out_sentences_keeps_its_initial_vector(tmp_path):
    rng = np.random.default_rng(0)
    sentences = [" ".join(f"w{k}" for k in rng.integers(0, 30, 12)) for _ in range(400)]
    held = held_out_sentences(len(sentences), 0.1, 1)
    first_held = int(np.flatnonzero(held)[0])
    sentences[first_held] += " solo" * 6
    corpus = prepare_corpus([write(tmp_path / "c.txt", "\n".join(sentences) + "\n")], CorpusSettings())
    config = resolve(overrides={**QUICK, "holdout": 0.1, "subsample": 0, "epochs": 1})
    result = api.train(corpus, config)
    solo = corpus.vocab.words.index("solo")
    initial = init_model(len(corpus.vocab), 16, 1)
    assert np.array_equal(result.model.w_in[solo], initial.w_in[solo])
    trained = resolve(overrides={**QUICK, "subsample": 0, "epochs": 1})
    assert not np.array_equal(api.train(corpus, trained).model.w_in[solo], initial.w_in[solo])


def test_holdout_options_are_checked_before_training(tmp_path, cli):
    result = cli("train", TOY_CORPUS, "--holdout", "1", exit_code=2)
    assert "--holdout" in result.output
    result = cli("train", TOY_CORPUS, "--holdout", "0.1", "--holdout-file", TOY_CORPUS, "--out", "x", exit_code=1)
    assert "--holdout and --holdout-file: give one of them" in result.output
    result = cli("train", TOY_CORPUS, "--holdout", "1e-9", "--out", "x", exit_code=1)
    assert "--holdout 1e-09 holds out none of the corpus's 40000 sentences; raise it" in result.output
    result = cli("train", TOY_CORPUS, "--holdout-file", "missing.txt", "--out", "x", exit_code=1)
    assert "missing.txt: no such file" in result.output
    with pytest.raises(ConfigError):
        resolve(overrides={"holdout": -0.5})
