"""Watching a run: per-epoch evaluation equal to `eval --json`, plots that decode, and the TensorBoard
projector files equal to vectors.bin."""
import builtins
import json

import numpy as np
import pytest

from conftest import TOY_ANALOGIES, TOY_CORPUS
from w2v_nce import api

FAST = ["--epochs", "2", "--dim", "16", "--threads", "1", "--quiet"]


def test_per_epoch_evaluation_equals_eval_json(cli, tmp_path):
    cli("train", TOY_CORPUS, *FAST, "--eval", TOY_ANALOGIES, "--eval", "wordsim353", "--out", "run")
    epochs = json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]
    assert [len(e["eval"]) for e in epochs] == [2, 2]
    assert epochs[1]["eval"][0]["accuracy"] > epochs[0]["eval"][0]["accuracy"]
    scored = cli("eval", TOY_ANALOGIES, "wordsim353", "--vectors", "run/vectors.bin", "--json").output
    assert [json.loads(line) for line in scored.splitlines()] == json.loads(json.dumps(epochs[-1]["eval"]))


def test_a_bad_evaluation_file_is_refused_before_training(cli, tmp_path):
    (tmp_path / "bad.txt").write_text(": section\na b c\n")
    result = cli("train", TOY_CORPUS, *FAST, "--eval", "bad.txt", "--out", "run", exit_code=1)
    assert "bad.txt:2: expected 4 words, got 3" in result.output
    assert not (tmp_path / "run").exists()


def test_plots_are_pngs(cli, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib import image
    cli("train", TOY_CORPUS, *FAST, "--eval", TOY_ANALOGIES, "--holdout", "0.01", "--out", "run")
    cli("plot", "run")
    cli("plot", "run", "--words", "60", "-o", "map.png")
    for path in (tmp_path / "run" / "training.png", tmp_path / "map.png"):
        pixels = image.imread(path)
        assert pixels.ndim == 3 and pixels.shape[0] > 300 and pixels.shape[1] > 300
        assert pixels.std() > 0.01  # not blank
    result = cli("plot", "elsewhere", exit_code=2)
    assert "does not exist" in result.output


def test_plot_without_matplotlib_says_how_to_install_it(cli, tmp_path, monkeypatch):
    cli("train", TOY_CORPUS, *FAST, "--out", "run")
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = cli("plot", "run", exit_code=1)
    assert result.output.strip() == ("Error: plotting needs matplotlib, which is not installed: "
                                     "pip install 'w2v-nce[plot]'")


def test_projector_files_hold_the_vectors_exactly(cli, tmp_path):
    cli("train", TOY_CORPUS, *FAST, "--out", "run")
    cli("export", "run", "--projector", "proj", "--limit", "500")
    vectors = api.load_vectors(str(tmp_path / "run" / "vectors.bin"))
    table = np.loadtxt(tmp_path / "proj" / "vectors.tsv", delimiter="\t", dtype=np.float64)
    assert table.shape == (500, 16)
    assert np.array_equal(table.astype(np.float32), vectors.vectors[:500])
    words = (tmp_path / "proj" / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    assert words == vectors.words[:500]
    config = (tmp_path / "proj" / "projector_config.pbtxt").read_text()
    assert 'tensor_path: "vectors.tsv"' in config and 'metadata_path: "metadata.tsv"' in config
    assert "tensor_shape: 500" in config and "tensor_shape: 16" in config
    result = cli("export", "run", exit_code=2)
    assert "give --out DIR, --projector DIR, or both" in result.output
