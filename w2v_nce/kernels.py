"""Numba training kernels: candidate draws, one SGD step per loss, and the block walk that feeds them.

Threading model (Hogwild): each worker thread calls `train_block` on its own token ranges with its own
RNG state and scratch. Only the model arrays `w_in`, `w_out` and `b_out` are shared, and they are
updated without locks; every other array a kernel writes belongs to one thread.

Batches: for nce and sampled_softmax one batch is one kept centre token. Its examples are the centre's
context words: the input of an example is the context word's input vector and its label (num_true = 1)
is the centre word, as in word2vec C. The `num_sampled` candidates are drawn once per batch and shared by
all its examples (TF's semantics, with the batch being one centre). For neg every (centre, context) pair
draws its own negatives, as word2vec C does.

Kernels take only arrays and scalars; `step_*` mirror the NumPy reference in `losses.py`.
"""
import math
from collections import namedtuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .pairs import context_positions, epoch_key, is_kept, sentence_of

LOSS_NCE, LOSS_SAMPLED_SOFTMAX, LOSS_NEG = 0, 1, 2
SAMPLER_LOG_UNIFORM, SAMPLER_UNIGRAM, SAMPLER_UNIFORM = 0, 1, 2
FLT_MAX = 3.4028234663852886e38

# Exact arithmetic apart from reassociation (lets dot products vectorize); no "nnan"/"ninf", so
# non-finite values are still seen and reported.
FASTMATH = {"nsz", "arcp", "contract", "reassoc"}

Model = namedtuple("Model", "w_in w_out b_out")              # float32 [V, D], [V, D], [V]
Text = namedtuple("Text", "ids offsets keep_prob")           # int32 [N], int64 [S + 1], float64 [V]
# kind, then float64 [V] arrays P(k), log P(k), log(1 - P(k)), and the alias table (accept float64, alias int64)
Noise = namedtuple("Noise", "kind probs log_probs log1m_probs alias_prob alias_index")
# max_contexts: the most contexts one centre can have, min(2 * window, longest sentence - 1), sizes the scratch
Settings = namedtuple("Settings", "loss window dynamic num_sampled remove_hits seed epoch max_contexts")


# ----------------------------------------------------------------------------------------------------
# Random numbers: xorshift64* with an explicit per-thread state (uint64 [1]).


@njit(cache=True, inline="always")
def rng_uniform(state):
    """Advance the state and return a uniform double in [0, 1)."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return np.float64((x * np.uint64(0x2545F4914F6CDD1D)) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def seed_states(seed, n_threads):
    """One non-zero xorshift state per thread, derived from the seed."""
    states = np.random.SeedSequence(seed).generate_state(n_threads * 2, dtype=np.uint64).reshape(n_threads, 2)
    return [np.array([(row[0] | np.uint64(1))], dtype=np.uint64) for row in states]


# ----------------------------------------------------------------------------------------------------
# Prefetching: rows are drawn at random from matrices larger than the cache, so a step waits on memory
# more than it computes. Announcing the rows of the next step lets their cache misses overlap. Every
# announced row is written soon after, so it is fetched for writing (PREFETCHW): the line arrives owned
# by this core, and a write to a row the other thread touched last needs no second trip between cores
# (scripts/probe_sharing.py, read vs write prefetches alternated 3 times: 2-thread tokens/s +13% for
# neg, +15% for nce, +2% for sampled softmax).


@intrinsic
def prefetch_row(typingctx, matrix, row):
    """Hint the CPU to bring matrix[row, :] (a C-contiguous 2-D array) into cache, for writing:
    llvm.prefetch(rw=1) on each 64-byte line. No effect on results."""
    def codegen(context, builder, signature, args):
        matrix_type, row_type = signature.args
        array = context.make_array(matrix_type)(context, builder, args[0])
        intp = context.get_value_type(types.intp)
        row_index = context.cast(builder, args[1], row_type, types.intp)
        start = cgutils.get_item_pointer(context, builder, matrix_type, array, [row_index, intp(0)])
        start = builder.bitcast(start, ir.IntType(8).as_pointer())
        row_bytes = builder.mul(builder.extract_value(array.shape, 1), intp(matrix_type.dtype.bitwidth // 8))
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer(), i32, i32, i32]),
            "llvm.prefetch")
        with cgutils.for_range_slice(builder, intp(0), row_bytes, intp(64)) as (offset, _):
            builder.call(prefetch, [builder.gep(start, [offset]), i32(1), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.void(matrix, row), codegen


# ----------------------------------------------------------------------------------------------------
# Candidate sampling


@njit(cache=True, inline="always")
def draw(noise, u):
    """One candidate id from uniform u: closed form for log-uniform and uniform, alias table for unigram."""
    n = noise.probs.shape[0]
    if noise.kind == SAMPLER_LOG_UNIFORM:
        return (np.int64(math.exp(u * math.log(n + 1.0))) - 1) % n
    if noise.kind == SAMPLER_UNIFORM:
        return min(np.int64(u * n), n - 1)
    scaled = u * n
    slot = min(np.int64(scaled), n - 1)
    if scaled - slot < noise.alias_prob[slot]:
        return slot
    return noise.alias_index[slot]


@njit(cache=True, nogil=True)
def draw_unique(noise, num_sampled, rng, stamp, stamp_value, out):
    """Draw until num_sampled distinct ids (TF's unique=True); returns num_tries, rejected draws included.

    stamp [V] is per-thread scratch: stamp[k] == stamp_value marks k as drawn in this batch."""
    tries = 0
    n = 0
    while n < num_sampled:
        k = draw(noise, rng_uniform(rng))
        tries += 1
        if stamp[k] != stamp_value:
            stamp[k] = stamp_value
            out[n] = k
            n += 1
    return tries


@njit(cache=True, inline="always")
def log_expected_count(noise, k, num_tries, num_sampled):
    """log Q(k): TF's expected count, S P(k) when nothing was rejected, else 1 - (1 - P(k))^num_tries
    (from the precomputed log P and log(1 - P), so a draw costs at most one exp and one log)."""
    if num_tries == num_sampled:
        return math.log(num_sampled) + noise.log_probs[k]
    return math.log(-math.expm1(num_tries * noise.log1m_probs[k]))


# ----------------------------------------------------------------------------------------------------
# Stable scalar functions


@njit(cache=True, inline="always")
def sigmoid_softplus(x):
    """(sigmoid(x), softplus(-x)) = (1 / (1 + e^-x), -log sigmoid(x)) from one exp, stable for any x."""
    e = math.exp(-abs(x))
    if x >= 0:
        return 1.0 / (1.0 + e), math.log1p(e)
    return e / (1.0 + e), math.log1p(e) - x


@njit(cache=True, inline="always", fastmath=FASTMATH)
def dot(a, b):
    acc = np.float32(0.0)
    for d in range(a.shape[0]):
        acc += a[d] * b[d]
    return acc


# ----------------------------------------------------------------------------------------------------
# One SGD step


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def step_sampled(loss, model, input_ids, labels, log_q_true, sampled, log_q_sampled, remove_hits, lr,
                 logits, grad_in, grad_out, is_last):
    """One SGD step on the summed TF loss (nce or sampled softmax) of one batch; returns that loss.

    input_ids [B], labels [B, T], log_q_true [B, T], sampled [S], log_q_sampled [S]. Scratch: logits
    float64 [>= B, >= T + S], grad_in float32 [>= B, D], grad_out float32 [>= S, D], is_last bool [>= S].
    All logits and gradients are computed from the weights as they were on entry, then applied:
    exactly one step of w -= lr * d(sum of losses)/dw. A masked (accidental-hit) logit is -FLT_MAX, as
    in TF, and contributes exactly 0 to the loss and to every gradient.
    """
    w_in, w_out, b_out = model.w_in, model.w_out, model.b_out
    batch, num_true = labels.shape
    num_sampled = sampled.shape[0]
    width = num_true + num_sampled
    if remove_hits:  # an id repeated among the candidates is masked at its last position only (TF)
        for m in range(num_sampled):
            is_last[m] = True
            for later in range(m + 1, num_sampled):
                if sampled[later] == sampled[m]:
                    is_last[m] = False
                    break
    for m in range(num_sampled):
        grad_out[m, :] = 0.0
    total = 0.0
    for i in range(batch):
        x = w_in[input_ids[i]]
        for j in range(num_true):
            label = labels[i, j]
            logits[i, j] = np.float64(dot(x, w_out[label])) + b_out[label] - log_q_true[i, j]
        for m in range(num_sampled):
            cand = sampled[m]
            hit = False
            if remove_hits and is_last[m]:
                for j in range(num_true):
                    if labels[i, j] == cand:
                        hit = True
            if hit:
                logits[i, num_true + m] = -FLT_MAX
            else:
                logits[i, num_true + m] = np.float64(dot(x, w_out[cand])) + b_out[cand] - log_q_sampled[m]
        # logits[i] becomes dL/dlogits[i] in place
        if loss == LOSS_NCE:
            for c in range(width):
                z = 1.0 / num_true if c < num_true else 0.0
                v = logits[i, c]
                probability, softplus_neg = sigmoid_softplus(v)  # softplus(v) = softplus(-v) + v
                total += softplus_neg + v - v * z
                logits[i, c] = probability - z
        else:
            top = logits[i, 0]
            for c in range(1, width):
                top = max(top, logits[i, c])
            norm = 0.0
            for c in range(width):
                z = 1.0 / num_true if c < num_true else 0.0
                total -= z * (logits[i, c] - top)
                logits[i, c] = math.exp(logits[i, c] - top)
                norm += logits[i, c]
            total += math.log(norm)
            for c in range(width):
                z = 1.0 / num_true if c < num_true else 0.0
                logits[i, c] = logits[i, c] / norm - z
        # Input gradient of example i, and (same pass) the sampled rows' gradients summed over examples.
        g_in = grad_in[i]
        g_in[:] = 0.0
        for c in range(width):
            g = np.float32(logits[i, c])
            if g == 0.0:
                continue
            if c < num_true:
                w = w_out[labels[i, c]]
                for d in range(g_in.shape[0]):
                    g_in[d] += g * w[d]
            else:
                w = w_out[sampled[c - num_true]]
                g_out = grad_out[c - num_true]
                for d in range(g_in.shape[0]):
                    g_in[d] += g * w[d]
                    g_out[d] += g * x[d]
    # Apply: output rows first (from the input vectors as they were on entry), then the input rows.
    step = np.float32(lr)
    for i in range(batch):
        x = w_in[input_ids[i]]
        for j in range(num_true):
            g = logits[i, j]
            if g != 0.0:
                w = w_out[labels[i, j]]
                scaled = np.float32(lr * g)
                for d in range(x.shape[0]):
                    w[d] -= scaled * x[d]
                b_out[labels[i, j]] -= scaled
    for m in range(num_sampled):
        bias_gradient = 0.0
        touched = False  # a column masked in every row has nothing to apply
        for i in range(batch):
            bias_gradient += logits[i, num_true + m]
            touched = touched or logits[i, num_true + m] != 0.0
        if touched:
            w = w_out[sampled[m]]
            g_out = grad_out[m]
            for d in range(w.shape[0]):
                w[d] -= step * g_out[d]
            b_out[sampled[m]] -= np.float32(lr * bias_gradient)
    for i in range(batch):
        x = w_in[input_ids[i]]
        g_in = grad_in[i]
        for d in range(x.shape[0]):
            x[d] -= step * g_in[d]
    return total


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def step_neg(model, input_id, target, negatives, lr, logits, grad_in):
    """One SGD step on word2vec C's skip-gram negative-sampling loss of one pair; returns the loss
    -log sigmoid(x . v_target) - sum_k log sigmoid(-x . v_neg_k)  (x = w_in[input_id], no biases).

    A negative equal to the target is skipped (not redrawn), as in word2vec C. All dot products are
    taken before any update (they are independent, so their memory loads overlap); with distinct
    negatives this is exactly one SGD step on the pair's loss, and a repeated negative's input
    gradient sees the first copy's update, as in word2vec C. Scratch: logits float64 [>= 1 + S],
    grad_in float32 [D].
    """
    w_in, w_out = model.w_in, model.w_out
    x = w_in[input_id]
    n_rows = negatives.shape[0] + 1
    for k in range(n_rows):
        row = target if k == 0 else negatives[k - 1]
        logits[k] = np.float64(dot(x, w_out[row]))
    total = 0.0
    grad_in[:] = 0.0
    for k in range(n_rows):
        row = target if k == 0 else negatives[k - 1]
        if k > 0 and row == target:
            continue
        # f is signed towards the label: the loss is -log sigmoid(f), the gradient (sigmoid(f) - 1) df
        f = logits[k] if k == 0 else -logits[k]
        probability, loss = sigmoid_softplus(f)
        total += loss
        g = np.float32(lr * (probability - 1.0))
        if k > 0:
            g = -g
        w = w_out[row]
        for d in range(x.shape[0]):
            grad_in[d] += g * w[d]
            w[d] -= g * x[d]
    for d in range(x.shape[0]):
        x[d] -= grad_in[d]
    return total


# ----------------------------------------------------------------------------------------------------
# The block walk


@njit(cache=True, nogil=True)
def train_block(text, model, noise, settings, lo, hi, lr, rng, stamp, stamp_base):
    """Train on every pair whose centre lies in token range [lo, hi) at learning rate lr.

    Returns (summed loss, number of pairs, batches used); stamp_base + batches is where the
    caller's stamp counter continues (stamp values must never repeat within a thread).
    """
    ids = text.ids
    offsets = text.offsets
    key = epoch_key(settings.seed, settings.epoch)
    window = settings.window
    num_sampled = settings.num_sampled
    dim = model.w_in.shape[1]
    room = max(settings.max_contexts, 1)
    contexts = np.empty(room, dtype=np.int64)
    input_ids = np.empty(room, dtype=np.int64)
    labels = np.empty((room, 1), dtype=np.int64)
    log_q_true = np.empty((room, 1), dtype=np.float64)
    sampled = np.empty(num_sampled, dtype=np.int64)
    negatives = np.empty((room, num_sampled), dtype=np.int64)
    log_q_sampled = np.empty(num_sampled, dtype=np.float64)
    logits = np.empty((room, 1 + num_sampled), dtype=np.float64)
    grad_in = np.empty((room, dim), dtype=np.float32)
    grad_out = np.empty((num_sampled, dim), dtype=np.float32)
    is_last = np.empty(num_sampled, dtype=np.bool_)
    total = 0.0
    pairs = 0
    batches = 0
    if lo >= hi:
        return total, pairs, batches
    s = sentence_of(offsets, lo)
    for centre in range(lo, hi):
        while offsets[s + 1] <= centre:
            s += 1
        if not is_kept(ids, text.keep_prob, key, centre):
            continue
        n = context_positions(ids, text.keep_prob, key, centre, offsets[s], offsets[s + 1], window,
                              settings.dynamic, contexts)
        if n == 0:
            continue
        word = ids[centre]
        prefetch_row(model.w_out, word)
        for k in range(n):
            input_ids[k] = ids[contexts[k]]
            prefetch_row(model.w_in, input_ids[k])
        if settings.loss == LOSS_NEG:
            for k in range(n):
                for m in range(num_sampled):
                    negatives[k, m] = draw(noise, rng_uniform(rng))
            for m in range(num_sampled):
                prefetch_row(model.w_out, negatives[0, m])
            for k in range(n):
                if k + 1 < n:  # the next pair's rows load while this one computes
                    for m in range(num_sampled):
                        prefetch_row(model.w_out, negatives[k + 1, m])
                total += step_neg(model, input_ids[k], word, negatives[k], lr, logits[0], grad_in[0])
            pairs += n
            continue
        batches += 1
        tries = draw_unique(noise, num_sampled, rng, stamp, stamp_base + batches, sampled)
        for m in range(num_sampled):
            prefetch_row(model.w_out, sampled[m])
        for m in range(num_sampled):
            log_q_sampled[m] = log_expected_count(noise, sampled[m], tries, num_sampled)
        log_q_word = log_expected_count(noise, word, tries, num_sampled)
        for k in range(n):
            labels[k, 0] = word
            log_q_true[k, 0] = log_q_word
        total += step_sampled(settings.loss, model, input_ids[:n], labels[:n], log_q_true[:n], sampled,
                              log_q_sampled, settings.remove_hits, lr, logits, grad_in, grad_out, is_last)
        pairs += n
    return total, pairs, batches
