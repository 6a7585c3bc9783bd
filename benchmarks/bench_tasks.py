"""Time batch generation of the classic tasks: vectorised path vs PsychRNN-style per-step path.

Usage::

    python benchmarks/bench_tasks.py [--n-batch 128] [--dt 10] [--T 2000] [--repeats 50]

For each task of ``psychcore_tasks_classic`` it times ``get_trial_batch(vectorized=True)``
and ``get_trial_batch(vectorized=False)`` (median over repeats, after a warm-up) and prints a
table. The target is under 2 ms per vectorised batch at N_batch=128, N_steps=200.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from psychcore_tasks_classic import (
    ContextDependentIntegration,
    DelayedDiscrimination,
    GoNoGo,
    MatchToCategory,
    PerceptualDiscrimination,
)
from timing import median_seconds

from psychcore import Task

TASKS: tuple[type[Task], ...] = (
    PerceptualDiscrimination,
    DelayedDiscrimination,
    MatchToCategory,
    GoNoGo,
    ContextDependentIntegration,
)
TARGET_MS = 2.0


def median_ms(fn: Callable[[], object], repeats: int, warmup: int) -> float:
    """Median wall time of ``fn()`` in ms over ``repeats`` calls, after ``warmup`` calls."""
    return 1e3 * median_seconds(fn, repeats, warmup)


def task_code(task: Task) -> object:
    """The task's own share of a vectorised batch: its parameters and its arrays."""
    rng = task.rng
    params = task.generate_batch_params(0, task.N_batch, rng)
    return task.batch_function(task.time, params, rng)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-batch", type=int, default=128, help="trials per batch (128)")
    parser.add_argument("--dt", type=float, default=10.0, help="time step in ms (10)")
    parser.add_argument("--tau", type=float, default=100.0, help="time constant in ms (100)")
    parser.add_argument("--T", type=float, default=2000.0, help="trial duration in ms (2000)")
    parser.add_argument("--repeats", type=int, default=50, help="timed vectorised calls (50)")
    parser.add_argument(
        "--step-repeats", type=int, default=5, help="timed per-step calls (5; they are slow)"
    )
    parser.add_argument("--seed", type=int, default=0, help="task seed (0)")
    args = parser.parse_args(argv)

    rows = []
    for cls in TASKS:
        task = cls(args.dt, args.tau, args.T, args.n_batch, seed=args.seed)
        vec = median_ms(lambda t=task: t.get_trial_batch(vectorized=True), args.repeats, 5)
        own = median_ms(lambda t=task: task_code(t), args.repeats, 5)
        step = median_ms(lambda t=task: t.get_trial_batch(vectorized=False), args.step_repeats, 1)
        rows.append((cls.__name__, task.N_in, vec, own, step))

    print(
        f"N_batch={args.n_batch}, dt={args.dt:g}, T={args.T:g} "
        f"(N_steps={task.N_steps}); median ms per batch"
    )
    header = (
        f"{'task':<28} {'N_in':>4} {'vectorised':>11} {'(task code)':>12} {'per-step':>10} "
        f"{'speed-up':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, n_in, vec, own, step in rows:
        print(f"{name:<28} {n_in:>4} {vec:>11.3f} {own:>12.3f} {step:>10.1f} {step / vec:>8.0f}x")
    print(
        "vectorised: get_trial_batch(vectorized=True); task code: the task's own "
        "generate_batch_params + batch_function, without the base class's bookkeeping"
    )
    slow = [row[0] for row in rows if row[2] >= TARGET_MS]
    if slow:
        print(f"over the {TARGET_MS:g} ms target: {', '.join(slow)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
