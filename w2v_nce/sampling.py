"""Candidate distributions for the trainer, in NumPy: probabilities and the alias table for O(1) draws."""
import numpy as np

from .structs import SAMPLER_LOG_UNIFORM, SAMPLER_UNIFORM, SAMPLER_UNIGRAM, Noise
from .losses import log_uniform_probabilities, unigram_probabilities

SAMPLER_CODES = {"log_uniform": SAMPLER_LOG_UNIFORM, "unigram": SAMPLER_UNIGRAM, "uniform": SAMPLER_UNIFORM}


def alias_table(probabilities):
    """Vose's alias method: draw slot = floor(u * n); keep it if frac(u * n) < accept[slot], else take
    alias[slot]. Returns (accept float64 [n], alias int64 [n]); exact up to float rounding."""
    n = probabilities.shape[0]
    scaled = probabilities * n / probabilities.sum()
    accept = np.ones(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int64)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        accept[s] = scaled[s]
        alias[s] = g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return accept, alias  # leftovers keep accept = 1 (their scaled value is 1 up to rounding)


def build_noise(sampler, counts, distortion=0.75):
    """The Noise tuple the kernels draw from, for `sampler` over a vocabulary with these counts."""
    n = counts.shape[0]
    if sampler == "log_uniform":
        probabilities = log_uniform_probabilities(n)
    elif sampler == "uniform":
        probabilities = np.full(n, 1.0 / n)
    else:
        probabilities = unigram_probabilities(counts, distortion)
    if sampler == "unigram":
        accept, alias = alias_table(probabilities)
    else:
        accept, alias = np.ones(n), np.arange(n, dtype=np.int64)
    return Noise(SAMPLER_CODES[sampler], probabilities, np.log(probabilities), np.log1p(-probabilities), accept, alias)
