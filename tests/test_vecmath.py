"""The vectorizable float32 exp, log and log1p against float64 NumPy."""
import numpy as np
import pytest
from numba import njit

from w2v_nce.vecmath import exp32, log1p32, log32

FLT_MAX = np.finfo(np.float32).max


def vectorized(function):
    @njit
    def apply(values):
        out = np.empty(values.shape[0], dtype=np.float32)
        for i in range(values.shape[0]):
            out[i] = function(values[i])
        return out
    return apply


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
