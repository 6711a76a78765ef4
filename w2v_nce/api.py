"""The Python API that the command line wraps: prepare a corpus, list its pairs, train, save, evaluate."""
import json
import os
import time

import numpy as np

from .config import TrainConfig
from .corpus import CorpusSettings, default_cache_dir, prepare_corpus
from .embeddings import Embeddings
from .errors import W2VError
from .evaluate import evaluate_file
from .io_utils import atomic_open, replace_files
from .kernels import Model
from .pairs import iter_pairs
from .train import train as train_model
from .vocab import Vocab


def prepare(corpus, settings=CorpusSettings(), cache_dir=None, use_cache=True):
    """Tokenize, count and encode the corpus files (cached unless use_cache is False)."""
    if isinstance(corpus, (str, bytes)) or hasattr(corpus, "__fspath__"):
        corpus = [corpus]
    return prepare_corpus(list(corpus), settings, cache_dir=(cache_dir or default_cache_dir()) if use_cache else None)


def pairs(encoded, window, dynamic_window=True, subsample=0.0, seed=1, epoch=0):
    """Yield blocks of (centre ids, context ids): the skip-gram pairs of one training epoch."""
    return iter_pairs(encoded, window, dynamic_window=dynamic_window, subsample=subsample, seed=seed, epoch=epoch)


def train(corpus, config=None, progress="none", cache_dir=None, use_cache=True):
    """Train on corpus files (or an EncodedCorpus) with a TrainConfig; returns a TrainResult whose
    `embeddings()` are the input vectors."""
    config = config or TrainConfig()
    started = time.perf_counter()
    if not hasattr(corpus, "vocab"):
        corpus = prepare(corpus, CorpusSettings(config.min_count, config.max_vocab, config.lowercase),
                         cache_dir=cache_dir, use_cache=use_cache)
    prepared = time.perf_counter() - started
    result = train_model(corpus, config, progress=progress)
    result.prepare_seconds = prepared
    return result


def save(result, out_dir):
    """Write vectors.bin, vectors.txt, vocab.txt, config.yaml, metrics.json and model.npz into out_dir.

    Every file is written in full under a temporary name first and only then renamed into place, so an
    error or interrupt leaves the previous files as they were."""
    os.makedirs(out_dir, exist_ok=True)
    embeddings = result.embeddings()
    metrics = result.metrics()
    metrics["prepare_seconds"] = round(getattr(result, "prepare_seconds", 0.0), 3)
    writers = {
        "vectors.bin": lambda path: embeddings.save(path, binary=True),
        "vectors.txt": lambda path: embeddings.save(path, binary=False),
        "vocab.txt": result.vocab.save,
        "config.yaml": lambda path: _write_text(path, result.config.to_yaml()),
        "metrics.json": lambda path: _write_text(path, json.dumps(metrics, indent=2) + "\n"),
        "model.npz": lambda path: save_model(result, path),
    }
    replace_files(out_dir, writers)
    return {name: os.path.join(out_dir, name) for name in writers}


def _write_text(path, text):
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(text)


def save_model(result, path):
    """model.npz: input vectors, output weights and biases, vocabulary (UTF-8, one word per line) and
    counts, and the config as YAML; no pickled objects."""
    words = "\n".join(result.vocab.words).encode("utf-8")
    with atomic_open(path, "wb") as out:
        np.savez(out, w_in=result.model.w_in, w_out=result.model.w_out, b_out=result.model.b_out,
                 words=np.frombuffer(words, dtype=np.uint8), counts=result.vocab.counts,
                 config=np.frombuffer(result.config.to_yaml().encode("utf-8"), dtype=np.uint8))


def load_model(path):
    """(Model, Vocab, config YAML text) from a model.npz; never unpickles anything."""
    try:
        with np.load(path, allow_pickle=False) as data:
            words = data["words"].tobytes().decode("utf-8").split("\n")
            model = Model(data["w_in"], data["w_out"], data["b_out"])
            vocab = Vocab(words, data["counts"])
            config_text = data["config"].tobytes().decode("utf-8")
    except (OSError, KeyError, ValueError) as exc:
        raise W2VError(f"{path}: not a w2v-nce model ({exc})") from None
    return model, vocab, config_text


def load_vectors(path):
    """Embeddings from a word2vec text or binary file."""
    return Embeddings.load(path)


def evaluate(embeddings, path, restrict_vocab=None, method="3cosadd", case_insensitive=True):
    """Score an analogy or word-similarity file (told apart by content); returns a report dict."""
    return evaluate_file(embeddings, path, restrict_vocab=restrict_vocab, method=method,
                         case_insensitive=case_insensitive)
