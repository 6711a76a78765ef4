#!/usr/bin/env python3
"""Benchmark words/s of one training epoch with 1 and with 2 (or more) threads, side by side with gensim's
and pWord2Vec's.

    python scripts/bench_threads.py [CORPUS] [--threads 1 2] [--runs neg sampled_softmax nce ...]
                                    [--repeats 3] [--no-peers]

CORPUS defaults to ../shared/data/wiki10m.norm.txt; it is prepared once (cached), then each run trains
one epoch per thread count, --repeats times, round-robin over all runs; prints each measurement as it is
made, then the median words/s and the speed-up over the first thread count. A run is a loss name (its
preset), shared (neg with shared negatives), or LABEL:KEY=VALUE,... with settings over the preset (e.g.
"nce-8:loss=nce,num_sampled=8").
The peers run from ../shared/bench/peers.sh's venv: gensim trains one skip-gram negative-sampling epoch
from corpus_file (only its training call is timed, as only our epoch is), pWord2Vec one epoch (its own
words/s report), in bench_train.py's peer environment (OpenBLAS at the CPU's own core type). gensim's
words/s count every corpus word, ours and pWord2Vec's the in-vocabulary tokens (10.5 M and 10.3 M on
wiki10m), so gensim's figure reads about 2% high there; the speed-ups are unaffected.
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile

import yaml
from bench_train import peer_env

from w2v_nce import api
from w2v_nce.config import resolve
from w2v_nce.errors import ConfigError

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


PEERS = os.path.join(HERE, "..", "..", "shared", "bench", "peers.sh")


def pword2vec_words_per_s(corpus, threads):
    env = peer_env()
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["bash", PEERS, "run", "pword2vec", corpus, out, "1", str(threads)], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        log = open(os.path.join(out, "log.txt"), errors="replace").read()
    return float(re.findall(r"Words/sec: ([0-9.]+)k", log)[-1]) * 1000


NAMED_RUNS = {"sampled_softmax": {"loss": "sampled_softmax"}, "nce": {"loss": "nce"}, "neg": {"loss": "neg"},
              "shared": {"loss": "neg", "share_negatives": True}}


def parse_runs(parser, runs):
    """Each of `runs`, a name of NAMED_RUNS or 'LABEL:key=value,key=value', as (label, overrides), every one
    checked against the config schema first (a bad one ends the script with a one-line usage error)."""
    parsed = []
    for run in runs:
        if ":" in run:
            label, _, settings = run.partition(":")
            items = (item.partition("=") for item in settings.split(","))
            overrides = {key.strip(): yaml.safe_load(value) for key, _, value in items}
        elif run in NAMED_RUNS:
            label, overrides = run, NAMED_RUNS[run]
        else:
            parser.error(f"run {run!r}: not one of {', '.join(NAMED_RUNS)} and not LABEL:KEY=VALUE,...")
        try:
            resolve(overrides=overrides)
        except ConfigError as error:
            parser.error(f"run {run!r}: {error}")
        parsed.append((label, overrides))
    return parsed


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
    parser.add_argument("--runs", nargs="+", default=["neg", "sampled_softmax", "nce"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-peers", action="store_true", help="skip gensim and pWord2Vec")
    args = parser.parse_args()
    named_runs = parse_runs(parser, args.runs)
    corpus = api.prepare(args.corpus)
    print(f"{os.path.basename(args.corpus)}: {corpus.n_tokens} tokens, {len(corpus.vocab)} words")

    def ours(overrides):
        def measure(threads):
            config = resolve(overrides={**overrides, "epochs": 1, "threads": threads})
            return api.train(corpus, config).epochs[0]["words_per_s"]
        return measure

    runs = [(label, ours(overrides)) for label, overrides in named_runs]
    if args.no_peers:
        pass
    elif not os.path.exists(PEERS_PYTHON):
        print(f"peers: skipped ({PEERS_PYTHON} not found; run ../shared/bench/peers.sh setup)")
    else:
        runs += [("gensim (neg)", lambda threads: gensim_words_per_s(args.corpus, threads)),
                 ("pWord2Vec", lambda threads: pword2vec_words_per_s(args.corpus, threads))]
    # Round-robin: every repeat measures every run at every thread count, so a slow minute on a shared
    # machine lands on all of them alike.
    speeds = {label: {t: [] for t in args.threads} for label, _ in runs}
    for _ in range(args.repeats):
        for label, measure in runs:
            for threads in args.threads:
                speed = measure(threads)
                speeds[label][threads].append(speed)
                print(f"  {label} threads {threads}: {speed / 1e6:.2f} M words/s", flush=True)
    for label, _ in runs:
        report(label, speeds[label], args.threads)

if __name__ == "__main__":
    main()
