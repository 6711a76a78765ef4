"""`w2v-nce train`, `eval` and `similar` through click's CliRunner."""
import json
import os

import pytest
import yaml

from conftest import TOY_ANALOGIES, TOY_CORPUS, write

FAST = ("--epochs", "1", "--dim", "20")


def test_train_then_eval_as_the_readme_shows(cli, tmp_path):
    result = cli("train", TOY_CORPUS, *FAST, "--quiet")
    assert result.output == ""
    assert sorted(os.listdir(tmp_path / "w2v-out")) == sorted(
        ["vectors.bin", "vectors.txt", "vocab.txt", "config.yaml", "metrics.json", "model.npz", "checkpoint"])
    table = cli("eval", TOY_ANALOGIES).stdout
    assert "capital-common-countries" in table and "coverage" in table
    line = json.loads(cli("eval", TOY_ANALOGIES, "--json").stdout)
    assert set(line) == {"file", "task", "method", "restrict_vocab", "correct", "total_answered", "total_questions",
                         "accuracy", "semantic", "syntactic", "sections"}
    assert set(line["sections"][0]) == {"name", "correct", "answered", "questions"}
    assert line["total_questions"] == 686


@pytest.mark.parametrize("preset", [[], ["--loss", "nce"], ["--loss", "sampled-softmax"], ["--loss", "neg"]])
def test_the_readme_demo_learns_the_planted_analogies_with_every_preset_as_shipped(cli, preset):
    """No epochs or rates given: the presets as a new user runs them (the size rule scales the epochs and
    the learning rate for this small corpus). Many passes at the full rate once brought this below 0.5."""
    cli("train", TOY_CORPUS, *preset, "--quiet")
    assert json.loads(cli("eval", TOY_ANALOGIES, "--json").stdout)["accuracy"] > 0.9


def test_progress_lines_when_not_a_terminal(cli):
    result = cli("train", TOY_CORPUS, *FAST, "--out", "o")
    assert "epoch 1/1: loss" in result.stderr and "wrote vectors.bin" in result.stderr


def test_config_file_then_options(cli, tmp_path):
    write(tmp_path / "c.yaml", "loss: nce\ndim: 12\nepochs: 1\nlr: 0.05\n")
    cli("train", TOY_CORPUS, "--config", "c.yaml", "--dim", "8", "--quiet")
    resolved = yaml.safe_load(open(tmp_path / "w2v-out" / "config.yaml"))
    assert (resolved["loss"], resolved["dim"], resolved["lr"], resolved["remove_accidental_hits"]) == ("nce", 8, 0.05, False)
    cli("train", TOY_CORPUS, "--config", "w2v-out/config.yaml", "--out", "again", "--quiet")
    assert yaml.safe_load(open(tmp_path / "again" / "config.yaml")) == resolved


def test_loss_option_takes_its_preset(cli, tmp_path):
    cli("train", TOY_CORPUS, "--loss", "neg", "--epochs", "1", "--quiet")
    resolved = yaml.safe_load(open(tmp_path / "w2v-out" / "config.yaml"))
    preset = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "..", "configs", "neg.yaml")))
    assert resolved["loss"] == "neg" and resolved["sampler"] == "unigram"
    assert resolved["lr"] == preset["lr"] and resolved["num_sampled"] == preset["num_sampled"]


def test_config_errors_name_the_key(cli, tmp_path):
    write(tmp_path / "bad.yaml", "dim: 10\nwindw: 3\n")
    assert "bad.yaml: unknown key 'windw'" in cli("train", TOY_CORPUS, "--config", "bad.yaml", exit_code=1).output
    write(tmp_path / "bad2.yaml", "lr: fast\n")
    assert "bad2.yaml: 'lr' must be a number" in cli("train", TOY_CORPUS, "--config", "bad2.yaml", exit_code=1).output
    write(tmp_path / "bad3.yaml", "lr: [\n")
    assert "bad3.yaml:" in cli("train", TOY_CORPUS, "--config", "bad3.yaml", exit_code=1).output
    assert "--loss" in cli("train", TOY_CORPUS, "--loss", "softmax", exit_code=2).output
    assert "--lr" in cli("train", TOY_CORPUS, "--lr", "0", exit_code=2).output


def test_divergence_exits_1_and_keeps_previous_vectors(cli, tmp_path):
    cli("train", TOY_CORPUS, *FAST, "--quiet")
    before = open(tmp_path / "w2v-out" / "vectors.bin", "rb").read()
    result = cli("train", TOY_CORPUS, "--loss", "nce", "--lr", "1e6", "--epochs", "1", "--threads", "1", "--quiet",
                 exit_code=1)
    assert "diverged" in result.output and "lower --lr" in result.output and "Traceback" not in result.output
    assert open(tmp_path / "w2v-out" / "vectors.bin", "rb").read() == before


def test_eval_errors(cli, tmp_path):
    assert "no such vectors file" in cli("eval", TOY_ANALOGIES, exit_code=1).output
    write(tmp_path / "v.txt", "3 2\na 1 2\n")
    assert "header says 3 rows" in cli("eval", TOY_ANALOGIES, "--vectors", "v.txt", exit_code=1).output


def top_words(similar_output):
    # Two epochs on the toy corpus put queen first with a margin of 0.01-0.05 in cosine, which Hogwild's
    # thread interleaving can close; the top three is what these tests can rely on.
    return [line.split()[0] for line in similar_output.splitlines()[1:]]


def test_similar(cli):
    cli("train", TOY_CORPUS, "--epochs", "2", "--dim", "30", "--quiet")
    result = cli("similar", "king", "-", "man", "+", "woman", "-n", "3")
    assert result.stdout.splitlines()[0] == "king - man + woman:"
    assert "queen" in top_words(result.stdout)
    assert len(cli("similar", "paris", "cat", "-n", "2").stdout.splitlines()) == 6
    assert "'nosuchword' is not in the vocabulary" in cli("similar", "nosuchword", exit_code=1).output


def test_a_small_corpus_gets_advice_instead_of_silently_training_on_nothing(cli, tmp_path):
    words = "the cat sat on a mat and dog ran off to see big red sun".split()
    text = "\n".join(" ".join(words[(i * 7 + j) % len(words)] for j in range(12)) for i in range(20)) + "\n"
    corpus = write(tmp_path / "small.txt", text)
    result = cli("train", corpus, "--min-count", "1", "--num-sampled", "3", "--epochs", "1", "--quiet")
    assert "warning: --subsample 0.0001 keeps about" in result.stderr and "of the corpus's 240 tokens" in result.stderr
    assert "use --subsample 0.01, or 0 to keep every token" in result.stderr
    assert "warning" not in cli("train", TOY_CORPUS, *FAST, "--quiet").stderr


def test_similar_takes_signed_words_any_case_and_an_output_directory(cli):
    cli("train", TOY_CORPUS, "--epochs", "2", "--dim", "30", "--quiet", "--out", "out")
    spaced = cli("similar", "king", "-", "man", "+", "woman", "-n", "3", "--vectors", "out").stdout
    signed = cli("similar", "king", "-man", "+woman", "-n", "3", "--vectors", "out").stdout
    quoted = cli("similar", "king - man + woman", "-n3", "--vectors", "out").stdout
    assert spaced.splitlines()[1:] == signed.splitlines()[1:] == quoted.splitlines()[1:]
    assert "queen" in top_words(signed)
    assert cli("similar", "KING", "-n", "2", "--vectors", "out").stdout.splitlines()[1:] == \
        cli("similar", "king", "-n", "2", "--vectors", "out").stdout.splitlines()[1:]
    assert "is not in the vocabulary" in cli("similar", "KING", "--case-sensitive", "--vectors", "out",
                                             exit_code=1).output
    restricted = cli("similar", "king", "--restrict-vocab", "50", "-n", "50", "--vectors", "out").stdout
    vocab = open("out/vocab.txt").read().split()[::2][:50]
    assert {line.split()[0] for line in restricted.splitlines()[1:]} <= set(vocab)


def test_pairs_takes_the_settings_and_config_of_train(cli, tmp_path):
    cli("train", TOY_CORPUS, "--epochs", "2", "--dim", "8", "--quiet", "--out", "out")
    trained = json.load(open(tmp_path / "out" / "metrics.json"))["epochs"]
    for epoch in (1, 2):
        cli("pairs", TOY_CORPUS, "--epoch", epoch, "--config", "out/config.yaml", "-o", f"p{epoch}.tsv")
        assert sum(1 for _ in open(tmp_path / f"p{epoch}.tsv")) == trained[epoch - 1]["pairs"]
    cli("pairs", TOY_CORPUS, "-o", "d.tsv")  # the same defaults as train: window 5, subsample 1e-4, epoch 1
    assert open(tmp_path / "d.tsv").read() == open(tmp_path / "p1.tsv").read()
    assert "--epoch" in cli("pairs", TOY_CORPUS, "--epoch", "0", exit_code=2).output


def test_the_shipped_evaluation_sets_are_usable_by_name(cli):
    cli("train", TOY_CORPUS, *FAST, "--quiet")
    lines = [json.loads(line) for line in
             cli("eval", "google-analogies", "wordsim353", "simlex999", "--json").stdout.splitlines()]
    assert [line["task"] for line in lines] == ["analogy", "similarity", "similarity"]
    assert lines[0]["total_questions"] == 19544 and lines[1]["pairs"] == 353 and lines[2]["pairs"] == 999


def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    readme = open(os.path.join(os.path.dirname(TOY_CORPUS), "..", "README.md"), encoding="utf-8").read()
    example = readme.split("### From Python\n\n```python\n")[1].split("```")[0]
    os.symlink(os.path.dirname(TOY_CORPUS), tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {})
    assert os.path.isfile(tmp_path / "w2v-out" / "vectors.bin")
