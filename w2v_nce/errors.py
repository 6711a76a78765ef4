"""Typed errors. Library code raises these; the CLI turns them into one-line messages and exit code 1."""


class W2VError(Exception):
    """Base class for every error w2v-nce reports to the user."""


class ConfigError(W2VError):
    """A configuration key or value is invalid."""


class CorpusError(W2VError):
    """A corpus file is missing, unreadable, empty or not text."""


class EmptyVocabError(CorpusError):
    """No word of the corpus reaches min_count."""


class VectorsFormatError(W2VError):
    """A vectors file is malformed."""


class EvaluationError(W2VError):
    """An evaluation file (analogies, word pairs) is malformed."""


class TrainingDiverged(W2VError):
    """The training loss became non-finite."""
