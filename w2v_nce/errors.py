"""Typed errors and warnings. Library code raises these; the CLI turns errors into one-line messages with
exit code 1 and prints warnings as one line each."""
import reprlib

_short = reprlib.Repr()
_short.maxlevel, _short.maxlist, _short.maxdict, _short.maxstring, _short.maxother = 2, 4, 4, 40, 40


def short_repr(value):
    """repr bounded in size whatever the value (a message never formats an unbounded value)."""
    return _short.repr(value)


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


class ModelFormatError(W2VError):
    """A model.npz file is malformed or does not match what it declares."""


class EvaluationError(W2VError):
    """An evaluation file (analogies, word pairs) is malformed."""


class OutputError(W2VError):
    """An output file or directory cannot be written."""


class TrainingDiverged(W2VError):
    """The training loss became non-finite."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; `signal_number` says which. A KeyboardInterrupt, so every cleanup path
    that handles Ctrl-C handles SIGTERM alike."""

    def __init__(self, signal_number):
        super().__init__(signal_number)
        self.signal_number = signal_number


class W2VWarning(UserWarning):
    """Something the user should know that does not stop the run (the CLI prints it as one line)."""
