"""The corpus cache: encoded corpora kept on disk and reused while their files and settings are unchanged.

An entry is a directory `<cache>/<key>` as `corpus.encode_corpus` writes it. The key hashes, for every
input file, its absolute path, size, modification time and a content fingerprint (the first and last MB
and FINGERPRINT_SAMPLES blocks of 64 kB spread over the rest), and the settings that change the encoding.
So an edit that keeps a file's size and modification time (`cp -p`, `touch -d`, tar) is noticed when it
touches one of the sampled blocks; to be certain after such an edit, delete the entry (`w2v-nce cache
clear`).

An entry is built under its lock (`<key>.lock`, there while a run holds it) into a temporary directory
and renamed into place, so concurrent runs wait for one build and then share it. Before use it is checked against its meta.json
(sizes, digests, ids in range); a damaged entry is rebuilt. When the cache grows past its size cap
($W2V_NCE_CACHE_SIZE, default DEFAULT_CACHE_SIZE), the least recently used entries are removed.
"""
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass

from .corpus import ENCODING_FORMAT, DamagedEncoding, load_encoded, read_meta
from .errors import W2VWarning
from .io_utils import (LockBusy, describe_os_error, format_bytes, hold_lock, remove_stale_temporaries,
                       temp_prefix)
from .memory import parse_size

DEFAULT_CACHE_SIZE = "20G"
FINGERPRINT_BLOCK = 64 << 10
FINGERPRINT_EDGE = 1 << 20
FINGERPRINT_SAMPLES = 32


def default_cache_dir():
    return os.environ.get("W2V_NCE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "w2v-nce")


def cache_size_cap():
    return parse_size(os.environ.get("W2V_NCE_CACHE_SIZE") or DEFAULT_CACHE_SIZE, "W2V_NCE_CACHE_SIZE")


def content_fingerprint(path, size):
    """A digest of the first and last MB of the file and of FINGERPRINT_SAMPLES evenly spaced blocks."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        if size <= 2 * FINGERPRINT_EDGE + FINGERPRINT_SAMPLES * FINGERPRINT_BLOCK:
            digest.update(handle.read())
            return digest.hexdigest()
        middle = size - 2 * FINGERPRINT_EDGE - FINGERPRINT_BLOCK
        spans = [(0, FINGERPRINT_EDGE), (size - FINGERPRINT_EDGE, FINGERPRINT_EDGE)] + [
            (FINGERPRINT_EDGE + middle * k // (FINGERPRINT_SAMPLES - 1), FINGERPRINT_BLOCK)
            for k in range(FINGERPRINT_SAMPLES)]
        for start, length in spans:
            handle.seek(start)
            digest.update(handle.read(length))
    return digest.hexdigest()


def entry_key(paths, settings):
    files = []
    for path in paths:
        stat = os.stat(path)
        files.append([os.path.abspath(path), stat.st_size, stat.st_mtime_ns, content_fingerprint(path, stat.st_size)])
    blob = json.dumps({"format": ENCODING_FORMAT, "files": files, "min_count": settings.min_count,
                       "max_vocab": settings.max_vocab, "lowercase": settings.lowercase}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class CacheWriteError(Exception):
    """The cache directory cannot be written (the message names it and says why)."""


@dataclass
class EntryInfo:
    key: str
    path: str
    bytes: int
    last_used: float
    sources: list
    settings: dict
    problem: str = ""  # why the entry cannot be used (damaged, or written by another version), else ""


class CorpusCache:
    def __init__(self, directory):
        self.directory = directory
        self.max_bytes = cache_size_cap()  # a bad $W2V_NCE_CACHE_SIZE is an error before any work

    @classmethod
    def open(cls, directory):
        """The cache at `directory`, created if needed; None, with a warning, when it cannot be used."""
        if os.path.exists(directory) and not os.path.isdir(directory):
            warnings.warn(f"{directory}: the corpus cache is not a directory; continuing without it", W2VWarning,
                          stacklevel=3)
            return None
        try:
            os.makedirs(directory, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=temp_prefix("probe"), dir=directory)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            warnings.warn(f"{directory}: cannot use the corpus cache ({describe_os_error(exc)}); continuing "
                          "without it", W2VWarning, stacklevel=3)
            return None
        return cls(directory)

    def _lock(self, key, wait=True):
        return hold_lock(os.path.join(self.directory, key + ".lock"), wait=wait)

    def get(self, paths, settings, build):
        """The EncodedCorpus of `paths`: the cached entry if it is intact, else built by `build(directory)`
        and stored. CacheWriteError when the entry cannot be written."""
        key = entry_key(paths, settings)
        entry = os.path.join(self.directory, key)
        try:
            with self._lock(key):
                corpus = self._load(entry)
                if corpus is None:
                    self._build(entry, build)
                    corpus = load_encoded(entry, verify=False, cache_path=entry)
                os.utime(os.path.join(entry, "meta.json"))  # last use, for eviction
        except OSError as exc:
            raise CacheWriteError(f"{self.directory}: cannot write the corpus cache "
                                  f"({describe_os_error(exc)})") from None
        self.prune(self.max_bytes, keep={key})
        return corpus

    def _load(self, entry):
        if not os.path.isdir(entry):
            return None
        try:
            return load_encoded(entry, cache_path=entry, from_cache=True)
        except DamagedEncoding as exc:
            warnings.warn(f"{entry}: damaged cache entry ({exc}); rebuilding it", W2VWarning, stacklevel=4)
            return None

    def _build(self, entry, build):
        remove_stale_temporaries(self.directory)
        tmp = tempfile.mkdtemp(prefix=temp_prefix(os.path.basename(entry)), dir=self.directory)
        try:
            build(tmp)
            if os.path.exists(entry):  # damaged: move it aside first, rename cannot replace a directory
                old = tempfile.mkdtemp(prefix=temp_prefix(os.path.basename(entry)), dir=self.directory)
                os.replace(entry, os.path.join(old, "entry"))
                shutil.rmtree(old, ignore_errors=True)
            os.replace(tmp, entry)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def entries(self):
        """Every entry: the unusable ones first, then least recently used first."""
        infos = []
        try:
            names = os.listdir(self.directory)
        except OSError:
            return infos
        for name in names:
            path = os.path.join(self.directory, name)
            if name.startswith(".") or not os.path.isdir(path):
                continue
            problem = ""
            try:
                meta = read_meta(path)
                last_used = os.path.getmtime(os.path.join(path, "meta.json"))
            except (DamagedEncoding, OSError) as exc:
                meta, problem = {}, str(exc)
                last_used = _mtime_or_zero(path)
            infos.append(EntryInfo(name, path, _tree_bytes(path), last_used, meta.get("sources", []),
                                   meta.get("settings", {}), problem))
        return sorted(infos, key=lambda info: (not info.problem, info.last_used))

    def remove(self, key):
        """Delete an entry unless a run is using it; returns whether it was deleted."""
        try:
            with self._lock(key, wait=False):
                shutil.rmtree(os.path.join(self.directory, key), ignore_errors=True)
        except LockBusy:
            return False
        return True

    def prune(self, max_bytes, keep=()):
        """Remove least recently used entries until the cache holds at most max_bytes (entries in `keep`
        and entries in use stay). Returns the removed entries."""
        entries = self.entries()
        total = sum(info.bytes for info in entries)
        removed = []
        for info in entries:
            if total <= max_bytes:
                break
            if info.key not in keep and self.remove(info.key):
                total -= info.bytes
                removed.append(info)
        return removed


def _tree_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(root, name))
    return total


def _mtime_or_zero(path):
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


def describe_entry(info):
    age = time.time() - info.last_used
    when = f"{age / 86400:.1f} days ago" if age >= 86400 else f"{age / 3600:.1f} hours ago"
    if info.problem:
        return (f"{info.key}  {format_bytes(info.bytes):>9}  written {when}  unusable: {info.problem} "
                f"(rebuilt when its corpus is used again; `w2v-nce cache clear {info.key}` removes it)")
    settings = ", ".join(f"{k}={v}" for k, v in info.settings.items())
    return f"{info.key}  {format_bytes(info.bytes):>9}  used {when}  {settings}  {' '.join(info.sources)}"
