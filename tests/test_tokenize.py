import bz2
import gzip
import lzma

import numpy as np
import pytest

from conftest import write
from w2v_nce.corpus import CorpusSettings, prepare_corpus
from w2v_nce.errors import CorpusError
from w2v_nce.tokenize import TokenTable, scan_corpus
from w2v_nce.words import MAX_WORD_BYTES


def scan(paths, chunk_bytes=1 << 16, table=None):
    """(table, token indices, sentence ends, tokens cut) of a scan that never fills its table."""
    table = table or TokenTable()
    chunks, ends = [], []
    _, n_cut = scan_corpus(paths, table, chunks.append, ends.append, on_full=None, chunk_bytes=chunk_bytes)
    ids = np.concatenate(chunks) if chunks else np.zeros(0, np.int32)
    return table, ids, np.concatenate(ends).tolist() if ends else [], n_cut


def table_tokens(table):
    return table.joined(np.arange(len(table))).tobytes().split(b"\n")[:-1]


def tokens_of(paths, chunk_bytes=1 << 16):
    table, ids, ends, _ = scan(paths, chunk_bytes)
    words = table_tokens(table)
    return [words[i] for i in ids], ends


def test_every_ascii_whitespace_separates_and_only_newline_ends_sentences(tmp_path):
    path = write(tmp_path / "c.txt", b"a b\tc\rd\x0be\x0cf\ng  h\n\n\ni")
    tokens, ends = tokens_of([path])
    assert tokens == [b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h", b"i"]
    assert ends == [6, 8, 9]


def test_non_ascii_whitespace_is_part_of_a_token(tmp_path):
    path = write(tmp_path / "c.txt", "a\u00a0b c\u2028d\n".encode())
    tokens, _ = tokens_of([path])
    assert tokens == ["a\u00a0b".encode(), "c\u2028d".encode()]


@pytest.mark.parametrize("chunk_bytes", [4, 7, 64])
def test_chunk_boundaries_never_split_tokens(tmp_path, chunk_bytes):
    words = [("w%d" % (i % 37)) * (1 + i % 5) for i in range(500)]
    text = " ".join(words[:250]) + "\n" + " ".join(words[250:])
    path = write(tmp_path / "c.txt", text)
    tokens, ends = tokens_of([path], chunk_bytes=chunk_bytes)
    assert tokens == [w.encode() for w in words]
    assert ends == [250, 500]


def test_one_long_line_is_one_sentence(tmp_path):
    n = 300_000
    path = write(tmp_path / "c.txt", " ".join("x%d" % (i % 1000) for i in range(n)))
    tokens, ends = tokens_of([path], chunk_bytes=1 << 12)
    assert len(tokens) == n and ends == [n]


def test_a_token_longer_than_the_limit_is_cut_even_across_buffers(tmp_path):
    long = b"y" * 10_000
    path = write(tmp_path / "c.txt", b"a " + long + b" b " + b"z" * 1500 + b"\n")
    for chunk_bytes in (64, 1024, 1 << 16):
        table, ids, _, n_cut = scan([path], chunk_bytes=chunk_bytes)
        words = table_tokens(table)
        assert [words[i] for i in ids] == [b"a", b"y" * MAX_WORD_BYTES, b"b", b"z" * MAX_WORD_BYTES]
        assert n_cut == 2


def test_a_cut_never_splits_a_utf8_character(tmp_path):
    token = "é".encode() * 600  # 1,200 bytes: a cut at 1,000 bytes falls between the two bytes of an é
    path = write(tmp_path / "c.txt", b"x " + token + b" " + b"a" * 999 + "é".encode() + b"\n")
    tokens, _ = tokens_of([path])
    assert tokens[1] == "é".encode() * (MAX_WORD_BYTES // 2)
    assert tokens[2] == b"a" * 999  # 1,001 bytes: the é that would straddle the limit goes
    assert all(t.decode("utf-8") for t in tokens)


def test_invalid_utf8_is_replaced_not_fatal(tmp_path):
    path = write(tmp_path / "c.txt", b"caf\xe9 caf\xe9 ok \xff\xfe ok\n")
    corpus = prepare_corpus([path], CorpusSettings(min_count=1))
    assert corpus.vocab.words == ["caf\ufffd", "ok", "\ufffd\ufffd"]


def test_byte_tokens_that_decode_alike_are_merged(tmp_path):
    path = write(tmp_path / "c.txt", b"x\xff x\xfe x\xff\n")  # two invalid bytes, same replacement
    corpus = prepare_corpus([path], CorpusSettings(min_count=1))
    assert corpus.vocab.words == ["x\ufffd"] and corpus.vocab.counts.tolist() == [3]


@pytest.mark.parametrize("suffix,opener", [(".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)])
def test_compressed_input(tmp_path, suffix, opener):
    path = str(tmp_path / ("c.txt" + suffix))
    with opener(path, "wb") as out:
        out.write(b"one two two\nthree\n")
    tokens, ends = tokens_of([path])
    assert tokens == [b"one", b"two", b"two", b"three"] and ends == [3, 4]


def test_several_files_each_end_a_sentence(tmp_path):
    a = write(tmp_path / "a.txt", b"p q")
    b = write(tmp_path / "b.txt", b"r s\n")
    tokens, ends = tokens_of([a, b])
    assert tokens == [b"p", b"q", b"r", b"s"] and ends == [2, 4]


def test_binary_file_is_refused(tmp_path):
    path = write(tmp_path / "c.bin", b"abc\x00\x01\x02 def")
    with pytest.raises(CorpusError, match="c.bin.*binary"):
        tokens_of([path])


def test_corrupt_gzip_is_a_corpus_error(tmp_path):
    path = write(tmp_path / "c.txt.gz", b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(CorpusError, match="c.txt.gz"):
        tokens_of([path])


def test_table_growth_keeps_every_token_findable(tmp_path):
    """200,000 distinct tokens force the hash table to grow (and rehash) twice; repeats after the
    growth must find their first occurrence, not add a duplicate."""
    words = [f"w{i}" for i in range(200_000)]
    path = write(tmp_path / "c.txt", " ".join(words) + "\n" + " ".join(reversed(words)) + "\n")
    table, ids, _, _ = scan([path])
    assert len(table) == 200_000
    assert table.counts().tolist() == [2] * 200_000
    assert ids[:200_000].tolist() == list(range(200_000))
    assert ids[200_000:].tolist() == list(range(199_999, -1, -1))


def test_a_full_table_is_handed_over_and_the_scan_goes_on(tmp_path):
    """With a memory budget the table stops growing; on_full sees it full, empties it, and the indices
    that follow refer to the emptied table."""
    words = [f"w{i}" for i in range(100_000)]
    path = write(tmp_path / "c.txt", " ".join(words) + "\n")
    table = TokenTable(may_grow=lambda table, extra: table.nbytes + extra <= 8 << 20)
    seen, chunks, starts = [], [], []

    def on_full(tokens_done):
        seen.append(table_tokens(table))
        starts.append(tokens_done)
        table.clear()

    n, _ = scan_corpus([path], table, chunks.append, lambda ends: None, on_full)
    seen.append(table_tokens(table))
    assert n == 100_000 and len(seen) > 1 and table.nbytes <= 8 << 20
    ids = np.concatenate(chunks)
    bounds = [0] + starts + [n]
    rebuilt = [seen[r][i] for r in range(len(seen)) for i in ids[bounds[r]:bounds[r + 1]]]
    assert rebuilt == [w.encode() for w in words]
