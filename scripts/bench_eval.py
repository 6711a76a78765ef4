#!/usr/bin/env python3
"""Benchmark evaluation and vectors loading, side by side with gensim when it is installed.

    python scripts/bench_eval.py [--vectors FILE] [--load-mb 1000] [--repeats 3]

1. Analogies: all questions of ../shared/data/questions-words.txt against the 30,000 most frequent words
   of --vectors (default: random dim-100 vectors over the questions' words plus fillers, 30,000 in all),
   timed without file loading; gensim's evaluate_word_analogies on the same vectors beside it.
2. Loading: a text vectors file of about --load-mb MB (random dim-100 vectors) read by w2v-nce and by
   gensim's KeyedVectors.load_word2vec_format. 0 skips it.
Prints medians of --repeats runs and the ratios.
"""
import argparse
import os
import shutil
import statistics
import tempfile
import time

import numpy as np

from w2v_nce.embeddings import Embeddings
from w2v_nce.evaluate import evaluate_analogies

QUESTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                         "questions-words.txt")


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def random_vectors(n_words, dim, seed=0):
    rng = np.random.default_rng(seed)
    words = sorted({w.lower() for line in open(QUESTIONS) if not line.startswith(":") for w in line.split()})
    words += [f"filler{i}" for i in range(n_words - len(words))]
    return Embeddings([words[i] for i in rng.permutation(len(words))], rng.normal(size=(n_words, dim)))


def gensim_keyed_vectors():
    try:
        from gensim.models import KeyedVectors
        return KeyedVectors
    except ImportError:
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors")
    parser.add_argument("--load-mb", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    keyed = gensim_keyed_vectors()
    work = tempfile.mkdtemp(prefix="w2v-bench-eval-")
    try:
        embeddings = Embeddings.load(args.vectors) if args.vectors else random_vectors(30_000, 100)
        source = args.vectors or "random dim-100 vectors, 30,000 words"
        ours_s, report = median_time(lambda: evaluate_analogies(embeddings, QUESTIONS), args.repeats)
        print(f"analogies ({source}): {report['total_answered']}/{report['total_questions']} answered, "
              f"accuracy {report['accuracy']:.4f}")
        print(f"  w2v-nce eval : median {ours_s:.2f} s")
        if keyed is not None:
            path = os.path.join(work, "v.bin")
            embeddings.save(path, binary=True)
            kv = keyed.load_word2vec_format(path, binary=True)
            gensim_s, (score, _) = median_time(
                lambda: kv.evaluate_word_analogies(QUESTIONS, restrict_vocab=30000, case_insensitive=True),
                max(1, args.repeats // 3))
            print(f"  gensim       : median {gensim_s:.2f} s (accuracy {score:.4f}); "
                  f"w2v-nce is {gensim_s / ours_s:.0f}x faster")
        if args.load_mb > 0:
            row_bytes = 100 * 10 + 12  # '%.6f' of a standard normal is about 9 characters plus a space
            n_words = args.load_mb * 1_000_000 // row_bytes
            big = Embeddings([f"w{i}" for i in range(n_words)],
                             np.random.default_rng(1).normal(size=(n_words, 100)).astype(np.float32))
            path = os.path.join(work, "big.txt")
            big.save(path, binary=False)
            del big
            size = os.path.getsize(path)
            ours_s, loaded = median_time(lambda: Embeddings.load(path), args.repeats)
            print(f"loading a {size / 1e6:.0f} MB text vectors file ({len(loaded)} x 100):")
            print(f"  w2v-nce : median {ours_s:.1f} s")
            del loaded
            if keyed is not None:
                gensim_s, _ = median_time(lambda: keyed.load_word2vec_format(path), args.repeats)
                print(f"  gensim  : median {gensim_s:.1f} s; ratio gensim / w2v-nce = {gensim_s / ours_s:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
