"""model.npz: written without pickle, and a crafted or damaged file is refused before anything large is
read (shapes against the vocabulary, declared sizes against the zip directory and available memory)."""
import io
import os
import zipfile

import numpy as np
import pytest

from w2v_nce.config import resolve
from w2v_nce.errors import ModelFormatError
from w2v_nce.structs import Model
from w2v_nce.modelfile import load_model, save_model
from w2v_nce.vocab import Vocab


@pytest.fixture
def saved(tmp_path):
    vocab = Vocab(["a", "b"], np.array([3, 2], dtype=np.int64))
    model = Model(np.ones((2, 4), np.float32), np.full((2, 4), 2, np.float32), np.zeros(2, np.float32))
    path = str(tmp_path / "model.npz")
    save_model(path, model, vocab, resolve(overrides={"dim": 4}), metrics={"epochs": []})
    return path


def members(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rewrite(path, replaced, compression=zipfile.ZIP_STORED):
    contents = {**members(path), **replaced}
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_round_trip(saved):
    model, vocab, config, metrics = load_model(saved)
    assert vocab.words == ["a", "b"] and model.w_out[1, 3] == 2 and config.dim == 4 and metrics == {"epochs": []}


def test_more_rows_than_words_is_refused(saved):
    rewrite(saved, {"w_in.npy": npy(np.ones((5, 4), np.float32))})
    with pytest.raises(ModelFormatError, match=r"w_in has shape \(5, 4\), but 2 words"):
        load_model(saved)


def test_a_wrong_dtype_is_refused(saved):
    rewrite(saved, {"b_out.npy": npy(np.zeros(2, np.float64))})
    with pytest.raises(ModelFormatError, match="b_out should be a 1-D float32 array"):
        load_model(saved)


def npy_header(shape, descr="<f4"):
    """A version 1.0 .npy header for `shape`, as np.save would write it."""
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (descr, shape)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


def test_a_header_asking_for_terabytes_is_refused_before_reading(saved):
    rewrite(saved, {"w_in.npy": npy_header((2, 549_755_813_888)) + b"\0" * 32})
    with pytest.raises(ModelFormatError, match=r"member w_in declares shape \(2, 549755813888\) but holds 32 bytes"):
        load_model(saved)


def test_a_zip_bomb_is_refused_before_inflating(saved, monkeypatch):
    """Two members of 400 MB of zeros compress to under a MB each; the sizes the zip directory records are
    checked against available memory (here said to be 256 MB) before anything is inflated."""
    vocab_size, dim = 2, 50_000_000
    contents = members(saved)
    path = saved + ".bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            if name not in ("w_in.npy", "w_out.npy"):
                archive.writestr(name, data)
                continue
            with archive.open(name, "w", force_zip64=True) as member:
                member.write(npy_header((vocab_size, dim)))
                remaining = vocab_size * dim * 4
                zeros = bytes(16 << 20)
                while remaining:
                    member.write(zeros[:min(remaining, len(zeros))])
                    remaining -= min(remaining, len(zeros))
    assert os.path.getsize(path) < 4 << 20
    monkeypatch.setattr("w2v_nce.modelfile.available_memory", lambda: 256 << 20)
    with pytest.raises(ModelFormatError, match="loading it needs 762.9 MB of memory, more than is available"):
        load_model(path)


def test_words_that_do_not_match_the_counts_are_refused(saved):
    rewrite(saved, {"words.npy": npy(np.frombuffer(b"a\nb\nc", dtype=np.uint8))})
    with pytest.raises(ModelFormatError, match="3 words but 2 vectors"):
        load_model(saved)


def test_a_pickled_member_is_never_unpickled(saved):
    rewrite(saved, {"config.npy": b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
                    .ljust(128, b" ") + b"\n"})
    with pytest.raises(ModelFormatError, match="config should be a 1-D uint8 array"):
        load_model(saved)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_garbage_is_one_line(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFormatError) as error:
        load_model(str(path))
    assert "\n" not in str(error.value) and "model.npz" in str(error.value)
