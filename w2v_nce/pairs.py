"""Skip-gram pairs from the encoded corpus, as the trainer sees them (Numba).

Semantics (word2vec C): frequent tokens are dropped first (subsampling), then every kept token is a
centre, and its contexts are the up to `b` nearest kept tokens on each side within its sentence, where
`b` is drawn uniformly from 1..window per centre (dynamic window) or equals `window`.

Randomness is counter-based: whether token p is kept, and its window, are a hash of (seed, epoch, p).
So any token range can be processed on its own, by any thread, and gives exactly the pairs that a
single pass over the whole corpus would: `w2v-nce pairs` and the trainer agree for any thread count.
"""
import numpy as np
from numba import njit

from .structs import UNIT_53

_KEEP_STREAM = np.uint64(0x9E3779B97F4A7C15)
_WINDOW_STREAM = np.uint64(0xD1B54A32D192ED03)
_HOLDOUT_STREAM = np.uint64(0x8CB92BA72F3D8DD7)


@njit(cache=True, inline="always")
def mix64(x):
    """splitmix64 finalizer: a bijective 64-bit hash with full avalanche."""
    x = np.uint64(x)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, inline="always")
def epoch_key(seed, epoch):
    return mix64(np.uint64(seed) * np.uint64(0x2545F4914F6CDD1D) + np.uint64(epoch) + np.uint64(1))


@njit(cache=True, inline="always")
def position_uniform(key, stream, position):
    """A uniform double in [0, 1) for one (epoch key, stream, token position)."""
    # (every operand cast to uint64: numba turns int64 ^ uint64 into float64)
    mixed = mix64(np.uint64(key) ^ np.uint64(stream) ^ (np.uint64(position) * np.uint64(0xA0761D6478BD642F)))
    return np.float64(mixed >> np.uint64(11)) * UNIT_53


@njit(cache=True, inline="always")
def is_kept(ids, keep_prob, key, position):
    return position_uniform(key, _KEEP_STREAM, position) < keep_prob[ids[position]]


@njit(cache=True, inline="always")
def window_of(key, position, window, dynamic):
    if not dynamic:
        return window
    return 1 + np.int64(position_uniform(key, _WINDOW_STREAM, position) * window)


@njit(cache=True)
def held_out_sentences(n_sentences, fraction, seed, first=0):
    """uint8 [n_sentences], 1 for each sentence held out from training: those whose hash of (seed, sentence
    index) falls below `fraction`; an empty array when fraction is 0 (nothing held out). The sentences are
    the corpus's first, first + 1, ... (a cluster worker's shard starts further in)."""
    if fraction <= 0.0:
        return np.zeros(0, dtype=np.uint8)
    key = mix64(np.uint64(seed) * np.uint64(0x2545F4914F6CDD1D))
    held = np.empty(n_sentences, dtype=np.uint8)
    for s in range(n_sentences):
        held[s] = position_uniform(key, _HOLDOUT_STREAM, first + s) < fraction
    return held


@njit(cache=True, inline="always")
def is_held_out(held_out, sentence):
    return held_out.size > 0 and held_out[sentence] != 0


@njit(cache=True, nogil=True)
def sentence_of(offsets, position):
    """Index of the sentence that holds token `position` (binary search over offsets)."""
    return np.searchsorted(offsets, position, side="right") - 1


@njit(cache=True, nogil=True)
def kept_positions(ids, offsets, keep_prob, held_out, key, lo, hi, window):
    """The kept token positions that a walk over the centres in [lo, hi) reads, in order: up to `window`
    before lo in lo's sentence, all in [lo, hi), and up to `window` after hi in the sentence of hi - 1, as
    far as a context can lie; none in held-out sentences. Returns (out, first, last, end): the centres are
    out[first:last], and out[:end] is written.

    Each token's keep decision is hashed once here, not once per window it falls in."""
    out = np.empty(hi - lo + 2 * window, dtype=np.int64)
    sentence = sentence_of(offsets, lo)
    first = 0
    j = lo - 1
    while not is_held_out(held_out, sentence) and j >= offsets[sentence] and first < window:
        if is_kept(ids, keep_prob, key, j):  # nearest first, into out[window - 1], out[window - 2], ...
            first += 1
            out[window - first] = j
        j -= 1
    for k in range(first):
        out[k] = out[window - first + k]
    last = first
    p = lo
    while p < hi:  # sentence by sentence
        stop = min(offsets[sentence + 1], hi)
        if not is_held_out(held_out, sentence):
            for position in range(p, stop):  # without a branch: the keep decisions are random
                out[last] = position
                last += 1 if is_kept(ids, keep_prob, key, position) else 0
        p = stop
        sentence += 1
    end = last
    sentence = sentence_of(offsets, hi - 1)
    j = hi
    while not is_held_out(held_out, sentence) and j < offsets[sentence + 1] and end - last < window:
        if is_kept(ids, keep_prob, key, j):
            out[end] = j
            end += 1
        j += 1
    return out, first, last, end


@njit(cache=True, nogil=True)
def walk_centre(ids, offsets, key, kept, q, end, sentence, window, dynamic, out):
    """One step of the walk over the kept positions of a token range (`kept_positions`), shared by
    `collect_pairs` and the trainer: move `sentence` on to the one holding the centre kept[q], then write
    the ids of its contexts into out: the up to b nearest kept tokens on each side within its sentence, left
    ones first, in sentence order. Returns (sentence, number of contexts), 0 when nothing is kept around the
    centre."""
    centre = kept[q]
    while offsets[sentence + 1] <= centre:
        sentence += 1
    b = window_of(key, centre, window, dynamic)
    sent_lo, sent_hi = offsets[sentence], offsets[sentence + 1]
    i = max(q - b, 0)
    while kept[i] < sent_lo:
        i += 1
    n = 0
    while i < q:
        out[n] = ids[kept[i]]
        n += 1
        i += 1
    stop = min(q + b + 1, end)
    i = q + 1
    while i < stop and kept[i] < sent_hi:
        out[n] = ids[kept[i]]
        n += 1
        i += 1
    return sentence, n


def max_contexts(window, longest_sentence):
    """The most contexts one centre can have: the scratch size of every walk over the pairs."""
    return max(1, min(2 * window, longest_sentence - 1))


@njit(cache=True, nogil=True)
def collect_pairs(ids, offsets, keep_prob, held_out, seed, epoch, window, dynamic, room, lo, hi, out_centre,
                  out_context):
    """All (centre, context) id pairs whose centre lies in token range [lo, hi), outside held-out sentences.

    room = max_contexts(window, longest sentence); out_* must hold at least room * (hi - lo) entries.
    Returns the number of pairs written."""
    if lo >= hi:
        return 0
    key = epoch_key(seed, epoch)
    kept, first, last, end = kept_positions(ids, offsets, keep_prob, held_out, key, lo, hi, window)
    scratch = np.empty(room, dtype=np.int64)
    n = 0
    s = sentence_of(offsets, lo)
    for q in range(first, last):
        s, m = walk_centre(ids, offsets, key, kept, q, end, s, window, dynamic, scratch)
        for k in range(m):
            out_centre[n] = ids[kept[q]]
            out_context[n] = scratch[k]
            n += 1
    return n


PAIRS_PER_BLOCK = 1 << 23


def iter_pairs(corpus, window, dynamic_window=True, subsample=0.0, seed=1, epoch=0, holdout=0.0):
    """Yield (centres, contexts) int32 arrays block by block over the whole corpus (less the held-out
    sentences)."""
    keep_prob = corpus.vocab.keep_probabilities(subsample)
    held_out = held_out_sentences(corpus.n_sentences, holdout, seed)
    room = max_contexts(window, corpus.longest_sentence)
    block_tokens = max(1, PAIRS_PER_BLOCK // room)
    centre_buf = np.empty(room * min(block_tokens, corpus.n_tokens), dtype=np.int32)
    context_buf = np.empty_like(centre_buf)
    for lo in range(0, corpus.n_tokens, block_tokens):
        hi = min(lo + block_tokens, corpus.n_tokens)
        n = collect_pairs(corpus.ids, corpus.offsets, keep_prob, held_out, seed, epoch, window, dynamic_window, room,
                          lo, hi, centre_buf, context_buf)
        yield centre_buf[:n], context_buf[:n]


@njit(cache=True)
def window_pairs(ids, offsets, sentences, window, max_pairs, out_centre, out_context):
    """The held-out pair rule: in each of `sentences` (in order), every (centre, context) pair of tokens at
    most `window` apart, centre by centre, contexts left to right; no subsampling, no dynamic window. Stops
    after max_pairs (out_* hold at least that many); returns the number written."""
    n = 0
    for s in sentences:
        lo, hi = offsets[s], offsets[s + 1]
        for centre in range(lo, hi):
            for j in range(max(lo, centre - window), min(hi, centre + window + 1)):
                if j == centre:
                    continue
                if n == max_pairs:
                    return n
                out_centre[n] = ids[centre]
                out_context[n] = ids[j]
                n += 1
    return n
