"""Candidate distributions for the trainer, in NumPy: probabilities and the alias table for O(1) draws."""
import numpy as np

from .structs import ALIAS_MASK, SAMPLER_LOG_UNIFORM, SAMPLER_UNIFORM, SAMPLER_UNIGRAM, Noise
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


def packed_alias_table(accept, alias):
    """The alias table as the kernels read it (structs.Noise): floor(accept * 2^32) in the high 32 bits of
    each slot, its alias in the low 32. A slot with accept = 1 is its own alias, so the threshold's cap at
    2^32 - 1 changes nothing; elsewhere each acceptance is rounded down by less than 2^-32."""
    if alias.shape[0] > ALIAS_MASK + 1:
        raise ValueError(f"an alias table holds at most {ALIAS_MASK + 1} words")
    threshold = np.minimum(np.floor(accept * 2.0 ** 32), ALIAS_MASK).astype(np.uint64)
    return (threshold << np.uint64(32)) | alias.astype(np.uint64)


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
        alias = packed_alias_table(*alias_table(probabilities))
    else:  # drawn in closed form
        alias = np.zeros(0, dtype=np.uint64)
    return Noise(SAMPLER_CODES[sampler], probabilities, np.log(probabilities), np.log1p(-probabilities), alias)
