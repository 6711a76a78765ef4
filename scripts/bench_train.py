#!/usr/bin/env python3
"""Train w2v-nce and the peers on one corpus, one run after the other, score every vectors file with the
same evaluator (gensim's, ../shared/bench/evaluate.py via peers.sh), and print one table.

    python scripts/bench_train.py [--corpus FILE] [--threads 2] [--repeats 1] [--seeds] [--out bench-out/train] RUN...

A RUN is one of
    peer:IMPL[:EPOCHS]          a peer from ../shared/bench/peers.sh (gensim, w2vc, fasttext, pword2vec),
                                at its shared settings (skip-gram, 5 negatives, lr 0.025, dim 100,
                                window 5, min_count 5, sample 1e-4), EPOCHS default 5
    w2v-nce:NAME[:OPTIONS]      `w2v-nce train` with OPTIONS (space-separated, e.g. "--config
                                configs/fast.yaml" or "--loss neg"), NAME labels the row
With no RUN: gensim, pWord2Vec at 5, 10 and 15 epochs, and the default, fast, balanced, thorough and best presets.

Every run starts from the raw corpus (w2v-nce with --no-cache), as the peers build their vocabulary from
it, so wall times include preparation. Every w2v-nce run is given --threads, --dim 100, --window 5,
--min-count 5 and --subsample 1e-4 on the command line. The fastest peer is the fair anchor, so the
peers run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from their environment (some machines pin
OpenBLAS to an older core type there, which slowed pWord2Vec's BLAS build 3.9x on the development machine:
0.98 M against 3.80 M words/s), and where the OpenBLAS that pWord2Vec links against does not know the CPU
and falls back to its generic Prescott (SSE3) kernels, as Debian 12's 0.3.21 does on Emerald Rapids
Xeons, OPENBLAS_CORETYPE names the core of the CPU's widest vectors instead (SkylakeX for AVX-512,
Haswell for AVX2): 2.37 M against 0.93 M words/s there. With --repeats N every run is made N times, round-robin (so the
machine's drift spreads over all rows alike), and the table shows medians (each column's own median) with
the number of runs. With --seeds as well, repeat N (1, 2, ...) trains with seed N: w2v-nce with --seed N, and
pWord2Vec, which has no seed option (its runs differ by thread timing only), as the copy that
scripts/seeded_pword2vec.sh builds, with PW_SEED=N (seed 1 is the unpatched program); the other peers keep
their fixed seeds. Results go to OUT/results.jsonl (every run) and OUT/table.md.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared")
PEERS = os.path.join(SHARED, "bench", "peers.sh")
DEFAULT_RUNS = ["peer:gensim", "peer:pword2vec:5", "peer:pword2vec:10", "peer:pword2vec:15", "w2v-nce:default:",
                "w2v-nce:fast:--config fast", "w2v-nce:balanced:--config balanced",
                "w2v-nce:thorough:--config thorough", "w2v-nce:best:--config best"]
SHARED_SETTINGS = ["--dim", "100", "--window", "5", "--min-count", "5", "--subsample", "1e-4"]


PEERS_BIN = os.path.join(os.environ.get("PEERS_VENV", os.path.expanduser("~/.cache/w2v-peers")), "bin")
SEEDED_PEERS = os.environ.get("SEEDED_PEERS", os.path.expanduser("~/.cache/w2v-peers-seeded"))


def peer_env():
    """The environment the peers run in: without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, and with the
    core OpenBLAS should have picked where it does not know this CPU (see the module docstring)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    core = openblas_core_for_unknown_cpu(env)
    if core:
        env["OPENBLAS_CORETYPE"] = core
    return env


def openblas_core_for_unknown_cpu(env):
    """SkylakeX (AVX-512) or Haswell (AVX2) where the OpenBLAS that pWord2Vec links against falls back to
    its generic Prescott kernels on this CPU (it does not know the CPU's model), by the CPU's own flags;
    None where it picks a core itself, or pWord2Vec is not built."""
    binary = os.path.join(PEERS_BIN, "pword2vec")
    if not os.path.exists(binary):
        return None
    banner = subprocess.run([binary], env={**env, "OPENBLAS_VERBOSE": "2"}, capture_output=True, text=True)
    if "Core: Prescott" not in banner.stdout + banner.stderr:
        return None
    with open("/proc/cpuinfo") as cpuinfo:
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    if {"avx512f", "avx512dq", "avx512bw", "avx512vl"} <= set(flags):
        return "SkylakeX"
    if {"avx2", "fma"} <= set(flags):
        return "Haswell"
    return None


def run_peer(impl, epochs, corpus, out, threads, seed=None):
    directory = os.path.join(out, f"{impl}-{epochs}")
    env = peer_env()
    if seed is not None and impl == "pword2vec":
        env.update(PEERS_VENV=SEEDED_PEERS, PW_SEED=str(seed))
    subprocess.run(["bash", PEERS, "run", impl, corpus, directory, str(epochs), str(threads)], check=True,
                   env=env, stdout=subprocess.DEVNULL)
    with open(os.path.join(directory, "time.txt")) as timing:
        wall = float(timing.read().split()[0])
    return wall, os.path.join(directory, "vectors.txt")


def run_ours(name, options, corpus, out, threads, seed=None):
    directory = os.path.join(out, "w2v-nce-" + name.replace(" ", "-").replace("/", "-"))
    command = ["w2v-nce", "train", corpus, *shlex.split(options), "--threads", str(threads), *SHARED_SETTINGS,
               *(["--seed", str(seed)] if seed is not None else []), "--no-cache", "--quiet", "--out", directory]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start, os.path.join(directory, "vectors.bin")


def score(vectors):
    out = subprocess.run(["bash", PEERS, "eval", vectors], check=True, capture_output=True, text=True,
                         env=peer_env())
    return json.loads(out.stdout.strip().splitlines()[-1])


def parse_run(run):
    """(kind, name, rest) of a RUN: rest is a peer's epochs or w2v-nce's options, "" when not given."""
    kind, name, *rest = run.split(":", 2)
    return kind, name, rest[0] if rest else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", default=DEFAULT_RUNS)
    parser.add_argument("--corpus", default=os.path.join(SHARED, "data", "wiki10m.norm.txt"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=os.path.join("bench-out", "train"))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seeds", action="store_true", help="repeat N trains with seed N (see the docstring)")
    args = parser.parse_args()
    parsed = {run: parse_run(run) for run in args.runs}
    if args.seeds:
        if any(kind == "w2v-nce" and any(option == "--seed" or option.startswith("--seed=")
                                         for option in shlex.split(options)) for kind, _, options in parsed.values()):
            parser.error("--seeds gives every w2v-nce run its --seed: drop --seed from the runs")
        if any(run[:2] == ("peer", "pword2vec") for run in parsed.values()) and \
                not os.path.exists(os.path.join(SEEDED_PEERS, "bin", "pword2vec")):
            parser.error(f"--seeds needs the seeded pWord2Vec in {SEEDED_PEERS}: run bash scripts/seeded_pword2vec.sh")
    os.makedirs(args.out, exist_ok=True)
    rows = {run: [] for run in args.runs}
    labels = {}
    with open(os.path.join(args.out, "results.jsonl"), "w") as results:
        for repeat in range(args.repeats):
            seed = repeat + 1 if args.seeds else None
            for run in args.runs:
                kind, name, options = parsed[run]
                if kind == "peer":
                    epochs = int(options or 5)
                    labels[run] = name if name != "pword2vec" else f"pWord2Vec, {epochs} epochs"
                    wall, vectors = run_peer(name, epochs, args.corpus, args.out, args.threads, seed)
                else:
                    labels[run] = f"w2v-nce {name}"
                    wall, vectors = run_ours(name, options, args.corpus, args.out, args.threads, seed)
                row = {"name": labels[run], "run": run, "repeat": repeat, "seed": seed, "wall_s": round(wall, 1),
                       **score(vectors)}
                rows[run].append(row)
                results.write(json.dumps(row) + "\n")
                results.flush()
                print(f"{labels[run]}: {wall:.1f} s, analogy {row['analogy']:.3f}, WordSim-353 {row['wordsim353']:.3f}, "
                      f"SimLex-999 {row['simlex999']:.3f}", file=sys.stderr, flush=True)
    columns = ("wall_s", "analogy", "semantic", "syntactic", "wordsim353", "simlex999")
    lines = [f"corpus {os.path.basename(args.corpus)}, {args.threads} threads, wall seconds from the raw text, scores "
             "by gensim's evaluator (analogies over the 30,000 most frequent words)"
             + (f"; medians of {args.repeats} runs each, made round-robin" if args.repeats > 1 else "")
             + (f", with seeds 1 to {args.repeats}" if args.seeds else ""), "",
             "| run | wall s | analogy | semantic | syntactic | WordSim-353 | SimLex-999 |",
             "|---|---|---|---|---|---|---|"]
    for run, made in rows.items():
        median = {c: statistics.median(r[c] for r in made) for c in columns}
        lines.append(f"| {labels[run]} | {median['wall_s']:.1f} | {median['analogy']:.3f} | {median['semantic']:.3f} | "
                     f"{median['syntactic']:.3f} | {median['wordsim353']:.3f} | {median['simlex999']:.3f} |")
    with open(os.path.join(args.out, "table.md"), "w") as table:
        table.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
