"""Each Numba kernel against the NumPy reference (w2v_nce.losses) on small inputs."""
import math

import numpy as np
import pytest

from w2v_nce import kernels as K
from w2v_nce import losses as L
from w2v_nce.sampling import alias_table, build_noise


def test_stable_scalars_at_extreme_logits():
    for x in [-3.4e38, -1e4, -745.0, -50.0, -1e-8, 0.0, 1e-8, 50.0, 745.0, 1e4, 3.4e38]:
        probability, softplus_neg = K.sigmoid_softplus(x)
        assert probability == pytest.approx(float(L.sigmoid(np.array(x))), rel=1e-12, abs=1e-300)
        assert softplus_neg == pytest.approx(float(L.softplus(np.array(-x))), rel=1e-12, abs=1e-300)
        assert math.isfinite(softplus_neg) and 0.0 <= probability <= 1.0


def make_model(rng, classes=12, dim=5):
    return K.Model((rng.normal(size=(classes, dim)) * 0.5).astype(np.float32),
                   (rng.normal(size=(classes, dim)) * 0.5).astype(np.float32),
                   (rng.normal(size=classes) * 0.1).astype(np.float32))


def copy_model(model):
    return K.Model(*(a.copy() for a in model))


@pytest.mark.parametrize("loss_name,loss_code", [("nce", K.LOSS_NCE), ("sampled_softmax", K.LOSS_SAMPLED_SOFTMAX)])
@pytest.mark.parametrize("num_true", [1, 2])
@pytest.mark.parametrize("remove_hits", [False, True])
@pytest.mark.parametrize("unique", [False, True])
def test_step_sampled_is_one_sgd_step_of_the_reference(loss_name, loss_code, num_true, remove_hits, unique):
    rng = np.random.default_rng(100 * num_true + 10 * remove_hits + unique)
    classes, batch, num_sampled, lr = 12, 4, 5, 0.3
    model = make_model(rng, classes)
    input_ids = np.array([3, 7, 3, 0])  # a repeated input row accumulates
    labels = rng.integers(0, classes, size=(batch, num_true))
    labels[2, 0] = labels[0, 0]
    if unique:
        sampled = rng.permutation(classes)[:num_sampled]
    else:
        sampled = rng.integers(0, classes, size=num_sampled)
        sampled[3] = sampled[0]
    sampled[1] = labels[0, 0]  # an accidental hit
    q_true = rng.uniform(0.05, 1.5, size=(batch, num_true))
    q_sampled = rng.uniform(0.05, 1.5, size=num_sampled)

    inputs = model.w_in[input_ids].astype(np.float64)
    weights, biases = model.w_out.astype(np.float64), model.b_out.astype(np.float64)
    loss_fn = L.nce_loss if loss_name == "nce" else L.sampled_softmax_loss
    grad_fn = L.nce_loss_grad if loss_name == "nce" else L.sampled_softmax_loss_grad
    args = (weights, biases, labels, inputs, num_sampled, classes)
    kwargs = dict(num_true=num_true, sampled_values=(sampled, q_true, q_sampled), remove_accidental_hits=remove_hits)
    expected_loss = loss_fn(*args, **kwargs).sum()
    d_weights, d_biases, d_inputs = grad_fn(*args, **kwargs)
    expected_in = model.w_in.astype(np.float64)
    np.add.at(expected_in, input_ids, -lr * d_inputs)

    after = copy_model(model)
    width = num_true + num_sampled
    loss = K.step_sampled(loss_code, after, input_ids, labels, np.log(q_true), sampled, np.log(q_sampled),
                          remove_hits, lr, np.empty((batch, width)), np.empty((batch, 5), np.float32),
                          np.empty((num_sampled, 5), np.float32), np.empty(num_sampled, np.bool_))
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    np.testing.assert_allclose(after.w_out, weights - lr * d_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after.b_out, biases - lr * d_biases, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after.w_in, expected_in, rtol=1e-5, atol=1e-6)


def test_step_neg_is_one_sgd_step_of_the_reference():
    rng = np.random.default_rng(7)
    model = make_model(rng)
    lr, target = 0.2, 4
    negatives = np.array([1, 4, 9, 2])  # 4 is the target: skipped
    x = model.w_in[6].astype(np.float64)
    w = model.w_out.astype(np.float64)
    expected_loss = L.sgns_loss(x, w, target, negatives)
    d_w, d_x = L.sgns_loss_grad(x, w, target, negatives)
    after = copy_model(model)
    loss = K.step_neg(after, 6, target, negatives, lr, np.empty(5), np.empty(5, np.float32))
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    np.testing.assert_allclose(after.w_out, w - lr * d_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after.w_in[6], x - lr * d_x, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(after.b_out, model.b_out)  # neg has no biases


def test_alias_table_is_exact():
    probabilities = L.unigram_probabilities(np.array([50, 20, 20, 5, 3, 1, 1]), 0.75)
    accept, alias = alias_table(probabilities)
    n = len(probabilities)
    rebuilt = accept / n
    np.add.at(rebuilt, alias, (1 - accept) / n)
    np.testing.assert_allclose(rebuilt, probabilities, rtol=1e-12)


@pytest.mark.parametrize("sampler", ["log_uniform", "unigram", "uniform"])
def test_kernel_draws_follow_the_distribution(sampler):
    stats = pytest.importorskip("scipy.stats")
    counts = np.arange(40, 0, -1) ** 2
    noise = build_noise(sampler, counts, 0.75)
    rng = np.array([12345], dtype=np.uint64)
    draws = np.array([K.draw(noise, K.rng_uniform(rng)) for _ in range(100_000)])
    observed = np.bincount(draws, minlength=40)
    assert stats.chisquare(observed, noise.probs * draws.size).pvalue > 1e-3


def test_unique_draws_and_their_expected_counts():
    noise = build_noise("log_uniform", np.ones(30, dtype=np.int64))
    rng = np.array([99], dtype=np.uint64)
    stamp = np.zeros(30, dtype=np.int64)
    out = np.empty(10, dtype=np.int64)
    for batch in range(1, 50):
        tries = K.draw_unique(noise, 10, rng, stamp, batch, out)
        assert len(set(out.tolist())) == 10 and tries >= 10
        for k in out:
            expected = L.expected_counts(noise.probs[k], tries, 10)
            assert K.log_expected_count(noise, k, tries, 10) == pytest.approx(math.log(expected), rel=1e-12)
