"""The vectorizable float32 exp, log, log1p and sigmoid/softplus against float64 NumPy."""
import numpy as np
import pytest
from numba import njit

from w2v_nce import losses as L
from w2v_nce.vecmath import exp32, log1p32, log32, sigmoid_and_softplus32

FLT_MAX = np.finfo(np.float32).max


def vectorized(function):
    @njit
    def apply(values):
        out = np.empty(values.shape[0], dtype=np.float32)
        for i in range(values.shape[0]):
            out[i] = function(values[i])
        return out
    return apply


@njit
def sigmoids_and_softpluses(values):
    out = np.empty((2, values.shape[0]), dtype=np.float32)
    for i in range(values.shape[0]):
        out[0, i], out[1, i] = sigmoid_and_softplus32(values[i])
    return out


def test_exp32_is_within_2e_7_relative_and_underflows_to_exactly_zero():
    x = np.linspace(-87, 88, 1_000_001).astype(np.float32)
    got = vectorized(exp32)(x)
    expected = np.exp(x.astype(np.float64))
    assert np.max(np.abs(got - expected) / expected) < 2e-7
    assert vectorized(exp32)(np.array([-87.5, -1e4, -FLT_MAX], np.float32)).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("function,reference,values", [
    (log32, np.log, np.exp(np.linspace(-86, 87, 1_000_001))),
    (log1p32, np.log1p, np.concatenate([np.linspace(0, 1, 500_001), np.exp(np.linspace(-80, 0, 500_001))])),
])
def test_logs_are_within_2e_7(function, reference, values):
    values = values.astype(np.float32)
    got = vectorized(function)(values).astype(np.float64)
    expected = reference(values.astype(np.float64))
    error = np.abs(got - expected) / np.maximum(np.abs(expected), 1)  # absolute below 1, relative above
    assert error.max() < 2e-7


def test_sigmoid_and_softplus_at_extreme_logits():
    x = np.array([-FLT_MAX, -1e4, -100, -50, -1e-8, 0, 1e-8, 50, 100, 1e4, FLT_MAX], np.float32)
    probability, softplus_neg = sigmoids_and_softpluses(x)
    np.testing.assert_allclose(probability, L.sigmoid(x.astype(np.float64)), rtol=2e-7, atol=1e-38)
    np.testing.assert_allclose(softplus_neg, L.softplus(-x.astype(np.float64)), rtol=2e-7, atol=1e-38)
    assert np.all(np.isfinite(softplus_neg)) and np.all((0 <= probability) & (probability <= 1))
