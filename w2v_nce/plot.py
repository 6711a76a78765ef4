"""Pictures of a run, with matplotlib (the optional extra: pip install 'w2v-nce[plot]'): the per-epoch curves
of metrics.json, and a 2-D map of the most frequent words (PCA of the unit-normalized vectors)."""
import json
import os

import numpy as np

from .errors import W2VError
from .evaluate import headline
from .io_utils import atomic_open

INSTALL = "pip install 'w2v-nce[plot]'"


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise W2VError(f"plotting needs matplotlib, which is not installed: {INSTALL}") from None
    matplotlib.use("Agg")  # files only, no display needed
    from matplotlib import pyplot
    return pyplot


def read_metrics(path):
    """The metrics.json of an output directory (or the file itself); W2VError if missing or not a run's."""
    if os.path.isdir(path):
        path = os.path.join(path, "metrics.json")
    try:
        with open(path, encoding="utf-8") as handle:
            metrics = json.load(handle)
        epochs = metrics["epochs"]
        if not epochs or not all("epoch" in e and "loss" in e for e in epochs):
            raise ValueError("no epochs")
    except OSError as exc:
        raise W2VError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise W2VError(f"{path}: not the metrics.json of a w2v-nce run ({exc})") from None
    return metrics


def _save(figure, path):
    with atomic_open(path, "wb") as out:
        figure.savefig(out, format="png", dpi=120)


def plot_run(metrics, path, title=""):
    """One PNG: the training loss (and held-out losses where measured), the per-epoch evaluation scores
    (where measured) and the learning rate, against epochs, with the tokens trained on a second axis."""
    pyplot = _pyplot()
    epochs = metrics["epochs"]
    x = np.array([e["epoch"] for e in epochs])
    tokens_per_epoch = np.mean([e["tokens"] for e in epochs]) if all("tokens" in e for e in epochs) else None
    scored = [e for e in epochs if e.get("eval")]
    panels = 3 if scored else 2
    figure, axes = pyplot.subplots(panels, 1, figsize=(8, 3.2 * panels), sharex=True, squeeze=False)
    axes = axes[:, 0]
    losses = axes[0]
    losses.plot(x, [e["loss"] for e in epochs], "o-", label="training loss (sampled, per pair)")
    for key, label in (("softmax_loss", "held-out full softmax loss"), ("sigmoid_loss", "held-out full sigmoid loss")):
        points = [(e["epoch"], e["heldout"][key]) for e in epochs if e.get("heldout")]
        if points:
            losses.plot(*zip(*points), "s--", label=label)
    losses.set_ylabel("mean loss per pair")
    losses.legend(loc="best", fontsize="small")
    losses.grid(alpha=0.3)
    if scored:
        scores = axes[1]
        names = [report["file"] for report in scored[0]["eval"]]
        for i, name in enumerate(names):
            points = [(e["epoch"], headline(e["eval"][i])) for e in scored if len(e["eval"]) > i]
            kind = "accuracy" if scored[0]["eval"][i]["task"] == "analogy" else "Spearman"
            scores.plot(*zip(*points), "o-", label=f"{os.path.basename(name)} ({kind})")
        scores.set_ylabel("score")
        scores.legend(loc="best", fontsize="small")
        scores.grid(alpha=0.3)
    rates = axes[-1]
    rates.plot(np.concatenate([x - 1, x]).reshape(2, -1).T.ravel(),
               np.array([[e["lr_start"], e["lr_end"]] for e in epochs]).ravel(), "-", label="learning rate")
    rates.set_ylabel("learning rate")
    rates.set_xlabel("epoch")
    rates.grid(alpha=0.3)
    if tokens_per_epoch:
        top = axes[0].secondary_xaxis("top", functions=(lambda e: e * tokens_per_epoch / 1e6,
                                                         lambda m: m * 1e6 / tokens_per_epoch))
        top.set_xlabel("tokens trained on (millions)")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    _save(figure, path)
    pyplot.close(figure)


def word_map(vectors, count):
    """2-D coordinates of the first `count` rows: their unit vectors, centred, on the first two principal
    axes (numpy's SVD)."""
    rows = np.asarray(vectors[:count], dtype=np.float64)
    unit = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    centred = unit - unit.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    return centred @ axes[:2].T


def plot_words(embeddings, count, path):
    """One PNG: the `count` most frequent words at their PCA coordinates, each labelled."""
    pyplot = _pyplot()
    count = min(count, len(embeddings))
    if count < 3:
        raise W2VError(f"a word map needs at least 3 words, the vectors have {len(embeddings)}")
    points = word_map(embeddings.vectors, count)
    size = min(24, 8 + count / 40)
    figure, axis = pyplot.subplots(figsize=(size, size * 0.75))
    axis.scatter(points[:, 0], points[:, 1], s=6, alpha=0.5)
    font = max(5, 10 - count // 100)
    for (px, py), word in zip(points, embeddings.words[:count]):
        axis.annotate(word, (px, py), fontsize=font, alpha=0.85, xytext=(2, 2), textcoords="offset points")
    axis.set_xlabel("first principal axis")
    axis.set_ylabel("second principal axis")
    axis.set_title(f"the {count} most frequent words (PCA of the unit vectors)")
    figure.tight_layout()
    _save(figure, path)
    pyplot.close(figure)
