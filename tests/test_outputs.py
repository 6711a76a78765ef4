"""Outputs: every word the corpus can hold is written and read back, what cannot be written is found before
training, a failing save keeps the model, OS errors are one line, and concurrent saves never mix files."""
import errno
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import TOY_ANALOGIES, TOY_CORPUS, tmpfs, write
from w2v_nce import api, load_model
from w2v_nce.config import resolve
from w2v_nce.corpus import EncodedCorpus
from w2v_nce.embeddings import Embeddings
from w2v_nce.errors import OutputError, VectorsFormatError
from w2v_nce.vocab import Vocab
from w2v_nce.words import MAX_WORD_BYTES

UNICODE_SPACES = ["champions\u00a0\u00a0", "a\u3000b", "line\u2028sep", "x\x1cy", "thin\u2009space", "\u00a0"]
FAST = ("--epochs", "1", "--dim", "8", "--quiet")


def test_words_with_unicode_spaces_train_save_and_read_back(cli, tmp_path):
    """Only ASCII whitespace separates tokens, so these are words; raw Wikipedia has them. The run used to
    fail at save time, after all epochs."""
    corpus = write(tmp_path / "c.txt", "".join(f"{' '.join(UNICODE_SPACES)} plain words here\n" for _ in range(30)))
    cli("train", corpus, "--min-count", "1", "--subsample", "0", "--num-sampled", "3", *FAST)
    for name in ("vectors.bin", "vectors.txt"):
        vectors = api.load_vectors(str(tmp_path / "w2v-out" / name))
        assert set(UNICODE_SPACES) <= set(vectors.words)
    gensim = pytest.importorskip("gensim")
    for name, binary in (("vectors.bin", True), ("vectors.txt", False)):
        loaded = gensim.models.KeyedVectors.load_word2vec_format(str(tmp_path / "w2v-out" / name), binary=binary)
        assert set(UNICODE_SPACES) <= set(loaded.index_to_key)


def test_an_unwritable_word_is_found_before_training(tmp_path, monkeypatch):
    vocab = Vocab(["good", "bad word"], np.array([10, 10], dtype=np.int64))
    corpus = EncodedCorpus(np.array([0, 1] * 10, dtype=np.int32), np.array([0, 20]), vocab)
    monkeypatch.setattr("w2v_nce.api.train_model", lambda *a, **k: pytest.fail("trained before checking"))
    with pytest.raises(OutputError, match=r"the vocabulary's word 1 \('bad word'\) contains ASCII whitespace"):
        api.train(corpus, resolve(overrides={"num_sampled": 1}), out=str(tmp_path / "out"))


def test_the_writer_and_the_reader_agree_on_the_word_limit(tmp_path):
    longest = "é" * (MAX_WORD_BYTES // 2)  # exactly MAX_WORD_BYTES bytes
    vectors = Embeddings(["a", longest], np.ones((2, 3), dtype=np.float32))
    for binary in (True, False):
        path = str(tmp_path / f"v{binary}")
        vectors.save(path, binary=binary)
        assert api.load_vectors(path).words == ["a", longest]
    with pytest.raises(VectorsFormatError, match=f"longer than {MAX_WORD_BYTES} bytes"):
        Embeddings(["a", longest + "x"], np.ones((2, 3), dtype=np.float32)).save(str(tmp_path / "w"), binary=True)


def test_a_token_longer_than_the_limit_is_cut_with_a_warning(cli, tmp_path):
    corpus = write(tmp_path / "c.txt", ("x" * 5000 + " y\n") * 3)
    result = cli("vocab", corpus, "--min-count", "1")
    assert result.stdout == f"{'x' * MAX_WORD_BYTES} 3\ny 3\n"
    assert f"3 tokens longer than {MAX_WORD_BYTES} bytes were cut" in result.stderr


def test_an_output_directory_that_cannot_be_created_fails_before_training(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("w2v_nce.api.train_model", lambda *a, **k: pytest.fail("trained before checking"))
    result = cli("train", TOY_CORPUS, *FAST, "--out", "/proc/x", exit_code=1)
    assert result.output == "Error: /proc/x: cannot create the output directory (No such file or directory)\n"
    a_file = write(tmp_path / "a-file", "x")
    assert "'--out'" in cli("train", TOY_CORPUS, *FAST, "--out", a_file, exit_code=2).output


def test_too_little_free_space_fails_before_training(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("w2v_nce.io_utils.free_bytes", lambda path: 1000)
    monkeypatch.setattr("w2v_nce.api.train_model", lambda *a, **k: pytest.fail("trained before checking"))
    result = cli("train", TOY_CORPUS, *FAST, "--out", "out", exit_code=1)
    assert "out: the outputs need about" in result.output and "only 1000 bytes is free" in result.output


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_save_that_fails_keeps_the_model_and_says_how_to_write_it(cli, tmp_path, monkeypatch):
    cli("train", TOY_CORPUS, *FAST, "--out", "out")
    before = {n: (tmp_path / "out" / n).read_bytes() for n in os.listdir(tmp_path / "out") if n != "checkpoint"}
    with monkeypatch.context() as patch:
        patch.setattr("w2v_nce.embeddings.Embeddings.save", no_space)
        result = cli("train", TOY_CORPUS, *FAST, "--seed", "2", "--out", "out", exit_code=1)
    message = result.output.strip()
    assert message.count("\n") == 0 and "No space left on device" in message
    kept = message.split("the trained model was kept in ")[1].split(";")[0]
    assert os.path.isfile(kept)
    after = {n: (tmp_path / "out" / n).read_bytes() for n in os.listdir(tmp_path / "out")
             if "unsaved" not in n and n != "checkpoint"}
    assert after == before  # the previous run's files are untouched (the checkpoint is the new run's)
    cli("export", kept, "--out", "recovered")
    model, _, config, _ = load_model(kept)
    assert config.seed == 2
    np.testing.assert_array_equal(api.load_vectors(str(tmp_path / "recovered")).vectors, model.w_in)


@pytest.fixture
def small_filesystem(tmp_path):
    with tmpfs(tmp_path / "small", "size=2m") as mount:
        yield mount


def test_a_full_disk_for_the_outputs_is_one_line_before_training(cli, small_filesystem):
    result = cli("train", TOY_CORPUS, "--epochs", "1", "--quiet", "--out", small_filesystem / "out", exit_code=1)
    assert "the outputs need about" in result.output and result.output.count("\n") == 1
    assert os.listdir(small_filesystem) == []  # not even the directory it made for --out


def test_a_disk_that_fills_up_during_the_save(cli, small_filesystem, monkeypatch, tmp_path):
    """The free-space check passes, then the disk fills (another process): the save fails in one line,
    leaves nothing half-written there, and keeps the model elsewhere."""
    monkeypatch.setattr("w2v_nce.preflight.check_output_directory", lambda path, needed: os.makedirs(path, exist_ok=True))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    result = cli("train", TOY_CORPUS, "--epochs", "1", "--quiet", "--out", small_filesystem / "out", exit_code=1)
    assert "No space left on device" in result.output and result.output.count("\n") == 1
    assert "the trained model was kept in" in result.output
    assert [n for n in os.listdir(small_filesystem / "out") if not n.startswith("w2v-nce-unsaved")] == ["checkpoint"]
    assert os.listdir(small_filesystem / "out" / "checkpoint") == ["state.npz"]  # complete: written before the save


def test_a_second_run_into_a_busy_output_directory_is_refused(cli, tmp_path):
    from w2v_nce.io_utils import output_directory_lock

    with output_directory_lock(str(tmp_path / "out")):
        holder = subprocess.run([sys.executable, "-m", "w2v_nce", "train", TOY_CORPUS, *FAST, "--out", "out"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert holder.returncode == 1
    assert f"another w2v-nce run (pid {os.getpid()}) is writing there" in holder.stderr


SAVE_IN_CHILD = """
import sys
import numpy as np
from w2v_nce import api
from w2v_nce.config import resolve
from w2v_nce.structs import Model
from w2v_nce.train import TrainResult
from w2v_nce.vocab import Vocab
seed, out = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(seed)
vocab = Vocab([f"w{i}" for i in range(2000)], np.arange(4000, 2000, -1, dtype=np.int64))
model = Model(rng.random((2000, 50), dtype=np.float32), rng.random((2000, 50), dtype=np.float32),
              np.zeros(2000, dtype=np.float32))
for _ in range(5):
    api.save(TrainResult(vocab, model, resolve(overrides={"seed": seed, "dim": 50})), out)
"""


def test_concurrent_saves_into_one_directory_never_mix_their_files(tmp_path):
    out = str(tmp_path / "out")
    children = [subprocess.Popen([sys.executable, "-c", SAVE_IN_CHILD, str(seed), out]) for seed in range(1, 5)]
    assert [child.wait(timeout=300) for child in children] == [0] * 4
    model, _, config, _ = load_model(os.path.join(out, "model.npz"))
    assert resolve(os.path.join(out, "config.yaml")).seed == config.seed
    np.testing.assert_array_equal(api.load_vectors(os.path.join(out, "vectors.bin")).vectors, model.w_in)
    np.testing.assert_allclose(api.load_vectors(os.path.join(out, "vectors.txt")).vectors, model.w_in, atol=1e-6)
    assert sorted(os.listdir(out)) == sorted(api.OUTPUT_FILES)


def test_eval_reads_an_output_directory_or_a_model(cli, tmp_path):
    cli("train", TOY_CORPUS, "--epochs", "1", "--dim", "16", "--quiet", "--out", "out")
    reports = [cli("eval", TOY_ANALOGIES, "--vectors", vectors, "--json").stdout
               for vectors in ("out", "out/model.npz", "out/vectors.bin")]
    assert reports[0] == reports[1] == reports[2]
