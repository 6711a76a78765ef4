#!/usr/bin/env python3
"""Peak memory of corpus preparation on corpora with many distinct tokens and many lines.

    python scripts/bench_memory.py [--distinct 50e6] [--lines 200e6] [--budget 1G] [--keep FILE]

Writes a synthetic corpus (or reuses --keep FILE when it exists): --lines lines of 1 to 3 tokens, 80% of
the tokens drawn from a Zipf distribution over 1M common words, 20% cycling through --distinct rare words,
so about --distinct + 1M distinct tokens. Then prepares it (tokenize, count, encode, like the first run of
`w2v-nce train`) twice, each in a fresh process: with --memory-budget, and with a budget large enough that
nothing spills. Prints each one's peak resident memory (VmHWM), time and number of spilled runs, and
whether the two vocabularies and encodings are identical.
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from numba import njit

COMMON = 1_000_000


@njit(cache=True)
def _fill_lines(first_line, n_lines, distinct, zipf_cdf, seed, out):
    """Write lines first_line .. first_line + n_lines - 1 into out; returns the bytes written."""
    state = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(first_line) + np.uint64(1)
    pos = 0
    for line in range(first_line, first_line + n_lines):
        state ^= state >> np.uint64(12)
        state ^= state << np.uint64(25)
        state ^= state >> np.uint64(27)
        r = state * np.uint64(0x2545F4914F6CDD1D)
        n_tokens = 1 + np.int64(r % np.uint64(3))
        for k in range(n_tokens):
            state ^= state >> np.uint64(12)
            state ^= state << np.uint64(25)
            state ^= state >> np.uint64(27)
            u = np.float64((state * np.uint64(0x2545F4914F6CDD1D)) >> np.uint64(11)) / 9007199254740992.0
            if u < 0.8:
                word = np.searchsorted(zipf_cdf, u / 0.8)
                prefix = 99  # 'c'
            else:
                word = (line * 3 + k) % distinct
                prefix = 114  # 'r'
            if k:
                out[pos] = 32
                pos += 1
            out[pos] = prefix
            pos += 1
            digits = 1
            x = word
            while x >= 36:
                x //= 36
                digits += 1
            for d in range(digits - 1, -1, -1):
                v = word % 36
                out[pos + d] = 48 + v if v < 10 else 87 + v
                word //= 36
            pos += digits
        out[pos] = 10
        pos += 1
    return pos


def write_corpus(path, distinct, lines, seed=1):
    ranks = np.arange(1, COMMON + 1, dtype=np.float64)
    cdf = np.cumsum(1.0 / ranks)
    cdf /= cdf[-1]
    block = 1_000_000
    buffer = np.empty(block * 40, dtype=np.uint8)
    with open(path, "wb") as out:
        for first in range(0, lines, block):
            n = _fill_lines(first, min(block, lines - first), distinct, cdf, seed, buffer)
            out.write(buffer[:n].data)


PREPARE_IN_CHILD = """
import json, re, sys, time
from w2v_nce.corpus import CorpusSettings, prepare_corpus
path, cache_dir, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = time.perf_counter()
corpus = prepare_corpus([path], CorpusSettings(), cache_dir=cache_dir, memory_budget=budget)
seconds = time.perf_counter() - start
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
meta = json.load(open(corpus.cache_path + "/meta.json"))
print(json.dumps({"peak_kb": peak_kb, "seconds": seconds, "runs": meta["runs"], "entry": corpus.cache_path,
                  "vocab": len(corpus.vocab), "tokens": corpus.n_tokens, "raw_tokens": meta["raw_tokens"]}))
"""


def prepare(path, cache_dir, budget):
    out = subprocess.run([sys.executable, "-c", PREPARE_IN_CHILD, path, cache_dir, str(budget)], check=True,
                         capture_output=True, text=True)
    import json
    return json.loads(out.stdout.splitlines()[-1])


def digest(entry):
    h = hashlib.sha256()
    for name in ("vocab.txt", "ids.i32", "offsets.i64"):
        with open(os.path.join(entry, name), "rb") as f:
            while chunk := f.read(1 << 24):
                h.update(chunk)
    return h.hexdigest()


def main():
    from w2v_nce.memory import parse_size

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distinct", type=float, default=50e6)
    parser.add_argument("--lines", type=float, default=200e6)
    parser.add_argument("--budget", default="1G")
    parser.add_argument("--keep", help="corpus file to reuse (written there if absent)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="w2v-bench-memory-")
    try:
        path = args.keep or os.path.join(work, "corpus.txt")
        if not os.path.exists(path):
            start = time.perf_counter()
            write_corpus(path, int(args.distinct), int(args.lines))
            print(f"wrote {path}: {os.path.getsize(path) / 1e9:.2f} GB in {time.perf_counter() - start:.0f} s")
        budget = parse_size(args.budget, "--budget")
        runs = {}
        for label, size in ((f"--memory-budget {args.budget}", budget), ("unbounded (64G)", 64 << 30)):
            report = prepare(path, os.path.join(work, "cache-" + str(size)), size)
            runs[label] = report
            print(f"{label:>24}: peak {report['peak_kb'] / 1024:,.0f} MiB, {report['seconds']:.1f} s, "
                  f"{report['runs']} run(s), {report['raw_tokens']:,} tokens, {report['vocab']:,} words "
                  f"(min_count 5)", flush=True)
        first, second = (digest(r["entry"]) for r in runs.values())
        print(f"vocabulary and encoding identical: {first == second}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
