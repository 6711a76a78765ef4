"""Atomic file output: write to a temporary file beside the target, then rename over it."""
import contextlib
import os
import shutil
import tempfile


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file (mkstemp gives 0600)


@contextlib.contextmanager
def atomic_open(path, mode="w", **kwargs):
    """Open a temporary file next to `path`; on success it replaces `path`, on error it is removed."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    os.chmod(tmp, _FILE_MODE)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a temporary directory next to `path`; on success it replaces `path` (the old one is removed)."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=parent)
    try:
        yield tmp
        if os.path.isdir(path):
            old = tmp + ".old"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_files(directory, writers):
    """Write each file of {name: write(path)} under a temporary name in `directory`, then, once all are
    complete, rename them over their targets. A failure before the renames leaves every target as it was."""
    staged = {}
    try:
        for name, write in writers.items():
            fd, tmp = tempfile.mkstemp(prefix="." + name + ".", suffix=".part", dir=directory)
            os.close(fd)
            staged[name] = tmp
            write(tmp)
        for name, tmp in staged.items():
            os.replace(tmp, os.path.join(directory, name))
    finally:
        for tmp in staged.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)
