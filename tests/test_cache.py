"""The corpus cache: an unusable cache is skipped with a warning, damaged entries are rebuilt, edits that keep
size and mtime are noticed, concurrent runs share one build, and the cache stays within its size cap."""
import errno
import json
import os
import subprocess
import sys
import time
import types

import numpy as np
import pytest

from conftest import TOY_CORPUS, tmpfs, write
from w2v_nce import corpus as corpus_module
from w2v_nce.cache import CorpusCache
from w2v_nce.corpus import CorpusSettings, prepare_corpus

SETTINGS = CorpusSettings(min_count=1)


def corpus_file(tmp_path, name="c.txt", text="a b c a b a\nd e a\n"):
    return write(tmp_path / name, text)


def entries(cache):
    return sorted(n for n in os.listdir(cache) if not n.startswith(".") and os.path.isdir(os.path.join(cache, n)))


def same(a, b):
    return (a.vocab.words == b.vocab.words and a.vocab.counts.tolist() == b.vocab.counts.tolist()
            and np.array_equal(a.ids, b.ids) and np.array_equal(a.offsets, b.offsets))


def test_a_cache_that_is_a_file_is_skipped_with_one_warning(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("W2V_NCE_CACHE", write(tmp_path / "not-a-dir", "x"))
    result = cli("vocab", corpus_file(tmp_path), "--min-count", "1")
    assert result.stdout == "a 4\nb 2\nc 1\nd 1\ne 1\n"
    assert result.stderr == f"warning: {tmp_path / 'not-a-dir'}: the corpus cache is not a directory; continuing " \
                            "without it\n"


def test_a_cache_that_cannot_be_written_is_skipped_with_one_warning(cli, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr("w2v_nce.cache.tempfile", types.SimpleNamespace(mkstemp=refuse, mkdtemp=refuse))
    result = cli("vocab", corpus_file(tmp_path), "--min-count", "1", "--cache-dir", tmp_path / "ro")
    assert result.stdout.startswith("a 4\n")
    assert result.stderr.startswith(f"warning: {tmp_path / 'ro'}: cannot use the corpus cache (Permission denied)")
    assert result.stderr.count("\n") == 1


def test_a_read_only_cache_filesystem_is_skipped_with_one_warning(cli, tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=1m") as mount:
        result = cli("vocab", corpus_file(tmp_path), "--min-count", "1", "--cache-dir", mount)
        assert result.stdout.startswith("a 4\n")
        assert result.stderr == f"warning: {mount}: cannot use the corpus cache (Read-only file system); " \
                                "continuing without it\n"


def test_a_cache_that_fills_up_while_writing_is_skipped_with_one_warning(cli, tmp_path, monkeypatch):
    real_encode = corpus_module.encode_corpus

    def encode_until_full(paths, settings, directory, budget=None):
        if str(tmp_path / "cache") in directory:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_encode(paths, settings, directory, budget)

    monkeypatch.setattr("w2v_nce.corpus.encode_corpus", encode_until_full)
    result = cli("vocab", corpus_file(tmp_path), "--min-count", "1", "--cache-dir", tmp_path / "cache")
    assert result.stdout.startswith("a 4\n")
    assert "cannot write the corpus cache (No space left on device); continuing without the corpus cache" \
           in result.stderr and result.stderr.count("\n") == 1
    assert entries(tmp_path / "cache") == [] and [n for n in os.listdir(tmp_path / "cache") if "~w2v" in n] == []


def test_a_full_cache_filesystem_is_skipped_with_one_warning(cli, tmp_path):
    with tmpfs(tmp_path / "small", "size=512k") as mount:
        result = cli("train", TOY_CORPUS, "--epochs", "1", "--dim", "8", "--quiet", "--cache-dir", mount, "--out", "o")
        assert "No space left on device" in result.stderr and result.stderr.count("\n") == 1
        assert os.path.exists(tmp_path / "o" / "vectors.bin")
        assert os.listdir(mount) == []


def damage_vocab(entry):
    with open(os.path.join(entry, "vocab.txt"), "a") as vocab:
        vocab.write("no-count-here\n")


def damage_ids(entry):
    with open(os.path.join(entry, "ids.i32"), "r+b") as ids:  # same size, ids far out of range
        ids.write(np.array([10 ** 9, -7], dtype=np.int32).tobytes())


def damage_offsets(entry):
    with open(os.path.join(entry, "offsets.i64"), "r+b") as offsets:
        offsets.seek(8)
        offsets.write(np.array([10 ** 12], dtype=np.int64).tobytes())


def truncate_ids(entry):
    with open(os.path.join(entry, "ids.i32"), "r+b") as ids:
        ids.truncate(4)


def damage_meta(entry):
    write(os.path.join(entry, "meta.json"), "{not json")


@pytest.mark.parametrize("damage", [damage_vocab, damage_ids, damage_offsets, truncate_ids, damage_meta])
def test_a_damaged_entry_is_rebuilt(tmp_path, damage):
    path, cache = corpus_file(tmp_path), str(tmp_path / "cache")
    first = prepare_corpus([path], SETTINGS, cache_dir=cache)
    damage(first.cache_path)
    with pytest.warns(UserWarning, match="damaged cache entry"):
        again = prepare_corpus([path], SETTINGS, cache_dir=cache)
    assert not again.from_cache and same(again, prepare_corpus([path], SETTINGS))
    assert prepare_corpus([path], SETTINGS, cache_dir=cache).from_cache


def test_damaged_ids_never_reach_the_kernels(cli, tmp_path):
    """Out-of-range ids in ids.npy used to segfault `train` and `pairs` (or write out of bounds)."""
    path = corpus_file(tmp_path, text="x y z w\n" * 50)
    cli("pairs", path, "--min-count", "1", "--subsample", "0", "--cache-dir", "cache", "-o", "before.tsv")
    damage_ids(os.path.join(tmp_path, "cache", entries(tmp_path / "cache")[0]))
    result = cli("pairs", path, "--min-count", "1", "--subsample", "0", "--cache-dir", "cache", "-o", "after.tsv")
    assert "damaged cache entry (ids.i32 does not match its digest); rebuilding it" in result.stderr
    assert (tmp_path / "before.tsv").read_text() == (tmp_path / "after.tsv").read_text()


def test_an_edit_that_keeps_size_and_mtime_is_noticed(tmp_path):
    path, cache = corpus_file(tmp_path, text="aaaa bbbb\n" * 100), str(tmp_path / "cache")
    first = prepare_corpus([path], SETTINGS, cache_dir=cache)
    stat = os.stat(path)
    write(path, "cccc bbbb\n" * 100)  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime, as cp -p or tar would leave it
    second = prepare_corpus([path], SETTINGS, cache_dir=cache)
    assert first.vocab.words == ["aaaa", "bbbb"] and second.vocab.words == ["bbbb", "cccc"]
    assert not second.from_cache


CONCURRENT_CHILD = """
import os, sys, time
from w2v_nce.corpus import CorpusSettings, prepare_corpus
cache, barrier, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
prepare_corpus([paths[0]], CorpusSettings(min_count=1))  # load the kernels before the start line
open(barrier + ".ready." + str(os.getpid()), "w").close()
while not os.path.exists(barrier + ".go"):
    time.sleep(0.001)
for path in paths:
    corpus = prepare_corpus([path], CorpusSettings(min_count=1), cache_dir=cache)
    print(path, corpus.n_tokens, len(corpus.vocab), corpus.vocab.words[0])
"""


def test_concurrent_runs_filling_the_same_entries(tmp_path):
    """Four processes, lined up at a barrier, prepare the same 40 corpora at the same time: one builds each
    entry, the others wait for it, and all succeed with the same result."""
    paths = [write(tmp_path / f"c{i}.txt", " ".join(f"w{(i * 7 + j) % 911}" for j in range(5_000)) + "\n")
             for i in range(40)]
    cache, barrier = str(tmp_path / "cache"), str(tmp_path / "barrier")
    children = [subprocess.Popen([sys.executable, "-c", CONCURRENT_CHILD, cache, barrier, *paths],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    deadline = time.monotonic() + 120
    while len([n for n in os.listdir(tmp_path) if n.startswith("barrier.ready")]) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    open(barrier + ".go", "w").close()
    outputs = [child.communicate(timeout=300) for child in children]
    assert [child.returncode for child in children] == [0] * 4, [err for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1 and all(err == "" for _, err in outputs)
    assert len(entries(cache)) == 40
    assert [n for n in os.listdir(cache) if n.startswith(".") or n.endswith(".lock")] == []


def test_least_recently_used_entries_go_when_the_cache_outgrows_its_cap(tmp_path, monkeypatch):
    cache = str(tmp_path / "cache")
    paths = [corpus_file(tmp_path, f"c{i}.txt", f"w{i} " * 5000 + "\n") for i in range(3)]
    sizes = []
    for i, path in enumerate(paths[:2]):
        entry = prepare_corpus([path], SETTINGS, cache_dir=cache).cache_path
        os.utime(os.path.join(entry, "meta.json"), (1000 + i, 1000 + i))  # c0 used longest ago
        sizes.append(sum(os.path.getsize(os.path.join(entry, n)) for n in os.listdir(entry)))
    monkeypatch.setenv("W2V_NCE_CACHE_SIZE", str(sum(sizes) + sizes[0] // 2))
    newest = prepare_corpus([paths[2]], SETTINGS, cache_dir=cache)
    remaining = {json.load(open(os.path.join(cache, k, "meta.json")))["sources"][0] for k in entries(cache)}
    assert remaining == {os.path.abspath(paths[1]), os.path.abspath(paths[2])}
    assert os.path.isdir(newest.cache_path)


def test_cache_list_and_clear(cli, tmp_path):
    path = corpus_file(tmp_path)
    for min_count in ("1", "2"):
        cli("vocab", path, "--min-count", min_count, "--cache-dir", "cache", "-o", "v.txt")
    listing = cli("cache", "list", "--cache-dir", "cache")
    lines = listing.stdout.splitlines()
    assert len(lines) == 2 and all(path in line for line in lines)
    assert "2 entries" in listing.stderr
    key = lines[0].split()[0]
    cli("cache", "clear", key, "--cache-dir", "cache")
    assert len(cli("cache", "list", "--cache-dir", "cache").stdout.splitlines()) == 1
    assert "no cache entry nope" in cli("cache", "clear", "nope", "--cache-dir", "cache", exit_code=1).output
    cli("cache", "clear", "--cache-dir", "cache")
    assert entries(tmp_path / "cache") == []


def test_an_entry_of_an_older_version_is_listed_as_unusable_and_pruned_first(cli, tmp_path):
    path = corpus_file(tmp_path)
    cli("vocab", path, "--min-count", "1", "--cache-dir", "cache", "-o", "v.txt")
    old = tmp_path / "cache" / "0123456789abcdef01234567"
    old.mkdir()
    (old / "meta.json").write_text('{"format": 1}')
    (old / "ids.npy").write_bytes(b"\0" * 4096)
    lines = cli("cache", "list", "--cache-dir", "cache").stdout.splitlines()
    assert lines[0].startswith("0123456789abcdef01234567") and "written 0.0 hours ago  unusable: " in lines[0]
    assert "used 0.0 hours ago" in lines[1] and path in lines[1]
    removed = CorpusCache(str(tmp_path / "cache")).prune(max_bytes=0)
    assert [info.key for info in removed][0] == "0123456789abcdef01234567"


def test_an_entry_in_use_is_not_cleared(tmp_path):
    path, cache = corpus_file(tmp_path), str(tmp_path / "cache")
    key = os.path.basename(prepare_corpus([path], SETTINGS, cache_dir=cache).cache_path)
    store = CorpusCache(cache)
    holder = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
from w2v_nce.io_utils import hold_lock
with hold_lock({os.path.join(cache, key + '.lock')!r}):
    print("held", flush=True)
    time.sleep(30)
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        assert store.remove(key) is False and key in entries(cache)
    finally:
        holder.kill()
        holder.wait()
    assert store.remove(key) is True and entries(cache) == []
