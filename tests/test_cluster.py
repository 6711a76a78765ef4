"""Training on a Ray cluster (`train --ray`): shards and vocabulary without Ray, then a local Ray cluster of
two CPUs (skipped where Ray is not installed; the test extra installs it)."""
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from w2v_nce import api
from w2v_nce.cluster import Cluster, ClusterError, spread, sync_rows
from w2v_nce.config import resolve
from w2v_nce.corpus import CorpusSettings
from w2v_nce.errors import CorpusError, W2VWarning
from w2v_nce.heldout import corpus_pairs
from w2v_nce.shards import assign_ranges, count_range, encode_shard, merged_vocab, split_ranges, sum_counts
from w2v_nce.wordcount import PARTITIONS

from conftest import TOY_ANALOGIES
from conftest import TOY_CORPUS as TOY


def _ranges_vocab(paths, settings, range_bytes):
    """The vocabulary as the cluster's tasks build it: each range counted, each partition summed over the
    ranges (taken in reverse order: the sums do not depend on it), then ranked."""
    ranges = split_ranges(paths, range_bytes)
    counted = [count_range(byte_range, settings.lowercase) for byte_range in reversed(ranges)]
    assert all(len(parts) == PARTITIONS + 1 for parts in counted)
    summed = [sum_counts(settings.min_count, *(parts[1 + p] for parts in counted)) for p in range(PARTITIONS)]
    assert sum(len(part.words) > 0 for part in summed) > PARTITIONS // 2  # the words do spread over the parts
    return ranges, merged_vocab([parts[0] for parts in counted], summed, paths, settings.min_count,
                                settings.max_vocab)


@pytest.mark.parametrize("lowercase", [False, True])
def test_ranges_give_the_single_process_vocabulary_and_encoding(tmp_path, lowercase):
    second = tmp_path / "second.txt"
    second.write_bytes(b"The THE the \xc3\x89t\xc3\xa9 \xc3\xa9t\xc3\xa9 \n\n" + b"x" * 1200 + b" new line without end")
    paths = [TOY, str(second)]
    settings = CorpusSettings(min_count=3, lowercase=lowercase)
    with pytest.warns(W2VWarning, match="1 tokens longer than 1000 bytes were cut"):
        whole = api.prepare(paths, settings, use_cache=False)
    with pytest.warns(W2VWarning, match="1 tokens longer than 1000 bytes were cut"):
        ranges, vocab = _ranges_vocab(paths, settings, 40_000)
    assert len(ranges) > 50 and all(r.start == 0 or open(r.path, "rb").read()[r.start - 1:r.start] == b"\n"
                                    for r in ranges[:5])
    assert vocab.words == whole.vocab.words
    assert np.array_equal(vocab.counts, whole.vocab.counts)
    shards = [encode_shard(group, vocab.words, lowercase, threads=2) for group in assign_ranges(ranges, 3)]
    assert len(shards) == 3
    assert np.array_equal(np.concatenate([shard.ids for shard in shards]), whole.ids)
    joined_offsets = np.concatenate([[0]] + [shard.offsets[1:] + sum(s.n_tokens for s in shards[:i])
                                             for i, shard in enumerate(shards)])
    assert np.array_equal(joined_offsets, whole.offsets)


def test_standard_input_cannot_be_shared():
    with pytest.raises(CorpusError, match="standard input cannot be shared"):
        split_ranges(["-"])


def test_workers_go_to_the_nodes_in_turn_where_they_fit():
    assert spread([("a", 4), ("b", 2)], 3, 2) == ["a", "b", "a"]
    assert spread([("a", 4), ("b", 2)], 4, 2) == ["a", "b", "a", None]  # Ray places the last where it can
    assert spread([("a", 1), ("b", 8)], 2, 4) == ["b", "b"]


def test_sync_rows_hot_rows_every_round_rarer_blocks_less_often_and_all_at_the_end():
    assert sync_rows(1, False, 10_000, 100) == [(0, 100), (100, 200)]
    assert sync_rows(2, False, 10_000, 100) == [(0, 100), (200, 400)]
    assert sync_rows(8, False, 10_000, 100) == [(0, 100), (800, 1600)]
    assert sync_rows(64, False, 10_000, 100) == [(0, 100), (6400, 10_000)]
    assert sync_rows(128, False, 10_000, 100) == [(0, 100)]          # that block starts past the vocabulary
    assert sync_rows(5, True, 10_000, 100) == [(0, 10_000)]
    synced = np.zeros(10_000, dtype=bool)
    for r in range(1, 64):
        for a, b in sync_rows(r, False, 10_000, 100):
            synced[a:b] = True
    assert synced[:6400].all() and not synced[6400:].any()  # rows below hot * 2^6 within 63 rounds


def test_without_ray_the_option_says_how_to_install_it(tmp_path):
    code = "import sys; sys.modules['ray'] = None; from w2v_nce.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", code, "train", TOY, "--ray", "--out", str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: --ray needs Ray: pip install 'w2v-nce[ray]'"


def test_ray_address_refuses_a_corpus_path_given_after_it():
    result = subprocess.run([sys.executable, "-m", "w2v_nce", "train", "--ray", TOY], capture_output=True, text=True)
    assert result.returncode == 2 and "is not a Ray address" in result.stderr and "before --ray" in result.stderr


ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _config(**settings):
    return dataclasses.replace(resolve(), **{"workers": 2, "threads": 1, **settings})


def test_cluster_vocabulary_equals_the_single_process_one(local_ray):
    cluster = Cluster.start("local", 2, 1)
    config = _config(holdout=0.01)  # few enough pairs that both shards give some
    try:
        corpus = cluster.prepare([TOY], CorpusSettings())
        held_out = cluster.held_out_pairs(corpus, config)
    finally:
        cluster.stop()
    whole = api.prepare(TOY, use_cache=False)
    assert corpus.vocab.words == whole.vocab.words and np.array_equal(corpus.vocab.counts, whole.vocab.counts)
    assert (corpus.n_tokens, corpus.n_sentences) == (whole.n_tokens, whole.n_sentences)
    assert len(corpus.shard_tokens) == 2 and min(corpus.shard_tokens) > 0.4 * corpus.n_tokens
    # the same sentences are held out as in one process: the shards number them from the corpus's start
    expected = corpus_pairs(whole, config.holdout, config.seed, config.window)
    assert np.array_equal(held_out.labels, expected.labels) and np.array_equal(held_out.inputs, expected.inputs)


def test_a_corpus_error_in_a_counting_task_is_one_line(local_ray, tmp_path):
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"text\n" * 1000 + b"\0")
    with pytest.raises(CorpusError, match="binary.txt: looks like a binary file"):
        api.train(str(binary), _config(), cluster="local")


def test_two_workers_learn_the_toy_analogies_and_write_every_output(local_ray, tmp_path):
    result = api.train(TOY, _config(holdout=0.01, threads=0), cluster="local", out=str(tmp_path / "out"))
    accuracy = api.evaluate(result.embeddings(), TOY_ANALOGIES)["accuracy"]
    assert accuracy >= 0.8
    assert sorted(os.listdir(tmp_path / "out")) == sorted(api.OUTPUT_FILES + ("checkpoint",))
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    n_tokens = metrics["corpus_tokens"]
    for epoch in metrics["epochs"]:
        assert epoch["sync"]["rounds"] >= 2 and epoch["sync"]["bytes"] > 0 and "heldout" in epoch
        assert epoch["tokens"] <= n_tokens  # held-out sentences are skipped, nothing is trained twice
    ran = yaml.safe_load((tmp_path / "out" / "config.yaml").read_text())
    assert (ran["workers"], ran["threads"]) == (2, 1)  # threads 0: the cluster's 2 CPUs shared by 2 workers
    # the checkpoint continues in one process as well
    resumed = api.resume(str(tmp_path / "out"), settings={"epochs": result.config.epochs + 1, "threads": 1})
    assert len(resumed.epochs) == result.config.epochs + 1


def _kill_worker_after_epoch(cluster, epoch):
    def hook(state):
        if state.epochs_done == epoch:
            os.kill(ray.get(cluster.actors[0].location.remote())[1], signal.SIGKILL)
    return hook


def test_a_killed_worker_is_replaced_and_its_shard_still_trained(local_ray, tmp_path):
    cluster = Cluster.start("local", 2, 1)
    try:
        corpus = cluster.prepare([TOY], CorpusSettings())
        config = _config(epochs=3, small_corpus_tokens=0, subsample=0.0)
        with pytest.warns(W2VWarning, match="worker 0 died; a new worker takes over its shard"):
            result = cluster.train(corpus, config, hooks=[_kill_worker_after_epoch(cluster, 1)])
    finally:
        cluster.stop()
    assert cluster.replacements == 1
    assert [epoch["tokens"] for epoch in result.epochs] == [corpus.n_tokens] * 3  # no text dropped
    assert api.evaluate(result.embeddings(), TOY_ANALOGIES)["accuracy"] >= 0.8


def test_a_worker_lost_beyond_replacement_stops_with_a_resumable_checkpoint(local_ray, tmp_path, monkeypatch):
    import w2v_nce.cluster as cluster_module
    monkeypatch.setattr(cluster_module, "MAX_REPLACEMENTS", 0)
    started = []
    original = Cluster.start.__func__

    def start(cls, *args):
        started.append(original(cls, *args))
        return started[-1]

    monkeypatch.setattr(Cluster, "start", classmethod(start))
    out = tmp_path / "out"
    monkeypatch.setattr(api, "measurement_hooks",
                        lambda *args: [_kill_worker_after_epoch(started[0], 1)])
    with pytest.raises(ClusterError, match=r"worker 0 died .*epoch 1 of 3 is saved in .*--resume .* --ray"):
        api.train(TOY, _config(epochs=3, small_corpus_tokens=0), cluster="local", out=str(out))
    assert not (out / "vectors.bin").exists()
    resumed = api.resume(str(out), settings={"threads": 1})
    assert len(resumed.epochs) == 3 and (out / "vectors.bin").exists()


@pytest.mark.parametrize("signal_number, name", [(signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")])
def test_ctrl_c_on_the_driver_stops_the_workers_and_leaves_a_checkpoint(tmp_path, signal_number, name):
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "w2v_nce", "train", TOY, "--ray", "--workers", "2", "--threads",
                                "1", "--epochs", "200", "--small-corpus-tokens", "0", "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = out / "checkpoint" / "state.npz"
    deadline = time.monotonic() + 240
    while not state.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state.exists(), process.communicate()
    process.send_signal(signal_number)  # SIGTERM: ray.init's own handler, which exits at once, is undone
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal_number, err
    saved = re.search(rf"interrupted \({name}\); epochs? (?:1-)?(\d+) of 200 (?:is|are) saved in .*; continue with: "
                      r"w2v-nce train --resume (\S+) --ray$", err.strip())
    assert saved and saved.group(2) == str(out), err
    assert "Traceback" not in err
    deadline = time.monotonic() + 15
    while _shard_workers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _shard_workers()
    epochs = int(saved.group(1)) + 1
    finished = subprocess.run([sys.executable, "-m", "w2v_nce", "train", "--resume", str(out), "--epochs", str(epochs),
                               "--threads", "1", "--quiet"], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert len(json.loads((out / "metrics.json").read_text())["epochs"]) == epochs


def _shard_workers():
    """Ray worker processes of ShardWorker actors still running (their title is ray::ShardWorker)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if cmdline.read().startswith(b"ray::ShardWorker"):
                    found.append(pid)
        except OSError:
            continue
    return found


TWO_NODES = """
import time
import ray
from ray.cluster_utils import Cluster as RayCluster
from w2v_nce.cluster import Cluster, ClusterError
from w2v_nce.corpus import CorpusSettings
nodes = RayCluster(initialize_head=True, head_node_args={"num_cpus": 2})
nodes.add_node(num_cpus=2)
ray.init(address=nodes.address, include_dashboard=False, log_to_driver=False)
nodes.wait_for_nodes()
for workers, threads in ((0, 0), (2, 1)):
    cluster = Cluster.start("auto", workers, threads)
    cluster.prepare([%r], CorpusSettings())
    print(cluster.workers, cluster.threads, len({ray.get(actor.location.remote())[0] for actor in cluster.actors}))
    cluster.stop()
    while ray.available_resources().get("CPU", 0) < 4:  # the stopped workers' CPUs come back
        time.sleep(0.1)
try:
    Cluster.start("auto", 1, 3)
except ClusterError as exc:
    print(exc)
ray.shutdown()
nodes.shutdown()
"""


def test_workers_spread_over_the_nodes(tmp_path):
    """A cluster of two 2-CPU nodes (Ray's cluster_utils, in a process of its own): by default one worker
    of 2 threads a node; 2 workers of 1 thread also go to different nodes, not both to the first; 3 threads
    fit on no node."""
    result = subprocess.run([sys.executable, "-c", TWO_NODES % TOY], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split() for line in lines[-3:-1]] == [["2", "2", "2"], ["2", "1", "2"]]  # workers, threads, nodes
    assert lines[-1] == ("--threads 3: a worker's threads run on one node, and the largest node of the Ray "
                         "cluster has 2 CPUs")
