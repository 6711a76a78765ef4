#!/usr/bin/env python3
"""This checkout's training kernels against another git revision's, side by side, each in a process of its own.

    python scripts/bench_kernels.py [REV] [--corpus FILE] [--tokens 3000000] [--repeats 8] [--threads 1]
                                    [--runs sampled_softmax nce neg shared LABEL:KEY=VALUE,...]

REV (default HEAD~1) is exported with `git archive` into a temporary directory and imported from there as a
separate package in a process of its own (see SideProcess), this checkout's in another, and both revisions'
train_block run on the same prepared corpus (the first --tokens tokens of FILE, default
../shared/data/wiki10m.norm.txt), on one thread or on --threads sharing the model (each taking every n-th
block, as Hogwild workers), each loss at its preset (shared: neg with shared negatives) or, as in
bench_threads.py, LABEL:KEY=VALUE,... with settings over the preset (e.g. "nce-8:loss=nce,num_sampled=8");
both revisions get the text and settings this checkout makes of them, and the noise (its alias table's
layout is the kernels') their own package builds. Runs alternate revision by revision, a fresh model each,
after one warm-up run each; prints the median and the fastest seconds of each and the speed-up of this
checkout over REV.
"""
import argparse
import contextlib
import functools
import importlib
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
from bench_threads import NAMED_RUNS, parse_runs

from w2v_nce import api
from w2v_nce import kernels
from w2v_nce.config import resolve
from w2v_nce.train import BLOCK_TOKENS, epoch_settings, kernel_inputs

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.join(HERE, "..", "..", "shared", "data", "wiki10m.norm.txt")


EXPORTED = "w2v_nce_base"


def export(revision, directory):
    """Writes `revision`'s package into `directory`, to be imported from there as `w2v_nce_base`."""
    archive = subprocess.run(["git", "-C", os.path.join(HERE, ".."), "archive", revision, "w2v_nce"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", directory], input=archive, check=True)
    os.rename(os.path.join(directory, "w2v_nce"), os.path.join(directory, EXPORTED))


def side_modules(directory):
    """The kernels and train modules of the package that `export` wrote into `directory`, or of this
    checkout where `directory` is None (w2v_nce.train as a module: the package's `train` is api's function)."""
    if directory is None:
        return kernels, importlib.import_module("w2v_nce.train")
    sys.path.insert(0, directory)
    return importlib.import_module(f"{EXPORTED}.kernels"), importlib.import_module(f"{EXPORTED}.train")


def serve(connection, directory, function):
    """A side's process: for each tuple of arguments received until None, sends back
    function(kernels, trainer, *arguments) of the package in `directory` (None: this checkout)."""
    module, trainer = side_modules(directory)
    for arguments in iter(connection.recv, None):
        connection.send(function(module, trainer, *arguments))


class SideProcess:
    """One side's kernels in a process of its own: calling it with arguments returns
    function(kernels, trainer, *arguments) computed there.

    In one process, the revision whose kernels were compiled second ran slower than the same code compiled
    first, whichever of the two ran first in each round (the README, after "Private rows", says by how much);
    in a process each, neither side's code is compiled after the other's."""

    def __init__(self, label, directory, function):
        context = multiprocessing.get_context("spawn")
        self.label = label
        self._connection, child = context.Pipe()
        self._process = context.Process(target=serve, args=(child, directory, function), daemon=True)
        self._process.start()
        child.close()

    def __call__(self, *arguments):
        self._connection.send(arguments)
        try:
            return self._connection.recv()
        except EOFError:
            raise SystemExit(f"{self.label}: its process stopped (its error is above)") from None

    def close(self):
        self._connection.send(None)
        self._process.join()


@contextlib.contextmanager
def revision_and_checkout(revision, function):
    """SideProcesses calling `function` for `revision` (exported into a temporary directory) and for this
    checkout, in that order."""
    with tempfile.TemporaryDirectory() as directory:
        export(revision, directory)
        sides = (SideProcess(revision, directory, function), SideProcess("this checkout", None, function))
        yield sides
        for side in sides:
            side.close()


def alternate(sides, repeats, arguments, warm_up=None):
    """Each side's results of `repeats` calls with `arguments`, the sides taking turns, after one call each
    with `warm_up` (default: `arguments`), which compiles or loads its kernels and is not kept."""
    results = tuple([] for _ in sides)
    for repeat in range(repeats + 1):
        for kept, side in zip(results, sides):
            result = side(*(arguments if repeat or warm_up is None else warm_up))
            if repeat:
                kept.append(result)
    return results


def model_for(trainer, vocab_size, dim):
    """A fresh model from `trainer` (a revision's train module), laid out in memory as it trains on it."""
    model = trainer.init_model(vocab_size, dim, 1)
    if hasattr(trainer, "aligned_model"):  # row-aligned storage (older revisions train on plain arrays)
        model = trainer.aligned_model(model)
    return model


def epoch_seconds(module, trainer, text, noise, settings, vocab_size, dim, hi, threads):
    """Seconds for module.train_block over tokens [0, hi) in the trainer's blocks, on a fresh model that
    `threads` threads share, each taking every threads-th block, the model laid out in memory as that
    revision's trainer lays it out."""
    model = model_for(trainer, vocab_size, dim)
    # revisions since --private-rows take the thread's private rows (None: none) after the model
    private = (None,) if hasattr(module, "take_private_rows") else ()
    if hasattr(module, "load_steps"):  # as the trainer does (older revisions lack it)
        module.load_steps(model, *private)
    states = module.seed_states(1, threads)


    def worker(index):
        stamp, batches = np.zeros(vocab_size, dtype=np.int64), 0
        for lo in range(index * BLOCK_TOKENS, hi, threads * BLOCK_TOKENS):
            batches += module.train_block(text, model, *private, noise, settings, lo, min(lo + BLOCK_TOKENS, hi),
                                          0.001, states[index], stamp, batches)[2]

    workers = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
    start = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return time.perf_counter() - start


@functools.lru_cache(maxsize=None)
def prepared(corpus_path):
    return api.prepare(corpus_path)


@functools.lru_cache(maxsize=None)
def run_inputs(corpus_path, overrides):
    """The config, text and epoch settings of one run (`overrides` as sorted items), as this checkout makes
    them."""
    corpus = prepared(corpus_path)
    config = resolve(overrides={**dict(overrides), "threads": 1})
    text, _ = kernel_inputs(corpus, config)
    return config, text, epoch_settings(config, 0, corpus.longest_sentence)


@functools.lru_cache(maxsize=None)
def side_noise(trainer, corpus_path, overrides):
    """The run's noise as the side's own package builds it: the layout of its alias table is the kernels'."""
    config = run_inputs(corpus_path, overrides)[0]
    return trainer.build_noise(config.resolved_sampler, prepared(corpus_path).vocab.counts, config.distortion)


def timed_run(module, trainer, corpus_path, overrides, hi, threads):
    """epoch_seconds of one run in a side's process (see SideProcess)."""
    config, text, settings = run_inputs(corpus_path, overrides)
    noise = side_noise(trainer, corpus_path, overrides)
    return epoch_seconds(module, trainer, text, noise, settings, len(prepared(corpus_path).vocab), config.dim, hi,
                         threads)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", nargs="?", default="HEAD~1")
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--tokens", type=int, default=3_000_000)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", nargs="+", default=list(NAMED_RUNS))
    args = parser.parse_args()
    runs = parse_runs(parser, args.runs)
    hi = min(args.tokens, prepared(args.corpus).n_tokens)  # prepared (and cached) before the sides load it
    with revision_and_checkout(args.revision, timed_run) as sides:
        threads = "one thread" if args.threads == 1 else f"{args.threads} threads"
        print(f"{os.path.basename(args.corpus)}: first {hi} tokens, {threads}; {args.revision} against this "
              f"checkout, each in a process of its own, medians (fastest) of {args.repeats}")
        print(f"| run | {args.revision} s | this checkout s | speed-up |\n|---|---|---|---|")
        for name, overrides in runs:
            times = alternate(sides, args.repeats, (args.corpus, tuple(sorted(overrides.items())), hi, args.threads))
            before, after = (statistics.median(t) for t in times)
            print(f"| {name} | {before:.3f} ({min(times[0]):.3f}) | {after:.3f} ({min(times[1]):.3f}) | "
                  f"{before / after:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
