"""Held-out loss, as TensorFlow's documentation of nce_loss and sampled_softmax_loss advises: the full loss,
over every class, on pairs the model never trained on.

Pairs come from held-out sentences of the corpus (`holdout` in the config) or from a separate file, by one
rule: every (centre, context) pair of in-vocabulary tokens at most `window` apart in a sentence, no
subsampling, no dynamic window; the label is the centre word and the input the context word, as in training.
At most MAX_PAIRS are kept: the first, in order (centre by centre, contexts left to right).

For each pair, with logits l_k = x . w_out[k] + b_out[k] over all V classes (x the input's vector):
    softmax loss  -log softmax(l)[label]              = logsumexp(l) - l_label
    sigmoid loss  sum_k sigmoid cross-entropy(l_k, [k == label]) = sum_k softplus(l_k) - l_label
(losses.full_softmax_loss and full_sigmoid_loss, the NumPy reference). Both sums depend on the input only,
so they are computed once per distinct input word: a BLAS product of a chunk of inputs with w_out, then one
pass over each row of logits in Numba (float32 exp and log1p, float64 sums).
"""
import lzma
import threading
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from .errors import CorpusError
from .pairs import held_out_sentences, window_pairs
from .tokenize import cut_length, open_corpus
from .vecmath import FASTMATH, exp32, log1p32
from .words import MAX_WORD_BYTES

MAX_PAIRS = 100_000
INPUT_CHUNK = 512  # rows of logits per BLAS product: 512 x V float32
SUM_RUN = 256      # float32 terms summed before a float64 sum


@dataclass
class HeldOutPairs:
    labels: np.ndarray   # int64 [P], the centre words
    inputs: np.ndarray   # int64 [P], the context words
    source: str          # what they came from, for messages

    def __len__(self):
        return len(self.labels)


def _window_pairs(ids, offsets, sentences, window, max_pairs):
    """(labels, inputs): the first max_pairs pairs of these sentences (the module docstring's rule)."""
    centres = np.empty(max_pairs, dtype=np.int64)
    contexts = np.empty(max_pairs, dtype=np.int64)
    n = window_pairs(np.asarray(ids), np.asarray(offsets), sentences, window, max_pairs, centres, contexts)
    return centres[:n].copy(), contexts[:n].copy()


def _held_out(labels, inputs, source):
    if not len(labels):
        raise CorpusError(f"{source}: no held-out pairs (no two in-vocabulary words within --window in a sentence)")
    return HeldOutPairs(labels, inputs, source)


def corpus_pairs(corpus, fraction, seed, window, max_pairs=MAX_PAIRS):
    """The pairs of the corpus's held-out sentences (config.holdout)."""
    return joined_pairs([shard_pairs(corpus.ids, corpus.offsets, fraction, seed, window, 0, max_pairs)],
                        fraction, corpus.n_sentences, max_pairs)


def shard_pairs(ids, offsets, fraction, seed, window, first_sentence, max_pairs=MAX_PAIRS):
    """(held-out sentences, labels, inputs) of a stretch of the corpus whose first sentence is the corpus's
    first_sentence: how many of its sentences are held out and the first max_pairs of their pairs."""
    sentences = np.flatnonzero(held_out_sentences(len(offsets) - 1, fraction, seed, first_sentence)).astype(np.int64)
    return (len(sentences), *_window_pairs(ids, offsets, sentences, window, max_pairs))


def joined_pairs(parts, fraction, n_sentences, max_pairs=MAX_PAIRS):
    """HeldOutPairs of shard_pairs' parts, in corpus order: the first max_pairs."""
    source = f"--holdout {fraction:g}"
    if not sum(part[0] for part in parts):
        raise CorpusError(f"{source} holds out none of the corpus's {n_sentences} sentences; raise it (or give "
                          f"--holdout-file)")
    return _held_out(np.concatenate([part[1] for part in parts])[:max_pairs],
                     np.concatenate([part[2] for part in parts])[:max_pairs], source)


def file_pairs(path, vocab, lowercase, window, max_pairs=MAX_PAIRS):
    """The pairs of a separate text file, tokenized as the corpus is (ASCII whitespace, UTF-8 with
    replacement, tokens cut at MAX_WORD_BYTES, --lowercase), words outside the vocabulary dropped. Reads only
    as many lines as the pairs need."""
    if path == "-":
        raise CorpusError("--holdout-file: give a file (standard input is for the corpus)")
    index = {word: i for i, word in enumerate(vocab.words)}
    ids, offsets = [], [0]
    enough = max_pairs * 2  # tokens: every kept token yields at least 2 pairs, unless alone in its sentence
    handle = open_corpus(path)
    try:
        for line in handle:
            for token in line.split():  # bytes.split(): ASCII whitespace, as the corpus scan
                word = _cut(token).decode("utf-8", errors="replace")
                word = word.lower() if lowercase else word
                if word in index:
                    ids.append(index[word])
            if len(ids) > offsets[-1]:
                offsets.append(len(ids))
            if len(ids) > enough:
                break
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise CorpusError(f"{path}: cannot read ({exc})") from None
    finally:
        handle.close()
    ids, offsets = np.array(ids, dtype=np.int32), np.array(offsets, dtype=np.int64)
    return _held_out(*_window_pairs(ids, offsets, np.arange(len(offsets) - 1, dtype=np.int64), window, max_pairs),
                     str(path))


def _cut(token):
    """A token cut to MAX_WORD_BYTES at a UTF-8 character boundary, by the corpus scan's own rule."""
    if len(token) <= MAX_WORD_BYTES:
        return token
    return token[:cut_length(np.frombuffer(token, dtype=np.uint8), 0)]


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def _row_sums(logits, lo, hi, logsumexp, softplus_sum):
    """For rows lo..hi of logits: logsumexp and the sum of softplus. The terms are float32 (vectorized),
    summed in float32 over runs of SUM_RUN and those partial sums in float64."""
    n = logits.shape[1]
    zero = np.float32(0.0)
    for r in range(lo, hi):
        top = zero + logits[r, 0]
        for k in range(1, n):
            top = max(top, logits[r, k])
        exps = 0.0
        softplus = 0.0
        for start in range(0, n, SUM_RUN):
            run_exps = zero
            run_softplus = zero
            for k in range(start, min(start + SUM_RUN, n)):
                value = logits[r, k]
                run_exps += exp32(value - top)
                run_softplus += max(value, zero) + log1p32(exp32(-abs(value)))
            exps += run_exps
            softplus += run_softplus
        logsumexp[r] = np.float64(top) + np.log(exps)
        softplus_sum[r] = softplus


def full_losses(model, pairs, threads=1):
    """(mean full softmax loss, mean full sigmoid loss) per pair, in float64; the row sums on `threads`
    threads."""
    distinct, inverse = np.unique(pairs.inputs, return_inverse=True)
    logsumexp = np.empty(len(distinct))
    softplus_sum = np.empty(len(distinct))
    out_t = model.w_out.T
    for lo in range(0, len(distinct), INPUT_CHUNK):
        hi = min(lo + INPUT_CHUNK, len(distinct))
        logits = model.w_in[distinct[lo:hi]] @ out_t
        logits += model.b_out
        cuts = np.linspace(0, hi - lo, max(1, min(threads, hi - lo)) + 1).astype(np.int64)
        workers = [threading.Thread(target=_row_sums, args=(logits, a, b, logsumexp[lo:hi], softplus_sum[lo:hi]))
                   for a, b in zip(cuts[:-1], cuts[1:])]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    label_logits = (np.einsum("ij,ij->i", model.w_in[pairs.inputs].astype(np.float64),
                              model.w_out[pairs.labels].astype(np.float64))
                    + model.b_out[pairs.labels].astype(np.float64))
    return (float(np.mean(logsumexp[inverse] - label_logits)),
            float(np.mean(softplus_sum[inverse] - label_logits)))


class HeldOutLoss:
    """Epoch-end hook: the held-out losses into the epoch's metrics as "heldout": {"pairs", "softmax_loss",
    "sigmoid_loss"} (means per pair), and the time they took as "heldout_seconds"."""

    def __init__(self, pairs, threads=1):
        self.pairs, self.threads = pairs, threads

    def __call__(self, state):
        started = time.perf_counter()
        softmax, sigmoid = full_losses(state.model, self.pairs, self.threads)
        metrics = state.epochs[-1]
        metrics["heldout"] = {"pairs": len(self.pairs), "softmax_loss": softmax, "sigmoid_loss": sigmoid}
        metrics["heldout_seconds"] = round(time.perf_counter() - started, 3)
