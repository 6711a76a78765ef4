#!/usr/bin/env python3
"""Benchmark `train --ray` against one process: words/s and accuracy of W workers x T threads on a local Ray
cluster beside one process of W x T threads, same loss and settings, runs alternated.

    python scripts/bench_ray.py [CORPUS] [--workers 2] [--threads 1] [--repeats 2] [--config default]
                                [--epochs 5] [--sync-tokens N] [--sync-rows N]

CORPUS defaults to ../shared/data/wiki10m.norm.txt. Each run is a fresh `w2v-nce train` process (the Ray
runs start their own local cluster); words/s is the corpus tokens times epochs over the training seconds
of metrics.json (preparation and cluster start-up not counted, and printed apart as wall seconds). Every
run's vectors are scored on the Google analogies and WordSim-353. Prints each run, then the medians and
the ratio of the Ray runs' words/s to the single process's.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from w2v_nce import api, datasets

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.join(HERE, "..", "..", "shared", "data", "wiki10m.norm.txt")


def run(corpus, out, options):
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "w2v_nce", "train", corpus, "--out", out, "--quiet", *options], check=True)
    wall = time.perf_counter() - started
    with open(os.path.join(out, "metrics.json")) as handle:
        metrics = json.load(handle)
    vectors = api.load_vectors(out)
    analogy = api.evaluate(vectors, datasets.path("google-analogies"), restrict_vocab=30000)
    similarity = api.evaluate(vectors, datasets.path("wordsim353"))
    total = metrics["total"]
    sync = [epoch["sync"] for epoch in metrics["epochs"] if "sync" in epoch]
    return {"words_per_s": total["tokens"] / total["seconds"], "train_s": total["seconds"], "wall_s": wall,
            "analogy": analogy["accuracy"], "wordsim": similarity["spearman"],
            "sync_mb_per_epoch": statistics.mean(s["bytes"] for s in sync) / 1e6 if sync else None,
            "rounds": sync[0]["rounds"] if sync else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=DEFAULT_CORPUS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--config", default="default")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--sync-tokens", type=int, default=None)
    parser.add_argument("--sync-rows", type=int, default=None)
    args = parser.parse_args()
    common = ["--config", args.config, "--epochs", str(args.epochs)]
    single = common + ["--threads", str(args.workers * args.threads)]
    on_ray = common + ["--ray", "--workers", str(args.workers), "--threads", str(args.threads)]
    if args.sync_tokens:
        on_ray += ["--sync-tokens", str(args.sync_tokens)]
    if args.sync_rows:
        on_ray += ["--sync-rows", str(args.sync_rows)]
    api.prepare(args.corpus)  # cached for the single-process runs; the Ray runs count and encode their own
    results = {"process": [], "ray": []}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):
            for name, options in (("process", single), ("ray", on_ray)):
                result = run(args.corpus, os.path.join(scratch, f"{name}{repeat}"), options)
                results[name].append(result)
                extra = (f", {result['rounds']} rounds and {result['sync_mb_per_epoch']:.0f} MB moved per epoch"
                         if result["rounds"] else "")
                print(f"{name:8s} run {repeat + 1}: {result['words_per_s'] / 1e6:.3f} M words/s "
                      f"({result['train_s']:.1f} s training, {result['wall_s']:.1f} s wall), analogy "
                      f"{result['analogy']:.4f}, WS-353 {result['wordsim']:.4f}{extra}", flush=True)
    medians = {name: {key: statistics.median(r[key] for r in runs) for key in ("words_per_s", "analogy", "wordsim")}
               for name, runs in results.items()}
    for name, median in medians.items():
        print(f"median {name:8s}: {median['words_per_s'] / 1e6:.3f} M words/s, analogy {median['analogy']:.4f}, "
              f"WS-353 {median['wordsim']:.4f}")
    print(f"ray / process words/s: {medians['ray']['words_per_s'] / medians['process']['words_per_s']:.2f}x; "
          f"analogy difference {100 * (medians['ray']['analogy'] - medians['process']['analogy']):+.1f} points")


if __name__ == "__main__":
    main()
