#!/usr/bin/env python3
"""This checkout's training kernels against another git revision's, side by side in one process.

    python scripts/bench_kernels.py [REV] [--corpus FILE] [--tokens 3000000] [--repeats 8] [--threads 1]
                                    [--runs sampled_softmax nce neg shared LABEL:KEY=VALUE,...]

REV (default HEAD~1) is exported with `git archive` into a temporary directory and imported there as a
separate package, so both revisions' train_block run in this process on the same prepared corpus (the
first --tokens tokens of FILE, default ../shared/data/wiki10m.norm.txt), on one thread or on --threads
sharing the model (each taking every n-th block, as Hogwild workers), each loss at its
preset (shared: neg with shared negatives) or, as in bench_threads.py, LABEL:KEY=VALUE,... with settings
over the preset (e.g. "nce-8:loss=nce,num_sampled=8"); both revisions get the settings this checkout
makes of them. Runs alternate revision by revision, a fresh model each, after one warm-up run each;
prints the median and the fastest seconds of each and the speed-up of this checkout over REV.
"""
import argparse
import importlib
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


def modules_at(revision, directory):
    """The kernels and train modules of `revision`, imported from an export of its package as
    `w2v_nce_base`."""
    name = "w2v_nce_base"
    archive = subprocess.run(["git", "-C", os.path.join(HERE, ".."), "archive", revision, "w2v_nce"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", directory], input=archive, check=True)
    os.rename(os.path.join(directory, "w2v_nce"), os.path.join(directory, name))
    sys.path.insert(0, directory)
    return importlib.import_module(f"{name}.kernels"), importlib.import_module(f"{name}.train")


def this_checkout():
    """This checkout's kernels and train modules (w2v_nce.train as a module: the package's `train` is
    api's function)."""
    return kernels, importlib.import_module("w2v_nce.train")


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
    corpus = api.prepare(args.corpus)
    hi = min(args.tokens, corpus.n_tokens)
    with tempfile.TemporaryDirectory() as directory:
        sides = (modules_at(args.revision, directory), this_checkout())
        threads = "one thread" if args.threads == 1 else f"{args.threads} threads"
        print(f"{os.path.basename(args.corpus)}: first {hi} tokens, {threads}; {args.revision} against this "
              f"checkout, medians (fastest) of {args.repeats}")
        print(f"| run | {args.revision} s | this checkout s | speed-up |\n|---|---|---|---|")
        for name, overrides in runs:
            config = resolve(overrides={**overrides, "threads": 1})
            text, noise = kernel_inputs(corpus, config)
            settings = epoch_settings(config, 0, corpus.longest_sentence)
            times = ([], [])
            for repeat in range(args.repeats + 1):
                for side, (module, trainer) in enumerate(sides):
                    seconds = epoch_seconds(module, trainer, text, noise, settings, len(corpus.vocab), config.dim, hi,
                                             args.threads)
                    if repeat:  # the first run of each compiles or loads its kernels
                        times[side].append(seconds)
            before, after = (statistics.median(t) for t in times)
            print(f"| {name} | {before:.3f} ({min(times[0]):.3f}) | {after:.3f} ({min(times[1]):.3f}) | "
                  f"{before / after:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
