"""The evaluation sets shipped with the package (see README.md here for their origin and licences)."""
from pathlib import Path

FILES = {"google-analogies": "google-analogies.txt", "wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}


def path(name):
    """The path of a shipped evaluation set by its name (KeyError for an unknown name)."""
    return str(Path(__file__).resolve().parent / FILES[name])
