"""The Numba text formatter writes exactly what Python's '%.6f' writes."""
import numpy as np

from w2v_nce.embeddings import Embeddings
from w2v_nce.textformat import text_rows


def test_every_value_is_formatted_as_python_formats_it():
    rng = np.random.default_rng(0)
    values = np.concatenate([
        rng.normal(size=50_000) * 0.01, rng.normal(size=50_000) * 30,
        rng.integers(-10 ** 7, 10 ** 7, 50_000) / 1e6 + 5e-7,  # near a rounding halfway point
        [0.0, -0.0, 5e-7, -5e-7, 1.5e-6, 2.5e-6, 1e-45, -1e-45, 123456.789, -987654.321, 0.1234565, 2.0 ** 42,
         -(2.0 ** 42), 1e-7, -1e-7, 4.9999995e-7, 0.5, 1e6]]).astype(np.float32)
    rows = text_rows(values.reshape(-1, 1), ["w"] * len(values)).decode().splitlines()
    assert rows == ["w %.6f" % float(v) for v in values]


def test_rows_carry_their_words_and_all_columns(tmp_path):
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    words = ["a", "café", "x\u00a0y"]
    assert text_rows(vectors, words).decode() == "".join(
        f"{w} {' '.join('%.6f' % v for v in row)}\n" for w, row in zip(words, vectors.tolist()))
    path = str(tmp_path / "v.txt")
    Embeddings(words, vectors * 1e13).save(path, binary=False)  # beyond 2**43: Python formats these
    assert open(path, encoding="utf-8").read().splitlines()[1] == "a " + " ".join(
        "%.6f" % v for v in (vectors[0] * 1e13).tolist())
