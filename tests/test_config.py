"""The config: hostile YAML is refused quickly and never formatted in full, floats are written tidily, and
the command line and the Python API resolve the same defaults from one schema."""
import json
import os
import re
import time

import pytest
import yaml

from conftest import TOY_CORPUS, write
from w2v_nce import api
from w2v_nce.config import FIELDS, TrainConfig, preset_names, read_yaml, resolve, validate
from w2v_nce.errors import ConfigError

ALIAS_BOMB = """\
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
dim: [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def test_an_alias_bomb_is_refused_at_once(tmp_path):
    path = write(tmp_path / "bomb.yaml", ALIAS_BOMB)
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than 10000 values") as error:
        read_yaml(path)
    assert time.perf_counter() - started < 2 and len(str(error.value)) < 200


def test_modest_aliases_are_fine(tmp_path):
    path = write(tmp_path / "ok.yaml", "lr: &rate 0.05\nmin_lr: *rate\n")
    assert resolve(path).min_lr == 0.05


def test_a_large_value_under_a_known_key_is_never_formatted_in_full(tmp_path):
    path = write(tmp_path / "big.yaml", "dim: [" + ", ".join(["123456789"] * 5000) + "]\n")
    with pytest.raises(ConfigError) as error:
        resolve(path)
    assert "'dim' must be an integer" in str(error.value) and len(str(error.value)) < 200


def test_odd_keys_get_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 1 "):
        resolve(write(tmp_path / "c.yaml", "1: 2\nwindow: 3\n"))
    with pytest.raises(ConfigError, match="larger than 1 MB"):
        resolve(write(tmp_path / "huge.yaml", "# " + "x" * (2 << 20)))


def test_floats_are_written_tidily(cli, tmp_path):
    cli("train", TOY_CORPUS, "--epochs", "2", "--dim", "8", "--lr", "0.04", "--quiet")
    config_text = (tmp_path / "w2v-out" / "config.yaml").read_text()
    assert "min_lr: 4.0e-06" in config_text and "4.000000000000001" not in config_text
    metrics = json.loads((tmp_path / "w2v-out" / "metrics.json").read_text())
    for epoch in metrics["epochs"]:
        for key in ("lr_start", "lr_end", "loss"):
            assert len(repr(epoch[key]).replace("e-", "")) <= 15, (key, epoch[key])


def test_the_api_and_the_command_line_resolve_the_same_defaults(cli, tmp_path):
    cli("train", TOY_CORPUS, "--epochs", "1", "--quiet", "--out", "cli")
    from_cli = yaml.safe_load((tmp_path / "cli" / "config.yaml").read_text())
    result = api.train(TOY_CORPUS, out=str(tmp_path / "api"), config=resolve(overrides={"epochs": 1}))
    assert result.config.to_dict() == from_cli
    assert api.train.__defaults__ is not None and resolve() != TrainConfig()  # the preset, not the dataclass


def test_every_setting_is_an_option_with_its_bounds(cli):
    help_text = cli("train", "--help").stdout
    for name, spec in FIELDS.items():
        assert "--" + name.replace("_", "-") in help_text
    help_text = re.sub(r"-\s+", "-", " ".join(help_text.split()))  # words wrapped at their hyphens
    assert ("by preset: no --loss 8, --loss sampled-softmax 8, --loss nce 10, --loss neg 5]" in help_text
            and "by preset: no --loss unigram, --loss sampled-softmax log-uniform" in help_text)
    with pytest.raises(ConfigError, match="'window' must be >= 1"):
        validate({"window": 0})
    with pytest.raises(ConfigError, match="'lr' must be > 0"):
        validate({"lr": 0.0})


def test_small_corpora_train_more_epochs_by_the_documented_rule():
    config = resolve(overrides={"epochs": 5, "small_corpus_tokens": 10_000_000})
    assert config.for_corpus(20_000_000).epochs == 5 and config.for_corpus(10_000_000).epochs == 5
    assert config.for_corpus(2_500_000).epochs == 8  # 5 * 4 ** (1/3) = 7.9
    assert config.for_corpus(2_500_000).lr == pytest.approx(config.lr / (8 / 5) ** 0.5)
    assert config.for_corpus(20_000_000).lr == config.lr
    assert config.for_corpus(1_000_000).epochs == 11  # 5 * 10 ** (1/3) = 10.8
    assert config.for_corpus(10_000).epochs == 15  # at most 3x
    assert config.for_corpus(2_500_000).small_corpus_tokens == 0  # spent: the result re-runs as it ran
    assert resolve(overrides={"epochs": 5}).for_corpus(1_000).epochs == 5  # explicit epochs are taken as given
    assert resolve().for_corpus(1_000).epochs == 3 * resolve().epochs  # a preset's epochs are scaled
    assert resolve("best").for_corpus(1_000).epochs == 3 * resolve("best").epochs  # also a --config preset's
    assert resolve("best", {"epochs": 5}).for_corpus(1_000).epochs == 5  # but not epochs given over it


def test_the_scaled_epochs_are_what_config_yaml_and_the_summary_say(cli, tmp_path):
    toy_tokens = 440_017
    result = cli("train", TOY_CORPUS, "--epochs", "1", "--dim", "8", "--small-corpus-tokens", 8 * toy_tokens)
    lr = resolve().lr
    assert f"2 epochs at lr {lr / 2 ** 0.5:g} (from 1 epochs at lr {lr:g}, for a corpus of" in result.stderr
    written = yaml.safe_load((tmp_path / "w2v-out" / "config.yaml").read_text())
    assert written["epochs"] == 2 and written["small_corpus_tokens"] == 0
    assert written["lr"] == pytest.approx(lr / 2 ** 0.5)
    assert len(json.loads((tmp_path / "w2v-out" / "metrics.json").read_text())["epochs"]) == 2


def test_shipped_presets_are_found_by_name(tmp_path, monkeypatch):
    fast = resolve("fast")
    assert (fast.loss, fast.share_negatives, fast.epochs) == ("neg", True, 4)
    assert resolve("default") == resolve()
    with pytest.raises(ConfigError, match="nope: no such config file, nor a shipped preset .*fast"):
        resolve("nope")
    monkeypatch.chdir(tmp_path)
    os.mkdir("fast")  # e.g. the output of an earlier `--out fast`
    os.mkdir("runs")
    assert resolve("fast") == fast
    with pytest.raises(ConfigError, match="runs: a directory, not a config file, nor a shipped preset"):
        resolve("runs")
    shipped = preset_names()
    assert {"fast", "balanced", "thorough", "best", "default", "sampled_softmax", "nce", "neg"} <= set(shipped)
    for name in shipped:
        resolve(name)  # every shipped preset validates, including any added later
