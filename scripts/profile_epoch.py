#!/usr/bin/env python3
"""Where one training epoch's time goes, phase by phase, on one thread.

    python scripts/profile_epoch.py [CORPUS] [--tokens 3000000] [--repeats 3]

For the first --tokens tokens of CORPUS (default ../shared/data/wiki10m.norm.txt), with each loss's
preset (and neg with shared negatives), times with the real kernels:
  walk      subsampling and windows over the tokens (pairs.collect_pairs, what `w2v-nce pairs` runs)
  draws     the candidates of every centre (draw_unique and log Q for nce / sampled softmax, the
            alias-table draws for neg), without any step (timed with a walk, which is subtracted)
  epoch     the whole of train_block over the same tokens
The step (dot products, softmax or sigmoids, gradients, updates, and the memory traffic of the rows they
touch) is the epoch less walk and draws. Medians of --repeats; seconds, then shares of the epoch.

What memory costs: the same epoch again with every token id folded into the 512 most frequent (id % 512,
the noise over those 512), whose rows stay in the core's cache, against the real ids; both with every
token kept with probability 0.5, so both walks give the same pairs. `memory` is the share of the real
epoch that the folded one saves: the time spent waiting on rows from beyond the cache.
"""
import argparse
import os
import statistics
import time

import numpy as np
from numba import njit

from w2v_nce import api
from w2v_nce.config import resolve
from w2v_nce.kernels import draw, draw_unique, load_steps, sampled_bias, seed_states, train_block
from w2v_nce.sampling import build_noise
from w2v_nce.structs import LOSS_NEG, Text
from w2v_nce.pairs import collect_pairs, epoch_key, kept_positions, max_contexts, sentence_of, walk_centre
from w2v_nce.train import BLOCK_TOKENS, epoch_settings, init_model, kernel_inputs

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.join(HERE, "..", "..", "shared", "data", "wiki10m.norm.txt")
CACHED_ROWS = 512
RUNS = {"sampled softmax": {"loss": "sampled_softmax"}, "nce": {"loss": "nce"}, "neg": {"loss": "neg"},
        "neg, shared negatives": {"loss": "neg", "share_negatives": True}}


@njit(cache=True, nogil=True)
def draws_only(text, b_out, noise, settings, lo, hi, rng, stamp):
    """The draws train_block makes for the centres of [lo, hi), and nothing else."""
    key = epoch_key(settings.seed, settings.epoch)
    kept, first, last, end = kept_positions(text.ids, text.offsets, text.keep_prob, text.held_out, key, lo, hi,
                                            settings.window)
    contexts = np.empty(max(settings.max_contexts, 1), dtype=np.int64)
    outputs = np.empty(settings.num_sampled + 1, dtype=np.int64)
    bias = np.zeros(settings.num_sampled + 1, dtype=np.float32)
    checksum = 0.0
    s = sentence_of(text.offsets, lo)
    batch = 0
    for q in range(first, last):
        s, n = walk_centre(text.ids, text.offsets, key, kept, q, end, s, settings.window, settings.dynamic, contexts)
        if n == 0:
            continue
        outputs[0] = text.ids[kept[q]]
        if settings.loss == LOSS_NEG:
            for _ in range(n if not settings.share_negatives else 1):
                for m in range(settings.num_sampled):
                    checksum += draw(noise, rng)
        else:
            batch += 1
            tries = draw_unique(noise, settings.num_sampled, rng, stamp, batch, outputs, 1)
            sampled_bias(noise, b_out, None, outputs, settings.num_sampled, tries, settings.remove_hits, bias)
            checksum += bias[1]
    return checksum


def median_seconds(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=DEFAULT_CORPUS)
    parser.add_argument("--tokens", type=int, default=3_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    corpus = api.prepare(args.corpus)
    hi = min(args.tokens, corpus.n_tokens)
    blocks = range(0, hi, BLOCK_TOKENS)
    print(f"{os.path.basename(args.corpus)}: first {hi} tokens, one thread, medians of {args.repeats}")
    print("| run | walk s | draws s | step s | epoch s | walk | draws | step | memory |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for name, overrides in RUNS.items():
        config = resolve(overrides={**overrides, "threads": 1})
        text, noise = kernel_inputs(corpus, config)
        settings = epoch_settings(config, 0, corpus.longest_sentence)
        room = max_contexts(config.window, corpus.longest_sentence)
        out = np.empty(room * BLOCK_TOKENS, dtype=np.int32)
        model = init_model(len(corpus.vocab), config.dim, config.seed)
        load_steps(model, None)  # as the trainer does
        rng, stamp = seed_states(config.seed, 1)[0], np.zeros(len(corpus.vocab), dtype=np.int64)

        def walk():
            for lo in blocks:
                collect_pairs(text.ids, text.offsets, text.keep_prob, text.held_out, config.seed, 0, config.window,
                              config.dynamic_window, room, lo, min(lo + BLOCK_TOKENS, hi), out, out)

        def draws():
            fresh = np.zeros(len(corpus.vocab), dtype=np.int64)  # draws_only counts its batches from 1
            for lo in blocks:
                draws_only(text, model.b_out, noise, settings, lo, min(lo + BLOCK_TOKENS, hi), rng, fresh)
                fresh[:] = 0

        batches = [0]  # train_block's stamp values continue from here, never repeating

        def epoch(text=text, noise=noise, model=model):
            for lo in blocks:
                batches[0] += train_block(text, model, None, noise, settings, lo, min(lo + BLOCK_TOKENS, hi),
                                          0.001, rng, stamp, batches[0])[2]

        half = np.full_like(text.keep_prob, 0.5)
        real_ids = Text(text.ids, text.offsets, half, text.held_out)
        folded = Text(text.ids % CACHED_ROWS, text.offsets, half, text.held_out)
        folded_noise = build_noise(config.resolved_sampler, corpus.vocab.counts[:CACHED_ROWS], config.distortion)
        small = init_model(CACHED_ROWS, config.dim, config.seed)

        def real_epoch():
            epoch(real_ids)

        def cached_epoch():
            epoch(folded, folded_noise, small)

        for warm in (walk, draws, epoch, cached_epoch):  # load the kernels first
            warm()
        seconds = [median_seconds(f, args.repeats) for f in (walk, draws, epoch)]
        real, cached = (median_seconds(f, args.repeats) for f in (real_epoch, cached_epoch))
        seconds[1] -= seconds[0]
        step = seconds[2] - seconds[0] - seconds[1]
        shares = [seconds[0], seconds[1], step]
        print(f"| {name} | {seconds[0]:.2f} | {seconds[1]:.2f} | {step:.2f} | {seconds[2]:.2f} | "
              + " | ".join(f"{part / seconds[2]:.0%}" for part in shares) + f" | {1 - cached / real:.0%} |", flush=True)


if __name__ == "__main__":
    main()
