"""OUT/checkpoint/state.npz: what continues a run after its last complete epoch, written after every epoch.

Members (read without pickle): w_in, w_out, b_out (the model), words (the vocabulary, '\\n'-separated UTF-8
as uint8), rng_states (uint64 [workers]: each worker's xorshift state) and record (JSON as uint8): the
resolved config (YAML text), the metrics of the epochs done, and what the run trained on: the corpus files
(absolute path, size, modification time), the number of tokens and sentences, and a digest of the
vocabulary (its words and counts). The file is replaced atomically, so it always holds one complete epoch.
"""
import contextlib
import hashlib
import json
import os
import shlex
import warnings
import zipfile
from dataclasses import dataclass

import numpy as np

from .config import parse_yaml, validate
from .errors import ConfigError, CorpusError, ModelFormatError, OutputError, W2VWarning
from .io_utils import atomic_open
from .structs import Model
from .modelfile import array_words, check_loadable, load_model, npz_headers, text_array, words_array
from .train import RunState

CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.npz"
CHECKPOINT_FORMAT = 1
MEMBERS = {"w_in": ("<f4", 2), "w_out": ("<f4", 2), "b_out": ("<f4", 1), "words": ("|u1", 1),
           "rng_states": ("<u8", 1), "record": ("|u1", 1)}
MAX_RECORD_BYTES = 64 << 20
# Settings a resumed run may change: they do not change what the model is.
CONTINUABLE = ("epochs", "threads", "workers", "sync_tokens", "sync_rows")


def checkpoint_path(out_dir):
    return os.path.join(out_dir, CHECKPOINT_DIR, STATE_FILE)


def vocab_digest(vocab):
    digest = hashlib.blake2b(digest_size=16)
    digest.update("\n".join(vocab.words).encode("utf-8"))
    digest.update(np.ascontiguousarray(vocab.counts, dtype="<i8").tobytes())
    return digest.hexdigest()


def corpus_record(paths, corpus):
    """What a run trained on: the files (None where they are not files: standard input, an EncodedCorpus
    given directly) and the encoded corpus's sizes and vocabulary."""
    files = None
    if paths is not None and "-" not in paths:
        files = []
        for path in paths:
            stat = os.stat(path)
            files.append({"path": os.path.abspath(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    return {"files": files, "tokens": corpus.n_tokens, "sentences": corpus.n_sentences,
            "vocab_size": len(corpus.vocab), "vocab_digest": vocab_digest(corpus.vocab)}


@dataclass
class Checkpoint:
    path: str
    config: object        # TrainConfig, as the run resolved it
    state: RunState
    corpus: dict          # corpus_record
    words: list           # the vocabulary, by id

    def check_files(self, paths):
        """CorpusError naming the first corpus file that is not the one the run trained on."""
        recorded = self.corpus["files"]
        if recorded is None or paths is None or "-" in paths:
            return
        now = [os.path.abspath(path) for path in paths]
        before = [entry["path"] for entry in recorded]
        if now != before:
            raise CorpusError(f"{self.path}: the run trained on {', '.join(before)}, not {', '.join(now)}")
        for entry in recorded:
            try:
                stat = os.stat(entry["path"])
            except OSError as exc:
                raise CorpusError(f"{entry['path']}: cannot read the corpus of the run to resume "
                                  f"({exc.strerror})") from None
            if stat.st_size != entry["size"] or stat.st_mtime_ns != entry["mtime_ns"]:
                what = "size" if stat.st_size != entry["size"] else "modification time"
                raise CorpusError(f"{entry['path']}: the corpus changed since the run started (its {what} "
                                  f"differs); a run resumes only on the corpus it trained on")

    def check_corpus(self, corpus):
        """CorpusError unless the encoded corpus is the one the run trained on."""
        now = corpus_record(None, corpus)
        for key, what in (("vocab_digest", "vocabulary"), ("tokens", "number of tokens"),
                          ("sentences", "number of sentences")):
            if now[key] != self.corpus[key]:
                raise CorpusError(f"the corpus's {what} differs from the one the run in {self.path} trained on "
                                  f"({now['vocab_size']} words, {now['tokens']} tokens now; "
                                  f"{self.corpus['vocab_size']} words, {self.corpus['tokens']} tokens then)")

    def continued_config(self, given):
        """The run's config with the settings given for the resumed run (a mapping of explicitly given
        values); ConfigError naming a setting that would change the model, or epochs below those done."""
        saved = self.config.to_dict()
        config = validate({**saved, **given}, "the resumed run's settings")
        for name, value in config.to_dict().items():
            if name not in CONTINUABLE and value != saved[name]:
                raise ConfigError(f"--{name.replace('_', '-')}: the run in {self.path} was trained with "
                                  f"{saved[name]!r}, not {value!r}; a resumed run keeps every setting but "
                                  f"--epochs and where it runs (--threads, --workers, --sync-*); start a new "
                                  f"run, or --init from its model")
        if config.epochs < self.state.epochs_done:
            raise ConfigError(f"--epochs {config.epochs}: the run in {self.path} has already trained "
                              f"{self.state.epochs_done} epochs")
        return config


def save_checkpoint(out_dir, config, state, words, record):
    """Write OUT/checkpoint/state.npz atomically (see the module docstring); words: the vocabulary as
    modelfile.words_array makes it."""
    text = json.dumps({"format": CHECKPOINT_FORMAT, "config": config.to_yaml(), "epochs": state.epochs,
                       "corpus": record})
    arrays = {"w_in": state.model.w_in, "w_out": state.model.w_out, "b_out": state.model.b_out, "words": words,
              "rng_states": state.rng_states, "record": text_array(text)}
    with atomic_open(checkpoint_path(out_dir), "wb") as out:
        np.savez(out, **{name: np.asarray(array, dtype=MEMBERS[name][0]) for name, array in arrays.items()})


def load_checkpoint(out_dir):
    """The Checkpoint in OUT (a run's output directory) or the state.npz path given; ModelFormatError when
    there is none or it does not hold together."""
    path = out_dir
    if os.path.isdir(out_dir):
        path = checkpoint_path(out_dir)
    if not os.path.exists(path):
        raise ModelFormatError(f"{path}: no checkpoint to resume from (a run writes one after every epoch)")
    try:
        with zipfile.ZipFile(path) as archive:
            headers = npz_headers(path, archive, MEMBERS, what="a w2v-nce checkpoint")
        if headers["record"][1] > MAX_RECORD_BYTES:
            raise ModelFormatError(f"{path}: its record is larger than any run writes")
        check_loadable(path, headers)
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in MEMBERS}
        record = json.loads(arrays["record"].tobytes().decode("utf-8"))
        words = array_words(arrays["words"])
        config = validate(parse_yaml(record["config"].encode("utf-8"), f"{path} (config)"), f"{path} (config)")
        epochs, corpus = list(record["epochs"]), dict(record["corpus"])
        if record.get("format") != CHECKPOINT_FORMAT:
            raise ModelFormatError(f"{path}: checkpoint format {record.get('format')!r}, this version reads "
                                   f"{CHECKPOINT_FORMAT}")
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, KeyError, TypeError, ConfigError) as exc:
        raise ModelFormatError(f"{path}: not a readable w2v-nce checkpoint ({exc})") from None
    shapes = {name: shape for name, (shape, _) in headers.items()}
    vocab_size, dim = shapes["w_in"]
    if (shapes["w_out"] != (vocab_size, dim) or shapes["b_out"] != (vocab_size,) or dim != config.dim
            or vocab_size != corpus.get("vocab_size") or len(words) != vocab_size or shapes["rng_states"][0] == 0
            or not 0 < len(epochs) <= config.epochs):
        raise ModelFormatError(f"{path}: its arrays, config and record do not agree (damaged checkpoint)")
    model = Model(arrays["w_in"], arrays["w_out"], arrays["b_out"])
    return Checkpoint(path, config, RunState(model, arrays["rng_states"], epochs), corpus, words)


class CheckpointWriter:
    """The epoch-end hook that writes the checkpoint into `out_dir`. A checkpoint that cannot be written
    (the disk filled up) is warned about once and training goes on: the run's outputs are still saved at
    the end, or kept elsewhere if that fails too."""

    def __init__(self, out_dir, config, words, record, state=None):
        self.out_dir, self.config, self.record = out_dir, config, record
        self.words = words_array(words)  # encoded once, written after every epoch
        self.epochs_saved = state.epochs_done if state is not None else 0
        self.failed = False

    def __call__(self, state):
        try:
            save_checkpoint(self.out_dir, self.config, state, self.words, self.record)
        except OutputError as exc:
            with contextlib.suppress(OSError):  # a checkpoint directory made for nothing
                os.rmdir(os.path.join(self.out_dir, CHECKPOINT_DIR))
            if not self.failed:
                warnings.warn(f"no checkpoint after epoch {state.epochs_done} ({exc}); training goes on",
                              W2VWarning, stacklevel=2)
            self.failed = True
            return
        self.epochs_saved = state.epochs_done

    def resume_hint(self, epochs, run_options=""):
        """What an interrupted run says: which epochs are saved and the command that continues (with
        run_options, e.g. the run's --ray)."""
        if self.epochs_saved == 0:
            return "no epoch was complete, so there is nothing to resume; files already written are intact"
        corpus = "" if self.record["files"] is not None else " CORPUS..."
        saved = "epoch 1 of" if self.epochs_saved == 1 else f"epochs 1-{self.epochs_saved} of"
        return (f"{saved} {epochs} {'is' if self.epochs_saved == 1 else 'are'} saved in "
                f"{os.path.join(self.out_dir, CHECKPOINT_DIR)}; continue with: "
                f"w2v-nce train --resume {shlex.quote(self.out_dir)}{corpus}{run_options}")


def load_weights(path):
    """(Model, words) from a model.npz, a checkpoint's state.npz, or an output directory (the newer of its
    model.npz and its checkpoint)."""
    if os.path.isdir(path):
        candidates = [p for p in (os.path.join(path, "model.npz"), checkpoint_path(path)) if os.path.exists(p)]
        if not candidates:
            raise ModelFormatError(f"{path}: holds neither a model.npz nor a checkpoint")
        path = max(candidates, key=os.path.getmtime)
    try:
        with zipfile.ZipFile(path) as archive:
            is_checkpoint = "rng_states.npy" in archive.namelist()
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelFormatError(f"{path}: not a readable w2v-nce model or checkpoint ({exc})") from None
    if is_checkpoint:
        checkpoint = load_checkpoint(path)
        return checkpoint.state.model, checkpoint.words
    model, vocab, _, _ = load_model(path)
    return model, vocab.words
