"""The training loop on the embedded toy corpus: determinism, multithreaded quality, divergence, outputs."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import TOY_ANALOGIES, TOY_CORPUS
from w2v_nce import api, load_model
from w2v_nce import kernels as K
from w2v_nce.config import resolve
from w2v_nce.errors import TrainingDiverged
from w2v_nce.evaluate import evaluate_analogies
from w2v_nce.train import epoch_settings, init_model, kernel_inputs


@pytest.fixture(scope="module")
def toy():
    return api.prepare(TOY_CORPUS, use_cache=False)


@pytest.mark.parametrize("loss", ["sampled_softmax", "nce", "neg"])
def test_one_thread_and_a_seed_give_identical_vectors(toy, loss):
    config = resolve(overrides={"loss": loss, "epochs": 1, "threads": 1, "seed": 3, "dim": 20})
    first = api.train(toy, config).model
    second = api.train(toy, config).model
    for a, b in zip(first, second):
        assert np.array_equal(a, b)
    other = api.train(toy, resolve(overrides={"loss": loss, "epochs": 1, "threads": 1, "seed": 4, "dim": 20})).model
    assert not np.array_equal(first.w_in, other.w_in)


TRAIN_AND_SAVE = """
import sys
import numpy as np
from w2v_nce import api
from w2v_nce.config import resolve
corpus, out = sys.argv[1:]
models = {}
for loss in ("sampled_softmax", "neg"):  # the default preset's step, and the per-pair step
    config = resolve(overrides={"loss": loss, "sampler": "unigram", "epochs": 1, "threads": 1, "seed": 3})
    for name, array in zip(("w_in", "w_out", "b_out"), api.train(corpus, config).model):
        models[loss + "_" + name] = array
np.savez(out, **models)
"""


def test_a_run_that_compiles_the_kernels_and_one_that_loads_them_give_identical_vectors(tmp_path):
    """The first run after installing compiles the kernels, later runs load them from Numba's cache: the
    same seed must give the same vectors either way (kernels.load_steps)."""
    environment = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    saved = []
    for run in ("compiles", "loads"):
        saved.append(tmp_path / f"{run}.npz")
        subprocess.run([sys.executable, "-c", TRAIN_AND_SAVE, TOY_CORPUS, str(saved[-1])], env=environment,
                       check=True)
    compiled, loaded = np.load(saved[0]), np.load(saved[1])
    assert sorted(compiled.files) == sorted(loaded.files) and len(compiled.files) == 6
    for name in compiled.files:
        assert np.array_equal(compiled[name], loaded[name]), name


@pytest.mark.parametrize("loss", ["sampled_softmax", "nce", "neg"])
def test_two_threads_learn_the_planted_analogies(toy, loss):
    config = resolve(overrides={"loss": loss, "epochs": 3, "threads": 2, "dim": 50})
    result = api.train(toy, config)
    losses = [e["loss"] for e in result.epochs]
    assert losses[-1] < losses[0]
    assert all(e["pairs"] > 500_000 and e["tokens"] == toy.n_tokens for e in result.epochs)
    report = evaluate_analogies(result.embeddings(), TOY_ANALOGIES)
    assert report["total_answered"] == report["total_questions"] == 686
    assert report["accuracy"] > 0.9


@pytest.mark.parametrize("loss", ["sampled_softmax", "neg"])
def test_threads_with_private_rows_learn_the_planted_analogies(toy, loss):
    """The two threads train their own copies of the 50 most frequent words' output rows, merged as they
    go: every token is still trained once, and the model learns as the shared one does."""
    config = resolve(overrides={"loss": loss, "epochs": 3, "threads": 2, "dim": 50, "private_rows": 50})
    result = api.train(toy, config)
    assert all(e["tokens"] == toy.n_tokens for e in result.epochs)
    assert result.epochs[-1]["loss"] < result.epochs[0]["loss"]
    assert evaluate_analogies(result.embeddings(), TOY_ANALOGIES)["accuracy"] > 0.9
    assert np.any(result.model.w_out[:50] != 0) and np.any(result.model.w_out[50:] != 0)


@pytest.mark.parametrize("loss", ["sampled_softmax", "neg"])
def test_a_block_merges_its_private_rows_as_it_goes(toy, loss):
    """train_block adds its private rows' changes to the model every PRIVATE_MERGE_TOKENS tokens and at its
    end, each merge exactly the change since the one before: with no other thread writing, the model ends
    where the same block on the model's own rows ends (up to the rounding of the merges' sums), and the
    private rows hold what the model holds."""
    config = resolve(overrides={"loss": loss, "dim": 20, "threads": 1})
    text, noise = kernel_inputs(toy, config)
    settings = epoch_settings(config, 0, toy.longest_sentence)
    hi = 5 * K.PRIVATE_MERGE_TOKENS + 1
    ends = []
    for rows in (0, 40):
        model = init_model(len(toy.vocab), 20, 1)
        private = K.take_private_rows(model, rows) if rows else None
        K.load_steps(model, private)
        rng, stamp = K.seed_states(1, 1)[0], np.zeros(len(toy.vocab), dtype=np.int64)
        K.train_block(text, model, private, noise, settings, 0, hi, 0.05, rng, stamp, 0)
        if rows:
            np.testing.assert_array_equal(private.w_out, model.w_out[:rows])
            np.testing.assert_array_equal(private.b_out, model.b_out[:rows])
        ends.append(model)
    assert np.any(ends[1].w_out[:40] != 0)
    for shared, merged in zip(*ends):
        np.testing.assert_allclose(merged, shared, rtol=1e-4, atol=1e-6)


def test_private_rows_change_nothing_with_one_thread(toy):
    """One thread shares its rows with no one: private_rows leaves the run as it was, bit for bit."""
    runs = [api.train(toy, resolve(overrides={"epochs": 1, "threads": 1, "dim": 20, "private_rows": rows})).model
            for rows in (0, 100)]
    for a, b in zip(*runs):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("threads", [2, 3])
def test_every_block_is_trained_once_whatever_the_threads(toy, threads):
    """Blocks are handed out to free threads: each epoch still covers every token once and trains on
    exactly the pairs that `pairs` lists for that epoch."""
    config = resolve(overrides={"loss": "sampled_softmax", "epochs": 2, "threads": threads, "dim": 10})
    result = api.train(toy, config)
    for epoch, metrics in enumerate(result.epochs):
        expected = sum(len(centres) for centres, _ in api.pairs(
            toy, config.window, config.dynamic_window, config.subsample, config.seed, epoch))
        assert metrics["tokens"] == toy.n_tokens
        assert metrics["pairs"] == expected


def test_neighbours_of_a_planted_family(toy):
    result = api.train(toy, resolve(overrides={"epochs": 3, "dim": 50}))
    neighbours = [w for w, _ in result.embeddings().most_similar(["france"], topn=30)]
    assert "paris" in neighbours  # the pair shares its topic words


def test_divergence_is_a_one_line_error_naming_the_learning_rate(toy):
    config = resolve(overrides={"loss": "nce", "epochs": 1, "lr": 1e6, "threads": 1})
    with pytest.raises(TrainingDiverged, match=r"lr .*lower --lr"):
        api.train(toy, config)


def test_save_writes_every_output_and_reloads(toy, tmp_path):
    config = resolve(overrides={"epochs": 1, "dim": 16})
    result = api.train(toy, config)
    paths = api.save(result, str(tmp_path / "out"))
    assert sorted(os.listdir(tmp_path / "out")) == sorted(
        ["vectors.bin", "vectors.txt", "vocab.txt", "config.yaml", "metrics.json", "model.npz"])
    metrics = json.load(open(paths["metrics.json"]))
    assert metrics["vocab_size"] == len(toy.vocab) and len(metrics["epochs"]) == 1
    assert set(metrics["epochs"][0]) >= {"loss", "pairs", "tokens", "words_per_s", "seconds", "lr_start", "lr_end"}
    model, vocab, loaded_config, loaded_metrics = load_model(paths["model.npz"])
    np.testing.assert_array_equal(model.w_in, result.model.w_in)
    np.testing.assert_array_equal(model.b_out, result.model.b_out)
    assert vocab.words == toy.vocab.words
    assert loaded_config == resolve(overrides=dict(config.to_dict())) and loaded_metrics == metrics
    assert resolve(str(tmp_path / "out" / "config.yaml")) == resolve(overrides=dict(config.to_dict()))
    binary = api.load_vectors(paths["vectors.bin"])
    text = api.load_vectors(paths["vectors.txt"])
    np.testing.assert_array_equal(binary.vectors, result.model.w_in)
    np.testing.assert_allclose(text.vectors, result.model.w_in, atol=1e-6)  # %.6f, then float32


def test_a_failing_save_leaves_the_previous_files(toy, tmp_path, monkeypatch):
    result = api.train(toy, resolve(overrides={"epochs": 1, "dim": 8}))
    out = str(tmp_path / "out")
    api.save(result, out)
    before = {name: open(os.path.join(out, name), "rb").read() for name in os.listdir(out)}

    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("w2v_nce.api.save_model", explode)
    result.model.w_in[:] = 0
    with pytest.raises(KeyboardInterrupt):
        api.save(result, out)
    after = {name: open(os.path.join(out, name), "rb").read() for name in os.listdir(out)}
    assert after == before
