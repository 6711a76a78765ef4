#!/usr/bin/env python3
"""Benchmark Hogwild scaling: words/s of one training epoch with 1 and with 2 (or more) threads.

    python scripts/bench_threads.py [CORPUS] [--threads 1 2] [--losses neg sampled_softmax nce] [--repeats 3]

CORPUS defaults to ../shared/data/wiki10m.norm.txt; it is prepared once (cached), then each loss trains
one epoch per thread count, --repeats times, alternating the thread counts; prints median words/s and
the speed-up over one thread.
"""
import argparse
import os
import statistics

from w2v_nce import api
from w2v_nce.config import resolve

DEFAULT_CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                              "wiki10m.norm.txt")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=DEFAULT_CORPUS)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--losses", nargs="+", default=["neg", "sampled_softmax", "nce"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    corpus = api.prepare(args.corpus)
    print(f"{os.path.basename(args.corpus)}: {corpus.n_tokens} tokens, {len(corpus.vocab)} words")
    for loss in args.losses:
        speeds = {t: [] for t in args.threads}
        for _ in range(args.repeats):
            for threads in args.threads:
                config = resolve(overrides={"loss": loss, "epochs": 1, "threads": threads})
                speeds[threads].append(api.train(corpus, config).epochs[0]["words_per_s"])
        base = statistics.median(speeds[args.threads[0]])
        for threads in args.threads:
            median = statistics.median(speeds[threads])
            print(f"{loss:16s} threads {threads}: median {median / 1e6:.2f} M words/s "
                  f"(runs {[round(float(s) / 1e6, 2) for s in speeds[threads]]}), speed-up {median / base:.2f}x")


if __name__ == "__main__":
    main()
