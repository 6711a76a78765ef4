"""w2v_nce.losses against TensorFlow (a recorded fixture), finite differences, hand computations."""
import os

import numpy as np
import pytest

from w2v_nce import losses as L

FIXTURE = os.path.join(os.path.dirname(__file__), "data", "tf_sampled_losses.npz")
LOSSES = {"nce": (L.nce_loss, L.nce_loss_grad), "sampled_softmax": (L.sampled_softmax_loss, L.sampled_softmax_loss_grad)}


def fixture_cases():
    data = np.load(FIXTURE)
    for n in range(int(data["count"])):
        yield {key[5:]: data[key] for key in data.files if key.startswith(f"c{n:03d}_")}


def test_matches_tensorflow_on_recorded_cases():
    """scripts/make_tf_fixtures.py recorded TF 2.21's losses and gradients on 240 cases."""
    checked = 0
    for case in fixture_cases():
        loss_fn, grad_fn = LOSSES[str(case["loss_name"])]
        args = (case["weights"], case["biases"], case["labels"], case["inputs"], int(case["num_sampled"]),
                int(case["num_classes"]))
        kwargs = dict(num_true=int(case["num_true"]), remove_accidental_hits=bool(case["remove_hits"]),
                      sampled_values=(case["sampled"], case["true_expected"], case["sampled_expected"]))
        np.testing.assert_allclose(loss_fn(*args, **kwargs), case["tf_loss"], rtol=1e-6, atol=1e-12)
        for ours, theirs in zip(grad_fn(*args, **kwargs), (case["tf_dw"], case["tf_db"], case["tf_dx"])):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)
        checked += 1
    assert checked == 240


def random_case(rng, num_true, num_sampled=6, classes=9, batch=4, dim=3, unique=False, force_hit=True):
    weights = rng.normal(size=(classes, dim))
    biases = rng.normal(size=classes)
    inputs = rng.normal(size=(batch, dim))
    labels = rng.integers(0, classes, size=(batch, num_true))
    if unique:
        sampled = rng.permutation(classes)[:num_sampled]
    else:
        sampled = rng.integers(0, classes, size=num_sampled)
        sampled[-1] = sampled[0]  # a repeated id
    if force_hit:
        sampled[1] = labels[0, 0]
    values = (sampled, rng.uniform(0.1, 2, size=(batch, num_true)), rng.uniform(0.1, 2, size=num_sampled))
    return weights, biases, labels, inputs, values


def numeric_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        up = f()
        x[index] = old - eps
        down = f()
        x[index] = old
        grad[index] = (up - down) / (2 * eps)
    return grad


@pytest.mark.parametrize("loss_name", ["nce", "sampled_softmax"])
@pytest.mark.parametrize("num_true", [1, 2, 3])
@pytest.mark.parametrize("remove_hits", [False, True])
@pytest.mark.parametrize("unique", [False, True])
def test_gradients_match_finite_differences(loss_name, num_true, remove_hits, unique):
    rng = np.random.default_rng(num_true * 10 + remove_hits + 2 * unique)
    weights, biases, labels, inputs, values = random_case(rng, num_true, unique=unique)
    loss_fn, grad_fn = LOSSES[loss_name]

    def total():
        return loss_fn(weights, biases, labels, inputs, 6, 9, num_true=num_true, sampled_values=values,
                       remove_accidental_hits=remove_hits).sum()

    d_weights, d_biases, d_inputs = grad_fn(weights, biases, labels, inputs, 6, 9, num_true=num_true,
                                            sampled_values=values, remove_accidental_hits=remove_hits)
    for analytic, variable in ((d_weights, weights), (d_biases, biases), (d_inputs, inputs)):
        np.testing.assert_allclose(analytic, numeric_gradient(total, variable), rtol=1e-5, atol=1e-7)


def test_hand_computed_tiny_case():
    weights = np.array([[1.0], [2.0], [3.0]])
    biases = np.array([0.0, 0.5, -1.0])
    inputs = np.array([[1.0]])
    values = (np.array([1, 2]), np.array([[1.0]]), np.array([1.0, np.e]))  # log Q = 0, 0, 1
    t, u1, u2 = 1.0, 2.5, 3.0 - 1.0 - 1.0
    sp = lambda x: np.log1p(np.exp(x))
    nce = L.nce_loss(weights, biases, [[0]], inputs, 2, 3, sampled_values=values)
    assert nce == pytest.approx([sp(t) - t + sp(u1) + sp(u2)], rel=1e-12)
    softmax = L.sampled_softmax_loss(weights, biases, [[0]], inputs, 2, 3, sampled_values=values)
    assert softmax == pytest.approx([np.log(np.exp(t) + np.exp(u1) + np.exp(u2)) - t], rel=1e-12)


def test_accidental_hit_of_a_repeated_id_masks_only_its_last_copy():
    weights = np.array([[0.3], [0.7], [-0.2]])
    biases = np.zeros(3)
    inputs = np.array([[2.0]])
    values = (np.array([1, 0, 1]), np.array([[1.0]]), np.ones(3))
    masked = L.nce_loss(weights, biases, [[1]], inputs, 3, 3, sampled_values=values, remove_accidental_hits=True)
    sp = lambda x: np.log1p(np.exp(x))
    t, u0 = 1.4, 0.6
    assert masked == pytest.approx([sp(t) - t + sp(t) + sp(u0)], rel=1e-12)  # first copy of 1 stays


def test_sampled_softmax_over_every_class_without_correction_is_full_softmax():
    rng = np.random.default_rng(1)
    weights, biases, inputs = rng.normal(size=(7, 4)), rng.normal(size=7), rng.normal(size=(5, 4))
    labels = rng.integers(0, 7, size=(5, 1))
    values = (np.arange(7), np.ones((5, 1)), np.ones(7))  # Q = 1: log Q = 0
    sampled = L.sampled_softmax_loss(weights, biases, labels, inputs, 7, 7, sampled_values=values)
    np.testing.assert_allclose(sampled, L.full_softmax_loss(weights, biases, labels, inputs), rtol=1e-12)


def test_nce_with_one_true_class_is_a_sum_of_binary_cross_entropies():
    rng = np.random.default_rng(2)
    weights, biases, inputs = rng.normal(size=(8, 3)), rng.normal(size=8), rng.normal(size=(4, 3))
    labels = rng.integers(0, 8, size=(4, 1))
    sampled, q_true, q_sampled = np.array([5, 1, 6]), rng.uniform(0.2, 1, (4, 1)), rng.uniform(0.2, 1, 3)
    true_logit = np.sum(inputs * weights[labels[:, 0]], axis=1) + biases[labels[:, 0]] - np.log(q_true[:, 0])
    sampled_logit = inputs @ weights[sampled].T + biases[sampled] - np.log(q_sampled)
    expected = -np.log(1 / (1 + np.exp(-true_logit))) - np.sum(np.log(1 - 1 / (1 + np.exp(-sampled_logit))), axis=1)
    got = L.nce_loss(weights, biases, labels, inputs, 3, 8, sampled_values=(sampled, q_true, q_sampled))
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("loss_name", ["nce", "sampled_softmax"])
def test_float32_matches_float64_to_float32_precision(loss_name):
    rng = np.random.default_rng(3)
    weights, biases, labels, inputs, values = random_case(rng, 2)
    loss_fn, grad_fn = LOSSES[loss_name]
    kwargs = dict(num_true=2, sampled_values=values, remove_accidental_hits=True)
    cast = lambda *xs: [x.astype(np.float32) for x in xs]
    w32, b32, x32 = cast(weights, biases, inputs)
    loss32 = loss_fn(w32, b32, labels, x32, 6, 9, **kwargs)
    assert loss32.dtype == np.float32
    loss64 = loss_fn(*[a.astype(np.float64) for a in (w32, b32)], labels, x32.astype(np.float64), 6, 9, **kwargs)
    np.testing.assert_allclose(loss32, loss64, rtol=2e-6)
    for g32, g64 in zip(grad_fn(w32, b32, labels, x32, 6, 9, **kwargs),
                        grad_fn(w32.astype(np.float64), b32.astype(np.float64), labels, x32.astype(np.float64), 6,
                                9, **kwargs)):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_masked_column_contributes_exactly_nothing(dtype):
    """A hit's logit is -FLT_MAX: the loss and gradients equal those without that column at all."""
    weights = np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]], dtype=dtype)
    biases = np.array([0.1, -0.2, 0.3], dtype=dtype)
    inputs = np.array([[1.0, 2.0]], dtype=dtype)
    with_hit = (np.array([2, 0]), np.array([[0.5]]), np.array([0.25, 0.5]))
    without = (np.array([2]), np.array([[0.5]]), np.array([0.25]))
    for loss_fn, grad_fn in LOSSES.values():
        hit = loss_fn(weights, biases, [[0]], inputs, 2, 3, sampled_values=with_hit, remove_accidental_hits=True)
        ref = loss_fn(weights, biases, [[0]], inputs, 1, 3, sampled_values=without, remove_accidental_hits=True)
        assert np.all(np.isfinite(hit)) and hit.tolist() == ref.tolist()
        for a, b in zip(grad_fn(weights, biases, [[0]], inputs, 2, 3, sampled_values=with_hit,
                                remove_accidental_hits=True),
                        grad_fn(weights, biases, [[0]], inputs, 1, 3, sampled_values=without,
                                remove_accidental_hits=True)):
            assert np.array_equal(a, b)


def test_evaluation_losses():
    rng = np.random.default_rng(4)
    weights, biases, inputs = rng.normal(size=(6, 3)), rng.normal(size=6), rng.normal(size=(2, 3))
    logits = inputs @ weights.T + biases
    labels = np.array([[1], [4]])
    softmax = -np.log(np.exp(logits[[0, 1], [1, 4]]) / np.exp(logits).sum(axis=1))
    np.testing.assert_allclose(L.full_softmax_loss(weights, biases, labels, inputs), softmax, rtol=1e-12)
    targets = np.zeros_like(logits)
    targets[[0, 1], [1, 4]] = 1
    p = 1 / (1 + np.exp(-logits))
    sigmoid = -(targets * np.log(p) + (1 - targets) * np.log(1 - p)).sum(axis=1)
    np.testing.assert_allclose(L.full_sigmoid_loss(weights, biases, labels, inputs), sigmoid, rtol=1e-10)


def test_stable_functions_at_extreme_logits():
    x = np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4, -3.4e38])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(L.softplus(x)[2:5], np.log1p(np.exp(x[2:5])), rtol=1e-12)
        assert L.softplus(x)[5] == 800.0
        assert L.softplus(x)[0] == 0.0 and L.softplus(x)[-1] == 0.0 and L.softplus(x)[-2] == 1e4
        assert L.sigmoid(x).tolist()[0] == 0.0 and L.sigmoid(x).tolist()[-2] == 1.0
        assert L.logsumexp(np.array([1e4, 1e4])) == pytest.approx(1e4 + np.log(2))


# ---------------------------------------------------------------------------------------------------
# Samplers


def chi_square_p_value(counts, expected):
    stats = pytest.importorskip("scipy.stats")
    return stats.chisquare(counts, expected).pvalue


def test_log_uniform_probabilities_sum_to_one_and_match_the_formula():
    p = L.log_uniform_probabilities(1000)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    k = np.arange(1000)
    np.testing.assert_allclose(p, (np.log(k + 2) - np.log(k + 1)) / np.log(1001), rtol=1e-12)


@pytest.mark.parametrize("name", ["log_uniform", "uniform", "unigram"])
def test_sampler_histogram_matches_its_distribution(name):
    range_max, num_sampled, draws = 20, 50, 400
    unigrams = np.arange(1, range_max + 1)[::-1] ** 2
    probabilities = {"log_uniform": L.log_uniform_probabilities(range_max),
                     "uniform": np.full(range_max, 1 / range_max),
                     "unigram": L.unigram_probabilities(unigrams, 0.75)}[name]
    counts = np.zeros(range_max)
    for seed in range(draws):
        sampled, _, _ = sample(name, [[0]], num_sampled, False, range_max, unigrams, seed)
        counts += np.bincount(sampled, minlength=range_max)
    assert chi_square_p_value(counts, probabilities * counts.sum()) > 1e-3


def sample(name, true_classes, num_sampled, unique, range_max, unigrams, seed):
    if name == "unigram":
        return L.unigram_candidate_sampler(true_classes, 1, num_sampled, unique, range_max, unigrams, 0.75, seed=seed)
    fn = L.log_uniform_candidate_sampler if name == "log_uniform" else L.uniform_candidate_sampler
    return fn(true_classes, 1, num_sampled, unique, range_max, seed=seed)


@pytest.mark.parametrize("name", ["log_uniform", "uniform", "unigram"])
def test_unique_draws_are_distinct_and_counts_follow_num_tries(name):
    range_max = 30
    unigrams = np.arange(1, range_max + 1)[::-1]
    probabilities = {"log_uniform": L.log_uniform_probabilities(range_max),
                     "uniform": np.full(range_max, 1 / range_max),
                     "unigram": L.unigram_probabilities(unigrams, 0.75)}[name]
    saw_rejections = False
    for seed in range(30):
        true = np.array([[0], [7]])
        sampled, true_expected, sampled_expected = sample(name, true, 10, True, range_max, unigrams, seed)
        assert len(set(sampled.tolist())) == 10 and sampled.dtype == np.int64
        assert true_expected.shape == (2, 1) and true_expected.dtype == np.float32
        # Recover num_tries from one expected count and check every count agrees with it.
        if np.allclose(sampled_expected, 10 * probabilities[sampled], rtol=1e-6):
            tries = 10
        else:
            k = sampled[0]
            tries = round(np.log1p(-float(sampled_expected[0])) / np.log1p(-probabilities[k]))
            assert tries > 10
            saw_rejections = True
        np.testing.assert_allclose(sampled_expected, L.expected_counts(probabilities[sampled], tries, 10), rtol=1e-5)
        np.testing.assert_allclose(true_expected[:, 0], L.expected_counts(probabilities[true[:, 0]], tries, 10),
                                   rtol=1e-5)
    assert saw_rejections


def test_unique_draws_in_first_drawn_order_and_seeded():
    a = L.log_uniform_candidate_sampler([[1]], 1, 5, True, 100, seed=7)
    b = L.log_uniform_candidate_sampler([[1]], 1, 5, True, 100, seed=7)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


def test_expected_count_rule():
    p = np.array([0.5, 0.1])
    np.testing.assert_allclose(L.expected_counts(p, 3, 3), [1.5, 0.3])
    np.testing.assert_allclose(L.expected_counts(p, 5, 3), [1 - 0.5 ** 5, 1 - 0.9 ** 5])


def test_bad_arguments_name_themselves():
    weights, biases, inputs = np.zeros((5, 2)), np.zeros(5), np.zeros((3, 2))
    labels = np.zeros((3, 1), dtype=int)
    with pytest.raises(ValueError, match="labels"):
        L.nce_loss(weights, biases, np.zeros((3, 2), dtype=int), inputs, 2, 5)
    with pytest.raises(ValueError, match="labels"):
        L.nce_loss(weights, biases, labels + 5, inputs, 2, 5)
    with pytest.raises(ValueError, match="weights"):
        L.nce_loss(np.zeros((5, 3)), biases, labels, inputs, 2, 5)
    with pytest.raises(ValueError, match="biases"):
        L.nce_loss(weights, np.zeros(4), labels, inputs, 2, 5)
    with pytest.raises(ValueError, match="num_sampled"):
        L.sampled_softmax_loss(weights, biases, labels, inputs, 0, 5)
    with pytest.raises(ValueError, match="sampled_candidates"):
        L.nce_loss(weights, biases, labels, inputs, 2, 5, sampled_values=([0, 9], np.ones((3, 1)), np.ones(2)))
    with pytest.raises(ValueError, match="range_max"):
        L.log_uniform_candidate_sampler(labels, 1, 6, True, 5)
    with pytest.raises(ValueError, match="expected counts must be positive"):
        L.nce_loss(weights, biases, labels, inputs, 2, 5, sampled_values=([0, 1], np.zeros((3, 1)), np.ones(2)))


def test_default_sampling_draws_log_uniform_unique_from_seed():
    rng = np.random.default_rng(5)
    weights, biases, inputs = rng.normal(size=(50, 3)), rng.normal(size=50), rng.normal(size=(4, 3))
    labels = rng.integers(0, 50, size=(4, 1))
    values = L.log_uniform_candidate_sampler(labels, 1, 8, True, 50, seed=11)
    np.testing.assert_array_equal(L.sampled_softmax_loss(weights, biases, labels, inputs, 8, 50, seed=11),
                                  L.sampled_softmax_loss(weights, biases, labels, inputs, 8, 50, sampled_values=values))


def test_sgns_reference_gradient():
    rng = np.random.default_rng(6)
    x, w = rng.normal(size=3), rng.normal(size=(6, 3))
    negatives = np.array([1, 2, 0, 4])  # 0 is the target: skipped
    d_w, d_x = L.sgns_loss_grad(x, w, 0, negatives)
    np.testing.assert_allclose(d_x, numeric_gradient(lambda: L.sgns_loss(x, w, 0, negatives), x), rtol=1e-6)
    np.testing.assert_allclose(d_w, numeric_gradient(lambda: L.sgns_loss(x, w, 0, negatives), w), rtol=1e-6,
                               atol=1e-9)
