"""Numba training kernels: candidate draws, the SGD steps, and the block walk that feeds them.

Threading model (Hogwild): each worker thread calls `train_block` on its own token ranges with its own
RNG state and scratch. Only the model arrays `w_in`, `w_out` and `b_out` are shared, and they are
updated without locks; every other array a kernel writes belongs to one thread.

Batches: for nce and sampled_softmax one batch is one kept centre token. Its examples are the centre's
context words: the input of an example is the context word's input vector and its label (num_true = 1)
is the centre word, as in word2vec C. The `num_sampled` candidates are drawn once per batch and shared by
all its examples (TF's semantics, with the batch being one centre). For neg every (centre, context) pair
draws its own negatives, as word2vec C does; with share_negatives, the centre's negatives are drawn once
and shared by its contexts instead, as pWord2Vec's HogBatch does.

Arithmetic is float32, TensorFlow's for float32 inputs, with the vectorizable exp and log of vecmath.py;
losses are summed in float64. Hot code reads and writes the model's rows a chunk at a time through the
intrinsics of simd.py and never takes a row view: a view costs an atomic reference count on the array,
which the threads would share. The model's rows are contiguous and start on 64-byte boundaries
(train.aligned_model).

Kernels take only arrays and scalars; `step_*` mirror the NumPy reference in `losses.py`.
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, typeof, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .pairs import epoch_key, kept_positions, sentence_of, walk_centre
from .structs import (ALIAS_MASK, FLT_MAX, LOSS_NEG, LOSS_SAMPLED_SOFTMAX, SAMPLER_LOG_UNIFORM, SAMPLER_UNIFORM,
                      UNIT_53, PrivateRows)
from .simd import (LANES, add, add_to_private_item, aligned_empty, chunks, lane_sum, load, load_private,
                   load_private_item, mul_add, splat, store, store_private, zeros)
from .vecmath import FASTMATH, exp32, log1p32, log32

# Float division by IEEE rules (inf or nan, no check): Python's ZeroDivisionError check is a branch in
# every division, and a branch keeps a loop from being vectorized.
IEEE = "numpy"
F = np.float32
# The steps are compiled twice: for any vector size, and for this one (the default --dim), where the loops
# over a row have a known length, so LLVM unrolls them with no remainder loops (README, Performance). They
# are two functions, and train_block picks one: one function holding both bodies behind a test of the size
# is beyond Numba's reference-count pruning, and updated the shared arrays' counts (atomics on cache lines
# that every thread writes) on every step.
SPECIALIZED_DIM = 100
# A thread with private rows adds its changes to the model's every this many tokens of its block (and at the
# block's end). Its copies miss the other threads' changes in between, and every thread's changes to a hot
# row, made from the same stale row, add up: merged once per 10,000-token block, 8 threads diverged at the
# default preset's lr where shared rows did not (README, Performance).
PRIVATE_MERGE_TOKENS = 1_000


# ----------------------------------------------------------------------------------------------------
# Random numbers: xorshift64* with an explicit per-thread state (uint64 [1]).


@njit(cache=True, inline="always")
def rng_next(state):
    """Advance the state and return 64 random bits."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return x * np.uint64(0x2545F4914F6CDD1D)


@njit(cache=True, inline="always")
def rng_uniform(state):
    """Advance the state and return a uniform double in [0, 1)."""
    return np.float64(rng_next(state) >> np.uint64(11)) * UNIT_53


@intrinsic
def multiply_wide(typingctx, a, b):
    """The 128-bit product of two uint64 as its (high, low) 64-bit halves."""
    def codegen(context, builder, signature, args):
        i64, i128 = ir.IntType(64), ir.IntType(128)
        product = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        high = builder.trunc(builder.lshr(product, i128(64)), i64)
        return context.make_tuple(builder, signature.return_type, [high, builder.trunc(product, i64)])
    return types.UniTuple(types.uint64, 2)(types.uint64, types.uint64), codegen


def seed_states(seed, n_threads):
    """One non-zero xorshift state per thread, derived from the seed."""
    states = np.random.SeedSequence(seed).generate_state(n_threads * 2, dtype=np.uint64).reshape(n_threads, 2)
    return [np.array([(row[0] | np.uint64(1))], dtype=np.uint64) for row in states]


# ----------------------------------------------------------------------------------------------------
# Prefetching: rows are drawn at random from matrices larger than the cache, so a step waits on memory
# more than it computes. Announcing the rows of the next step lets their cache misses overlap. Every
# announced row is written soon after, so it is fetched for writing (PREFETCHW): the line arrives owned
# by this core, and a write to a row the other thread touched last needs no second trip between cores
# (scripts/probe_sharing.py compares shared with private weights).


@intrinsic
def prefetch_row(typingctx, matrix, row):
    """Hint the CPU to bring matrix[row, :] (a 2-D array with contiguous rows) into cache, for writing:
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
def draw(noise, rng):
    """One candidate id: closed form for log-uniform and uniform, the alias table for unigram."""
    n = noise.probs.shape[0]
    if noise.kind == SAMPLER_LOG_UNIFORM:
        return (np.int64(math.exp(rng_uniform(rng) * math.log(n + 1.0))) - 1) % n
    if noise.kind == SAMPLER_UNIFORM:
        return min(np.int64(rng_uniform(rng) * n), n - 1)
    # In fixed point: u * n for a 64-bit u, whose integer part is the slot and whose fraction (its high 32
    # bits) is tested against the slot's acceptance. Both outcomes come from one load and a select: a branch
    # on a test that goes either way at random costs a misprediction on about every other draw (README,
    # Performance).
    slot, fraction = multiply_wide(rng_next(rng), np.uint64(n))
    entry = noise.alias[slot]
    alias = np.int64(entry & ALIAS_MASK)
    return np.int64(slot) if (fraction >> np.uint64(32)) < (entry >> np.uint64(32)) else alias


@njit(cache=True, nogil=True)
def draw_unique(noise, num_sampled, rng, stamp, stamp_value, out, first):
    """Draw until num_sampled distinct ids (TF's unique=True), into out[first:first + num_sampled];
    returns num_tries, rejected draws included.

    stamp [V] is per-thread scratch: stamp[k] == stamp_value marks k as drawn in this batch."""
    tries = 0
    n = 0
    while n < num_sampled:
        k = draw(noise, rng)
        tries += 1
        if stamp[k] != stamp_value:
            stamp[k] = stamp_value
            out[first + n] = k
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
# One SGD step on a batch that shares its output rows


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model=IEEE)
def step_batch(softmax, model, private, outputs, n_outputs, inputs, n_inputs, bias, update_bias, lr, grad, grad_in):
    """One SGD step on the summed loss of a batch of examples that share their output rows; returns it.

    Example i has input w_in[inputs[i]] and logits x_i . w_out[outputs[j]] + bias[j] (j < n_outputs);
    output 0 is the label. softmax: the softmax cross-entropy of label 0 (sampled softmax); else the
    sigmoid cross-entropy with target 1 for output 0 and 0 for the others (nce; neg with shared
    negatives, with bias 0 and update_bias False). bias carries -log Q, and -FLT_MAX for a masked output,
    which then contributes exactly 0 to the loss and the gradients. Every logit and gradient is computed
    from the weights as they are on entry, then applied: exactly one step of w -= lr * d(sum of
    losses)/dw, a repeated input or output row receiving the sum of its gradients. Scratch: grad float32
    [>= n_inputs * n_outputs] (example i's logits, then their gradients times -lr, at i * n_outputs), grad_in
    float32 [>= n_inputs, D].
    """
    return _step_batch(model.w_in.shape[1], softmax, model, private, outputs, n_outputs, inputs, n_inputs, bias,
                       update_bias, lr, grad, grad_in)


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model=IEEE)
def step_batch_specialized(softmax, model, private, outputs, n_outputs, inputs, n_inputs, bias, update_bias, lr,
                           grad, grad_in):
    """step_batch for a model of SPECIALIZED_DIM columns (see SPECIALIZED_DIM's comment)."""
    return _step_batch(SPECIALIZED_DIM, softmax, model, private, outputs, n_outputs, inputs, n_inputs, bias,
                       update_bias, lr, grad, grad_in)


@njit(cache=True, inline="always", fastmath=FASTMATH, error_model=IEEE)
def _update_chunk(w_in, w_out, private_out, outputs, n_outputs, inputs, n_inputs, width, grad, grad_in, column,
                  count):
    """One chunk of step_batch's updates, grad holding -lr dL/dlogits: the input gradients from the output
    rows, then the output rows from the input rows, then the input rows, each row read before any is
    written; a repeated row takes each of its gradients in turn."""
    for i in range(n_inputs):
        base = i * width
        acc = zeros()
        for j in range(n_outputs):
            acc = mul_add(splat(grad[base + j]), load_private(private_out, w_out, outputs[j], column, count), acc)
        store(grad_in, i, 0, count, acc)
    for j in range(n_outputs):
        row = outputs[j]
        acc = load_private(private_out, w_out, row, column, count)
        for i in range(n_inputs):
            acc = mul_add(splat(grad[i * width + j]), load(w_in, inputs[i], column, count), acc)
        store_private(private_out, w_out, row, column, count, acc)
    for i in range(n_inputs):
        row = inputs[i]
        store(w_in, row, column, count, add(load(w_in, row, column, count), load(grad_in, i, 0, count)))


@njit(cache=True, inline="always", fastmath=FASTMATH, error_model=IEEE)
def _step_batch(dim, softmax, model, private, outputs, n_outputs, inputs, n_inputs, bias, update_bias, lr, grad,
                grad_in):
    """step_batch for vectors of `dim` floats."""
    w_in, w_out, b_out = model.w_in, model.w_out, model.b_out
    private_out, private_b_out = private_arrays(private)
    width = n_outputs
    n_chunks = chunks(dim)
    # Logits, one input row against four output rows at a time: four independent sums per pass.
    for i in range(n_inputs):
        row = inputs[i]
        base = i * width
        j = 0
        while j + 4 <= width:
            o0, o1, o2, o3 = outputs[j], outputs[j + 1], outputs[j + 2], outputs[j + 3]
            a0, a1, a2, a3 = zeros(), zeros(), zeros(), zeros()
            for c in range(n_chunks):
                column = c * LANES
                count = min(LANES, dim - column)
                x = load(w_in, row, column, count)
                a0 = mul_add(x, load_private(private_out, w_out, o0, column, count), a0)
                a1 = mul_add(x, load_private(private_out, w_out, o1, column, count), a1)
                a2 = mul_add(x, load_private(private_out, w_out, o2, column, count), a2)
                a3 = mul_add(x, load_private(private_out, w_out, o3, column, count), a3)
            grad[base + j] = lane_sum(a0) + bias[j]
            grad[base + j + 1] = lane_sum(a1) + bias[j + 1]
            grad[base + j + 2] = lane_sum(a2) + bias[j + 2]
            grad[base + j + 3] = lane_sum(a3) + bias[j + 3]
            j += 4
        while j < width:
            o0 = outputs[j]
            a0 = zeros()
            for c in range(n_chunks):
                column = c * LANES
                count = min(LANES, dim - column)
                a0 = mul_add(load(w_in, row, column, count), load_private(private_out, w_out, o0, column, count), a0)
            grad[base + j] = lane_sum(a0) + bias[j]
            j += 1
    # The logits become dL/dlogits in place. The exp and log work runs over all n_inputs * width values in
    # one loop, long enough to vectorize; only maxima and sums go row by row.
    total_loss = 0.0
    size = n_inputs * width
    if softmax:
        for i in range(n_inputs):  # shift each row by its maximum
            base = i * width
            top = grad[base]
            for j in range(1, width):
                top = max(top, grad[base + j])
            for j in range(width):
                grad[base + j] -= top
            total_loss -= float(grad[base])  # the loss is log(sum e^(v - top)) - (v_label - top)
        for k in range(size):
            grad[k] = exp32(grad[k])
        for i in range(n_inputs):
            base = i * width
            norm = F(0.0)
            for j in range(width):
                norm += grad[base + j]
            total_loss += float(log32(norm))
            scale = F(1.0) / norm
            for j in range(width):
                grad[base + j] *= scale
            grad[base] -= F(1.0)
    else:
        # TF's stable sigmoid cross-entropy max(v, 0) - v z + log(1 + e^-|v|), target z = 1 for output 0:
        # the -v z terms first, then the rest without branches; the gradient is sigmoid(v) - z.
        for i in range(n_inputs):
            total_loss -= float(grad[i * width])
        summed = F(0.0)
        for k in range(size):
            v = grad[k]
            e = exp32(-abs(v))
            summed += max(v, F(0.0)) + log1p32(e)
            grad[k] = (F(1.0) if v >= F(0.0) else e) / (F(1.0) + e)
        total_loss += float(summed)
        for i in range(n_inputs):
            grad[i * width] -= F(1.0)
    step = F(lr)
    if update_bias:
        for j in range(n_outputs):
            bias_gradient = F(0.0)
            for i in range(n_inputs):
                bias_gradient += grad[i * width + j]
            add_to_private_item(private_b_out, b_out, outputs[j], -(step * bias_gradient))
    for k in range(size):
        grad[k] *= -step
    # The updates, chunk by chunk: a chunk's columns of every row involved are read once from the weights
    # on entry, their gradients formed, then written, before the next chunk. (One call site: Numba's
    # inlining of a second one keeps reference counts on the arrays it passes.)
    for c in range(n_chunks):
        column = c * LANES
        _update_chunk(w_in, w_out, private_out, outputs, n_outputs, inputs, n_inputs, width, grad, grad_in, column,
                      min(LANES, dim - column))
    return total_loss


@njit(cache=True, inline="always")
def sampled_bias(noise, b_out, private_b_out, outputs, num_sampled, tries, remove_hits, bias):
    """bias[j] = b_out[outputs[j]] - log Q(outputs[j]) for the label (j = 0) and the candidates, with
    TF's expected counts; -FLT_MAX for a candidate equal to the label when remove_hits. The candidates
    are distinct (drawn with unique=True), so no id is masked twice."""
    for j in range(num_sampled + 1):
        k = outputs[j]
        bias[j] = F(load_private_item(private_b_out, b_out, k) - log_expected_count(noise, k, tries, num_sampled))
        if remove_hits and j > 0 and k == outputs[0]:
            bias[j] = -F(FLT_MAX)


# ----------------------------------------------------------------------------------------------------
# One SGD step on one pair (word2vec C's negative sampling)


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model=IEEE)
def step_neg(model, private, input_id, target, negatives, k, lr, logits):
    """One SGD step on word2vec C's skip-gram negative-sampling loss of one pair; returns the loss
    -log sigmoid(x . v_target) - sum_m log sigmoid(-x . v_neg_m)  (x = w_in[input_id], no biases, the
    negatives in row k of `negatives`).

    A negative equal to the target is skipped (not redrawn), as in word2vec C. All dot products are
    taken before any update (they are independent, so their memory loads overlap); with distinct
    negatives this is exactly one SGD step on the pair's loss, and a repeated negative's input
    gradient sees the first copy's update, as in word2vec C. Scratch: logits float32 [>= 1 + S] (the
    logits, then the rows' gradients times lr).
    """
    return _step_neg(model.w_in.shape[1], model, private, input_id, target, negatives, k, lr, logits)


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model=IEEE)
def step_neg_specialized(model, private, input_id, target, negatives, k, lr, logits):
    """step_neg for a model of SPECIALIZED_DIM columns (see SPECIALIZED_DIM's comment)."""
    return _step_neg(SPECIALIZED_DIM, model, private, input_id, target, negatives, k, lr, logits)


@njit(cache=True, inline="always", fastmath=FASTMATH, error_model=IEEE)
def _step_neg(dim, model, private, input_id, target, negatives, k, lr, logits):
    """step_neg for vectors of `dim` floats."""
    w_in, w_out = model.w_in, model.w_out
    private_out, _ = private_arrays(private)
    n_rows = negatives.shape[1] + 1
    n_chunks = chunks(dim)
    for m in range(n_rows):
        row = target if m == 0 else negatives[k, m - 1]
        acc = zeros()
        for c in range(n_chunks):
            column = c * LANES
            count = min(LANES, dim - column)
            y = load_private(private_out, w_out, row, column, count)
            acc = mul_add(load(w_in, input_id, column, count), y, acc)
        logits[m] = lane_sum(acc)
    # f is signed towards the label: the loss is -log sigmoid(f) = max(-f, 0) + log(1 + e), e = e^-|f| (one
    # exp32 of a value <= 0), the gradient (sigmoid(f) - 1) df. The rows' logs are one log of the product of
    # their factors 1 + e, each in (1, 2], in float64: one log per pair rather than one per row.
    total = 0.0
    product = 1.0
    for m in range(n_rows):
        if m > 0 and negatives[k, m - 1] == target:
            continue
        f = logits[m] if m == 0 else -logits[m]
        e = exp32(-abs(f))
        probability = (F(1.0) if f >= F(0.0) else e) / (F(1.0) + e)
        total += float(max(-f, F(0.0)))
        product *= 1.0 + float(e)
        if product > 1e300:  # only with over 996 rows
            total += math.log(product)
            product = 1.0
        g = F(lr) * (probability - F(1.0))
        logits[m] = g if m == 0 else -g
    total += math.log(product)
    # Row by row in word2vec C's order, a chunk of columns at a time: the input gradient takes each output
    # row before that row's update, which uses the input row on entry.
    for c in range(n_chunks):
        column = c * LANES
        count = min(LANES, dim - column)
        x = load(w_in, input_id, column, count)
        acc = zeros()
        for m in range(n_rows):
            row = target if m == 0 else negatives[k, m - 1]
            if m > 0 and row == target:
                continue
            y = load_private(private_out, w_out, row, column, count)
            acc = mul_add(splat(logits[m]), y, acc)
            store_private(private_out, w_out, row, column, count, mul_add(splat(-logits[m]), x, y))
        store(w_in, input_id, column, count, mul_add(splat(F(-1.0)), acc, x))
    return total


# ----------------------------------------------------------------------------------------------------
# The block walk


def load_steps(model, private):
    """Compile, or load from Numba's cache, the steps train_block calls, with the argument types it calls
    them with, before train_block itself is first called.

    train_block's compiled code carries its own copy of each step, optimized a second time along with
    train_block, and under fastmath that copy rounds differently. Numba compiles the steps before
    train_block, and train_block then calls the steps' own code (the JIT keeps the first definition of a
    symbol); loaded from the cache, train_block ran its copies unless the steps were loaded first. So
    without this, a run that had just compiled the kernels and a later run gave vectors up to 4e-7 apart.
    """
    i64, f32, f64 = types.int64, types.float32, types.float64
    vector = types.Array(i64, 1, "C")
    floats, float_rows = types.Array(f32, 1, "C"), types.Array(f32, 2, "C")
    model_type = typeof(model)
    private_type = typeof(private)
    for step in (step_batch, step_batch_specialized):
        step.compile((types.boolean, model_type, private_type, vector, i64, vector, i64, floats, types.boolean, f64,
                      floats, float_rows))
    for step in (step_neg, step_neg_specialized):  # the target is a corpus id, int32
        step.compile((model_type, private_type, i64, types.int32, types.Array(i64, 2, "C"), i64, f64, floats))


@njit(cache=True, nogil=True, error_model=IEEE)
def train_block(text, model, private, noise, settings, lo, hi, lr, rng, stamp, stamp_base):
    """Train on every pair whose centre lies in token range [lo, hi) at learning rate lr. The output rows and
    biases of the words below private's rows are this thread's own (PrivateRows, or None for none): their
    changes are added to the model's every PRIVATE_MERGE_TOKENS tokens and at the end (merge_private_rows,
    without a lock: a merge is short, and two threads' merges of one row rarely meet, Hogwild's wager).

    Returns (summed loss, number of pairs, batches used); stamp_base + batches is where the
    caller's stamp counter continues (stamp values must never repeat within a thread).
    """
    ids = text.ids
    offsets = text.offsets
    key = epoch_key(settings.seed, settings.epoch)
    num_sampled = settings.num_sampled
    width = num_sampled + 1
    dim = model.w_in.shape[1]
    specialized = dim == SPECIALIZED_DIM
    n_private = private_count(private)
    _, private_b_out = private_arrays(private)
    softmax, update_bias = settings.loss == LOSS_SAMPLED_SOFTMAX, settings.loss != LOSS_NEG
    room = max(settings.max_contexts, 1)
    per_pair = settings.loss == LOSS_NEG and not settings.share_negatives
    inputs = np.empty(room, dtype=np.int64)
    outputs = np.empty(width, dtype=np.int64)
    negatives = np.empty((room if per_pair else 1, num_sampled), dtype=np.int64)
    bias = np.zeros(width, dtype=np.float32)
    pair_logits = np.empty(width, dtype=np.float32)
    grad = np.empty(room * width, dtype=np.float32)
    grad_in = np.empty((room, dim), dtype=np.float32)
    total = 0.0
    pairs = 0
    batches = 0
    if lo >= hi:
        return total, pairs, batches
    kept, first, last, end = kept_positions(ids, offsets, text.keep_prob, text.held_out, key, lo, hi, settings.window)
    s = sentence_of(offsets, lo)
    next_merge = lo + PRIVATE_MERGE_TOKENS
    for q in range(first, last):
        if n_private and kept[q] >= next_merge:
            merge_private(model, private)
            next_merge = kept[q] + PRIVATE_MERGE_TOKENS
        s, n = walk_centre(ids, offsets, key, kept, q, end, s, settings.window, settings.dynamic, inputs)
        if n == 0:
            continue
        word = ids[kept[q]]
        if word >= n_private:
            prefetch_row(model.w_out, word)
        for k in range(n):
            prefetch_row(model.w_in, inputs[k])
        pairs += n
        if per_pair:
            for k in range(n):
                for m in range(num_sampled):
                    negatives[k, m] = draw(noise, rng)
            for m in range(num_sampled):
                if negatives[0, m] >= n_private:
                    prefetch_row(model.w_out, negatives[0, m])
            for k in range(n):
                if k + 1 < n:  # the next pair's rows load while this one computes
                    for m in range(num_sampled):
                        if negatives[k + 1, m] >= n_private:
                            prefetch_row(model.w_out, negatives[k + 1, m])
                if specialized:
                    total += step_neg_specialized(model, private, inputs[k], word, negatives, k, lr, pair_logits)
                else:
                    total += step_neg(model, private, inputs[k], word, negatives, k, lr, pair_logits)
            continue
        batches += 1
        outputs[0] = word
        n_outputs = 1
        if settings.loss == LOSS_NEG:  # shared negatives (HogBatch): with repeats, none equal to the centre
            for m in range(num_sampled):
                candidate = draw(noise, rng)
                if candidate != word:
                    outputs[n_outputs] = candidate
                    n_outputs += 1
        else:
            tries = draw_unique(noise, num_sampled, rng, stamp, stamp_base + batches, outputs, 1)
            sampled_bias(noise, model.b_out, private_b_out, outputs, num_sampled, tries, settings.remove_hits, bias)
            n_outputs = width
        for m in range(1, n_outputs):
            if outputs[m] >= n_private:  # a private row is in this core's cache already
                prefetch_row(model.w_out, outputs[m])
        if specialized:
            total += step_batch_specialized(softmax, model, private, outputs, n_outputs, inputs, n, bias, update_bias,
                                            lr, grad, grad_in)
        else:
            total += step_batch(softmax, model, private, outputs, n_outputs, inputs, n, bias, update_bias, lr, grad,
                                grad_in)
    if n_private:
        merge_private(model, private)
    return total, pairs, batches


# ----------------------------------------------------------------------------------------------------
# Per-thread copies of the most frequent output rows


def take_private_rows(model, rows):
    """A thread's PrivateRows of the model's first `rows` output rows and biases (the most frequent words),
    as they are now."""
    w_out = aligned_empty(rows, model.w_out.shape[1])
    w_out[...] = model.w_out[:rows]
    base = aligned_empty(rows, model.w_out.shape[1])
    base[...] = w_out
    b_out = model.b_out[:rows].copy()
    return PrivateRows(w_out, b_out, base, b_out.copy())


# A thread without private rows passes None for them, a type of its own, so the steps compiled for it test
# no row against the private rows (the test cost the shared path 10%, README, Performance). These helpers
# give train_block and the steps one source for both.


def private_arrays(private):
    """(w_out, b_out) of a PrivateRows, (None, None) for None (in compiled code only)."""


@overload(private_arrays, inline="always")
def _private_arrays(private):
    if isinstance(private, types.NoneType):
        return lambda private: (None, None)
    return lambda private: (private.w_out, private.b_out)


def private_count(private):
    """How many rows are private: 0 for None, a constant (in compiled code only)."""


@overload(private_count, inline="always")
def _private_count(private):
    if isinstance(private, types.NoneType):
        return lambda private: 0
    return lambda private: private.w_out.shape[0]


def merge_private(model, private):
    """merge_private_rows, nothing for None (in compiled code only)."""


@overload(merge_private, inline="always")
def _merge_private(model, private):
    if isinstance(private, types.NoneType):
        return lambda model, private: None
    return lambda model, private: merge_private_rows(model, private)


@njit(cache=True, nogil=True)
def merge_private_rows(model, private):
    """Add this thread's changes to its private rows since the last merge to the model's rows, which hold
    the other threads' changes, and take the result as the thread's rows and the new base."""
    rows, dim = private.w_out.shape
    for r in range(rows):
        for c in range(dim):
            merged = model.w_out[r, c] + (private.w_out[r, c] - private.w_out_base[r, c])
            model.w_out[r, c] = merged
            private.w_out[r, c] = merged
            private.w_out_base[r, c] = merged
        merged = model.b_out[r] + (private.b_out[r] - private.b_out_base[r])
        model.b_out[r] = merged
        private.b_out[r] = merged
        private.b_out_base[r] = merged
