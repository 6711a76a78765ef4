"""word2vec text and binary formats: round trips, content-based detection, malformed files."""
import numpy as np
import pytest

from conftest import write
from w2v_nce.embeddings import Embeddings
from w2v_nce.errors import VectorsFormatError


@pytest.fixture
def vectors():
    rng = np.random.default_rng(0)
    return Embeddings(["the", "über", "日本", "a-b"], rng.normal(size=(4, 3)).astype(np.float32))


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("name", ["v.bin", "v.txt", "v.vec", "v"])
def test_round_trip_detected_by_content(vectors, tmp_path, binary, name):
    path = str(tmp_path / name)
    vectors.save(path, binary=binary)
    loaded = Embeddings.load(path)
    assert loaded.words == vectors.words
    if binary:
        np.testing.assert_array_equal(loaded.vectors, vectors.vectors)
    else:
        np.testing.assert_allclose(loaded.vectors, vectors.vectors, atol=5e-7)


def test_binary_layout_is_word2vec_c(vectors, tmp_path):
    path = str(tmp_path / "v.bin")
    vectors.save(path, binary=True)
    data = open(path, "rb").read()
    assert data.startswith(b"4 3\nthe ")
    assert data[8:20] == vectors.vectors[0].astype("<f4").tobytes() and data[20:21] == b"\n"


@pytest.mark.parametrize("first_bytes", [b"\n\x00\x00\x00", b"1.5\n", b"00 \n"])
def test_binary_rows_whose_floats_hold_a_newline_byte_read_as_binary(tmp_path, first_bytes):
    rows = np.random.default_rng(1).normal(size=(3, 4)).astype("<f4")
    rows[0, 0] = np.frombuffer(first_bytes, dtype="<f4")[0]  # the first float's bytes begin like a text row
    vectors = Embeddings(["a", "b", "c"], rows)
    path = str(tmp_path / "v.bin")
    vectors.save(path, binary=True)
    np.testing.assert_array_equal(Embeddings.load(path).vectors, rows)


def test_gensim_reads_what_we_write(vectors, tmp_path):
    keyed = pytest.importorskip("gensim.models").KeyedVectors
    for binary, name in ((True, "v.bin"), (False, "v.txt")):
        path = str(tmp_path / name)
        vectors.save(path, binary=binary)
        kv = keyed.load_word2vec_format(path, binary=binary)
        assert list(kv.index_to_key) == vectors.words
        np.testing.assert_allclose(kv.vectors, vectors.vectors, atol=5e-7)


def test_words_with_whitespace_cannot_be_written(tmp_path):
    with pytest.raises(VectorsFormatError, match="whitespace"):
        Embeddings(["a b"], np.zeros((1, 2), np.float32)).save(str(tmp_path / "v.txt"), binary=False)
    assert not (tmp_path / "v.txt").exists()


@pytest.mark.parametrize("content,message", [
    (b"", "header"),
    (b"hello world\n", "header"),
    (b"2 3\na 1 2 3\n", "header says 2 rows but the file has 1"),
    (b"1 3\na 1 2\n", r":2: expected a word and 3 numbers"),
    (b"2 2\na 1 2\nb 1 x\n", r":3: 'x' is not a number"),
    (b"1000000000000 2\na 1 2\n", "header says 1000000000000 rows"),
    (b"2 2\na " + np.zeros(2, "<f4").tobytes() + b"\nb " + b"\x00\x00", "cut short"),
    (b"2 2\na 1 2\nb nan 1\n", r":3: 'b' has a non-finite value"),
    (b"2 2\na inf 2\nb 1 1\n", r":2: 'a' has a non-finite value"),
    (b"2 2\na " + np.array([1, np.nan], "<f4").tobytes() + b"\nb " + np.zeros(2, "<f4").tobytes() + b"\n",
     r"row 1 \('a'\) holds a non-finite value"),
    (b"1 2\n" + b"x" * 1200 + b" " + np.zeros(2, "<f4").tobytes() + b"\n", "no word of at most 1000 bytes"),
    (b"PK\x03\x04rest of a zip", "a zip archive .* not a word2vec vectors file"),
    (b"\xff\xfe\x00garbage\n", r":1: expected a header 'count dim' \(word2vec format\), got '\ufffd\ufffd\?garbage'"),
])
def test_malformed_files_get_one_line_errors(tmp_path, content, message):
    path = write(tmp_path / "bad.vec", content)
    with pytest.raises(VectorsFormatError, match=message) as error:
        Embeddings.load(path)
    assert "\n" not in str(error.value) and "bad.vec" in str(error.value) and "\\x" not in str(error.value)


def test_most_similar_excludes_the_query_and_can_be_restricted():
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.8, 0.3], [-1, 0]], dtype=np.float32)
    emb = Embeddings(["a", "b", "c", "d", "e"], vectors)
    assert [w for w, _ in emb.most_similar(["a"], topn=2)] == ["b", "d"]
    assert [w for w, _ in emb.most_similar(["a"], topn=2, restrict_vocab=3)] == ["b", "c"]
    assert [w for w, _ in emb.most_similar(["c"], ["a"], topn=1)] == ["e"]
    with pytest.raises(KeyError):
        emb.most_similar(["zzz"])
    assert emb.most_similar("a", topn=2) == emb.most_similar(["a"], topn=2)  # a plain string, as gensim takes


def test_lookup_falls_back_to_the_most_frequent_case_variant():
    emb = Embeddings(["paris", "Paris", "PARIS", "King"], np.eye(4, dtype=np.float32))
    assert emb.lookup("Paris") == "Paris" and emb.lookup("pArIs") is None
    assert emb.lookup("pArIs", case_insensitive=True) == "paris" and emb.lookup("king", case_insensitive=True) == "King"
