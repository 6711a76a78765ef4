#!/usr/bin/env python3
"""The arithmetic of docs/scaling.md: bytes per sync, words/s and seconds per epoch of `train --ray` on N
nodes, from a measured per-core speed and a network bandwidth.

    python scripts/scaling_model.py [--per-core 1.05e6] [--cores 32] [--tokens 100e9] [--vocab 2e6] [--dim 100]
                                    [--hot 1024] [--round-seconds 0.1]

Model of the current design (cluster.py): every round each worker sends its hot rows plus one tier block to
the driver, which receives W of them and sends the merge back (Ray fetches it from the driver's node); a
round lasts round_seconds of training or, when the driver's link is slower, W x bytes / bandwidth; every
epoch ends with a sync of all rows through the driver. And of the planned design: a sharded merge (each
worker owns 1/W of the rows; 2 (W-1)/W of a round's rows cross each worker's link, overlapped with training)
whose epoch end syncs only the rows no tier covered, the same way. Both assume a node trains at cores x
per-core speed (Hogwild scaling within a node is not measured beyond 2 cores here).
"""
import argparse


def tier_rows(vocab, hot, rounds):
    """Expected rows a round syncs: the hot rows, plus tier k (rows [hot 2^k, hot 2^(k+1))) on the rounds
    whose lowest set bit is k, for the tiers that start inside the vocabulary and occur within an epoch."""
    rows = min(hot, vocab)
    k = 0
    while (hot << k) < vocab and (1 << k) <= rounds:
        rows += (min(hot << (k + 1), vocab) - (hot << k)) / 2 ** (k + 1)
        k += 1
    return rows, min(vocab, hot << k)


def epoch(nodes, args, bandwidth, design):
    row_bytes = 2 * 4 * args.dim + 4
    node_speed = args.per_core * args.cores
    compute = args.tokens / (nodes * node_speed)
    rounds = max(1, round(compute / args.round_seconds))
    rows, covered = tier_rows(args.vocab, args.hot, rounds)
    per_worker = rows * row_bytes
    if design == "driver":
        wire = nodes * per_worker / bandwidth  # the driver's link takes every worker's rows
        round_time = max(args.round_seconds, wire)
        end = nodes * args.vocab * row_bytes / bandwidth
    else:
        round_time = max(args.round_seconds, 2 * per_worker * (nodes - 1) / nodes / bandwidth)
        end = 2 * (args.vocab - covered) * row_bytes * (nodes - 1) / nodes / bandwidth  # the rows no tier covers
    seconds = rounds * round_time + end
    return {"rounds": rounds, "mb_per_worker": per_worker / 1e6, "round_s": round_time, "end_s": end,
            "epoch_s": seconds, "words_per_s": args.tokens / seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-core", type=float, default=1.05e6, help="words/s of one core, all cores busy")
    parser.add_argument("--cores", type=int, default=32)
    parser.add_argument("--tokens", type=float, default=100e9)
    parser.add_argument("--vocab", type=int, default=2_000_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--hot", type=int, default=1024)
    parser.add_argument("--round-seconds", type=float, default=0.1)
    args = parser.parse_args()
    print(f"model: {args.vocab:.0f} words x dim {args.dim}: {args.vocab * (8 * args.dim + 4) / 1e9:.2f} GB; "
          f"one node: {args.per_core * args.cores / 1e6:.1f} M words/s")
    for gbit in (10, 25):
        bandwidth = gbit * 1e9 / 8
        for design in ("driver", "sharded"):
            print(f"\n{gbit} Gb/s, {design} merge")
            print(" nodes  rounds  MB/worker/round  round s  epoch-end s  epoch s  M words/s  x one node")
            one = epoch(1, args, bandwidth, design)["words_per_s"]
            for nodes in (1, 2, 4, 8, 16, 24, 32, 48, 64):
                r = epoch(nodes, args, bandwidth, design)
                print(f"{nodes:6d} {r['rounds']:7d} {r['mb_per_worker']:16.1f} {r['round_s']:8.3f} {r['end_s']:12.1f}"
                      f" {r['epoch_s']:8.0f} {r['words_per_s'] / 1e6:10.0f} {r['words_per_s'] / one:11.1f}")


if __name__ == "__main__":
    main()
