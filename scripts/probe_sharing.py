#!/usr/bin/env python3
"""How much of the 2-thread speed-up is lost to sharing the weights (a diagnostic, not a training mode).

    python scripts/probe_sharing.py [CORPUS] [--tokens 4000000] [--repeats 4] [--losses neg sampled_softmax nce]
                                    [--private-rows N ...]

Walks the first --tokens tokens of CORPUS (default ../shared/data/wiki10m.norm.txt) through the training
kernel at a fixed learning rate, with blocks handed out as `train` hands them out, three ways: one thread;
two threads on one shared set of weights (Hogwild, what `train` does); two threads each on a private copy
of the weights (nothing shared between the cores, so no cache lines move between them; the result is not
a trained model); and with --private-rows, two threads on shared weights each with its own copy of that
many output rows (train's --private-rows). Prints median tokens/s of each and the speed-ups over one thread.
"""
import argparse
import os
import statistics
import threading
import time

import numpy as np

from w2v_nce import api
from w2v_nce.config import resolve
from w2v_nce.kernels import load_steps, seed_states, take_private_rows, train_block
from w2v_nce.train import BLOCK_TOKENS, BlockQueue, aligned_model, epoch_settings, init_model, kernel_inputs

DEFAULT_CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                              "wiki10m.norm.txt")


def tokens_per_s(corpus, loss, n_tokens, threads, private, private_rows=0):
    config = resolve(overrides={"loss": loss, "threads": threads})
    shared = init_model(len(corpus.vocab), config.dim, config.seed)
    models = [aligned_model(shared, copy=True) if private else shared for _ in range(threads)]
    privates = [take_private_rows(model, private_rows) if private_rows else None for model in models]
    load_steps(shared, privates[0])  # as the trainer does
    text, noise = kernel_inputs(corpus, config)
    settings = epoch_settings(config, 0, corpus.longest_sentence)
    rngs = seed_states(config.seed, threads)
    stamps = [np.zeros(len(corpus.vocab), dtype=np.int64) for _ in range(threads)]
    blocks = BlockQueue(0, n_tokens)

    def work(t):
        stamp_base = 0
        while (block := blocks.next()) is not None:
            _, _, batches = train_block(text, models[t], privates[t], noise, settings, *block, config.lr, rngs[t],
                                        stamps[t], stamp_base)
            stamp_base += batches

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return n_tokens / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=DEFAULT_CORPUS)
    parser.add_argument("--tokens", type=int, default=4_000_000)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--losses", nargs="+", default=["neg", "sampled_softmax", "nce"])
    parser.add_argument("--private-rows", type=int, nargs="*", default=[],
                        help="also two threads on shared weights, each with its own copy of the output rows of this "
                             "many most frequent words, merged after each block (train's --private-rows)")
    args = parser.parse_args()
    corpus = api.prepare(args.corpus)
    n_tokens = min(args.tokens, corpus.n_tokens)
    ways = {"1 thread": (1, False, 0), "2 threads, shared weights": (2, False, 0),
            "2 threads, private weights": (2, True, 0)}
    ways.update({f"2 threads, {rows} private rows": (2, False, rows) for rows in args.private_rows})
    for loss in args.losses:
        tokens_per_s(corpus, loss, BLOCK_TOKENS, 1, False)  # load the kernels
        speeds = {name: [] for name in ways}
        for _ in range(args.repeats):
            for name, (threads, private, rows) in ways.items():
                speeds[name].append(tokens_per_s(corpus, loss, n_tokens, threads, private, rows))
        base = statistics.median(speeds["1 thread"])
        for name, runs in speeds.items():
            median = statistics.median(runs)
            print(f"{loss:16s} {name:27s} median {median / 1e6:.2f} M tokens/s "
                  f"(runs {[round(r / 1e6, 2) for r in runs]}), speed-up {median / base:.2f}x", flush=True)


if __name__ == "__main__":
    main()
