#!/usr/bin/env python3
"""Train and score several configurations on one corpus, one JSON line each (used to tune configs/).

    python scripts/sweep.py CORPUS "loss=nce,lr=0.1,epochs=3" "loss=sampled_softmax,num_sampled=10" ...

Each argument is a comma-separated list of TrainConfig overrides applied over the loss's preset.
Every run reports training wall seconds (corpus preparation excluded; the corpus is prepared once),
analogy accuracy on ../shared/data/questions-words.txt (30,000 most frequent words) and the Spearman
correlation on WordSim-353 and SimLex-999, all computed as gensim computes them.
"""
import json
import os
import sys
import time

import yaml

from w2v_nce import api
from w2v_nce.config import resolve
from w2v_nce.corpus import CorpusSettings
from w2v_nce.evaluate import evaluate_analogies, evaluate_word_pairs

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")


def parse_overrides(text):
    overrides = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    corpus_path, runs = sys.argv[1], sys.argv[2:]
    configs = [resolve(overrides=parse_overrides(run)) for run in runs]
    corpora = {}
    for config in configs:
        settings = CorpusSettings(config.min_count, config.max_vocab, config.lowercase)
        if settings not in corpora:
            corpora[settings] = api.prepare(corpus_path, settings)
        start = time.perf_counter()
        result = api.train(corpora[settings], config)
        seconds = time.perf_counter() - start
        embeddings = result.embeddings()
        analogy = evaluate_analogies(embeddings, os.path.join(DATA, "questions-words.txt"))
        wordsim = evaluate_word_pairs(embeddings, os.path.join(DATA, "wordsim353.tsv"))
        simlex = evaluate_word_pairs(embeddings, os.path.join(DATA, "simlex999.txt"))
        print(json.dumps({"config": {k: v for k, v in config.to_dict().items()
                                     if k in ("loss", "num_sampled", "lr", "epochs", "threads", "sampler",
                                              "share_negatives")},
                          "train_s": round(seconds, 1), "analogy": round(analogy["accuracy"], 4),
                          "semantic": round(analogy["semantic"]["correct"] / max(analogy["semantic"]["answered"], 1), 4),
                          "syntactic": round(analogy["syntactic"]["correct"] / max(analogy["syntactic"]["answered"], 1), 4),
                          "wordsim353": round(wordsim["spearman"], 4), "simlex999": round(simlex["spearman"], 4),
                          "final_loss": round(result.epochs[-1]["loss"], 4)}), flush=True)


if __name__ == "__main__":
    main()
