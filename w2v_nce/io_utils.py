"""Safe file output: atomic writes, temporaries that name their owner, directory locks, free-space checks.

Every temporary this package creates carries `~w2v-<host>-<pid>.` in its name. A process killed before it
could clean up (SIGKILL, power loss) leaves them behind; `remove_stale_temporaries` deletes those whose
process no longer runs on this host, and is called wherever temporaries are made.
"""
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import socket
import tempfile
import threading

from .errors import OutputError


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file (mkstemp gives 0600)
HOST_TAG = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_TEMPORARY = re.compile(r"~w2v-([0-9a-f]{8})-(\d+)\.")


def temp_prefix(name):
    """The prefix of a temporary for `name`, naming this host and process."""
    return f".{name}.~w2v-{HOST_TAG}-{os.getpid()}."


def process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(directory):
    """Delete the temporaries in `directory` left by processes of this host that no longer run."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = _TEMPORARY.search(name)
        if not match or match[1] != HOST_TAG or int(match[2]) == os.getpid() or process_alive(int(match[2])):
            continue
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)


def describe_os_error(exc):
    """'No space left on device' and the like, from an OSError."""
    return exc.strerror or str(exc)


@contextlib.contextmanager
def atomic_open(path, mode="w", **kwargs):
    """Open a temporary file next to `path`; on success it replaces `path`, on error it is removed.
    An OSError becomes an OutputError naming `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(os.path.basename(path)), suffix=".tmp", dir=directory)
        os.chmod(tmp, _FILE_MODE)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({describe_os_error(exc)})") from None
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write ({describe_os_error(exc)})") from None
        raise


def replace_files(directory, writers):
    """Write each file of {name: write(path)} under a temporary name in `directory`, then, once all are
    complete, rename them over their targets. A failure before the renames leaves every target as it was;
    an OSError becomes an OutputError naming the file."""
    staged = {}
    try:
        for name, write in writers.items():
            target = os.path.join(directory, name)
            try:
                fd, tmp = tempfile.mkstemp(prefix=temp_prefix(name), suffix=".part", dir=directory)
                os.close(fd)
                os.chmod(tmp, _FILE_MODE)
                staged[name] = tmp
                write(tmp)
            except OSError as exc:
                raise OutputError(f"{target}: cannot write ({describe_os_error(exc)})") from None
        for name, tmp in staged.items():
            os.replace(tmp, os.path.join(directory, name))
    finally:
        for tmp in staged.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def free_bytes(directory):
    stat = os.statvfs(directory)
    return stat.f_bavail * stat.f_frsize


def format_bytes(n):
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def check_output_directory(path, needed_bytes, what="output directory"):
    """Create `path` if needed and check that a file can be written there and that about `needed_bytes`
    are free; an OutputError names the path otherwise. Also removes stale temporaries there."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the {what} ({describe_os_error(exc)})") from None
    if not os.path.isdir(path):
        raise OutputError(f"{path}: not a directory")
    remove_stale_temporaries(path)
    try:
        fd, probe = tempfile.mkstemp(prefix=temp_prefix("probe"), dir=path)
        os.close(fd)
        os.unlink(probe)
        free = free_bytes(path)
    except OSError as exc:
        raise OutputError(f"{path}: the {what} is not writable ({describe_os_error(exc)})") from None
    if free < needed_bytes:
        raise OutputError(f"{path}: the outputs need about {format_bytes(needed_bytes)} but only "
                          f"{format_bytes(free)} is free there; free some space or choose another directory")


# ----------------------------------------------------------------------------------------------------
# Locks: an exclusive flock on a lock file, held by one process at a time and re-entrant inside it.


class LockBusy(Exception):
    """The lock is held by another process (`holder`: its pid when it could be read, else None)."""

    def __init__(self, holder):
        super().__init__(holder)
        self.holder = holder


class _LockState:
    def __init__(self):
        self.thread_lock = threading.RLock()
        self.fd = None
        self.depth = 0


_lock_states = {}
_lock_states_guard = threading.Lock()


def _read_holder(fd):
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None


def _open_and_lock(path, wait):
    """An fd holding the flock on `path`; retried when the file was replaced or removed meanwhile, so the
    holder may delete the lock file when it lets go (no lock file outlives its use)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, _FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockBusy(holder) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)


@contextlib.contextmanager
def hold_lock(path, wait=True):
    """Hold the exclusive lock of lock file `path`. Other processes (and other threads of this one) wait
    for it, or get LockBusy at once with wait=False; the thread holding it may take it again."""
    key = os.path.abspath(path)
    with _lock_states_guard:
        state = _lock_states.setdefault(key, _LockState())
    if not state.thread_lock.acquire(blocking=wait):
        raise LockBusy(os.getpid())
    try:
        if state.depth == 0:
            state.fd = _open_and_lock(key, wait)
        state.depth += 1
    except BaseException:
        state.thread_lock.release()
        raise
    try:
        yield
    finally:
        state.depth -= 1
        if state.depth == 0:
            with contextlib.suppress(OSError):
                os.unlink(key)  # safe: whoever waits on the old file sees it gone and retries
            os.close(state.fd)  # releases the flock
            state.fd = None
        state.thread_lock.release()


OUTPUT_LOCK = ".w2v-nce.lock"


@contextlib.contextmanager
def output_directory_lock(directory, wait=True):
    """The lock of an output directory: one writer at a time, so its file set always comes from one run.
    A directory made for it is removed again if an error ends the run while it is still empty."""
    created = not os.path.isdir(directory)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{directory}: cannot create the output directory ({describe_os_error(exc)})") from None
    try:
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(hold_lock(os.path.join(directory, OUTPUT_LOCK), wait=wait))
            except LockBusy as busy:
                who = f" (pid {busy.holder})" if busy.holder else ""
                raise OutputError(f"{directory}: another w2v-nce run{who} is writing there; wait for it or choose "
                                  "another --out") from None
            except OSError as exc:
                raise OutputError(f"{directory}: cannot lock the output directory ({describe_os_error(exc)})") \
                    from None
            yield
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(directory)  # only if empty
        raise
