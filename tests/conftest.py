import contextlib
import os
import subprocess

import pytest
from click.testing import CliRunner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOY_CORPUS = os.path.join(ROOT, "data", "toy.txt")
TOY_ANALOGIES = os.path.join(ROOT, "data", "toy-analogies.txt")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own corpus cache directory."""
    monkeypatch.setenv("W2V_NCE_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run `w2v-nce ARGS` in tmp_path and assert its exit code, showing the output when it differs."""
    from w2v_nce.cli import main

    monkeypatch.chdir(tmp_path)

    def invoke(*args, exit_code=0, input=None):
        result = CliRunner().invoke(main, [str(a) for a in args], input=input)
        assert result.exit_code == exit_code, (
            f"w2v-nce {' '.join(map(str, args))} exited {result.exit_code}, expected {exit_code}\n"
            f"output:\n{result.output}\nexception: {result.exception!r}")
        return result

    return invoke


def write(path, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as handle:
        handle.write(data)
    return str(path)


@contextlib.contextmanager
def tmpfs(path, options):
    """A tmpfs mounted at `path` (e.g. options 'size=2m' or 'ro,size=1m'), skipping the test where this
    process may not mount one; unmounted afterwards."""
    os.makedirs(path, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], capture_output=True)
