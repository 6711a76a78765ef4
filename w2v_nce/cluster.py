"""Training on a Ray cluster (`train --ray`): data-parallel replicas merged often, as pWord2Vec's MPI version.

1. Vocabulary: the corpus files are cut into byte ranges at line starts (shards.py); Ray tasks count the
   ranges, split by word hash into PARTITIONS parts; one task per part sums it over all ranges and keeps
   the words that reach min_count; the driver ranks those into exactly the vocabulary one process builds.
2. Shards: the ranges are cut, in corpus order, into one contiguous shard per worker. Each worker (a Ray
   actor with --threads CPUs) encodes its shard with the global vocabulary and trains it with its own
   Hogwild threads on its own replica of the model.
3. Synchronisation, in rounds: an epoch is cut into R rounds, so that a worker trains about --sync-tokens
   tokens a round. After each round a worker puts the rows due in its outbox and trains on; the driver
   merges every worker's rows (the last merge plus each replica's change since: updates add up, as Hogwild
   threads' do) and sends the merge back, which the worker adds as a correction, keeping its training since
   the snapshot. A worker's next snapshot waits for the merge before it, so a replica is at most one sync
   behind. Ids are frequency-sorted: the --sync-rows most frequent rows (most of the updates) are due every
   round; then rows [H, 2H) every 2nd round, [2H, 4H) every 4th, ... (round r syncs the block of its lowest
   set bit, so each round moves about the same number of bytes); the epoch's last round syncs every row.
   The learning rate follows the tokens all workers have done.
4. Faults: a worker that dies is replaced by a new actor (on any node with room) that encodes the same
   shard, starts from the merged model and trains the epoch from the lost round on, so no text is dropped;
   after MAX_REPLACEMENTS, or when no replacement starts, the run stops with a one-line error, its last epoch
   in the checkpoint. Ctrl-C stops the workers and leaves that checkpoint (the run resumes with --resume,
   with or without --ray).

The driver holds the merged model, writes the checkpoints and the outputs, and runs the epoch-end hooks.
"""
import logging
import math
import os
import shlex
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .config import available_cores, validate
from .errors import ConfigError, W2VError, W2VWarning
from .heldout import MAX_PAIRS, joined_pairs, shard_pairs
from .pairs import held_out_sentences
from .sampling import build_noise
from .shards import RANGE_BYTES, assign_ranges, count_range, encode_shard, merged_vocab, split_ranges, sum_counts
from .structs import Model, Text
from .train import Hogwild, aligned_model, decayed_lr, epoch_metrics, epoch_settings, run_epochs, start_state
from .vocab import Vocab
from .wordcount import PARTITIONS

POLL_SECONDS = 0.25          # the driver waits in slices this long, so Ctrl-C is seen at once
START_TIMEOUT = 120.0        # seconds for a worker to start and encode its shard
MAX_REPLACEMENTS = 3         # dead workers replaced in one run before it stops
MIN_RANGE_BYTES = 1 << 18
RANGES_PER_WORKER = 4


class ClusterError(W2VError):
    """The cluster cannot run the job (not enough CPUs, a worker lost beyond replacement, no connection)."""


def connect(address=None):
    """The ray module, connected: to a new local cluster of this machine's cores (address None or
    'local'), or to a running one ('auto', 'HOST:PORT', 'ray://HOST:PORT')."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray: pip install 'w2v-nce[ray]'") from None
    if not ray.is_initialized():
        local = address in (None, "", "local")
        on_sigterm = signal.getsignal(signal.SIGTERM)  # ray.init installs its own, which exits at once
        try:
            # address "local": a new cluster even where another runs (None would join that one)
            ray.init(address="local" if local else address, num_cpus=available_cores() if local else None,
                     include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        except Exception as exc:  # Ray raises ConnectionError, ValueError, RuntimeError ... here
            raise ClusterError(f"--ray {address or 'local'}: cannot start or join the Ray cluster "
                               f"({_first_line(exc)})") from None
        finally:
            if threading.current_thread() is threading.main_thread() and on_sigterm is not None:
                signal.signal(signal.SIGTERM, on_sigterm)
    return ray


@dataclass
class ClusterCorpus:
    """What the driver knows of a corpus the workers hold: the vocabulary and the shards' sizes. It stands
    in for EncodedCorpus wherever the run only needs sizes (checks, checkpoints)."""
    vocab: Vocab
    shard_tokens: list
    shard_sentences: list
    longest_sentence: int

    @property
    def n_tokens(self):
        return sum(self.shard_tokens)

    @property
    def n_sentences(self):
        return sum(self.shard_sentences)


class ShardWorker:
    """A Ray actor: one shard of the corpus, one replica of the model, its own Hogwild threads."""

    def encode(self, ranges, words, lowercase, threads):
        """Encode the shard on `threads` threads; returns (tokens, sentences, longest sentence)."""
        self.shard = encode_shard(ranges, words, lowercase, threads)
        return self.shard.n_tokens, self.shard.n_sentences, self.shard.longest_sentence

    def start(self, config, counts, keep_prob, first_sentence, shard_index, model, rng_states, applied_through):
        """Set up training from `model` (its arrays are copied) with these RNG states (one per thread), as of
        sync applied_through. The shard's pairs are drawn with a seed of its own (shards would otherwise repeat
        each other's draws)."""
        self.config = validate(config, "the run's settings")
        held_out = held_out_sentences(self.shard.n_sentences, self.config.holdout, self.config.seed, first_sentence)
        self.text = Text(self.shard.ids, self.shard.offsets, keep_prob, held_out)
        self.noise = build_noise(self.config.resolved_sampler, counts, self.config.distortion)
        self.seed = int(np.random.SeedSequence([self.config.seed, shard_index]).generate_state(1)[0])
        self.model = aligned_model(Model(*model), copy=True)  # the worker's own, whatever Ray hands over
        self.rng_states = np.array(rng_states, dtype=np.uint64)
        self.hogwild = Hogwild(self.rng_states, len(counts), self.config.private_rows)
        self.sync = threading.Condition()
        self.outbox = {}    # sync number -> (loss, pairs, tokens, rows, RNG states), for the driver to take
        self.sent = {}      # sync number -> (row ranges, rows as sent), until the merge of them is applied
        self.applied = applied_through
        self.failure = None

    def held_out_pairs(self, holdout, seed, window, first_sentence, max_pairs):
        """heldout.shard_pairs of the shard, whose first sentence is the corpus's first_sentence."""
        return shard_pairs(self.shard.ids, self.shard.offsets, holdout, seed, window, first_sentence, max_pairs)

    def train_epoch(self, epoch, rounds, first_round, bounds, progress_before, scale):
        """Train rounds first_round..rounds of the epoch, round r on tokens bounds[r - 1] of the shard, without
        waiting for the driver: after each round its rows go to the outbox (sync number epoch * rounds + r),
        and the next round starts at once. Only the snapshot of round r waits until the merge of round r - 1
        is applied, so a replica is never more than one sync behind. The learning rate follows global
        progress: progress_before[r - 1] (of the run's tokens) plus this worker's tokens times `scale`."""
        config = self.config
        settings = epoch_settings(config, epoch, self.shard.longest_sentence)._replace(seed=self.seed)
        lr0, min_lr = config.lr, config.resolved_min_lr
        try:
            for r in range(first_round, rounds + 1):
                number, before = epoch * rounds + r, progress_before[r - 1]
                loss, pairs, done = self.hogwild.train(
                    self.text, self.model, self.noise, settings, *bounds[r - 1],
                    lambda done: decayed_lr(lr0, min_lr, before + scale * done), lr0)
                send = sync_rows(r, r == rounds, len(self.model.b_out), config.sync_rows)
                with self.sync:
                    self.sync.wait_for(lambda: self.applied >= number - 1 or self.failure is not None)
                    if self.failure is not None:
                        raise self.failure
                    rows = get_rows(self.model, send)
                    self.sent[number] = (send, rows)
                    self.outbox[number] = (loss, pairs, done, rows, self.rng_states.copy())
                    self.sync.notify_all()
        except BaseException as exc:  # the driver waiting in `rows` gets it
            with self.sync:
                self.failure = exc
                self.sync.notify_all()
            raise

    def rows(self, number):
        """What round `number` sent, once it has: (loss, pairs, tokens, rows, RNG states)."""
        with self.sync:
            self.sync.wait_for(lambda: number in self.outbox or self.failure is not None)
            if number not in self.outbox:
                raise self.failure
            return self.outbox.pop(number)

    def apply(self, number, merged):
        """Add to the replica what the merge of sync `number` changed in the rows it sent (its training
        since then stays)."""
        row_ranges, rows = merged
        with self.sync:
            try:
                _, sent = self.sent.pop(number)
                for array, new, old in zip(self.model, rows, sent):
                    for rows_of_model, rows_sent in _segments(row_ranges):
                        array[rows_of_model] += new[rows_sent] - old[rows_sent]
                self.applied = number
            except BaseException as exc:  # nobody waits on this call: the next `rows` reports it
                self.failure = exc
                raise
            finally:
                self.sync.notify_all()

    def location(self):
        """(the Ray node id, the process id) of this worker: for diagnostics, and for the tests."""
        import ray
        return ray.get_runtime_context().get_node_id(), os.getpid()


def spread(nodes, workers, threads):
    """Each worker's node, from [(node id, CPUs)]: one worker a node in turn, on the nodes with room for
    `threads` more CPUs, so that workers spread over the nodes (Ray would pack them); None for workers
    that fit nowhere whole."""
    room = {node: cpus for node, cpus in nodes}
    placement = []
    while len(placement) < workers:
        fits = [node for node, _ in nodes if room[node] >= threads]
        if not fits:
            return placement + [None] * (workers - len(placement))
        for node in fits[:workers - len(placement)]:
            placement.append(node)
            room[node] -= threads
    return placement


def _first_line(exc, limit=200):
    text = " ".join(str(exc).split())
    return (text[:limit] + "...") if len(text) > limit else text or type(exc).__name__


def get_rows(model, row_ranges):
    """The rows [a, b) of each range, of every array of the model, one array per model array."""
    return tuple(np.concatenate([array[a:b] for a, b in row_ranges]) for array in model)


def set_rows(model, row_ranges, arrays):
    """The inverse of get_rows: write `arrays` into the rows of each range."""
    for array, rows in zip(model, arrays):
        for rows_of_model, rows_sent in _segments(row_ranges):
            array[rows_of_model] = rows[rows_sent]


def _segments(row_ranges):
    """(slice of the model's rows, slice of get_rows' array) for each range."""
    at = 0
    for a, b in row_ranges:
        yield slice(a, b), slice(at, at + b - a)
        at += b - a


def merge_replicas(base, replicas):
    """The synced rows: `base` (as every replica had them after the last sync) plus every replica's change
    since, as Hogwild threads add their updates to one model (an average would divide each worker's
    learning by the number of workers)."""
    return tuple(np.add(array, sum(replica[i] - array for replica in replicas), dtype=np.float32)
                 for i, array in enumerate(base))


def sync_rows(round_number, last, vocab_size, hot):
    """The row ranges synced after round `round_number` (from 1) of an epoch: all rows after the last;
    else the `hot` most frequent and the block of the round's lowest set bit k, rows [hot 2^k, hot 2^(k+1))."""
    if last:
        return [(0, vocab_size)]
    k = (round_number & -round_number).bit_length() - 1
    ranges = [(0, min(hot, vocab_size))]
    lo = hot << k
    if lo < vocab_size:
        ranges.append((lo, min(hot << (k + 1), vocab_size)))
    return ranges


@dataclass
class Cluster:
    """A run's workers on a Ray cluster (see the module docstring)."""
    ray: object
    address: str | None
    workers: int
    threads: int
    placement: list = field(default_factory=list)  # each worker's node id (None: wherever Ray puts it)
    actors: list = field(default_factory=list)
    groups: list = field(default_factory=list)     # each worker's ByteRanges
    replacements: int = 0

    @classmethod
    def start(cls, address, workers, threads):
        """Connect and check that the cluster has room for `workers` x `threads` CPUs (0: one worker per
        node; its cores shared among the workers)."""
        ray = connect(address)
        nodes = [(node["NodeID"], int(node.get("Resources", {}).get("CPU", 0)))
                 for node in ray.nodes() if node.get("Alive")]
        cpus = int(ray.cluster_resources().get("CPU", 0))
        workers = workers or max(1, len(nodes))
        threads = threads or max(1, cpus // workers)
        if workers * threads > cpus:
            raise ClusterError(f"--workers {workers} x --threads {threads} needs {workers * threads} CPUs; the Ray "
                               f"cluster has {cpus} (lower --workers or --threads)")
        largest = max((node_cpus for _, node_cpus in nodes), default=0)
        if threads > largest:
            raise ClusterError(f"--threads {threads}: a worker's threads run on one node, and the largest node of "
                               f"the Ray cluster has {largest} CPUs")
        return cls(ray, address, workers, threads, placement=spread(nodes, workers, threads))

    @property
    def option(self):
        """The --ray option that joins this cluster again (a new local one where this one was)."""
        return " --ray" if self.address in (None, "", "local") else f" --ray {shlex.quote(self.address)}"

    # -- preparation ---------------------------------------------------------------------------------

    def prepare(self, paths, settings):
        """Count the ranges in Ray tasks, build the vocabulary, start the workers and encode their shards;
        returns the ClusterCorpus."""
        ray = self.ray
        total = sum(os.path.getsize(path) for path in paths)
        range_bytes = max(MIN_RANGE_BYTES, min(RANGE_BYTES, total // (RANGES_PER_WORKER * self.workers) + 1))
        ranges = split_ranges(paths, range_bytes)
        # map: each range's counts in PARTITIONS parts by word hash; reduce: one task sums each part
        count = ray.remote(num_cpus=1, num_returns=PARTITIONS + 1)(count_range)
        counted = [count.remote(byte_range, settings.lowercase) for byte_range in ranges]
        sum_part = ray.remote(num_cpus=1)(sum_counts)
        summed = [sum_part.remote(settings.min_count, *(refs[1 + p] for refs in counted)) for p in range(PARTITIONS)]
        vocab = merged_vocab(self.get_all([refs[0] for refs in counted]), self.get_all(summed), paths,
                             settings.min_count, settings.max_vocab)
        self.groups = assign_ranges(ranges, self.workers)
        self.words = vocab.words
        self.lowercase = settings.lowercase
        self.actors = [None] * len(self.groups)
        sizes = self.get_all([self._new_actor(w) for w in range(len(self.groups))], START_TIMEOUT)
        shard_sentences = [size[1] for size in sizes]
        self.first_sentences = np.cumsum([0] + shard_sentences[:-1]).tolist()
        return ClusterCorpus(vocab, [size[0] for size in sizes], shard_sentences, max(size[2] for size in sizes))

    def _new_actor(self, w):
        """Start worker w's actor and have it encode its shard; returns the encode call's ref."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        node = self.placement[w] if w < len(self.placement) else None
        # soft: a replacement goes elsewhere when its node is gone or full
        where = NodeAffinitySchedulingStrategy(node, soft=True) if node is not None else "DEFAULT"
        # threaded: the driver's rows and apply calls run while train_epoch trains
        actor_class = self.ray.remote(num_cpus=self.threads, max_restarts=0, max_concurrency=4,
                                      scheduling_strategy=where)(ShardWorker)
        self.actors[w] = actor_class.remote()
        return self.actors[w].encode.remote(self.groups[w], self.words, self.lowercase, self.threads)

    # -- waiting, with Ctrl-C and errors ---------------------------------------------------------------

    def wait(self, refs, num_returns, timeout=None):
        """ray.wait for num_returns of refs, in slices of POLL_SECONDS (an interrupt is seen between them);
        (done, pending), with fewer done when the timeout passes first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        done, pending = [], list(refs)
        while len(done) < num_returns and (deadline is None or time.monotonic() < deadline):
            ready, pending = self.ray.wait(pending, num_returns=num_returns - len(done), timeout=POLL_SECONDS)
            done += ready
        return done, pending

    def get(self, ref):
        """ray.get, with a w2v-nce error of the task re-raised as itself and any other failure of a task as a
        one-line ClusterError (not Ray's traceback). A dead actor's RayActorError passes (see _collect)."""
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, W2VError):
                raise exc.cause from None
            raise ClusterError(f"a task on the cluster failed: {_first_line(exc.cause)}") from None
        except self.ray.exceptions.RayActorError:
            raise
        except self.ray.exceptions.RayError as exc:  # a task's process died, an object was lost, ...
            raise ClusterError(f"the cluster failed a task: {_first_line(exc)}") from None

    def get_all(self, refs, timeout=None):
        done, pending = self.wait(refs, len(refs), timeout)
        if pending:
            raise ClusterError(f"{len(pending)} of {len(refs)} workers did not start within {timeout:.0f} s (does "
                               f"every node have w2v-nce installed and the corpus files at the same paths?)")
        try:
            return [self.get(ref) for ref in refs]
        except self.ray.exceptions.RayActorError as exc:
            raise ClusterError(f"a worker died while starting: {_first_line(exc)}") from None

    def stop(self):
        for actor in self.actors:
            if actor is not None:
                self.ray.kill(actor)
        self.actors = []

    # -- training ------------------------------------------------------------------------------------

    def train(self, corpus, config, progress="none", init=None, state=None, hooks=()):
        """As train.train, on the cluster's workers: returns a TrainResult of the merged model."""
        vocab, workers, threads = corpus.vocab, len(self.actors), self.threads
        state = start_state(state, init, len(vocab), config, workers * threads)
        self.setup = (config.to_dict(), vocab.counts, vocab.keep_probabilities(config.subsample))
        rounds = max(1, math.ceil(max(corpus.shard_tokens) / config.sync_tokens))  # per epoch
        self.get_all([self._start(w, state, state.epochs_done * rounds) for w in range(workers)], START_TIMEOUT)
        return run_epochs(vocab, config, state, corpus.n_tokens, progress, hooks,
                          lambda epoch, reporter: self._epoch(epoch, rounds, corpus, config, state, reporter))

    def held_out_pairs(self, corpus, config):
        """The HeldOutPairs of config.holdout: the workers' held-out pairs in corpus order."""
        parts = self.get_all([actor.held_out_pairs.remote(config.holdout, config.seed, config.window, first, MAX_PAIRS)
                              for actor, first in zip(self.actors, self.first_sentences)])
        return joined_pairs(parts, config.holdout, corpus.n_sentences)

    def _start(self, w, state, applied_through):
        config, counts, keep_prob = self.setup
        rngs = state.rng_states[w * self.threads:(w + 1) * self.threads]
        return self.actors[w].start.remote(config, counts, keep_prob, self.first_sentences[w], w, tuple(state.model),
                                           rngs, applied_through)

    def _epoch(self, epoch, rounds, corpus, config, state, reporter):
        shard_tokens, n_tokens = corpus.shard_tokens, corpus.n_tokens
        total_work = config.epochs * n_tokens
        bounds = [[(shard * (r - 1) // rounds, shard * r // rounds) for r in range(1, rounds + 1)]
                  for shard in shard_tokens]
        round_tokens = [sum(worker[r][1] - worker[r][0] for worker in bounds) for r in range(rounds)]
        progress_before = ((epoch * n_tokens + np.cumsum([0] + round_tokens[:-1])) / total_work).tolist()
        scale = [round_tokens[0] / max(worker[0][1] - worker[0][0], 1) / total_work for worker in bounds]
        self.plan = (epoch, rounds, bounds, progress_before, scale)
        for w, actor in enumerate(self.actors):
            actor.train_epoch.remote(epoch, rounds, 1, bounds[w], progress_before, scale[w])
        model, vocab_size = state.model, len(corpus.vocab)

        def lr_after(done):  # once all workers have trained `done` tokens of the epoch
            return decayed_lr(config.lr, config.resolved_min_lr, (epoch * n_tokens + done) / total_work)

        loss = pairs = done = moved = 0
        sync_seconds = 0.0
        epoch_start = time.perf_counter()
        for r in range(1, rounds + 1):
            number = epoch * rounds + r
            results = self._collect(number, r, state)
            sync_started = time.perf_counter()
            for w, (w_loss, w_pairs, w_done, rows, rng) in enumerate(results):
                loss, pairs, done = loss + w_loss, pairs + w_pairs, done + w_done
                state.rng_states[w * self.threads:(w + 1) * self.threads] = rng
            send = sync_rows(r, r == rounds, vocab_size, config.sync_rows)
            merged = merge_replicas(get_rows(model, send), [result[3] for result in results])
            set_rows(model, send, merged)
            merged_ref = self.ray.put((send, merged))
            for actor in self.actors:
                actor.apply.remote(number, merged_ref)
            moved += 2 * len(results) * sum(array.nbytes for array in merged)  # each worker's rows out, the merge in
            sync_seconds += time.perf_counter() - sync_started
            reporter.update(epoch, done, lr_after(done), loss / max(pairs, 1))
        metrics = epoch_metrics(epoch, loss, pairs, done, time.perf_counter() - epoch_start, lr_after(0),
                                lr_after(done))
        metrics["sync"] = {"rounds": rounds, "bytes": moved, "driver_seconds": round(sync_seconds, 3)}
        state.epochs.append(metrics)

    def _collect(self, number, r, state):
        """Every worker's rows of sync `number` (round r of the epoch); a worker that died is replaced, and the
        new one trains its shard from round r on."""
        refs = [actor.rows.remote(number) for actor in self.actors]
        results = [None] * len(refs)
        while any(result is None for result in results):
            for w, ref in enumerate(refs):
                if results[w] is not None:
                    continue
                done, _ = self.ray.wait([ref], timeout=POLL_SECONDS / len(refs))
                if not done:
                    continue
                try:
                    results[w] = self.get(ref)
                except self.ray.exceptions.RayActorError as exc:
                    refs[w] = self._replace(w, number - 1, r, state, exc).rows.remote(number)
        return results

    def _replace(self, w, applied_through, r, state, exc):
        """A new actor for dead worker w: it encodes the same shard, starts from the merged model and trains
        the epoch from round r."""
        self.replacements += 1
        reason = _first_line(exc)
        if self.replacements > MAX_REPLACEMENTS:
            raise ClusterError(f"worker {w} died ({reason}); {MAX_REPLACEMENTS} workers were replaced in this run "
                               f"already, so it stops")
        warnings.warn(f"worker {w} died; a new worker takes over its shard from the last merge", W2VWarning,
                      stacklevel=2)
        try:
            self.get_all([self._new_actor(w)], START_TIMEOUT)
            self.get_all([self._start(w, state, applied_through)], START_TIMEOUT)
        except (ClusterError, self.ray.exceptions.RayError) as replacement_failed:
            raise ClusterError(f"worker {w} died and no new worker could start ({_first_line(replacement_failed)})") \
                from None
        epoch, rounds, bounds, progress_before, scale = self.plan
        self.actors[w].train_epoch.remote(epoch, rounds, r, bounds[w], progress_before, scale[w])
        return self.actors[w]
