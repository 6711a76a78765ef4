#!/usr/bin/env python3
"""The default dim's batch step alone, this checkout's against another git revision's, in a compiled loop.

    python scripts/bench_step.py [REV] [--steps 100000] [--repeats 7]

Each revision's `step_batch_specialized` runs --steps times in a Numba loop (which prefetches the next
step's rows, as train_block does), on a 62,992 x 100 model laid out as that revision's trainer lays it
out, for three shapes of batch (inputs x outputs: 6 x 6 as shared negatives with a full window, 6 x 9 as
sampled softmax with 8 candidates, 10 x 11 as nce with 10 candidates and a wider window) and two kinds of
row ids: drawn from the 512 most frequent words, whose rows stay in cache, and from all words. No corpus,
walk or draws: what the step's own code costs. Prints the fastest and the median nanoseconds per step.
"""
import argparse
import functools
import time

import numpy as np
from bench_kernels import alternate, model_for, revision_and_checkout
from numba import njit

VOCAB, DIM = 62_992, 100


def step_loop(module):
    """A compiled loop of `steps` of module's step_batch_specialized, called as loop(model, private, ...);
    private is the thread's private rows (none here) for revisions since --private-rows, and ignored by
    the revisions before them, whose step has no such argument."""
    step, prefetch = module.step_batch_specialized, module.prefetch_row
    takes_private = hasattr(module, "take_private_rows")

    @njit(nogil=True)
    def prefetch_next(model, inputs, outputs, n_inputs, n_outputs, s):
        for q in range(n_inputs):
            prefetch(model.w_in, inputs[s, q])
        for q in range(n_outputs):
            prefetch(model.w_out, outputs[s, q])

    if takes_private:
        @njit(nogil=True)
        def loop(model, private, inputs, outputs, n_inputs, n_outputs, softmax, grad, grad_in, bias, steps):
            total = 0.0
            for s in range(steps):
                if s + 1 < steps:
                    prefetch_next(model, inputs, outputs, n_inputs, n_outputs, s + 1)
                total += step(softmax, model, private, outputs[s], n_outputs, inputs[s], n_inputs, bias, True, 1e-4,
                              grad, grad_in)
            return total
    else:
        @njit(nogil=True)
        def loop(model, private, inputs, outputs, n_inputs, n_outputs, softmax, grad, grad_in, bias, steps):
            total = 0.0
            for s in range(steps):
                if s + 1 < steps:
                    prefetch_next(model, inputs, outputs, n_inputs, n_outputs, s + 1)
                total += step(softmax, model, outputs[s], n_outputs, inputs[s], n_inputs, bias, True, 1e-4, grad,
                              grad_in)
            return total
    return loop


@functools.lru_cache(maxsize=None)
def side_state(module, trainer):
    """A side's model, with nonzero output rows as a trained model's logits need, and its compiled loop."""
    model = model_for(trainer, VOCAB, DIM)
    model.w_out[...] = model.w_in[::-1]
    return model, step_loop(module)


@functools.lru_cache(maxsize=None)
def batches(rows, n_inputs, n_outputs, steps):
    """The row ids of `steps` steps, drawn from the `rows` most frequent words, the same on both sides."""
    rng = np.random.default_rng((rows, n_inputs, n_outputs))
    return rng.integers(0, rows, (steps, n_inputs)), rng.integers(0, rows, (steps, n_outputs))


def timed_steps(module, trainer, rows, n_inputs, n_outputs, softmax, steps):
    """Nanoseconds per step of `steps` steps, in a side's process (see SideProcess)."""
    model, loop = side_state(module, trainer)
    inputs, outputs = batches(rows, n_inputs, n_outputs, steps)
    scratch = (np.empty(n_inputs * n_outputs, np.float32), np.empty((n_inputs, DIM), np.float32),
               np.zeros(n_outputs, np.float32))
    start = time.perf_counter()
    loop(model, None, inputs, outputs, n_inputs, n_outputs, softmax, *scratch, steps)
    return (time.perf_counter() - start) / steps * 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", nargs="?", default="HEAD~1")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with revision_and_checkout(args.revision, timed_steps) as sides:
        print(f"ns per step, each revision in a process of its own, fastest (median) of {args.repeats} x "
              f"{args.steps} steps")
        print(f"| rows | inputs x outputs | {args.revision} | this checkout | speed-up |\n|---|---|---|---|---|")
        for rows, label in ((512, "512 most frequent"), (VOCAB, "all")):
            for n_inputs, n_outputs, softmax in ((6, 6, False), (6, 9, True), (10, 11, False)):
                shape = (rows, n_inputs, n_outputs, softmax)
                before, after = alternate(sides, args.repeats, (*shape, args.steps), warm_up=(*shape, 100))
                print(f"| {label} | {n_inputs} x {n_outputs} | {min(before):.0f} ({np.median(before):.0f}) | "
                      f"{min(after):.0f} ({np.median(after):.0f}) | {np.median(before) / np.median(after):.2f}x |",
                      flush=True)


if __name__ == "__main__":
    main()
