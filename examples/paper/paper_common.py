"""Shared helpers of the paper-figure scripts (examples/paper/figure2.py ... figure5.py).

Not a public API: argument parsing, backend set-up, the hello-world perceptual
discrimination network, training to a test-batch criterion, and test batches at fixed
coherences for psychometric curves.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

import psychcore
from psychcore import ModelSpec

DT, TAU, T = 10, 100, 2000
N_BATCH = 128
COHERENCES = (0.0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32)


def parse_args(description: str, add: Any = None) -> argparse.Namespace:
    """The common options: ``--backend``, ``--out``, ``--seed``, ``--quick``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", choices=("torch", "tensorflow"), default="torch")
    parser.add_argument("--out", type=Path, default=Path("docs/paper"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="a fast smoke run (fewer trials, smaller test batches)")
    if add is not None:
        add(parser)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    setup(args.backend)
    return args


def setup(backend: str) -> None:
    """Non-interactive matplotlib; one PyTorch thread (the machine's cores are shared)."""
    import matplotlib

    matplotlib.use("Agg")
    if backend == "torch":
        import torch

        torch.set_num_threads(1)


def perceptual(N_batch: int = N_BATCH, seed: Any = None, coherence: float | None = None,
               direction: int | None = None) -> Any:
    """PerceptualDiscrimination(dt=10, tau=100, T=2000) as in the paper's hello world."""
    cls = psychcore.get_task("PerceptualDiscrimination")
    return cls(dt=DT, tau=TAU, T=T, N_batch=N_batch, coherence=coherence, direction=direction,
               seed=seed)


def test_accuracy(model: Any, task_factory: Any, n_trials: int, seed: int) -> float:
    """Accuracy on a fresh batch of ``n_trials`` trials from ``task_factory(N_batch, seed)``."""
    task = task_factory(n_trials, seed)
    x, y, mask, _ = task.get_trial_batch()
    outputs, _ = model.test(x)
    return float(task.accuracy_function(y, outputs, mask))


def train_to_accuracy(model: Any, task: Any, *, target: float = 0.9, n_test: int = 1000,
                      chunk_trials: int = 128 * 100, max_trials: int = 128 * 3000,
                      learning_rate: float = 1e-3, cutoff: float = 0.95,
                      test_seed: int = 12345, min_trials: int = 0) -> dict[str, Any]:
    """Train in chunks until the accuracy on a fresh ``n_test``-trial batch reaches ``target``.

    Each chunk trains with ``performance_cutoff=cutoff`` (checked on a fresh 128-trial batch
    every 10 steps, PsychRNN's way: ``validation_trials=0``); after each chunk a fresh test
    batch decides whether to go on. With
    ``min_trials``, training then goes on without a cutoff until that many trials in all.
    """
    start = time.perf_counter()
    accuracy = 0.0
    k = 0
    while True:
        model.train(task, training_iters=chunk_trials, learning_rate=learning_rate,
                    performance_cutoff=cutoff, loss_epoch=10, verbosity=False,
                    validation_trials=0)
        accuracy = test_accuracy(
            model, lambda n, s: perceptual(n, seed=s), n_test, test_seed + k)
        k += 1
        trials = model.epoch * task.N_batch
        if accuracy >= target or trials >= max_trials:
            break
    criterion_trials = model.epoch * task.N_batch
    if criterion_trials < min_trials:
        model.train(task, training_iters=min_trials - criterion_trials,
                    learning_rate=learning_rate, loss_epoch=10, verbosity=False)
        accuracy = test_accuracy(
            model, lambda n, s: perceptual(n, seed=s), n_test, test_seed + k)
    return {"accuracy": accuracy, "trials": model.epoch * task.N_batch, "steps": model.epoch,
            "criterion_trials": criterion_trials,
            "seconds": time.perf_counter() - start, "reached": accuracy >= target}


def fixed_coherence_batch(n_per: int, seed: int, coherences: Any = COHERENCES) -> tuple:
    """Trials at fixed coherences and both directions, concatenated.

    Returns ``(x, y, mask, trial_params)`` with ``2 * len(coherences) * n_per`` trials.
    """
    xs, ys, ms, ps = [], [], [], []
    k = 0
    for c in coherences:
        for d in (0, 1):
            task = perceptual(n_per, seed=seed + k, coherence=c, direction=d)
            k += 1
            x, y, m, p = task.get_trial_batch()
            xs.append(x)
            ys.append(y)
            ms.append(m)
            ps.extend(list(p))
    params = np.empty(len(ps), dtype=object)
    params[:] = ps
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ms), params


def psychometric(model: Any, n_per: int, seed: int) -> tuple:
    """Choice data at fixed coherences, its logistic fit, and the batch and network output."""
    from psychcore.analysis import choice_probabilities, fit_psychometric

    x, y, mask, params = fixed_coherence_batch(n_per, seed)
    from psychcore.analysis import signed_coherence

    outputs, states = model.test(x)
    levels = np.round(signed_coherence(params, channel=1), 4) + 0.0  # -0.0 -> 0.0
    data = choice_probabilities(outputs, levels, mask, channel=1)
    fit = fit_psychometric(data.levels, data.p_choice, data.n_trials)
    return data, fit, (x, y, mask, params, outputs, states)


def hello_spec(**kw: Any) -> ModelSpec:
    """The hello-world network: 50 recurrent units; keyword arguments override."""
    return ModelSpec(N_rec=50, **kw)


def savefig(fig: Any, path: Path) -> None:
    """Save a figure at 120 dpi and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")
