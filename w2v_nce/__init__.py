"""w2v-nce: word2vec skip-gram with TensorFlow-exact NCE and sampled softmax, in Numba."""
from .api import pairs, prepare
from .corpus import CorpusSettings, EncodedCorpus
from .errors import W2VError
from .vocab import Vocab

__all__ = ["CorpusSettings", "EncodedCorpus", "Vocab", "W2VError", "pairs", "prepare"]
