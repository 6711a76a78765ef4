"""Each Numba kernel against the NumPy reference (w2v_nce.losses) on small inputs."""
import math
import re

import numpy as np
import pytest
from numba import njit

from w2v_nce import kernels as K
from w2v_nce import losses as L
from w2v_nce.config import resolve
from w2v_nce.pairs import walk_centre
from w2v_nce.sampling import alias_table, build_noise, packed_alias_table
from w2v_nce.simd import LANES, aligned_empty, has_aligned_rows, with_aligned_rows
from w2v_nce.structs import Model


# Every step kernel runs compiled for any vector size and for K.SPECIALIZED_DIM: both are tested, the first
# with rows shorter than one chunk of simd.LANES floats and with a full chunk and a masked tail.
DIMS = [5, K.SPECIALIZED_DIM, LANES + 3]


def test_the_specialized_dim_is_the_default_dim():
    """The default --dim is the size whose step is compiled with its row length known."""
    assert K.SPECIALIZED_DIM == resolve().dim


def test_aligned_storage():
    """with_aligned_rows copies a plain matrix into storage whose rows start on 64-byte boundaries, and
    returns a matrix already so stored (and writable) as it is."""
    plain = np.arange(30, dtype=np.float32).reshape(3, 10)
    aligned = with_aligned_rows(plain)
    assert aligned is not plain and has_aligned_rows(aligned) and not has_aligned_rows(plain)
    np.testing.assert_array_equal(aligned, plain)
    assert with_aligned_rows(aligned) is aligned
    aligned.flags.writeable = False
    assert with_aligned_rows(aligned) is not aligned


@pytest.mark.parametrize("dim", DIMS)
def test_steps_write_only_their_rows(dim):
    """The masked stores of a row's last chunk leave the row padding of aligned storage alone, and the
    steps give the same results bit for bit on aligned storage as on plain arrays."""
    rng = np.random.default_rng(5)
    plain = make_model(rng, dim=dim)
    w_in, w_out = aligned_empty(*plain.w_in.shape), aligned_empty(*plain.w_out.shape)
    for aligned, source in ((w_in, plain.w_in), (w_out, plain.w_out)):
        with_padding(aligned)[...] = np.nan
        aligned[...] = source
    model = Model(w_in, w_out, plain.b_out.copy())
    outputs, inputs = np.array([4, 1, 9, 2]), np.array([6, 2, 6])
    bias = np.zeros(4, np.float32)
    expected_loss, expected = run_step_batch(True, plain, outputs, inputs, bias, True, 0.2)
    loss, after = run_step_batch(True, model, outputs, inputs, bias, True, 0.2, copy=False)
    assert loss == expected_loss
    negatives = np.array([[1, 9, 2]])
    for target in (expected, after):
        step_neg_for(dim)(target, None, 6, 4, negatives, 0, 0.2, np.empty(4, np.float32))
    for matrix, reference in ((after.w_in, expected.w_in), (after.w_out, expected.w_out)):
        np.testing.assert_array_equal(matrix, reference)
        assert np.isnan(with_padding(matrix)[:, dim:]).all()


def with_padding(matrix):
    """The aligned matrix's rows with their padding."""
    return np.lib.stride_tricks.as_strided(matrix, (matrix.shape[0], matrix.strides[0] // 4), matrix.strides)


def step_batch_for(dim):
    """The step_batch that train_block calls for vectors of `dim` floats."""
    return K.step_batch_specialized if dim == K.SPECIALIZED_DIM else K.step_batch


def step_neg_for(dim):
    return K.step_neg_specialized if dim == K.SPECIALIZED_DIM else K.step_neg


def reference_count_updates(kernel, *args):
    """The NRT_incref/NRT_decref calls in `kernel` compiled for args (afresh: cached code has no IR)."""
    fresh = njit(**{k: v for k, v in kernel.targetoptions.items() if k not in ("cache", "nopython")})(kernel.py_func)
    fresh(*args)
    (ir,) = fresh.inspect_llvm().values()
    body = ir.split("\ndefine ")[1]  # the kernel itself; its Python wrappers follow
    return re.findall(r"@NRT_(?:incref|decref)\(", body)


@pytest.mark.parametrize("dim", [5, K.SPECIALIZED_DIM])  # the steps for any dim, and for the default one
def test_steps_leave_reference_counts_alone(dim):
    """A step that updated the model arrays' reference counts would make every thread write the same
    counters, atomically, at every step. The dim is a value, not a type, so any dim but the default one
    compiles the same code."""
    model = Model(np.zeros((4, dim), np.float32), np.zeros((4, dim), np.float32), np.zeros(4, np.float32))
    ids = np.arange(3, dtype=np.int64)
    for private in (None, K.take_private_rows(model, 2)):
        assert reference_count_updates(step_batch_for(dim), True, model, private, ids, 3, ids, 3,
                                       np.zeros(3, np.float32), True, 0.1, np.zeros(9, np.float32),
                                       np.zeros((3, dim), np.float32)) == []
        assert reference_count_updates(step_neg_for(dim), model, private, 0, 1, ids.reshape(1, 3), 0, 0.1,
                                       np.zeros(4, np.float32)) == []


def test_the_walk_leaves_reference_counts_alone():
    """train_block calls walk_centre once per centre, with the corpus arrays that every thread reads."""
    positions = np.arange(6, dtype=np.int64)
    assert reference_count_updates(walk_centre, np.arange(6, dtype=np.int32), np.array([0, 6]), np.uint64(1),
                                   positions, 2, 6, 0, 2, True, np.zeros(4, np.int64)) == []


def make_model(rng, classes=12, dim=5):
    scale = 0.5 * math.sqrt(5 / dim)  # logits of the same size for every dim
    return Model((rng.normal(size=(classes, dim)) * scale).astype(np.float32),
                   (rng.normal(size=(classes, dim)) * scale).astype(np.float32),
                   (rng.normal(size=classes) * 0.1).astype(np.float32))


def copy_model(model):
    return Model(*(a.copy() for a in model))


def run_step_batch(softmax, model, outputs, inputs, bias, update_bias, lr, copy=True, private=None):
    """step_batch on a copy of the model (on the model itself with copy=False), with no private rows unless
    given; returns (loss, model after)."""
    after = copy_model(model) if copy else model
    width, dim = len(outputs), model.w_in.shape[1]
    loss = step_batch_for(dim)(softmax, after, private,
                               np.asarray(outputs, np.int64), width, np.asarray(inputs, np.int64), len(inputs),
                               np.asarray(bias, np.float32), update_bias, lr, np.empty(len(inputs) * width, np.float32),
                               np.empty((len(inputs), dim), np.float32))
    return loss, after


def assert_one_step(model, after, lr, input_ids, d_inputs, d_weights, d_biases=None):
    expected_in = model.w_in.astype(np.float64)
    np.add.at(expected_in, input_ids, -lr * d_inputs)
    np.testing.assert_allclose(after.w_in, expected_in, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after.w_out, model.w_out - lr * d_weights, rtol=1e-5, atol=1e-6)
    expected_bias = model.b_out if d_biases is None else model.b_out - lr * d_biases
    np.testing.assert_allclose(after.b_out, expected_bias, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss_name", ["nce", "sampled_softmax"])
@pytest.mark.parametrize("remove_hits", [False, True])
@pytest.mark.parametrize("dim", DIMS)
def test_step_batch_is_one_sgd_step_of_the_reference(loss_name, remove_hits, dim):
    """One centre's batch as training forms it: every example has the centre as its label, the distinct
    candidates are shared, log Q is subtracted, and a candidate equal to the label is masked if asked."""
    rng = np.random.default_rng(10 * remove_hits + len(loss_name))
    classes, num_sampled, lr, label = 12, 5, 0.3, 4
    model = make_model(rng, classes, dim)
    input_ids = np.array([3, 7, 3, 0])  # a repeated input row accumulates
    sampled = rng.permutation([k for k in range(classes) if k != label])[:num_sampled]
    sampled[2] = label  # an accidental hit
    q_true, q_sampled = rng.uniform(0.05, 1.5), rng.uniform(0.05, 1.5, size=num_sampled)

    labels = np.full((len(input_ids), 1), label)
    args = (model.w_out.astype(np.float64), model.b_out.astype(np.float64), labels,
            model.w_in[input_ids].astype(np.float64), num_sampled, classes)
    kwargs = dict(sampled_values=(sampled, np.full((len(input_ids), 1), q_true), q_sampled),
                  remove_accidental_hits=remove_hits)
    loss_fn, grad_fn = {"nce": (L.nce_loss, L.nce_loss_grad),
                        "sampled_softmax": (L.sampled_softmax_loss, L.sampled_softmax_loss_grad)}[loss_name]
    d_weights, d_biases, d_inputs = grad_fn(*args, **kwargs)

    outputs = np.concatenate([[label], sampled])
    bias = np.float32(model.b_out[outputs]) - np.float32(np.log(np.concatenate([[q_true], q_sampled])))
    if remove_hits:
        bias[3] = -np.finfo(np.float32).max
    loss, after = run_step_batch(loss_name == "sampled_softmax", model, outputs, input_ids, bias, True, lr)
    assert loss == pytest.approx(loss_fn(*args, **kwargs).sum(), rel=1e-5)
    assert_one_step(model, after, lr, input_ids, d_inputs, d_weights, d_biases)


@pytest.mark.parametrize("dim", DIMS)
def test_step_batch_with_shared_negatives_is_word2vec_summed_over_the_window(dim):
    """neg with shared negatives: no biases, no log Q; a repeated negative counts once per copy."""
    rng = np.random.default_rng(3)
    model, lr, target = make_model(rng, dim=dim), 0.2, 4
    input_ids = np.array([6, 2, 6])
    negatives = np.array([1, 9, 1, 2])
    w = model.w_out.astype(np.float64)
    expected_loss = sum(L.sgns_loss(model.w_in[i].astype(np.float64), w, target, negatives) for i in input_ids)
    d_w, d_x = np.zeros_like(w), np.zeros((len(input_ids), w.shape[1]))
    for n, i in enumerate(input_ids):
        d_w_i, d_x[n] = L.sgns_loss_grad(model.w_in[i].astype(np.float64), w, target, negatives)
        d_w += d_w_i
    loss, after = run_step_batch(False, model, np.concatenate([[target], negatives]), input_ids,
                                 np.zeros(5, np.float32), False, lr)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    assert_one_step(model, after, lr, input_ids, d_x, d_w)


@pytest.mark.parametrize("dim", [7, K.SPECIALIZED_DIM])
def test_step_batch_blocks_give_the_same_step_for_any_number_of_rows(dim):
    """Outputs and inputs are processed four at a time with a remainder: every count must agree with
    the reference, including a masked output in every position."""
    rng = np.random.default_rng(11)
    model = make_model(rng, classes=20, dim=dim)
    for n_outputs in range(1, 11):
        for n_inputs in (1, 3, 4, 5, 9):
            outputs = rng.permutation(20)[:n_outputs]
            inputs = rng.integers(0, 20, size=n_inputs)
            bias = rng.normal(size=n_outputs).astype(np.float32)
            bias[rng.integers(1, n_outputs) if n_outputs > 1 else 0] = -np.finfo(np.float32).max
            loss, after = run_step_batch(True, model, outputs, inputs, bias, True, 0.1)
            x = model.w_in[inputs].astype(np.float64)
            logits = x @ model.w_out[outputs].astype(np.float64).T + bias
            expected = L.softmax_cross_entropy(logits, np.eye(n_outputs)[np.zeros(n_inputs, int)])
            assert loss == pytest.approx(expected.sum(), rel=1e-5, abs=1e-6)
            g = L.softmax(logits) - np.eye(n_outputs)[0]
            expected_out = model.w_out.astype(np.float64)
            np.add.at(expected_out, outputs, -0.1 * g.T @ x)
            np.testing.assert_allclose(after.w_out, expected_out, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dim", DIMS)
def test_step_neg_is_one_sgd_step_of_the_reference(dim):
    rng = np.random.default_rng(7)
    model = make_model(rng, dim=dim)
    lr, target = 0.2, 4
    negatives = np.array([[1, 4, 9, 2]])  # 4 is the target: skipped
    x = model.w_in[6].astype(np.float64)
    w = model.w_out.astype(np.float64)
    expected_loss = L.sgns_loss(x, w, target, negatives[0])
    d_w, d_x = L.sgns_loss_grad(x, w, target, negatives[0])
    after = copy_model(model)
    loss = step_neg_for(dim)(after, None, 6, target, negatives, 0, lr, np.empty(5, np.float32))
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    np.testing.assert_allclose(after.w_out, w - lr * d_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after.w_in[6], x - lr * d_x, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(after.b_out, model.b_out)  # neg has no biases


@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("scale", [0.0, 30.0, 1e4])
def test_step_neg_loss_at_extreme_logits(dim, scale):
    """The pair's loss is the reference's from logits of 0 to about +-1e8 (its logs are one log of a
    product), and every row's gradient is at most lr in size."""
    rng = np.random.default_rng(11)
    model = make_model(rng, dim=dim)
    model.w_in[6] = model.w_in[6] / np.linalg.norm(model.w_in[6]) * scale
    model.w_out[:] = model.w_out / np.linalg.norm(model.w_out, axis=1, keepdims=True) * scale
    target, negatives = 4, np.array([[1, 9, 2, 3, 7]])
    expected = L.sgns_loss(model.w_in[6].astype(np.float64), model.w_out.astype(np.float64), target, negatives[0])
    logits = np.empty(6, np.float32)
    loss = step_neg_for(dim)(copy_model(model), None, 6, target, negatives, 0, 0.5, logits)
    assert np.isfinite(loss) and loss == pytest.approx(expected, rel=1e-6, abs=1e-7)
    assert np.all(np.abs(logits) <= 0.5)


@pytest.mark.parametrize("softmax", [False, True])
@pytest.mark.parametrize("dim", DIMS)
def test_private_rows_take_the_steps_the_model_rows_would(softmax, dim):
    """With the first rows of w_out and b_out private, the steps read and write the private copies instead,
    with the same results bit for bit, and leave the model's own first rows alone; merging them puts the
    step into the model."""
    rng = np.random.default_rng(21)
    model, rows = make_model(rng, dim=dim), 5
    outputs, inputs = np.array([4, 1, 9, 2, 7]), np.array([6, 2, 6])  # 4, 1 and 2 are private
    bias = rng.normal(size=5).astype(np.float32)
    negatives = np.array([[1, 9, 3]])
    expected_loss, expected = run_step_batch(softmax, model, outputs, inputs, bias, True, 0.2)
    expected_neg_loss = step_neg_for(dim)(expected, None, 8, 4, negatives, 0, 0.2,
                                          np.empty(4, np.float32))
    after = copy_model(model)
    private = K.take_private_rows(after, rows)
    loss, _ = run_step_batch(softmax, after, outputs, inputs, bias, True, 0.2, copy=False, private=private)
    neg_loss = step_neg_for(dim)(after, private, 8, 4, negatives, 0, 0.2, np.empty(4, np.float32))
    assert (loss, neg_loss) == (expected_loss, expected_neg_loss)
    np.testing.assert_array_equal(after.w_in, expected.w_in)
    for mine, theirs, reference, before in ((private.w_out, after.w_out, expected.w_out, model.w_out),
                                            (private.b_out, after.b_out, expected.b_out, model.b_out)):
        np.testing.assert_array_equal(mine, reference[:rows])
        np.testing.assert_array_equal(theirs[:rows], before[:rows])
        np.testing.assert_array_equal(theirs[rows:], reference[rows:])
    K.merge_private_rows(after, private)
    for name in ("w_out", "b_out"):
        np.testing.assert_allclose(getattr(after, name), getattr(expected, name), rtol=1e-6, atol=1e-7)
        merged = getattr(after, name)[:rows]
        np.testing.assert_array_equal(getattr(private, name), merged)
        np.testing.assert_array_equal(getattr(private, name + "_base"), merged)


def test_merges_add_up_every_threads_changes():
    """Each thread adds its own change since its last merge to what the model holds, the other threads'
    merged changes included, and goes on from the sum."""
    rng = np.random.default_rng(4)
    model, rows = make_model(rng, dim=7), 4
    start = copy_model(model)
    first, second = K.take_private_rows(model, rows), K.take_private_rows(model, rows)
    changes = [rng.normal(size=(2, rows, 7)).astype(np.float32), rng.normal(size=(2, rows)).astype(np.float32)]
    for t, private in enumerate((first, second)):
        private.w_out[...] += changes[0][t]
        private.b_out[...] += changes[1][t]
    K.merge_private_rows(model, first)
    K.merge_private_rows(model, second)
    np.testing.assert_allclose(model.w_out[:rows], start.w_out[:rows] + changes[0].sum(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.b_out[:rows], start.b_out[:rows] + changes[1].sum(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(second.w_out, model.w_out[:rows])
    np.testing.assert_allclose(first.w_out, start.w_out[:rows] + changes[0][0], rtol=1e-6, atol=1e-6)
    for name in Model._fields:
        np.testing.assert_array_equal(getattr(model, name)[rows:], getattr(start, name)[rows:])
    np.testing.assert_array_equal(model.w_in, start.w_in)


def test_sampled_bias_reads_the_private_biases():
    noise = build_noise("log_uniform", np.arange(12, 0, -1), 0.75)
    b_out = np.linspace(-1, 1, 12).astype(np.float32)
    private_b_out = b_out[:3] + np.float32(5)
    outputs = np.array([7, 0, 2, 9])
    shared_only, with_private = np.empty(4, np.float32), np.empty(4, np.float32)
    K.sampled_bias(noise, b_out, b_out[:0], outputs, 3, 3, False, shared_only)
    K.sampled_bias(noise, b_out, private_b_out, outputs, 3, 3, False, with_private)
    np.testing.assert_allclose(with_private - shared_only, [0, 5, 5, 0], atol=1e-5)


def test_alias_table_is_exact():
    probabilities = L.unigram_probabilities(np.array([50, 20, 20, 5, 3, 1, 1]), 0.75)
    accept, alias = alias_table(probabilities)
    n = len(probabilities)
    rebuilt = accept / n
    np.add.at(rebuilt, alias, (1 - accept) / n)
    np.testing.assert_allclose(rebuilt, probabilities, rtol=1e-12)


def test_packed_alias_table_keeps_the_distribution():
    probabilities = L.unigram_probabilities(np.array([50, 20, 20, 5, 3, 1, 1]), 0.75)
    accept, alias = alias_table(probabilities)
    packed = packed_alias_table(accept, alias)
    n = len(probabilities)
    kept = (packed >> np.uint64(32)).astype(np.float64) / 2.0 ** 32
    assert np.all(kept <= accept) and np.all(accept - kept <= 2.0 ** -32)
    np.testing.assert_array_equal(packed & np.uint64(0xFFFFFFFF), alias)
    rebuilt = kept / n
    np.add.at(rebuilt, alias, (1 - kept) / n)
    np.testing.assert_allclose(rebuilt, probabilities, rtol=1e-8)


@pytest.mark.parametrize("sampler", ["log_uniform", "unigram", "uniform"])
def test_kernel_draws_follow_the_distribution(sampler):
    stats = pytest.importorskip("scipy.stats")
    counts = np.arange(40, 0, -1) ** 2
    noise = build_noise(sampler, counts, 0.75)
    rng = np.array([12345], dtype=np.uint64)
    draws = np.array([K.draw(noise, rng) for _ in range(100_000)])
    observed = np.bincount(draws, minlength=40)
    assert stats.chisquare(observed, noise.probs * draws.size).pvalue > 1e-3


def test_unique_draws_and_their_expected_counts():
    noise = build_noise("log_uniform", np.ones(30, dtype=np.int64))
    rng = np.array([99], dtype=np.uint64)
    stamp = np.zeros(30, dtype=np.int64)
    out = np.empty(10, dtype=np.int64)
    for batch in range(1, 50):
        tries = K.draw_unique(noise, 10, rng, stamp, batch, out, 0)
        assert len(set(out.tolist())) == 10 and tries >= 10
        for k in out:
            expected = L.expected_counts(noise.probs[k], tries, 10)
            assert K.log_expected_count(noise, k, tries, 10) == pytest.approx(math.log(expected), rel=1e-12)
