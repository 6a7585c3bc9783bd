"""Time the training loop with and without drawing the next batch ahead (``prefetch``).

Usage::

    python benchmarks/bench_prefetch.py [--n-rec 512] [--n-batch 128] [--iters 8] [--rounds 2]

The task is PerceptualDiscrimination on its PsychRNN-style per-step path (Python per trial and
time step, the slow way a new user's task often draws batches); the backend is torch on the
CPU, its network sized (``--n-rec``) so that one optimisation step takes about as long as one
batch. It times one batch and one step on their own (median of ``--repeats``), then trains
``--iters`` steps with ``prefetch=False`` and ``prefetch=True``, alternating, ``--rounds``
times, and prints seconds per iteration (the best round of each), ``max(batch, step)``, the
load average and whether the prefetching loop meets the target: seconds per iteration at most
1.2 x max(batch, step). It also checks that both loops recorded the same losses, and prints
the process's CPU seconds per wall second, which says whether the machine gave the loop the
second core that overlapping needs.

The worker is a thread: a per-step task holds the GIL, and the torch step needs it between
operations, so only the step's GIL-free part (its matrix work) overlaps the batch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from psychcore_tasks_classic import PerceptualDiscrimination

from psychcore import Model, ModelSpec, Task

TARGET = 1.2


class PerStepPerceptualDiscrimination(PerceptualDiscrimination):
    """PerceptualDiscrimination without its vectorised path: batches are built per trial and
    per time step, as PsychRNN builds them."""

    batch_function = Task.batch_function


def median_s(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls, after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-rec", type=int, default=512, help="recurrent units (512)")
    parser.add_argument("--n-batch", type=int, default=128, help="trials per batch (128)")
    parser.add_argument("--dt", type=float, default=10.0, help="time step in ms (10)")
    parser.add_argument("--T", type=float, default=2000.0, help="trial duration in ms (2000)")
    parser.add_argument("--iters", type=int, default=8, help="steps per timed run (8)")
    parser.add_argument("--rounds", type=int, default=2, help="timed runs per setting (2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed lone batches/steps (3)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (1: one core steps, one draws)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    print(f"load average before: {load()} ({os.cpu_count()} CPUs); torch threads "
          f"{args.threads}; N_rec={args.n_rec}, N_batch={args.n_batch}, dt={args.dt:g}, "
          f"T={args.T:g}")

    def task() -> Task:
        return PerStepPerceptualDiscrimination(args.dt, 100.0, args.T, args.n_batch, seed=0)

    spec = ModelSpec(N_rec=args.n_rec)
    probe = Model(task(), spec, "torch", seed=0)
    probe.backend.configure_optimizer("adam", 1e-3, True)
    lone_task = task()
    x, y, mask, _ = lone_task.get_trial_batch()
    batch_s = median_s(lone_task.get_trial_batch, args.repeats)
    step_s = median_s(lambda: probe.backend.train_step(x, y, mask), args.repeats)
    bound = max(batch_s, step_s)
    print(f"batch generation {batch_s:.3f} s, step {step_s:.3f} s, sum {batch_s + step_s:.3f} "
          f"s, max {bound:.3f} s")

    per_iter: dict[bool, list[float]] = {False: [], True: []}
    parallel: dict[bool, list[float]] = {False: [], True: []}
    losses: dict[bool, list[float]] = {}
    for _ in range(args.rounds):
        for prefetch in (False, True):
            source = task()
            model = Model(source, spec, "torch", seed=0)
            cpu = time.process_time()
            _, seconds, _ = model.train(source, training_iters=args.iters * args.n_batch,
                                        loss_epoch=1, verbosity=False, prefetch=prefetch)
            per_iter[prefetch].append(seconds / args.iters)
            parallel[prefetch].append((time.process_time() - cpu) / seconds)
            losses[prefetch] = model.losses
    off, on = min(per_iter[False]), min(per_iter[True])
    print(f"seconds per iteration: prefetch off {off:.3f}, prefetch on {on:.3f} "
          f"(rounds: off {', '.join(f'{s:.3f}' for s in per_iter[False])}; "
          f"on {', '.join(f'{s:.3f}' for s in per_iter[True])})")
    print(f"prefetch on / max(batch, step) = {on / bound:.2f} (target <= {TARGET}); "
          f"off / max = {off / bound:.2f}")
    print(f"CPU seconds per wall second (2.0 = two cores busy): prefetch off "
          f"{max(parallel[False]):.2f}, on {max(parallel[True]):.2f}")
    same = losses[False] == losses[True]
    print(f"same losses with and without prefetch: {same}")
    print(f"load average after: {load()}")
    ok = same and on <= TARGET * bound
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
