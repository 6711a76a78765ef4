"""Nothing hangs and nothing is left behind: refused settings instead of an endless draw, Ctrl-C and SIGTERM
during a long block, temporaries of killed processes. Each run is a real `w2v-nce` process with a timeout."""
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import TOY_CORPUS

TIMEOUT = 120


def start(args, cwd, env=None):
    return subprocess.Popen([sys.executable, "-m", "w2v_nce", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def finish(process, timeout=TIMEOUT):
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"w2v-nce did not finish within {timeout} s")
    return process.returncode, out, err


def leftovers(*directories):
    """Temporaries (names with '~w2v-') anywhere under the directories."""
    found = []
    for directory in directories:
        for root, dirs, files in os.walk(directory):
            found += [os.path.join(root, n) for n in dirs + files if "~w2v-" in n]
    return found


def test_more_candidates_than_words_is_refused_before_training(tmp_path):
    """It used to spin forever in the unique-draw loop (and Ctrl-C could not stop it)."""
    code, _, err = finish(start(["train", TOY_CORPUS, "--max-vocab", "5", "--out", "out"], tmp_path), timeout=60)
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "--num-sampled 8" in err and "5 words" in err and "lower --num-sampled" in err
    assert not os.path.exists(tmp_path / "out" / "vectors.bin")


# Drawing as many distinct candidates as there are words makes every batch a long coupon-collector loop:
# one block of tokens then runs for many seconds inside the Numba kernel, where no signal reaches it.
SLOW_BLOCKS = ["--loss", "nce", "--num-sampled", "2300", "--dim", "4000", "--threads", "2", "--quiet"]


@pytest.mark.parametrize("signal_number,expected", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_a_run_within_seconds_even_inside_a_long_block(tmp_path, signal_number, expected):
    cache = tmp_path / "cache"
    process = start(["train", TOY_CORPUS, *SLOW_BLOCKS, "--out", "out", "--cache-dir", cache], tmp_path)
    time.sleep(6)  # well into the first epoch: kernels loaded, corpus prepared
    assert process.poll() is None, process.communicate()
    sent = time.monotonic()
    process.send_signal(signal_number)
    code, _, err = finish(process, timeout=30)
    assert time.monotonic() - sent < 12  # a block takes about 40 s; the stop waits 5 s at most
    assert code == expected
    name = "SIGINT" if signal_number == signal.SIGINT else "SIGTERM"
    assert err.strip().splitlines()[-1] == (f"interrupted ({name}); no epoch was complete, so there is nothing "
                                            f"to resume; files already written are intact")
    assert "Traceback" not in err
    assert leftovers(tmp_path) == []
    assert not os.path.exists(tmp_path / "out" / "vectors.bin")


def test_sigterm_while_preparing_leaves_no_temporaries(tmp_path):
    """The corpus comes through standard input and the signal arrives while the process waits for more:
    its temporary directory (under TMPDIR) exists then, and must be gone after."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "w2v_nce", "vocab", "-", "-o", "v.txt"], cwd=tmp_path,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "TMPDIR": str(scratch)})
    process.stdin.write("".join(f"w{i % 5000} x{i} common words here\n" for i in range(200_000)))
    process.stdin.flush()
    deadline = time.monotonic() + 60
    while not leftovers(scratch) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers(scratch), "no temporary directory appeared"
    process.send_signal(signal.SIGTERM)
    code, _, err = finish(process, timeout=60)
    assert code == 143 and "Traceback" not in err
    assert leftovers(tmp_path) == [] and not os.path.exists(tmp_path / "v.txt")


def test_temporaries_of_killed_processes_are_removed_by_the_next_run(tmp_path):
    """SIGKILL cannot be handled: what the dead process left is cleaned when the same place is used again."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale_out = tmp_path / "out" / f".vectors.bin.~w2v-{host_tag()}-{dead.pid}.abcd.part"
    stale_entry = tmp_path / "cache" / f".0123abcd.~w2v-{host_tag()}-{dead.pid}.xyz"
    os.makedirs(stale_entry)
    (stale_entry / "ids.i32").write_bytes(b"\0" * 1000)
    stale_out.parent.mkdir(exist_ok=True)
    stale_out.write_bytes(b"\0" * 1000)
    alive = tmp_path / "out" / f".vectors.txt.~w2v-{host_tag()}-{os.getpid()}.abcd.part"
    alive.write_bytes(b"mine")  # a live process's temporary is not touched
    code, _, err = finish(start(["train", TOY_CORPUS, "--epochs", "1", "--dim", "8", "--quiet", "--out", "out",
                                 "--cache-dir", tmp_path / "cache"], tmp_path))
    assert code == 0, err
    assert not stale_out.exists() and not stale_entry.exists() and alive.exists()


def host_tag():
    from w2v_nce.io_utils import HOST_TAG
    return HOST_TAG


def test_output_cut_short_by_its_reader_exits_quietly(tmp_path):
    """`w2v-nce pairs ... | head` used to exit 1; a closed pipe is the reader's choice, not an error."""
    result = subprocess.run(f"set -o pipefail; {sys.executable} -m w2v_nce pairs {TOY_CORPUS} | head -n 3",
                            shell=True, executable="/bin/bash", cwd=tmp_path, capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert len(result.stdout.splitlines()) == 3
    assert result.returncode == 141 and result.stderr == ""
