"""The Python API that the command line wraps: prepare a corpus, list its pairs, train, resume, save, evaluate."""
import contextlib
import dataclasses
import json
import os
import tempfile
import time

import numpy as np

from .cache import default_cache_dir
from .checkpoint import CheckpointWriter, corpus_record, load_checkpoint, load_weights
from .cluster import Cluster, ClusterError
from .config import resolve
from .corpus import CorpusSettings, prepare_corpus
from .embeddings import Embeddings
from .errors import ConfigError, CorpusError, OutputError
from .evaluate import evaluate_file
from .heldout import HeldOutLoss, corpus_pairs, file_pairs
from .io_utils import atomic_open, output_directory_lock, replace_files
from .modelfile import load_model, save_model
from .monitor import EpochEvaluation
from .pairs import iter_pairs
from .preflight import check_output, check_run
from .projector import write_projector
from .shards import check_shareable
from .structs import Model
from .train import TrainResult
from .train import train as train_model

OUTPUT_FILES = ("vectors.bin", "vectors.txt", "vocab.txt", "config.yaml", "metrics.json", "model.npz")


def corpus_settings(config):
    return CorpusSettings(config.min_count, config.max_vocab, config.lowercase)


def prepare(corpus, settings=CorpusSettings(), cache_dir=None, use_cache=True, memory_budget=None):
    """Tokenize, count and encode the corpus files (cached unless use_cache is False); preparation keeps
    within memory_budget bytes (default: a quarter of physical memory) by spilling counts to disk."""
    if isinstance(corpus, (str, bytes)) or hasattr(corpus, "__fspath__"):
        corpus = [corpus]
    return prepare_corpus(list(corpus), settings, cache_dir=(cache_dir or default_cache_dir()) if use_cache else None,
                          memory_budget=memory_budget)


def pairs(encoded, window, dynamic_window=True, subsample=0.0, seed=1, epoch=0, holdout=0.0):
    """Yield blocks of (centre ids, context ids): the skip-gram pairs of training epoch `epoch` (from 0),
    less those of the sentences `holdout` holds out."""
    return iter_pairs(encoded, window, dynamic_window=dynamic_window, subsample=subsample, seed=seed, epoch=epoch,
                      holdout=holdout)


def train(corpus, config=None, progress="none", cache_dir=None, use_cache=True, memory_budget=None, out=None,
          init=None, evaluations=(), holdout_file=None, cluster=None):
    """Train on corpus files (or an EncodedCorpus) with a TrainConfig (default: the default preset, as the
    command line); returns a TrainResult whose `embeddings()` are the input vectors.

    The config's small_corpus_tokens rule sets the epochs for this corpus (result.config says what ran).
    Nothing is trained unless the settings suit the vocabulary and fit in memory and, with `out`, the
    output directory can take the outputs (writable, room for their sizes, no other run writing there,
    every word writable); then a checkpoint is written there after every epoch (`resume` continues from
    it) and the result is saved there. init: a model.npz, a checkpoint or an output directory whose weights
    the run starts from (same vocabulary and dim). evaluations: analogy or word-pair files scored after every
    epoch (the reports go into each epoch's metrics as "eval"). holdout_file: a text file whose pairs give
    the held-out loss after every epoch (as config.holdout does with sentences of the corpus). cluster: train
    on a Ray cluster instead of this process's threads ('local': a new one of this machine's cores, 'auto',
    or an address; see cluster.py), with config.workers workers of config.threads threads each; the corpus
    files must be readable at the same paths on every node."""
    config = config or resolve()
    with output_directory_lock(out, wait=False) if out is not None else contextlib.nullcontext(), \
            _engine(cluster, config, corpus) as engine:
        paths, corpus, prepared = _prepared(corpus, config, cache_dir, use_cache, memory_budget, engine)
        config = _where_it_runs(config.for_corpus(corpus.n_tokens), engine, corpus)
        check_run(corpus, config, out)
        model = initial_model(init, corpus.vocab, config.dim) if init is not None else None
        hooks = measurement_hooks(corpus, config, evaluations, holdout_file, engine)
        return _run(corpus, paths, config, out, prepared, progress, hooks, engine, init=model)


def resume(checkpoint_dir, corpus=None, settings=None, progress="none", cache_dir=None, use_cache=True,
           memory_budget=None, out=None, evaluations=(), holdout_file=None, cluster=None):
    """Continue the run whose output directory is checkpoint_dir from its last complete epoch, writing into
    `out` (default: the same directory). corpus: the corpus files (default: those the run recorded).
    settings: explicitly given settings; only epochs (to train longer) and where it runs (threads, workers,
    sync_tokens, sync_rows) may differ from the run's. With one thread and a fixed seed, the result is bit-identical to an uninterrupted run.
    evaluations, holdout_file, cluster: as for `train`, for the epochs still to train (a run started on a
    cluster may continue in one process, and the other way round)."""
    out = checkpoint_dir if out is None else out
    with output_directory_lock(out, wait=False):
        checkpoint = load_checkpoint(checkpoint_dir)
        config = checkpoint.continued_config(settings or {})
        if corpus is None:
            if checkpoint.corpus["files"] is None:
                raise CorpusError(f"{checkpoint.path}: the run read standard input or an encoded corpus; give "
                                  f"the corpus again")
            corpus = [entry["path"] for entry in checkpoint.corpus["files"]]
        if not hasattr(corpus, "vocab"):
            checkpoint.check_files(_paths(corpus))
        with _engine(cluster, config, corpus) as engine:
            paths, corpus, prepared = _prepared(corpus, config, cache_dir, use_cache, memory_budget, engine)
            config = _where_it_runs(config, engine, corpus)
            checkpoint.check_corpus(corpus)
            check_run(corpus, config, out)
            hooks = measurement_hooks(corpus, config, evaluations, holdout_file, engine)
            return _run(corpus, paths, config, out, prepared, progress, hooks, engine, state=checkpoint.state)


def measurement_hooks(corpus, config, evaluations, holdout_file, engine=None):
    """The epoch-end hooks that measure the model: held-out loss (config.holdout or holdout_file), scores on
    the evaluation files. Their inputs are read and checked here, before training."""
    hooks = []
    if config.holdout and holdout_file is not None:
        raise ConfigError("--holdout and --holdout-file: give one of them")
    if config.holdout:
        pairs_held_out = (engine.held_out_pairs(corpus, config) if engine is not None
                          else corpus_pairs(corpus, config.holdout, config.seed, config.window))
        hooks.append(HeldOutLoss(pairs_held_out, config.resolved_threads))
    elif holdout_file is not None:
        hooks.append(HeldOutLoss(file_pairs(holdout_file, corpus.vocab, config.lowercase, config.window),
                                 config.resolved_threads))
    if evaluations:
        hooks.append(EpochEvaluation(evaluations, corpus.vocab.words))
    return hooks


def _paths(corpus):
    return [corpus] if isinstance(corpus, (str, bytes)) or hasattr(corpus, "__fspath__") else list(corpus)


@contextlib.contextmanager
def _engine(cluster, config, corpus):
    """The Cluster of a run on Ray (its workers stopped at the end, however it ends), or None. The corpus
    files are checked before the cluster is started or joined."""
    if cluster is None:
        yield None
        return
    if hasattr(corpus, "vocab"):
        raise ConfigError("--ray: give corpus files (a cluster's workers read them), not an encoded corpus")
    check_shareable(_paths(corpus))
    engine = Cluster.start(cluster, config.workers, config.threads)
    try:
        yield engine
    finally:
        engine.stop()


def _where_it_runs(config, engine, corpus):
    """On a cluster, the config with the workers and threads per worker the run has (config.yaml says so)."""
    if engine is None:
        return config
    return dataclasses.replace(config, workers=len(corpus.shard_tokens), threads=engine.threads)


def _prepared(corpus, config, cache_dir, use_cache, memory_budget, engine=None):
    """(the corpus paths or None, the EncodedCorpus (a ClusterCorpus on a cluster), seconds spent preparing it)."""
    if hasattr(corpus, "vocab"):
        return None, corpus, 0.0
    started = time.perf_counter()
    paths = _paths(corpus)
    if engine is not None:
        encoded = engine.prepare(paths, corpus_settings(config))
    else:
        encoded = prepare(paths, corpus_settings(config), cache_dir=cache_dir, use_cache=use_cache,
                          memory_budget=memory_budget)
    return paths, encoded, time.perf_counter() - started


def _run(corpus, paths, config, out, prepared, progress, hooks, engine=None, init=None, state=None):
    """Train (from `init` or continuing `state`; in this process, or on the cluster `engine`) with the
    epoch-end hooks, then a checkpoint into `out` after every epoch, then save. An interrupt carries a `hint`
    saying what is saved and how to continue."""
    writer = (CheckpointWriter(out, config, corpus.vocab.words, corpus_record(paths, corpus), state)
              if out is not None else None)
    trainer = engine.train if engine is not None else train_model
    try:
        result = trainer(corpus, config, progress=progress, init=init, state=state,
                         hooks=hooks + ([writer] if writer is not None else []))
    except KeyboardInterrupt as exc:
        if writer is not None:
            exc.hint = writer.resume_hint(config.epochs, engine.option if engine is not None else "")
        raise
    except ClusterError as exc:
        if writer is None:
            raise
        raise ClusterError(f"{exc}; {writer.resume_hint(config.epochs, engine.option)}") from None
    result.prepare_seconds = prepared
    if out is not None:
        save(result, out)
    return result


def initial_model(path, vocab, dim):
    """The weights of a model.npz, checkpoint or output directory, rows ordered as `vocab`: the same words
    (in any order) and dim are required."""
    model, words = load_weights(path)
    if model.w_in.shape[1] != dim:
        raise ConfigError(f"--init {path}: its vectors have dim {model.w_in.shape[1]}, the run's --dim is {dim}")
    if words != vocab.words:
        row_of = {word: row for row, word in enumerate(words)}
        missing = sum(word not in row_of for word in vocab.words)
        if missing or len(words) != len(vocab):
            extra = len(set(words) - set(vocab.words))
            raise ConfigError(f"--init {path}: {missing} of the corpus's {len(vocab)} words are not in its "
                              f"vocabulary and {extra} of its {len(words)} words are not in the corpus's; "
                              f"--init needs the same vocabulary (same corpus, --min-count, --max-vocab)")
        rows = np.array([row_of[word] for word in vocab.words], dtype=np.int64)
        model = Model(*(np.ascontiguousarray(array[rows]) for array in model))
    return model


def save(result, out_dir):
    """Write model.npz, vectors.bin, vectors.txt, vocab.txt, config.yaml and metrics.json into out_dir.

    Every file is written in full under a temporary name first and only then renamed into place, under the
    directory's lock, so an error or interrupt leaves the previous files as they were and concurrent saves
    never mix their files. If writing fails, the model is kept elsewhere and the OutputError says where."""
    embeddings = result.embeddings()
    metrics = result.metrics()
    metrics["prepare_seconds"] = round(getattr(result, "prepare_seconds", 0.0), 3)
    writers = {
        "vectors.bin": lambda path: embeddings.save(path, binary=True),
        "vectors.txt": lambda path: embeddings.save(path, binary=False),
        "vocab.txt": result.vocab.save,
        "config.yaml": lambda path: _write_text(path, result.config.to_yaml()),
        "metrics.json": lambda path: _write_text(path, json.dumps(metrics, indent=2) + "\n"),
        "model.npz": lambda path: save_model(path, result.model, result.vocab, result.config, metrics),
    }
    with output_directory_lock(out_dir):
        try:
            replace_files(out_dir, writers)
        except OutputError as exc:
            raise OutputError(f"{exc}; {_keep_elsewhere(result, metrics, out_dir)}") from None
    return {name: os.path.join(out_dir, name) for name in writers}


def _keep_elsewhere(result, metrics, out_dir):
    """Write model.npz to the first place that takes it and say where (the outputs can be made from it)."""
    tried = []
    for directory in (out_dir, tempfile.gettempdir(), os.getcwd(), os.path.expanduser("~")):
        path = os.path.abspath(os.path.join(directory, f"w2v-nce-unsaved-{os.getpid()}.npz"))
        try:
            save_model(path, result.model, result.vocab, result.config, metrics)
        except OutputError:
            tried.append(directory)
            continue
        return (f"the trained model was kept in {path}; once there is room, write the outputs with: "
                f"w2v-nce export {path} --out {out_dir}")
    return f"the trained model could not be kept anywhere (tried {', '.join(tried)})"


def _write_text(path, text):
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(text)


def export(model_path, out_dir):
    """Write the outputs of `save` from a model.npz (or a directory holding one)."""
    if os.path.isdir(model_path):
        model_path = os.path.join(model_path, "model.npz")
    model, vocab, config, metrics = load_model(model_path)
    result = TrainResult(vocab, model, config, epochs=(metrics or {}).get("epochs", []))
    check_output(out_dir, vocab, config.dim)
    return save(result, out_dir)


def export_projector(vectors_path, out_dir, limit=None):
    """Write vectors.tsv, metadata.tsv and projector_config.pbtxt for the TensorBoard Embedding Projector
    from any vectors `load_vectors` reads, the `limit` most frequent words (all by default); returns the
    number of rows written."""
    return write_projector(load_vectors(vectors_path), out_dir, limit)


def load_vectors(path):
    """Embeddings from a word2vec text or binary file, a model.npz, or an output directory (its vectors.bin)."""
    if os.path.isdir(path):
        path = os.path.join(path, "vectors.bin")
    with contextlib.suppress(OSError):
        with open(path, "rb") as handle:
            if handle.read(4) == b"PK\x03\x04":
                model, vocab, _, _ = load_model(path)
                return Embeddings(vocab.words, model.w_in)
    return Embeddings.load(path)


def evaluate(embeddings, path, restrict_vocab=None, method="3cosadd", case_insensitive=True):
    """Score an analogy or word-similarity file (told apart by content); returns a report dict."""
    return evaluate_file(embeddings, path, restrict_vocab=restrict_vocab, method=method,
                         case_insensitive=case_insensitive)
