"""The plain data the Numba kernels take and the rest of the package passes around: named tuples of arrays,
the integer codes of the losses and samplers, and two float constants. No Numba here, so importing a type
compiles nothing."""
from collections import namedtuple

LOSS_NCE, LOSS_SAMPLED_SOFTMAX, LOSS_NEG = 0, 1, 2
LOSS_CODES = {"nce": LOSS_NCE, "sampled_softmax": LOSS_SAMPLED_SOFTMAX, "neg": LOSS_NEG}
SAMPLER_LOG_UNIFORM, SAMPLER_UNIGRAM, SAMPLER_UNIFORM = 0, 1, 2

FLT_MAX = 3.4028234663852886e38  # the largest float32: a masked logit is -FLT_MAX, as in TensorFlow
UNIT_53 = 1.0 / 9007199254740992.0  # 2^-53: 53 random bits times this is a uniform double in [0, 1)

Model = namedtuple("Model", "w_in w_out b_out")              # float32 [V, D], [V, D], [V]
# A thread's own copy of the first R rows of w_out and b_out, and the same rows as of the last merge
PrivateRows = namedtuple("PrivateRows", "w_out b_out w_out_base b_out_base")  # float32 [R, D], [R], [R, D], [R]
# int32 [N], int64 [S + 1], float64 [V], uint8 [S] (1: sentence held out; empty when none is)
Text = namedtuple("Text", "ids offsets keep_prob held_out")
# kind, then float64 [V] arrays P(k), log P(k), log(1 - P(k)), and the alias table packed in uint64 [V]: a
# slot's acceptance threshold (times 2^32) in the high 32 bits, its alias in the low 32 (ALIAS_MASK); empty
# for the log-uniform and uniform samplers, which draw in closed form
Noise = namedtuple("Noise", "kind probs log_probs log1m_probs alias")
ALIAS_MASK = 0xFFFFFFFF
# max_contexts: the most contexts one centre can have, min(2 * window, longest sentence - 1), sizes the scratch
Settings = namedtuple("Settings", "loss window dynamic num_sampled remove_hits share_negatives seed epoch max_contexts")
