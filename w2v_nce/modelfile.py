"""model.npz: a trained model in one file, written and read without pickle.

Members: w_in, w_out (float32 [V, D]), b_out (float32 [V]), counts (int64 [V]), words (the V words in UTF-8,
'\\n'-separated, as uint8), config (the resolved config as YAML, uint8) and, optionally, metrics (JSON,
uint8). Before any array is read, every member's .npy header is checked against what the vocabulary
implies (dtype, shape, the size the zip directory records), and their total against available memory, so a
crafted or damaged file is refused instead of allocating what its header asks for.
"""
import json
import zipfile

import numpy as np

from .config import MAX_CONFIG_BYTES, parse_yaml, validate
from .errors import ConfigError, ModelFormatError
from .io_utils import atomic_open, format_bytes
from .structs import Model
from .memory import available_memory
from .vocab import Vocab
from .words import MAX_WORD_BYTES

# member: (dtype, number of dimensions)
MEMBERS = {"w_in": ("<f4", 2), "w_out": ("<f4", 2), "b_out": ("<f4", 1), "counts": ("<i8", 1),
           "words": ("|u1", 1), "config": ("|u1", 1)}
OPTIONAL = {"metrics": ("|u1", 1)}
MAX_METRICS_BYTES = 64 << 20


def text_array(text):
    """A str as the uint8 array of its UTF-8 bytes: how .npz members hold text (no pickle)."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def words_array(words):
    """The vocabulary as one '\\n'-separated text member."""
    return text_array("\n".join(words))


def array_words(array):
    """The words of a words_array member (UnicodeDecodeError if it is not UTF-8)."""
    return array.tobytes().decode("utf-8").split("\n")


def save_model(path, model, vocab, config, metrics=None):
    """Write model.npz atomically (see the module docstring)."""
    arrays = {"w_in": model.w_in, "w_out": model.w_out, "b_out": model.b_out, "counts": vocab.counts,
              "words": words_array(vocab.words), "config": text_array(config.to_yaml())}
    if metrics is not None:
        arrays["metrics"] = text_array(json.dumps(metrics))
    kinds = {**MEMBERS, **OPTIONAL}
    with atomic_open(path, "wb") as out:
        np.savez(out, **{name: np.asarray(array, dtype=kinds[name][0]) for name, array in arrays.items()})


def npz_headers(path, archive, required, optional=None, what="a w2v-nce model"):
    """{member: (shape, stored bytes)} for the members of an .npz present in `required` or `optional`
    ({name: (dtype, ndim)}), each header checked for its dtype, rank and the size the zip directory
    records, before any array is read; ModelFormatError otherwise or when a required member is missing."""
    kinds = {**required, **(optional or {})}
    found = {}
    for info in archive.infolist():
        name = info.filename[:-4] if info.filename.endswith(".npy") else None
        expected = kinds.get(name)
        if expected is None:
            continue
        with archive.open(info) as member:
            try:
                version = np.lib.format.read_magic(member)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                               np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(member)
            except ValueError as exc:
                raise ModelFormatError(f"{path}: member {name} is not a NumPy array "
                                       f"({str(exc).splitlines()[0]})") from None
            header_bytes = member.tell()
        dtype_name, ndim = expected
        if dtype != np.dtype(dtype_name) or len(shape) != ndim or fortran:
            raise ModelFormatError(f"{path}: member {name} should be a {ndim}-D {np.dtype(dtype_name)} array, "
                                   f"it is {len(shape)}-D {dtype}")
        stored = info.file_size - header_bytes
        if int(np.prod(shape, dtype=object)) * dtype.itemsize != stored:
            raise ModelFormatError(f"{path}: member {name} declares shape {shape} but holds {stored} bytes")
        found[name] = (shape, stored)
    missing = sorted(set(required) - set(found))
    if missing:
        raise ModelFormatError(f"{path}: not {what} (no member {missing[0]})")
    return found


def check_loadable(path, headers):
    """ModelFormatError when the members' total is more than the memory available."""
    total = sum(stored for _, stored in headers.values())
    if total > 0.9 * available_memory():
        raise ModelFormatError(f"{path}: loading it needs {format_bytes(total)} of memory, more than is available")


def _check_shapes(path, headers):
    vocab_size = headers["counts"][0][0]
    dim = headers["w_in"][0][1]
    expected = {"w_in": (vocab_size, dim), "w_out": (vocab_size, dim), "b_out": (vocab_size,)}
    for name, shape in expected.items():
        if headers[name][0] != shape or dim < 1:
            raise ModelFormatError(f"{path}: {name} has shape {headers[name][0]}, but {vocab_size} words and "
                                   f"dimension {dim} call for {shape}")
    limits = {"words": vocab_size * (MAX_WORD_BYTES + 1), "config": MAX_CONFIG_BYTES, "metrics": MAX_METRICS_BYTES}
    for name, limit in limits.items():
        if name in headers and headers[name][1] > limit:
            raise ModelFormatError(f"{path}: member {name} is larger than {vocab_size} words can need")
    check_loadable(path, headers)


def load_model(path):
    """(Model, Vocab, TrainConfig, metrics dict or None) from a model.npz; ModelFormatError for anything
    that does not hold together. Never unpickles anything."""
    try:
        with zipfile.ZipFile(path) as archive:
            headers = npz_headers(path, archive, MEMBERS, OPTIONAL)
            _check_shapes(path, headers)
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in headers}
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise ModelFormatError(f"{path}: not a readable w2v-nce model ({exc})") from None
    try:
        words = array_words(arrays["words"])
        metrics = json.loads(arrays["metrics"].tobytes().decode("utf-8")) if "metrics" in arrays else None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFormatError(f"{path}: its words or metrics are not valid text ({exc})") from None
    if len(words) != arrays["counts"].shape[0]:
        raise ModelFormatError(f"{path}: {len(words)} words but {arrays['counts'].shape[0]} vectors")
    try:
        config = validate(parse_yaml(arrays["config"].tobytes(), f"{path} (config)"), f"{path} (config)")
    except ConfigError as exc:
        raise ModelFormatError(str(exc)) from None
    if config.dim != arrays["w_in"].shape[1]:
        raise ModelFormatError(f"{path}: its config says dim {config.dim} but the vectors have "
                               f"{arrays['w_in'].shape[1]}")
    model = Model(arrays["w_in"], arrays["w_out"], arrays["b_out"])
    return model, Vocab(words, arrays["counts"]), config, metrics
