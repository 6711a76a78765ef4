"""The training loop: weight init, worker threads over the Numba kernels, learning-rate schedule,
progress and per-epoch metrics, divergence checks, and the run state a checkpoint saves.

Each epoch the corpus's token range is cut into blocks of BLOCK_TOKENS, handed out in order to whichever
worker is free, so no thread idles at the end of an epoch while another finishes a bigger share. Before
each block a worker reads the global progress (all threads' token counts, read without locks as word2vec
C does) and sets lr = lr0 - (lr0 - min_lr) * progress, linear over all epochs.
"""
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from .config import tidy
from .embeddings import Embeddings
from .errors import ConfigError, TrainingDiverged
from .evaluate import headline
from .kernels import load_steps, seed_states, take_private_rows, train_block
from .pairs import held_out_sentences, max_contexts
from .sampling import build_noise
from .simd import aligned_empty, with_aligned_rows
from .structs import LOSS_CODES, Model, Settings, Text

BLOCK_TOKENS = 10_000
STOP_WAIT = 5.0  # seconds an interrupt waits for the workers to finish their blocks


@dataclass
class RunState:
    """Everything a run needs to continue after a complete epoch: the model, each worker's RNG state and
    the metrics of the epochs done. The pairs of an epoch are a hash of (seed, epoch, position) and the
    learning rate follows from the tokens done, so nothing else is needed for an exact continuation."""
    model: Model
    rng_states: np.ndarray                       # uint64 [workers], each worker's xorshift state
    epochs: list = field(default_factory=list)   # one metrics dict per epoch done

    @property
    def epochs_done(self):
        return len(self.epochs)

    @classmethod
    def start(cls, model, seed, workers):
        return cls(model, np.concatenate(seed_states(seed, workers)))

    def with_workers(self, seed, workers):
        """The state for `workers` threads: the saved RNG states, and fresh ones (derived from the seed and
        the epochs done) for threads the saved run did not have."""
        extra = workers - len(self.rng_states)
        if extra <= 0:
            return RunState(self.model, self.rng_states[:workers].copy(), list(self.epochs))
        fresh = np.concatenate(seed_states([seed, self.epochs_done], extra))
        return RunState(self.model, np.concatenate([self.rng_states, fresh]), list(self.epochs))


@dataclass
class TrainResult:
    vocab: object
    model: Model
    config: object
    epochs: list = field(default_factory=list)  # one metrics dict per epoch
    seconds: float = 0.0          # this call's training time
    prepare_seconds: float = 0.0

    def embeddings(self):
        """The input vectors with their words (what word2vec calls the word vectors)."""
        return Embeddings(self.vocab.words, self.model.w_in)

    def metrics(self):
        pairs = sum(e["pairs"] for e in self.epochs)
        tokens = sum(e["tokens"] for e in self.epochs)
        seconds = sum(e["seconds"] for e in self.epochs)  # every epoch's, a resumed run's earlier ones too
        return {"vocab_size": len(self.vocab), "corpus_tokens": int(self.vocab.total), "epochs": self.epochs,
                "total": {"pairs": pairs, "tokens": tokens, "seconds": round(seconds, 3),
                          "words_per_s": round(tokens / seconds) if seconds > 0 else None,
                          "loss": self.epochs[-1]["loss"] if self.epochs else None}}


def init_model(vocab_size, dim, seed):
    """word2vec C's initialisation: input vectors uniform in [-0.5/dim, 0.5/dim), output weights and biases 0."""
    rng = np.random.default_rng(seed)
    w_in, w_out = aligned_empty(vocab_size, dim), aligned_empty(vocab_size, dim)
    w_in[...] = rng.random((vocab_size, dim), dtype=np.float32)
    w_in -= np.float32(0.5)
    w_in /= np.float32(dim)
    w_out[...] = 0.0
    return Model(w_in, w_out, np.zeros(vocab_size, dtype=np.float32))


def kernel_inputs(corpus, config):
    """The read-only arrays every worker's train_block gets: (Text, Noise)."""
    vocab = corpus.vocab
    noise = build_noise(config.resolved_sampler, vocab.counts, config.distortion)
    text = Text(np.asarray(corpus.ids), np.asarray(corpus.offsets), vocab.keep_probabilities(config.subsample),
                held_out_sentences(corpus.n_sentences, config.holdout, config.seed))
    return text, noise


def worker_count(config, n_tokens):
    """The threads a run starts: as many as asked, but no more than there are blocks to take."""
    return min(config.resolved_threads, -(-n_tokens // BLOCK_TOKENS))


def epoch_settings(config, epoch, longest_sentence):
    return Settings(LOSS_CODES[config.loss], config.window, config.dynamic_window, config.num_sampled,
                    config.resolved_remove_accidental_hits, config.share_negatives, config.seed, epoch,
                    max_contexts(config.window, longest_sentence))


class BlockQueue:
    """Tokens [lo, hi) in blocks of BLOCK_TOKENS, handed out in corpus order to whichever thread asks next."""

    def __init__(self, lo, hi):
        self.hi = hi
        self._starts = iter(range(lo, hi, BLOCK_TOKENS))
        self._lock = threading.Lock()

    def next(self):
        """The next block, or None when the span is handed out."""
        with self._lock:
            lo = next(self._starts, None)
        return None if lo is None else (lo, min(lo + BLOCK_TOKENS, self.hi))


class Progress:
    """Reports training progress on stderr: a tqdm bar ('bar'), one line per epoch ('lines') or nothing."""

    def __init__(self, mode, total_tokens, epochs):
        self.mode, self.total, self.epochs, self.bar = mode, total_tokens, epochs, None
        if mode == "bar":
            self.bar = tqdm(total=total_tokens * epochs, unit="word", unit_scale=True, dynamic_ncols=True,
                            file=sys.stderr, smoothing=0.1)

    def update(self, epoch, done, lr, loss):
        if self.bar is not None:
            self.bar.n = epoch * self.total + done
            self.bar.set_description(f"epoch {epoch + 1}/{self.epochs}", refresh=False)
            self.bar.set_postfix(lr=f"{lr:.5f}", loss=f"{loss:.4f}", refresh=False)
            self.bar.refresh()

    def epoch_done(self, metrics):
        scores = "".join(f"; {os.path.basename(report['file'])} {headline(report):.4f}"
                         for report in metrics.get("eval", []))
        if "heldout" in metrics:
            heldout = metrics["heldout"]
            scores = (f"; held-out softmax {heldout['softmax_loss']:.4f}, sigmoid {heldout['sigmoid_loss']:.4f}"
                      + scores)
        if self.mode == "lines":
            print(f"epoch {metrics['epoch']}/{self.epochs}: loss {metrics['loss']:.4f}/pair, "
                  f"{metrics['pairs']} pairs, {metrics['words_per_s']:.0f} words/s, {metrics['seconds']:.1f} s, "
                  f"lr {metrics['lr_end']:.5f}{scores}", file=sys.stderr, flush=True)
        elif self.bar is not None and scores:
            self.bar.write(f"epoch {metrics['epoch']}/{self.epochs}{scores}", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class ThreadExecutor:
    """Runs an epoch's workers as threads of this process (the kernels release the GIL), sharing the model
    arrays (Hogwild). The seam another executor (processes, a cluster) replaces: `run` gets the work of one
    worker, work(t) for t in range(workers), the event that asks them to stop, and a tick to call while
    they run."""

    def __init__(self, workers):
        self.workers = workers

    def run(self, work, stop, tick):
        threads = []
        try:
            for t in range(self.workers):
                threads.append(threading.Thread(target=work, args=(t,), daemon=True))
                threads[-1].start()
            while any(thread.is_alive() for thread in threads):
                threads[0].join(0.25)
                tick()
        except RuntimeError as exc:  # the system refused a thread
            self._stop(stop, threads)
            raise ConfigError(f"cannot start {self.workers} worker threads ({exc}); lower --threads") from None
        except KeyboardInterrupt:
            self._stop(stop, threads)
            raise

    @staticmethod
    def _stop(stop, threads):
        """Ask the workers to stop after their current block and wait STOP_WAIT seconds at most: a block that
        runs longer is left to its daemon thread, which dies with the process, so an interrupt always ends
        the run."""
        stop.set()
        deadline = time.monotonic() + STOP_WAIT
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class Hogwild:
    """The worker threads of one process over one shared model (lock-free, Hogwild): each thread's RNG state
    (a view into `rng_states`, which the kernels advance in place) and draw stamps, and `train`, which runs
    them over a span of the text.

    With private_rows (and more than one thread), each thread trains its own copy of the output rows and
    biases of the private_rows most frequent words, the ones the samplers draw most, and adds its changes to
    the model's every kernels.PRIVATE_MERGE_TOKENS tokens (each adding to what the others added): rows that
    every thread would write no longer move between the cores with every step (README, Performance)."""

    def __init__(self, rng_states, vocab_size, private_rows=0):
        self.threads = len(rng_states)
        self.private_rows = min(private_rows, vocab_size) if self.threads > 1 else 0
        self.rngs = [rng_states[t:t + 1] for t in range(self.threads)]
        self.stamps = [np.zeros(vocab_size, dtype=np.int64) for _ in range(self.threads)]
        self.stamp_bases = [0] * self.threads
        self.executor = ThreadExecutor(self.threads)

    def train(self, text, model, noise, settings, lo, hi, lr_at, lr0, tick=None):
        """Train on tokens [lo, hi) of `text`, each block at lr_at(tokens of the span done before it); returns
        (summed loss, pairs, tokens done). tick(tokens done, mean loss so far) is called while the threads run.
        Raises TrainingDiverged (lr0, the run's --lr, goes in its message) when a block's loss is not finite."""
        privates = [take_private_rows(model, self.private_rows) if self.private_rows else None
                    for _ in range(self.threads)]
        load_steps(model, privates[0])
        done = np.zeros(self.threads, dtype=np.int64)      # per-thread tallies, summed without locks
        loss = np.zeros(self.threads, dtype=np.float64)
        pairs = np.zeros(self.threads, dtype=np.int64)
        failure = []
        stop = threading.Event()
        blocks = BlockQueue(lo, hi)

        def work(t):
            try:
                while not stop.is_set():
                    block = blocks.next()
                    if block is None:
                        return
                    block_lo, block_hi = block
                    lr = lr_at(int(done.sum()))
                    block_loss, block_pairs, batches = train_block(text, model, privates[t], noise, settings,
                                                                   block_lo, block_hi, lr, self.rngs[t],
                                                                   self.stamps[t], self.stamp_bases[t])
                    self.stamp_bases[t] += batches
                    if not math.isfinite(block_loss):
                        failure.append(TrainingDiverged(
                            f"training diverged (non-finite loss) in epoch {settings.epoch + 1} at lr {lr:.4g}; "
                            f"lower --lr (it was {lr0:g})"))
                        stop.set()
                        return
                    loss[t] += block_loss
                    pairs[t] += block_pairs
                    done[t] += block_hi - block_lo
            except BaseException as exc:  # reaches the caller through `failure`
                failure.append(exc)
                stop.set()

        self.executor.run(work, stop, (lambda: tick(int(done.sum()), loss.sum() / max(pairs.sum(), 1)))
                          if tick is not None else (lambda: None))
        if failure:
            raise failure[0]
        return float(loss.sum()), int(pairs.sum()), int(done.sum())


def train(corpus, config, progress="none", init=None, state=None, hooks=()):
    """Train on an EncodedCorpus with a TrainConfig; returns a TrainResult.

    progress: 'bar', 'lines' or 'none'. init: a Model to start from (else a fresh one). state: a RunState
    to continue (its model, RNG states and epochs done; it is updated in place). After every epoch each of
    `hooks` is called in turn with the state: it may add to the epoch's metrics (state.epochs[-1]), which
    are then reported, or save the state. The corpus and settings must have passed preflight.check_run. Raises
    TrainingDiverged when the loss becomes non-finite.
    """
    vocab, n_tokens, longest_sentence = corpus.vocab, corpus.n_tokens, corpus.longest_sentence
    text, noise = kernel_inputs(corpus, config)
    state = start_state(state, init, len(vocab), config, worker_count(config, n_tokens))
    hogwild = Hogwild(state.rng_states, len(vocab), config.private_rows)
    lr0, min_lr = config.lr, config.resolved_min_lr

    def train_epoch(epoch, reporter):
        def lr_at(done):
            return decayed_lr(lr0, min_lr, (epoch * n_tokens + done) / (config.epochs * n_tokens))

        epoch_start = time.perf_counter()
        loss, pairs, done = hogwild.train(
            text, state.model, noise, epoch_settings(config, epoch, longest_sentence), 0, n_tokens, lr_at, lr0,
            tick=lambda done, mean_loss: reporter.update(epoch, done, lr_at(done), mean_loss))
        state.epochs.append(epoch_metrics(epoch, loss, pairs, done, time.perf_counter() - epoch_start, lr_at(0),
                                          lr_at(done)))

    return run_epochs(vocab, config, state, n_tokens, progress, hooks, train_epoch)


def start_state(state, init, vocab_size, config, workers):
    """The RunState a run trains with `workers` RNG streams: `state` continued, else a fresh one from the
    model `init` or a new model; the model in row-aligned storage (aligned_model)."""
    if state is None:
        model = init if init is not None else init_model(vocab_size, config.dim, config.seed)
        return RunState.start(aligned_model(model), config.seed, workers)
    state.model = aligned_model(state.model)
    if len(state.rng_states) != workers:
        return state.with_workers(config.seed, workers)
    return state


def aligned_model(model, copy=False):
    """The model with its weight matrices in the row-aligned storage the kernels run fastest on, copied
    where they are not in it or not writable, or all of it with copy (simd.with_aligned_rows)."""
    b_out = model.b_out.copy() if copy or not model.b_out.flags.writeable else model.b_out
    return Model(with_aligned_rows(model.w_in, copy), with_aligned_rows(model.w_out, copy), b_out)


def run_epochs(vocab, config, state, n_tokens, progress, hooks, train_epoch):
    """Epochs state.epochs_done + 1 .. config.epochs: train_epoch(epoch, reporter) trains one (from 0) and
    appends its metrics to state.epochs, then each hook is called with the state and the epoch reported.
    Returns the TrainResult; TrainingDiverged when the model ends up non-finite."""
    result = TrainResult(vocab, state.model, config, epochs=state.epochs)
    reporter = Progress(progress, n_tokens, config.epochs)
    started = time.perf_counter()
    try:
        for epoch in range(state.epochs_done, config.epochs):
            train_epoch(epoch, reporter)
            for hook in hooks:
                hook(state)
            reporter.epoch_done(state.epochs[-1])
    finally:
        reporter.close()
    result.seconds = time.perf_counter() - started
    check_finite(state.model, config.lr)
    return result


def decayed_lr(lr0, min_lr, progress):
    """The learning rate at `progress` (0 to 1) of the run's tokens: linear from lr0 down to min_lr."""
    return max(min_lr, lr0 - (lr0 - min_lr) * progress)


def epoch_metrics(epoch, loss, pairs, tokens, seconds, lr_start, lr_end):
    return {"epoch": epoch + 1, "loss": tidy(loss / max(pairs, 1)), "pairs": pairs, "tokens": tokens,
            "seconds": round(seconds, 3), "words_per_s": round(tokens / seconds, 1), "lr_start": tidy(lr_start),
            "lr_end": tidy(lr_end)}


def check_finite(model, lr0):
    for name, array in zip(Model._fields, model):
        if not np.all(np.isfinite(array)):
            raise TrainingDiverged(f"training diverged ({name} holds non-finite values) at lr {lr0:g}; lower --lr")
