"""Epoch-end hooks that measure the model: scores on evaluation files, added to the epoch's metrics."""
import time

from .embeddings import Embeddings
from .evaluate import evaluate_file, read_evaluation


class EpochEvaluation:
    """Scores the current input vectors on analogy and word-pair files after every epoch; the reports (as
    `w2v-nce eval --json` prints them) go into the epoch's metrics as "eval", and the time they took as
    "eval_seconds". The files are read and checked when the hook is made, before training."""

    def __init__(self, paths, words):
        self.sets = [read_evaluation(path) for path in paths]
        self.words = words

    def __call__(self, state):
        started = time.perf_counter()
        embeddings = Embeddings(self.words, state.model.w_in)
        metrics = state.epochs[-1]
        metrics["eval"] = [evaluate_file(embeddings, evaluation) for evaluation in self.sets]
        metrics["eval_seconds"] = round(time.perf_counter() - started, 3)
