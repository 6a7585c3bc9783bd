"""Time the training loop with and without drawing the next batch ahead (``prefetch``).

Usage::

    python benchmarks/bench_prefetch.py [--n-rec 400] [--n-batch 128] [--T 3000] [--iters 12]
                                        [--rounds 2]

The task is PerceptualDiscrimination on its PsychRNN-style per-step path (Python per trial and
time step, the slow way a new user's task often draws batches); the backend is torch on the
CPU, its network sized (``--n-rec``) so that one optimisation step takes about as long as one
batch. It times one batch and one step on their own (median of ``--repeats``), then trains
``--iters`` steps with ``prefetch=False``, ``"thread"`` and ``"process"``, in turn, ``--rounds``
times, and prints for each the seconds per iteration over the whole run and in the steady state
(from the third step on, after the worker process has started; from each step's callback time),
the best round of each, its ratio to ``max(batch, step)``, the load average and whether the
process worker meets the target: steady-state seconds per iteration at most
1.2 x max(batch, step). It also checks that every setting recorded the same losses, and prints
the process's CPU seconds per wall second (the worker process's time not counted).
"""

from __future__ import annotations

import argparse
import os
import time

from psychcore_tasks_classic import PerceptualDiscrimination
from timing import median_seconds

from psychcore import Model, ModelSpec, Task

TARGET = 1.2


class PerStepPerceptualDiscrimination(PerceptualDiscrimination):
    """PerceptualDiscrimination without its vectorised path: batches are built per trial and
    per time step, as PsychRNN builds them."""

    batch_function = Task.batch_function


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-rec", type=int, default=400, help="recurrent units (400)")
    parser.add_argument("--n-batch", type=int, default=128, help="trials per batch (128)")
    parser.add_argument("--dt", type=float, default=10.0, help="time step in ms (10)")
    parser.add_argument("--T", type=float, default=3000.0, help="trial duration in ms (3000)")
    parser.add_argument("--iters", type=int, default=12, help="steps per timed run (12)")
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
    batch_s = median_seconds(lone_task.get_trial_batch, args.repeats)
    step_s = median_seconds(lambda: probe.backend.train_step(x, y, mask), args.repeats)
    bound = max(batch_s, step_s)
    print(f"batch generation {batch_s:.3f} s, step {step_s:.3f} s, sum {batch_s + step_s:.3f} "
          f"s, max {bound:.3f} s")

    modes: tuple[str | bool, ...] = (False, "thread", "process")
    whole: dict[str | bool, list[float]] = {m: [] for m in modes}
    steady: dict[str | bool, list[float]] = {m: [] for m in modes}
    parallel: dict[str | bool, list[float]] = {m: [] for m in modes}
    losses: dict[str | bool, list[float]] = {}
    for _ in range(args.rounds):
        for mode in modes:
            source = task()
            model = Model(source, spec, "torch", seed=0)
            stamps: list[float] = []
            cpu = time.process_time()
            _, seconds, _ = model.train(
                source, training_iters=args.iters * args.n_batch, loss_epoch=1,
                verbosity=False, prefetch=mode,
                callback=lambda status, stamps=stamps: stamps.append(time.perf_counter()))
            whole[mode].append(seconds / args.iters)
            steady[mode].append((stamps[-1] - stamps[1]) / (len(stamps) - 2))
            parallel[mode].append((time.process_time() - cpu) / seconds)
            losses[mode] = model.losses
            assert model.last_result.prefetch == (mode or None)
    print("seconds per iteration, best round (whole run; steady state from step 3; "
          "steady / max(batch, step); CPU s per wall s of the training process):")
    for mode in modes:
        best = min(steady[mode])
        print(f"  prefetch={mode!s:8} {min(whole[mode]):.3f}  {best:.3f}  {best / bound:.2f}x  "
              f"{max(parallel[mode]):.2f}   (rounds, steady: "
              f"{', '.join(f'{s:.3f}' for s in steady[mode])})")
    ratio = min(steady["process"]) / bound
    print(f"process worker: steady seconds per iteration / max(batch, step) = {ratio:.2f} "
          f"(target <= {TARGET})")
    same = all(losses[m] == losses[False] for m in modes)
    print(f"same losses with and without prefetch: {same}")
    print(f"load average after: {load()}")
    ok = same and ratio <= TARGET
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
