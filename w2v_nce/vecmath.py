"""float32 exp, log and log1p that LLVM can vectorize, for the training kernels.

Numba turns math.exp into a libm call per value, which no loop vectorizes. These are the Cephes float32
polynomials (as Eigen's pexp and plog, which TensorFlow's float32 kernels use, are): a range reduction to
a small interval, a polynomial there, and the exponent put back with integer bit operations, all plain
arithmetic. Accuracy (tests/test_vecmath.py against float64 NumPy): exp32 within 2e-7 relative on
[-87, 88], exactly 0 below -87.33 (as float32 exp underflows there, so a masked logit of -FLT_MAX
contributes exactly nothing) and inf from about 88.7 (as float32 exp overflows; the kernels only take it
of values <= 0); log32 and log1p32 within 2e-7 absolute where the result is below 1 in magnitude, 2e-7
relative elsewhere.
"""
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

F = np.float32
_EXP_LOW, _EXP_HIGH = F(-87.33654), F(88.72283)
# Exact arithmetic apart from reassociation and contraction (lets loops vectorize); no "nnan"/"ninf", so
# a nan or inf goes on to where the trainer sees it and reports divergence.
FASTMATH = {"nsz", "arcp", "contract", "reassoc"}


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float32 whose bit pattern is the int32 `bits` (LLVM bitcast: free, vectorizable)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@intrinsic
def _bits_from_float(typingctx, value):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@njit(cache=True, inline="always", fastmath=FASTMATH)
def exp32(x):
    """e**x in float32 (see the module docstring for its range)."""
    clamped = min(max(x, _EXP_LOW), _EXP_HIGH)
    n = np.floor(clamped * F(1.44269504088896341) + F(0.5))
    r = clamped - n * F(0.693359375) + n * F(2.12194440e-4)  # x - n ln 2, in two parts
    p = F(1.9875691500e-4)
    p = p * r + F(1.3981999507e-3)
    p = p * r + F(8.3334519073e-3)
    p = p * r + F(4.1665795894e-2)
    p = p * r + F(1.6666665459e-1)
    p = p * r + F(5.0000001201e-1)
    p = p * r * r + r + F(1.0)
    value = p * _float_from_bits((np.int32(n) + np.int32(127)) << np.int32(23))
    return F(0.0) if x < _EXP_LOW else value


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _log_mantissa(m):
    """log(m) for m in [sqrt(1/2), sqrt(2)) (Cephes logf's polynomial)."""
    t = m - F(1.0)
    z = t * t
    y = F(7.0376836292e-2)
    y = y * t - F(1.1514610310e-1)
    y = y * t + F(1.1676998740e-1)
    y = y * t - F(1.2420140846e-1)
    y = y * t + F(1.4249322787e-1)
    y = y * t - F(1.6668057665e-1)
    y = y * t + F(2.0000714765e-1)
    y = y * t - F(2.4999993993e-1)
    y = y * t + F(3.3333331174e-1)
    return t + (y * t * z - F(0.5) * z)


@njit(cache=True, inline="always", fastmath=FASTMATH)
def log32(x):
    """Natural log of a positive, finite, normal float32."""
    bits = _bits_from_float(x)
    exponent = F((bits >> np.int32(23)) - np.int32(127))
    m = _float_from_bits((bits & np.int32(0x007FFFFF)) | np.int32(0x3F800000))  # in [1, 2)
    big = m > F(1.41421356)
    m = m * F(0.5) if big else m
    exponent = exponent + F(1.0) if big else exponent
    return _log_mantissa(m) + exponent * F(0.693147180559945)


@njit(cache=True, inline="always", fastmath=FASTMATH)
def log1p32(x):
    """log(1 + x) for x in [0, 1], accurate for small x too (the rounding of 1 + x is corrected)."""
    u = F(1.0) + x
    correction = (x - (u - F(1.0))) / u  # what 1 + x lost to rounding, to first order
    return log32(u) + correction
