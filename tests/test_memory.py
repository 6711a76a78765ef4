"""Bounded memory: exact counts when preparation spills to disk, and settings that would allocate more
than the machine has are refused before anything is allocated, naming the setting to lower."""
import json
import os
import random

import numpy as np
import pytest

from conftest import TOY_CORPUS, write
from w2v_nce.corpus import CorpusSettings, encode_corpus, load_encoded
from w2v_nce.errors import ConfigError
from w2v_nce.memory import parse_size, resident_memory


def mixed_corpus(path, lines=30_000, seed=3):
    """Many distinct tokens, case variants, invalid UTF-8 and empty lines."""
    rng = random.Random(seed)
    with open(path, "wb") as out:
        for i in range(lines):
            tokens = []
            for _ in range(rng.randint(0, 16)):
                r = rng.random()
                if r < 0.2:
                    tokens.append(rng.choice(["The", "the", "THE", "Straße", "straße", "İstanbul", "ǅ"]).encode())
                elif r < 0.25:
                    tokens.append(rng.choice([b"caf\xe9", b"x\xff", b"x\xfe", b"\xc3"]))
                elif r < 0.4:
                    tokens.append(f"common{int(rng.paretovariate(1.0)) % 500}".encode())
                else:
                    tokens.append(f"rare{rng.randrange(10 ** 7)}".encode())
            out.write(b" ".join(tokens) + b"\n")
    return str(path)


@pytest.mark.parametrize("lowercase", [False, True])
def test_a_spilled_count_equals_the_unbounded_one(tmp_path, lowercase):
    path = mixed_corpus(tmp_path / "c.txt")
    results = []
    # A budget just above what this process holds: the table cannot grow past its first size (65,536 tokens)
    # and its counts go to disk each time it fills.
    for name in ("unbounded", "tight"):
        directory = tmp_path / name
        directory.mkdir()
        budget = 64 << 30 if name == "unbounded" else resident_memory() + (20 << 20)
        encode_corpus([path], CorpusSettings(min_count=1, lowercase=lowercase), str(directory), budget)
        results.append((json.load(open(directory / "meta.json"))["runs"], load_encoded(str(directory))))
    (runs_a, a), (runs_b, b) = results
    assert runs_a == 1 and runs_b >= 2
    assert a.vocab.words == b.vocab.words and a.vocab.counts.tolist() == b.vocab.counts.tolist()
    assert np.array_equal(a.ids, b.ids) and np.array_equal(a.offsets, b.offsets)


def test_a_budget_below_what_the_process_holds_is_refused(cli, tmp_path):
    result = cli("vocab", TOY_CORPUS, "--memory-budget", "20M", exit_code=1)
    assert "--memory-budget: 20M leaves less than" in result.output and "give at least" in result.output
    assert "expected a size" in cli("vocab", TOY_CORPUS, "--memory-budget", "lots", exit_code=1).output


def test_sizes():
    assert parse_size("512M", "x") == 512 << 20 and parse_size("2G", "x") == 2 << 30
    assert parse_size("1.5GiB", "x") == int(1.5 * (1 << 30)) and parse_size("1000", "x") == 1000
    assert 0 < parse_size("25%", "x") < parse_size("50%", "x")
    with pytest.raises(ConfigError, match="percentage"):
        parse_size("250%", "--memory-budget")


@pytest.mark.parametrize("option,value,named", [
    ("--dim", "2000000000", "lower --dim"),
    ("--num-sampled", "1000000000", "lower --num-sampled"),
])
def test_settings_that_would_not_fit_in_memory_are_refused_before_allocating(cli, option, value, named):
    args = ["train", TOY_CORPUS, "--epochs", "1", option, value, "--quiet"]
    if option == "--num-sampled":
        args += ["--loss", "neg"]  # neg draws with repeats, so only memory bounds it
    result = cli(*args, exit_code=1)
    assert "training needs about" in result.output and named in result.output
    assert result.output.count("\n") == 1 and not os.path.exists("w2v-out")


def test_threads_that_would_not_fit_are_named(cli, monkeypatch):
    """Each thread has a table over the vocabulary; on a machine with 512 kB free, 40 threads do not fit."""
    monkeypatch.setattr("w2v_nce.preflight.available_memory", lambda: 512 << 10)
    result = cli("train", TOY_CORPUS, "--epochs", "1", "--dim", "2", "--threads", "40", "--quiet", exit_code=1)
    assert "(2364 words, 40 threads): lower --threads" in result.output


def test_a_huge_window_costs_only_what_the_longest_sentence_needs(cli, tmp_path):
    corpus = write(tmp_path / "c.txt", "a b c d e f g h\n" * 200)
    cli("train", corpus, "--window", "1000000000", "--min-count", "1", "--subsample", "0", "--num-sampled", "3",
        "--epochs", "1", "--dim", "8", "--quiet")
    result = cli("pairs", corpus, "--window", "1000000000", "--no-dynamic-window", "--min-count", "1",
                 "--subsample", "0")
    assert len(result.stdout.splitlines()) == 200 * 8 * 7


def test_a_huge_window_on_one_long_sentence_is_refused_naming_the_window(cli, tmp_path):
    corpus = write(tmp_path / "c.txt", " ".join(f"w{i % 50}" for i in range(2_000_000)) + "\n")
    result = cli("train", corpus, "--window", "1000000000", "--threads", "64", "--dim", "2000", "--epochs", "1",
                 "--num-sampled", "3", "--quiet", exit_code=1)
    assert "lower --window" in result.output and result.output.count("\n") == 1
