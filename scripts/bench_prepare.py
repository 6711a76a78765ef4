#!/usr/bin/env python3
"""Benchmark corpus preparation (tokenize + count + encode), side by side with a plain-Python baseline.

    python scripts/bench_prepare.py [--corpus FILE] [--mb 100] [--repeats 3] [--memory-gb 1]

Builds a corpus of about --mb megabytes (the first lines of FILE, repeated if needed; by default
../shared/data/wiki10m.norm.txt, else a synthetic Zipf corpus), then times, --repeats times each:
  w2v-nce   prepare_corpus into a fresh cache directory, in a fresh process (what `w2v-nce train`
            does on a first run)
  baseline  bytes.split() + collections.Counter + a dict lookup per token into an int32 array
and prints the medians, tokens/s and the ratio. With --memory-gb it also prepares a corpus of that
many gigabytes in a child process and reports its peak resident memory (VmHWM, else getrusage).
Everything runs on one core (the preparation kernels are single-threaded).
"""
import argparse
import collections
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_CORPUS = os.path.join(HERE, "..", "..", "shared", "data", "wiki10m.norm.txt")


def build_corpus(source, megabytes, path):
    """Write about `megabytes` MB to path: source's lines, repeated as often as needed."""
    target = megabytes * 1_000_000
    written = 0
    with open(path, "wb") as out:
        if source:
            data = open(source, "rb").read()
            while written < target:
                piece = data[: target - written]
                cut = piece.rfind(b"\n") + 1 if len(piece) < len(data) else len(piece)
                if cut == 0:  # less than one line left to reach the target
                    break
                out.write(piece[:cut])
                written += cut
        else:
            rng = np.random.default_rng(0)
            words = np.array([f"w{i}" for i in range(50_000)])
            p = 1.0 / np.arange(1, 50_001)
            p /= p.sum()
            while written < target:
                line = (" ".join(words[rng.choice(50_000, size=20_000, p=p)]) + "\n").encode()
                out.write(line)
                written += len(line)
    return written


def baseline(path, min_count=5):
    data = open(path, "rb").read()
    tokens = data.split()
    counts = collections.Counter(tokens)
    vocab = {w: i for i, (w, c) in enumerate(counts.most_common()) if c >= min_count}
    ids = np.fromiter((vocab.get(t, -1) for t in tokens), dtype=np.int32, count=len(tokens))
    return len(tokens), ids


# One preparation in a fresh process, as `w2v-nce train` does it: the kernels are loaded from Numba's
# cache on the toy corpus first, then only the preparation of the corpus is timed.
OURS_IN_CHILD = """
import shutil, sys, time
from w2v_nce.corpus import CorpusSettings, prepare_corpus
toy, path, cache_dir = sys.argv[1:]
prepare_corpus([toy], CorpusSettings(), cache_dir=None)
shutil.rmtree(cache_dir, ignore_errors=True)
start = time.perf_counter()
prepare_corpus([path], CorpusSettings(min_count=5), cache_dir=cache_dir)
print(time.perf_counter() - start)
"""


def ours(path, cache_dir):
    """Seconds one fresh process takes to prepare path into an empty cache directory."""
    out = subprocess.run([sys.executable, "-c", OURS_IN_CHILD, os.path.join(HERE, "..", "data", "toy.txt"), path,
                          cache_dir], check=True, capture_output=True, text=True)
    return float(out.stdout.split()[-1])


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


# The child's own peak: VmHWM belongs to its address space alone, whereas on Linux ru_maxrss carries over
# the parent's resident size at fork (which, after the baseline, is larger than anything measured here).
PEAK_OF_CHILD = """
import re, resource, sys
from w2v_nce.corpus import CorpusSettings, prepare_corpus
corpus = prepare_corpus([sys.argv[1]], CorpusSettings(), cache_dir=sys.argv[2])
try:
    peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
except (OSError, AttributeError):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(corpus.n_tokens, peak_kb)
"""


def peak_memory_of_prepare(path, cache_dir):
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PEAK_OF_CHILD, path, cache_dir], check=True, capture_output=True, text=True)
    tokens, peak_kb = map(int, out.stdout.split())
    return tokens, peak_kb, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=SHARED_CORPUS if os.path.exists(SHARED_CORPUS) else None)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-gb", type=float, default=1.0, help="0 skips the memory measurement")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="w2v-bench-prepare-")
    try:
        path = os.path.join(work, "corpus.txt")
        size = build_corpus(args.corpus, args.mb, path)
        print(f"corpus: {size / 1e6:.0f} MB from {args.corpus or 'a synthetic Zipf generator'}")
        cache = os.path.join(work, "cache")
        tokens_raw = len(open(path, "rb").read().split())
        ours(os.path.join(HERE, "..", "data", "toy.txt"), cache)  # compile (or load cached) kernels first
        ours_times = [ours(path, cache) for _ in range(args.repeats)]
        ours_median = statistics.median(ours_times)
        base_median, base_times = timed(lambda: baseline(path), args.repeats)
        print(f"tokens: {tokens_raw}")
        print(f"w2v-nce prepare : median {ours_median:.2f} s ({tokens_raw / ours_median / 1e6:.1f} M tokens/s) "
              f"runs {[round(t, 2) for t in ours_times]}")
        print(f"python baseline : median {base_median:.2f} s ({tokens_raw / base_median / 1e6:.1f} M tokens/s) "
              f"runs {[round(t, 2) for t in base_times]}")
        print(f"ratio           : w2v-nce is {base_median / ours_median:.1f}x the baseline's speed")
        if args.memory_gb > 0:
            big = os.path.join(work, "big.txt")
            size = build_corpus(args.corpus, int(args.memory_gb * 1000), big)
            os.unlink(path)
            tokens, peak_kb, seconds = peak_memory_of_prepare(big, os.path.join(work, "cache-big"))
            print(f"{size / 1e9:.2f} GB corpus, {tokens} in-vocabulary tokens: prepared in {seconds:.1f} s, "
                  f"peak resident memory {peak_kb / 1024:.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
