"""w2v-nce: word2vec skip-gram with TensorFlow-exact NCE and sampled softmax, in Numba."""
from . import datasets
from .api import evaluate, export, load_vectors, pairs, prepare, resume, save, train
from .config import TrainConfig, resolve
from .corpus import CorpusSettings, EncodedCorpus
from .embeddings import Embeddings
from .errors import W2VError, W2VWarning
from .modelfile import load_model
from .vocab import Vocab

__all__ = ["CorpusSettings", "datasets", "Embeddings", "EncodedCorpus", "TrainConfig", "Vocab", "W2VError", "W2VWarning",
           "evaluate", "export", "load_model", "load_vectors", "pairs", "prepare", "resolve", "resume", "save",
           "train"]
