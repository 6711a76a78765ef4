"""`w2v-nce vocab` and `w2v-nce pairs` through click's CliRunner: output, exit codes, messages."""
import os

from conftest import write


def test_vocab_to_stdout_and_file(cli, tmp_path):
    corpus = write(tmp_path / "c.txt", "b a b c a b\n")
    result = cli("vocab", corpus, "--min-count", "1")
    assert result.stdout == "b 3\na 2\nc 1\n"
    cli("vocab", corpus, "--min-count", "2", "-o", "v.txt")
    assert open(tmp_path / "v.txt").read() == "b 3\na 2\n"


def test_vocab_from_stdin_and_several_files(cli, tmp_path):
    other = write(tmp_path / "d.txt", "a a\n")
    result = cli("vocab", "-", other, "--min-count", "1", input="a b\n")
    assert result.stdout == "a 3\nb 1\n"


def test_vocab_lowercase_and_max_vocab(cli, tmp_path):
    corpus = write(tmp_path / "c.txt", "A a b B b c\n")
    assert cli("vocab", corpus, "--min-count", "1", "--lowercase", "--max-vocab", "2").stdout == "b 3\na 2\n"


def test_pairs_output(cli, tmp_path):
    corpus = write(tmp_path / "c.txt", "x y z\nx y\n")
    result = cli("pairs", corpus, "--window", "1", "--no-dynamic-window", "--min-count", "1", "--subsample", "0")
    assert result.stdout.splitlines() == ["x\ty", "y\tx", "y\tz", "z\ty", "x\ty", "y\tx"]
    cli("pairs", corpus, "--window", "2", "--min-count", "1", "--subsample", "1e-3", "--seed", "4", "-o", "p.tsv")
    assert all(len(line.split("\t")) == 2 for line in open(tmp_path / "p.tsv"))


def test_missing_file(cli):
    result = cli("vocab", "nope.txt", exit_code=1)
    assert "nope.txt: no such file" in result.output and "Traceback" not in result.output


def test_empty_corpus(cli, tmp_path):
    corpus = write(tmp_path / "empty.txt", " \n\n")
    assert "empty.txt: corpus is empty" in cli("vocab", corpus, exit_code=1).output


def test_nothing_reaches_min_count(cli, tmp_path):
    corpus = write(tmp_path / "c.txt", "a b c\n")
    result = cli("vocab", corpus, "-o", "out.txt", exit_code=1)
    assert "c.txt: no word occurs at least 5 times" in result.output and "--min-count" in result.output
    assert not os.path.exists(tmp_path / "out.txt")


def test_binary_garbage(cli, tmp_path):
    corpus = write(tmp_path / "g.bin", bytes(range(256)) * 10)
    result = cli("pairs", corpus, "--window", "2", "-o", "p.tsv", exit_code=1)
    assert "g.bin: looks like a binary file" in result.output
    assert not os.path.exists(tmp_path / "p.tsv")


def test_bad_option_values_are_usage_errors(cli, tmp_path):
    corpus = write(tmp_path / "c.txt", "a\n")
    assert "--window" in cli("pairs", corpus, "--window", "0", exit_code=2).output
    assert "--min-count" in cli("vocab", corpus, "--min-count", "x", exit_code=2).output


def test_a_directory_is_not_a_corpus(cli, tmp_path):
    os.mkdir(tmp_path / "d")
    assert cli("vocab", "d", exit_code=2).exit_code == 2  # click rejects a directory
