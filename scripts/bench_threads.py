#!/usr/bin/env python3
"""Benchmark Hogwild scaling: words/s of one training epoch with 1 and with 2 (or more) threads,
side by side with gensim's scaling on the same corpus.

    python scripts/bench_threads.py [CORPUS] [--threads 1 2] [--losses neg sampled_softmax nce]
                                    [--repeats 3] [--no-gensim]

CORPUS defaults to ../shared/data/wiki10m.norm.txt; it is prepared once (cached), then each loss trains
one epoch per thread count, --repeats times, alternating the thread counts; prints median words/s and
the speed-up over the first thread count. gensim (from the peers' venv, ../shared/bench/peers.sh setup,
or $PEERS_VENV) trains one skip-gram negative-sampling epoch from corpus_file the same way; only its
training call is timed, as only our training epoch is. gensim's words/s counts every corpus word, ours
the in-vocabulary tokens (10.5 M and 10.3 M on wiki10m), so gensim's figure reads about 2% high there;
the speed-ups are unaffected.
"""
import argparse
import os
import statistics
import subprocess

from w2v_nce import api
from w2v_nce.config import resolve

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.join(HERE, "..", "..", "shared", "data", "wiki10m.norm.txt")
PEERS_PYTHON = os.path.join(os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/w2v-peers")), "bin", "python")
GENSIM_EPOCH = """
import sys, time
from gensim.models import Word2Vec
corpus, threads = sys.argv[1], int(sys.argv[2])
model = Word2Vec(sg=1, hs=0, vector_size=100, window=5, negative=5, min_count=5, sample=1e-4, workers=threads)
model.build_vocab(corpus_file=corpus)
start = time.perf_counter()
model.train(corpus_file=corpus, total_words=model.corpus_total_words, epochs=1)
print(model.corpus_total_words / (time.perf_counter() - start))
"""


def gensim_words_per_s(corpus, threads):
    out = subprocess.run([PEERS_PYTHON, "-c", GENSIM_EPOCH, corpus, str(threads)], check=True,
                         capture_output=True, text=True)
    return float(out.stdout.split()[-1])


def report(name, speeds, thread_counts):
    base = statistics.median(speeds[thread_counts[0]])
    for threads in thread_counts:
        median = statistics.median(speeds[threads])
        print(f"{name:16s} threads {threads}: median {median / 1e6:.2f} M words/s "
              f"(runs {[round(float(s) / 1e6, 2) for s in speeds[threads]]}), speed-up {median / base:.2f}x",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=DEFAULT_CORPUS)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--losses", nargs="+", default=["neg", "sampled_softmax", "nce"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-gensim", action="store_true", help="skip gensim's scaling")
    args = parser.parse_args()
    corpus = api.prepare(args.corpus)
    print(f"{os.path.basename(args.corpus)}: {corpus.n_tokens} tokens, {len(corpus.vocab)} words")
    for loss in args.losses:
        speeds = {t: [] for t in args.threads}
        for _ in range(args.repeats):
            for threads in args.threads:
                config = resolve(overrides={"loss": loss, "epochs": 1, "threads": threads})
                speeds[threads].append(api.train(corpus, config).epochs[0]["words_per_s"])
        report(loss, speeds, args.threads)
    if args.no_gensim:
        return
    if not os.path.exists(PEERS_PYTHON):
        print(f"gensim: skipped ({PEERS_PYTHON} not found; run ../shared/bench/peers.sh setup)")
        return
    speeds = {t: [] for t in args.threads}
    for _ in range(args.repeats):
        for threads in args.threads:
            speeds[threads].append(gensim_words_per_s(args.corpus, threads))
    report("gensim (neg)", speeds, args.threads)


if __name__ == "__main__":
    main()
