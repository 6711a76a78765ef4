"""TensorFlow's sampled losses and candidate samplers in plain NumPy: the specification the Numba kernels
are tested against, usable on its own by anyone who wants `tf.nn.nce_loss` without TensorFlow.

Semantics follow tensorflow/python/ops/nn_impl.py (`_compute_sampled_logits`, `nce_loss`,
`sampled_softmax_loss`) and tensorflow/core/kernels/range_sampler.cc; see ../shared/spec/tf-sampled-losses.md.
Losses are per example (shape [batch]); `*_grad` return the gradients of their sum. Everything is
computed in the dtype of `inputs` (float32 or float64).
"""
import numpy as np

from .structs import FLT_MAX



# ----------------------------------------------------------------------------------------------------
# Candidate samplers


def log_uniform_probabilities(range_max):
    """P(k) = (log(k + 2) - log(k + 1)) / log(range_max + 1), k = 0 .. range_max - 1."""
    k = np.arange(range_max, dtype=np.float64)
    return np.log1p(1.0 / (k + 1.0)) / np.log(range_max + 1.0)


def unigram_probabilities(unigrams, distortion=0.75):
    """P(k) proportional to unigrams[k] ** distortion (word2vec C uses 0.75, fastText 0.5)."""
    weights = np.asarray(unigrams, dtype=np.float64) ** distortion
    return weights / weights.sum()


def expected_counts(probabilities, num_tries, num_sampled):
    """TF's ExpectedCountHelper: S * P(k) when no draw was rejected, else 1 - (1 - P(k))^num_tries."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if num_tries == num_sampled:
        return num_sampled * probabilities
    return -np.expm1(num_tries * np.log1p(-probabilities))


def _draw(draw_one, probabilities, true_classes, num_true, num_sampled, unique, range_max, seed):
    true_classes = _check_labels(true_classes, num_true, range_max, "true_classes")
    _check_positive_int(num_sampled, "num_sampled")
    if unique and num_sampled > range_max:
        raise ValueError(f"num_sampled={num_sampled} exceeds range_max={range_max} with unique=True")
    rng = np.random.default_rng(seed)
    if not unique:
        sampled = np.array([draw_one(rng) for _ in range(num_sampled)], dtype=np.int64)
        num_tries = num_sampled
    else:
        sampled, seen, num_tries = [], set(), 0
        while len(sampled) < num_sampled:
            k = draw_one(rng)
            num_tries += 1
            if k not in seen:
                seen.add(k)
                sampled.append(k)
        sampled = np.array(sampled, dtype=np.int64)
    true_expected = expected_counts(probabilities[true_classes], num_tries, num_sampled).astype(np.float32)
    sampled_expected = expected_counts(probabilities[sampled], num_tries, num_sampled).astype(np.float32)
    return sampled, true_expected, sampled_expected


def log_uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max, seed=None):
    """TF's log-uniform (Zipfian) sampler. Returns (sampled_candidates [S] int64,
    true_expected_count [batch, num_true] float32, sampled_expected_count [S] float32)."""
    _check_positive_int(range_max, "range_max")
    log_range = np.log(range_max + 1.0)

    def draw_one(rng):
        return (int(np.floor(np.exp(rng.random() * log_range))) - 1) % range_max

    return _draw(draw_one, log_uniform_probabilities(range_max), true_classes, num_true, num_sampled, unique,
                 range_max, seed)


def uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max, seed=None):
    """TF's uniform sampler over [0, range_max); same returns as log_uniform_candidate_sampler."""
    _check_positive_int(range_max, "range_max")
    return _draw(lambda rng: int(rng.integers(range_max)), np.full(range_max, 1.0 / range_max), true_classes,
                 num_true, num_sampled, unique, range_max, seed)


def unigram_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max, unigrams, distortion=0.75,
                              seed=None):
    """Sampler with P(k) proportional to unigrams[k] ** distortion (TF's fixed_unigram_candidate_sampler);
    same returns as log_uniform_candidate_sampler."""
    _check_positive_int(range_max, "range_max")
    unigrams = np.asarray(unigrams, dtype=np.float64)
    if unigrams.shape != (range_max,):
        raise ValueError(f"unigrams must have range_max={range_max} entries, got shape {unigrams.shape}")
    if np.any(unigrams < 0) or not np.any(unigrams > 0) or not np.all(np.isfinite(unigrams)):
        raise ValueError("unigrams must be finite, non-negative and not all zero")
    probabilities = unigram_probabilities(unigrams, distortion)
    cumulative = np.cumsum(probabilities)

    def draw_one(rng):
        return min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")), range_max - 1)

    return _draw(draw_one, probabilities, true_classes, num_true, num_sampled, unique, range_max, seed)


# ----------------------------------------------------------------------------------------------------
# Sampled logits, shared by both losses


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_labels(labels, num_true, num_classes, name="labels"):
    _check_positive_int(num_true, "num_true")
    labels = np.asarray(labels)
    if labels.ndim == 1 and num_true == 1:
        labels = labels[:, None]
    if labels.ndim != 2 or labels.shape[1] != num_true:
        raise ValueError(f"{name} must have shape [batch, num_true={num_true}], got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{name} must lie in [0, num_classes={num_classes}), got values "
                         f"{labels.min()}..{labels.max()}")
    return labels.astype(np.int64)


class _SampledLogits:
    """Logits [B, T + S] (true columns first), targets, hit mask [B, S] and the ids behind each column."""

    def __init__(self, weights, biases, labels, inputs, num_sampled, num_classes, num_true, sampled_values,
                 remove_accidental_hits, seed):
        inputs = np.asarray(inputs)
        if inputs.ndim != 2 or not np.issubdtype(inputs.dtype, np.floating):
            raise ValueError(f"inputs must be a float array [batch, dim], got shape {inputs.shape} "
                             f"dtype {inputs.dtype}")
        dtype = inputs.dtype
        weights = np.asarray(weights, dtype=dtype)
        biases = np.asarray(biases, dtype=dtype)
        _check_positive_int(num_classes, "num_classes")
        _check_positive_int(num_sampled, "num_sampled")
        if weights.ndim != 2 or weights.shape[1] != inputs.shape[1] or weights.shape[0] < num_classes:
            raise ValueError(f"weights must have shape [num_classes={num_classes}, dim={inputs.shape[1]}], "
                             f"got {weights.shape}")
        if biases.shape != (weights.shape[0],):
            raise ValueError(f"biases must have shape [{weights.shape[0]}], got {biases.shape}")
        labels = _check_labels(labels, num_true, num_classes)
        if labels.shape[0] != inputs.shape[0]:
            raise ValueError(f"labels has {labels.shape[0]} rows but inputs has {inputs.shape[0]}")
        if sampled_values is None:
            sampled_values = log_uniform_candidate_sampler(labels, num_true, num_sampled, True, num_classes, seed)
        sampled, true_expected, sampled_expected = _check_sampled_values(
            sampled_values, num_sampled, num_classes, labels.shape)
        batch = inputs.shape[0]

        true_logits = np.einsum("bd,btd->bt", inputs, weights[labels]) + biases[labels]
        sampled_logits = inputs @ weights[sampled].T + biases[sampled]
        # A hit is a sampled id equal to one of the row's labels; an id repeated in `sampled` maps to
        # its last position (TF builds the id -> position map walking forward), and only that copy is
        # masked. The masked logit is set to -FLT_MAX (assigned, not added twice).
        self.hits = np.zeros((batch, num_sampled), dtype=bool)
        if remove_accidental_hits:
            last_position = {int(s): m for m, s in enumerate(sampled)}
            for i in range(batch):
                for label in set(labels[i].tolist()):
                    if label in last_position:
                        self.hits[i, last_position[label]] = True
            sampled_logits = np.where(self.hits, sampled_logits + dtype.type(-FLT_MAX), sampled_logits)
        true_logits = true_logits - np.log(true_expected.astype(dtype))
        sampled_logits = sampled_logits - np.log(sampled_expected.astype(dtype))
        self.logits = np.concatenate([true_logits, sampled_logits], axis=1).astype(dtype)
        self.targets = np.concatenate([np.full((batch, num_true), 1.0 / num_true, dtype=dtype),
                                       np.zeros((batch, num_sampled), dtype=dtype)], axis=1)
        self.labels, self.sampled, self.num_true = labels, sampled, num_true
        self.weights, self.inputs = weights, inputs

    def gradients(self, g):
        """Chain dL/dlogits [B, T + S] to (d_weights, d_biases, d_inputs)."""
        g_true, g_sampled = g[:, : self.num_true], g[:, self.num_true:]
        weights, inputs = self.weights, self.inputs
        d_inputs = np.einsum("bt,btd->bd", g_true, weights[self.labels]) + g_sampled @ weights[self.sampled]
        d_weights = np.zeros_like(weights)
        d_biases = np.zeros(weights.shape[0], dtype=weights.dtype)
        np.add.at(d_weights, self.labels, g_true[:, :, None] * inputs[:, None, :])
        np.add.at(d_biases, self.labels, g_true)
        np.add.at(d_weights, self.sampled, g_sampled.T @ inputs)
        np.add.at(d_biases, self.sampled, g_sampled.sum(axis=0))
        return d_weights, d_biases, d_inputs


def _check_sampled_values(sampled_values, num_sampled, num_classes, labels_shape):
    try:
        sampled, true_expected, sampled_expected = sampled_values
    except (TypeError, ValueError):
        raise ValueError("sampled_values must be a triple (sampled_candidates, true_expected_count, "
                         "sampled_expected_count)") from None
    sampled = np.asarray(sampled)
    if sampled.shape != (num_sampled,) or not np.issubdtype(sampled.dtype, np.integer):
        raise ValueError(f"sampled_candidates must be {num_sampled} integers, got shape {sampled.shape} "
                         f"dtype {sampled.dtype}")
    if sampled.min() < 0 or sampled.max() >= num_classes:
        raise ValueError(f"sampled_candidates must lie in [0, num_classes={num_classes})")
    true_expected = np.asarray(true_expected)
    if true_expected.shape == labels_shape[:1] and labels_shape[1] == 1:
        true_expected = true_expected[:, None]
    if true_expected.shape != labels_shape:
        raise ValueError(f"true_expected_count must have shape {list(labels_shape)}, got {true_expected.shape}")
    sampled_expected = np.asarray(sampled_expected)
    if sampled_expected.shape != (num_sampled,):
        raise ValueError(f"sampled_expected_count must have shape [{num_sampled}], got {sampled_expected.shape}")
    if not (np.all(true_expected > 0) and np.all(sampled_expected > 0)):
        raise ValueError("expected counts must be positive (their log is subtracted from the logits)")
    return sampled.astype(np.int64), true_expected, sampled_expected


# ----------------------------------------------------------------------------------------------------
# Stable elementwise pieces


def softplus(x):
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def sigmoid_cross_entropy(logits, targets):
    """TF's sigmoid_cross_entropy_with_logits: max(x, 0) - x z + log1p(exp(-|x|))."""
    return np.maximum(logits, 0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))


def sigmoid(x):
    """1 / (1 + exp(-x)) that neither overflows nor loses the tails."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def logsumexp(x):
    """log(sum(exp(x))) along the last axis, with the row max subtracted."""
    top = np.max(x, axis=-1, keepdims=True)
    return (top + np.log(np.sum(np.exp(x - top), axis=-1, keepdims=True)))[..., 0]


def softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(logits, targets):
    """TF's softmax_cross_entropy_with_logits: sum_c z_c (logsumexp(x) - x_c)."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    log_norm = np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    return np.sum(targets * (log_norm - shifted), axis=-1)


# ----------------------------------------------------------------------------------------------------
# The losses


def nce_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1, sampled_values=None,
             remove_accidental_hits=False, seed=None):
    """tf.nn.nce_loss: sigmoid cross-entropy on the true and sampled logits, summed per example. [batch]"""
    s = _SampledLogits(weights, biases, labels, inputs, num_sampled, num_classes, num_true, sampled_values,
                       remove_accidental_hits, seed)
    return sigmoid_cross_entropy(s.logits, s.targets).sum(axis=1)


def nce_loss_grad(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1, sampled_values=None,
                  remove_accidental_hits=False, seed=None):
    """Gradients of sum(nce_loss(...)): (d_weights [num_classes, dim], d_biases [num_classes], d_inputs)."""
    s = _SampledLogits(weights, biases, labels, inputs, num_sampled, num_classes, num_true, sampled_values,
                       remove_accidental_hits, seed)
    return s.gradients(sigmoid(s.logits) - s.targets)


def sampled_softmax_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1,
                         sampled_values=None, remove_accidental_hits=True, seed=None):
    """tf.nn.sampled_softmax_loss: softmax cross-entropy over the true and sampled logits. [batch]"""
    s = _SampledLogits(weights, biases, labels, inputs, num_sampled, num_classes, num_true, sampled_values,
                       remove_accidental_hits, seed)
    return softmax_cross_entropy(s.logits, s.targets)


def sampled_softmax_loss_grad(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1,
                              sampled_values=None, remove_accidental_hits=True, seed=None):
    """Gradients of sum(sampled_softmax_loss(...)): (d_weights, d_biases, d_inputs)."""
    s = _SampledLogits(weights, biases, labels, inputs, num_sampled, num_classes, num_true, sampled_values,
                       remove_accidental_hits, seed)
    return s.gradients(softmax(s.logits) - s.targets)


def _full_logits_and_targets(weights, biases, labels, inputs, num_true):
    inputs = np.asarray(inputs)
    weights = np.asarray(weights, dtype=inputs.dtype)
    labels = _check_labels(labels, num_true, weights.shape[0])
    logits = inputs @ weights.T + np.asarray(biases, dtype=inputs.dtype)
    targets = np.zeros_like(logits)
    np.add.at(targets, (np.arange(labels.shape[0])[:, None], labels), 1.0 / num_true)
    return logits, targets


def full_softmax_loss(weights, biases, labels, inputs, num_true=1):
    """Evaluation loss: softmax cross-entropy over all classes (targets 1/num_true on each label). [batch]"""
    logits, targets = _full_logits_and_targets(weights, biases, labels, inputs, num_true)
    return softmax_cross_entropy(logits, targets)


def full_sigmoid_loss(weights, biases, labels, inputs, num_true=1):
    """Evaluation loss: sigmoid cross-entropy on every class, summed per example (what nce_loss
    estimates; targets 1/num_true on each label). [batch]"""
    logits, targets = _full_logits_and_targets(weights, biases, labels, inputs, num_true)
    return sigmoid_cross_entropy(logits, targets).sum(axis=1)


def sgns_loss(input_vector, output_weights, target, negatives):
    """word2vec C's skip-gram negative-sampling loss of one pair (no biases, no log-Q):
    -log sigmoid(x . w[target]) - sum_k log sigmoid(-x . w[negatives[k]]); negatives equal to the
    target are skipped, as word2vec C does."""
    x, w = np.asarray(input_vector), np.asarray(output_weights)
    kept = [k for k in np.asarray(negatives).tolist() if k != target]
    return float(softplus(-(w[target] @ x)) + sum(softplus(w[k] @ x) for k in kept))


def sgns_loss_grad(input_vector, output_weights, target, negatives):
    """Gradients of sgns_loss: (d_output_weights [V, D] dense, d_input_vector [D])."""
    x, w = np.asarray(input_vector), np.asarray(output_weights)
    d_w = np.zeros_like(w)
    g = sigmoid(w[target] @ x) - 1.0
    d_x = g * w[target]
    d_w[target] += g * x
    for k in np.asarray(negatives).tolist():
        if k == target:
            continue
        g = sigmoid(w[k] @ x)
        d_x = d_x + g * w[k]
        d_w[k] += g * x
    return d_w, d_x
