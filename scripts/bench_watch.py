#!/usr/bin/env python3
"""Benchmark what watching a run costs: the held-out loss (--holdout) and per-epoch evaluation (--eval) as a
fraction of the epoch's training time.

    python scripts/bench_watch.py [CORPUS] [--holdout 0.001] [--epochs 3] [--threads 2] [--config default]

CORPUS defaults to ../shared/data/wiki10m.norm.txt (prepared once, cached). One run of the preset with
--holdout and --eval google-analogies --eval wordsim353 --eval simlex999; prints, per epoch, the training
seconds, the held-out loss's seconds and the evaluation's seconds, and the medians of their ratios.
"""
import argparse
import os
import statistics

from w2v_nce import api, datasets
from w2v_nce.config import resolve

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.join(HERE, "..", "..", "shared", "data", "wiki10m.norm.txt")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default=DEFAULT_CORPUS)
    parser.add_argument("--holdout", type=float, default=0.001)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--config", default="default")
    args = parser.parse_args()
    corpus = api.prepare(args.corpus)
    config = resolve(args.config, {"holdout": args.holdout, "epochs": args.epochs, "threads": args.threads})
    evaluations = [datasets.path(name) for name in ("google-analogies", "wordsim353", "simlex999")]
    result = api.train(corpus, config, evaluations=evaluations)
    heldout_share, eval_share = [], []
    for epoch in result.epochs:
        heldout_share.append(epoch["heldout_seconds"] / epoch["seconds"])
        eval_share.append(epoch["eval_seconds"] / epoch["seconds"])
        print(f"epoch {epoch['epoch']}: training {epoch['seconds']:.2f} s, held-out loss "
              f"{epoch['heldout_seconds']:.3f} s ({epoch['heldout']['pairs']} pairs, "
              f"{heldout_share[-1]:.1%}), evaluation {epoch['eval_seconds']:.3f} s ({eval_share[-1]:.1%})")
    print(f"{os.path.basename(args.corpus)}, --config {args.config}, {args.threads} threads: median held-out "
          f"loss {statistics.median(heldout_share):.1%} of an epoch, evaluation (3 sets) "
          f"{statistics.median(eval_share):.1%}")


if __name__ == "__main__":
    main()
