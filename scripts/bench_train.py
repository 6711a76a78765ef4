#!/usr/bin/env python3
"""Train w2v-nce and the peers on one corpus, one run after the other, score every vectors file with the
same evaluator (gensim's, ../shared/bench/evaluate.py via peers.sh), and print one table.

    python scripts/bench_train.py [--corpus FILE] [--threads 2] [--out bench-out/train] RUN...

A RUN is one of
    peer:IMPL[:EPOCHS]          a peer from ../shared/bench/peers.sh (gensim, w2vc, fasttext, pword2vec),
                                at its shared settings (skip-gram, 5 negatives, lr 0.025, dim 100,
                                window 5, min_count 5, sample 1e-4), EPOCHS default 5
    w2v-nce:NAME[:OPTIONS]      `w2v-nce train` with OPTIONS (space-separated, e.g. "--config
                                configs/fast.yaml" or "--loss neg"), NAME labels the row
With no RUN: gensim, pWord2Vec at 5, 10 and 15 epochs, and the three loss presets.

Every run starts from the raw corpus (w2v-nce with --no-cache), as the peers build their vocabulary from
it, so wall times include preparation. Every w2v-nce run is given --threads, --dim 100, --window 5,
--min-count 5 and --subsample 1e-4 on the command line. The peers run with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed from their environment: some machines pin OpenBLAS to an older core type there,
which slowed pWord2Vec's BLAS build 3.9x on the development machine (0.98 M against 3.80 M words/s), and
the fastest peer is the fair anchor. Results go to OUT/results.jsonl and OUT/table.md.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared")
PEERS = os.path.join(SHARED, "bench", "peers.sh")
DEFAULT_RUNS = ["peer:gensim", "peer:pword2vec:5", "peer:pword2vec:10", "peer:pword2vec:15",
                "w2v-nce:sampled-softmax preset:--loss sampled-softmax", "w2v-nce:nce preset:--loss nce",
                "w2v-nce:neg:--loss neg"]
SHARED_SETTINGS = ["--dim", "100", "--window", "5", "--min-count", "5", "--subsample", "1e-4"]


def peer_env():
    return {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}


def run_peer(impl, epochs, corpus, out, threads):
    directory = os.path.join(out, f"{impl}-{epochs}")
    subprocess.run(["bash", PEERS, "run", impl, corpus, directory, str(epochs), str(threads)], check=True,
                   env=peer_env(), stdout=subprocess.DEVNULL)
    with open(os.path.join(directory, "time.txt")) as timing:
        wall = float(timing.read().split()[0])
    return wall, os.path.join(directory, "vectors.txt")


def run_ours(name, options, corpus, out, threads):
    directory = os.path.join(out, "w2v-nce-" + name.replace(" ", "-").replace("/", "-"))
    command = ["w2v-nce", "train", corpus, *shlex.split(options), "--threads", str(threads), *SHARED_SETTINGS,
               "--no-cache", "--quiet", "--out", directory]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start, os.path.join(directory, "vectors.bin")


def score(vectors):
    out = subprocess.run(["bash", PEERS, "eval", vectors], check=True, capture_output=True, text=True,
                         env=peer_env())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", default=DEFAULT_RUNS)
    parser.add_argument("--corpus", default=os.path.join(SHARED, "data", "wiki10m.norm.txt"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=os.path.join("bench-out", "train"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    with open(os.path.join(args.out, "results.jsonl"), "w") as results:
        for run in args.runs:
            kind, name, *rest = run.split(":", 2)
            if kind == "peer":
                label = name if name != "pword2vec" else f"pWord2Vec, {rest[0] if rest else 5} epochs"
                wall, vectors = run_peer(name, int(rest[0]) if rest else 5, args.corpus, args.out, args.threads)
            else:
                label = f"w2v-nce {name}"
                wall, vectors = run_ours(name, rest[0] if rest else "", args.corpus, args.out, args.threads)
            row = {"name": label, "run": run, "wall_s": round(wall, 1), **score(vectors)}
            rows.append(row)
            results.write(json.dumps(row) + "\n")
            results.flush()
            print(f"{label}: {wall:.1f} s, analogy {row['analogy']:.3f}, WordSim-353 {row['wordsim353']:.3f}, "
                  f"SimLex-999 {row['simlex999']:.3f}", file=sys.stderr, flush=True)
    lines = [f"corpus {os.path.basename(args.corpus)}, {args.threads} threads, wall seconds from the raw text, scores "
             "by gensim's evaluator (analogies over the 30,000 most frequent words)", "",
             "| run | wall s | analogy | semantic | syntactic | WordSim-353 | SimLex-999 |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['wall_s']:.1f} | {r['analogy']:.3f} | {r['semantic']:.3f} | "
                     f"{r['syntactic']:.3f} | {r['wordsim353']:.3f} | {r['simlex999']:.3f} |")
    with open(os.path.join(args.out, "table.md"), "w") as table:
        table.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
