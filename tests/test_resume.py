"""Checkpoints and resume: an interrupted run continues exactly, a changed corpus or setting is refused,
--init starts from earlier weights, and a checkpoint that cannot be written does not stop the run."""
import filecmp
import json
import os
import signal
import time
import warnings

import numpy as np
import pytest

from conftest import TOY_CORPUS
from test_interrupts import finish, start
from w2v_nce import api, checkpoint
from w2v_nce.config import resolve
from w2v_nce.errors import OutputError, W2VWarning
from w2v_nce.modelfile import load_model

QUICK = {"epochs": 3, "threads": 1, "dim": 16}


def interrupt_after(monkeypatch, epochs_done):
    """Make the run raise KeyboardInterrupt just after its checkpoint of epoch `epochs_done` is written."""
    write = checkpoint.CheckpointWriter.__call__

    def writing_then_interrupting(self, state):
        write(self, state)
        if state.epochs_done == epochs_done:
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.CheckpointWriter, "__call__", writing_then_interrupting)


@pytest.mark.parametrize("loss,saved", [("sampled_softmax", 1), ("neg", 2)])
def test_an_interrupted_run_resumed_is_bit_identical_to_an_uninterrupted_one(tmp_path, monkeypatch, loss, saved):
    config = resolve(overrides={**QUICK, "loss": loss})
    api.train(TOY_CORPUS, config, out=str(tmp_path / "whole"))
    with monkeypatch.context() as patch:
        interrupt_after(patch, saved)
        with pytest.raises(KeyboardInterrupt) as interrupted:
            api.train(TOY_CORPUS, config, out=str(tmp_path / "cut"))
    done = "epoch 1 of 3 is" if saved == 1 else f"epochs 1-{saved} of 3 are"
    assert interrupted.value.hint == (f"{done} saved in {tmp_path / 'cut' / 'checkpoint'}; "
                                      f"continue with: w2v-nce train --resume {tmp_path / 'cut'}")
    assert not os.path.exists(tmp_path / "cut" / "vectors.bin")
    result = api.resume(str(tmp_path / "cut"))
    assert len(result.epochs) == 3
    for name in ("vectors.bin", "vectors.txt", "config.yaml"):
        assert filecmp.cmp(tmp_path / "whole" / name, tmp_path / "cut" / name, shallow=False), name
    whole_model, cut_model = (load_model(str(tmp_path / run / "model.npz"))[0] for run in ("whole", "cut"))
    for name, array in zip(whole_model._fields, whole_model):
        assert np.array_equal(array, getattr(cut_model, name)), name
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    resumed = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert [e["loss"] for e in whole["epochs"]] == [e["loss"] for e in resumed["epochs"]]


def test_sigint_says_which_epochs_are_saved_and_the_command_that_continues(tmp_path):
    process = start(["train", TOY_CORPUS, "--epochs", "500", "--dim", "8", "--threads", "1", "--quiet",
                     "--out", "out"], tmp_path)
    state = tmp_path / "out" / "checkpoint" / "state.npz"
    deadline = time.monotonic() + 60
    while not state.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert state.exists(), process.communicate()
    process.send_signal(signal.SIGINT)
    code, _, err = finish(process, timeout=30)
    assert code == 130 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("interrupted (SIGINT); epoch") and line.endswith(
        f" of 500 {'is' if ' 1 of ' in line else 'are'} saved in {os.path.join('out', 'checkpoint')}; "
        f"continue with: w2v-nce train --resume out")
    saved = 1 if "epoch 1 of" in line else int(line.split("epochs 1-")[1].split()[0])
    code, _, err = finish(start(["train", "--resume", "out", "--epochs", saved + 1, "--quiet"], tmp_path))
    assert code == 0, err
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == list(range(1, saved + 2))


def test_resume_refuses_what_would_change_the_model(tmp_path, cli):
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(open(TOY_CORPUS, "rb").read())
    cli("train", corpus, "--epochs", "2", "--dim", "8", "--threads", "1", "--quiet", "--out", "run")
    for args, message in [(["--dim", "16"], "--dim: the run in"),
                          (["--loss", "nce"], "--loss: the run in"),
                          (["--epochs", "1"], "--epochs 1: the run in"),
                          (["--init", "run"], "give only one of them")]:
        result = cli("train", "--resume", "run", *args, exit_code=1 if "--init" not in args else 2)
        assert message in result.output and "Traceback" not in result.output
    cli("train", "--resume", "run", "--epochs", "3", "--threads", "2", "--quiet")  # allowed changes
    with open(corpus, "a") as more:
        more.write("one more line\n")
    result = cli("train", "--resume", "run", "--epochs", "4", exit_code=1)
    assert "corpus.txt: the corpus changed since the run started (its size differs)" in result.output
    result = cli("train", "--resume", "elsewhere", exit_code=1)
    assert "no checkpoint to resume from" in result.output
    state = tmp_path / "run" / "checkpoint" / "state.npz"
    state.write_bytes(state.read_bytes()[:5000])
    result = cli("train", "--resume", "run", "--epochs", "4", exit_code=1)
    assert "not a readable w2v-nce checkpoint" in result.output and len(result.output.strip().splitlines()) == 1


def test_init_starts_from_earlier_weights_of_the_same_vocabulary(tmp_path, cli):
    cli("train", TOY_CORPUS, "--epochs", "1", "--dim", "8", "--quiet", "--out", "first")
    cli("train", TOY_CORPUS, "--epochs", "1", "--dim", "8", "--lr", "1e-9", "--quiet", "--init", "first",
        "--out", "second")
    first, second = api.load_vectors(str(tmp_path / "first")), api.load_vectors(str(tmp_path / "second"))
    assert first.words == second.words and np.allclose(first.vectors, second.vectors, atol=1e-6)
    result = cli("train", TOY_CORPUS, "--dim", "16", "--init", "first", "--out", "x", exit_code=1)
    assert "its vectors have dim 8, the run's --dim is 16" in result.output
    result = cli("train", TOY_CORPUS, "--dim", "8", "--min-count", "50", "--init", "first", "--out", "x",
                 exit_code=1)
    assert "words are not in the corpus's; --init needs the same vocabulary" in result.output


def test_a_checkpoint_that_cannot_be_written_is_a_warning_and_the_run_is_saved(tmp_path, monkeypatch):
    def full_disk(*args):
        raise OutputError("state.npz: cannot write (No space left on device)")

    monkeypatch.setattr(checkpoint, "save_checkpoint", full_disk)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api.train(TOY_CORPUS, resolve(overrides=QUICK), out=str(tmp_path / "out"))
    messages = [str(w.message) for w in caught if issubclass(w.category, W2VWarning)]
    assert messages == ["no checkpoint after epoch 1 (state.npz: cannot write (No space left on device)); "
                        "training goes on"]
    assert os.path.exists(tmp_path / "out" / "vectors.bin")
