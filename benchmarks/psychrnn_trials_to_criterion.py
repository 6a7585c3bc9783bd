"""Trials to 90% on PerceptualDiscrimination: PsychRNN 1.0.0 itself against psychcore.

Trains N_rec=50, dale_ratio=0.8, Adam 1e-3, N_batch=128 until the task's accuracy on a fresh
batch, checked after every step as PsychRNN does, reaches 0.9; prints the trials used per seed
and the median. Three variants:

    # PsychRNN itself (in the environment of benchmarks/psychrnn_reference.py)
    .venv-psychrnn/bin/python benchmarks/psychrnn_trials_to_criterion.py --psychrnn
    # psychcore's PerceptualDiscrimination (coherence ~ Exponential(1/5), as PsychRNN documents)
    python benchmarks/psychrnn_trials_to_criterion.py
    # the same with the coherences PsychRNN 1.0.0's code draws ({0.1, 0.3, 0.5, 0.7})
    python benchmarks/psychrnn_trials_to_criterion.py --coherence psychrnn-code
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def psychrnn_trials(seed: int) -> int:
    """Trials PsychRNN's Basic model needs to reach 90% (NumPy and TF seeded with ``seed``)."""
    import tensorflow as tf
    from psychrnn.backend.models.basic import Basic
    from psychrnn.tasks.perceptual_discrimination import PerceptualDiscrimination

    np.random.seed(seed)
    tf.compat.v1.set_random_seed(seed)
    task = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=128)
    params = task.get_task_params()
    params.update(name=f"seed{seed}", N_rec=50, dale_ratio=0.8, rec_noise=0.0)
    model = Basic(params)
    epochs: list[int] = []

    def measure(x, y, mask, output, epoch, losses, verbosity):  # PsychRNN's signature
        epochs.append(epoch)
        return task.accuracy_function(y, output, mask)

    model.train(task, {"training_iters": 200_000, "learning_rate": 1e-3,
                       "performance_cutoff": 0.9, "performance_measure": measure,
                       "verbosity": False})
    model.destruct()
    return epochs[-1] * 128


def psychcore_trials(seed: int, coherence: str, backend: str) -> int:
    """Trials psychcore needs to reach 90%, checking after every step (``loss_epoch=1``)."""
    import psychcore
    from psychcore import Model, ModelSpec

    cls = psychcore.get_task("PerceptualDiscrimination")
    coherences = cls.PSYCHRNN_CODE_COHERENCES if coherence == "psychrnn-code" else None
    task = cls(dt=10, tau=100, T=2000, N_batch=128, coherences=coherences, seed=seed)
    model = Model(task, ModelSpec(N_rec=50, dale_ratio=0.8), backend=backend, seed=seed)
    model.train(task, training_iters=200_000, learning_rate=1e-3, performance_cutoff=0.9,
                loss_epoch=1, verbosity=False)
    return model.epoch * 128


def main() -> None:
    """Run the chosen variant for every seed and print the trials and their median."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psychrnn", action="store_true", help="train with PsychRNN itself")
    parser.add_argument("--coherence", choices=("exponential", "psychrnn-code"),
                        default="exponential", help="psychcore's coherence distribution")
    parser.add_argument("--backend", default="torch", help="psychcore backend")
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    trials = []
    for seed in range(args.seeds):
        n = (psychrnn_trials(seed) if args.psychrnn
             else psychcore_trials(seed, args.coherence, args.backend))
        trials.append(n)
        print(f"seed {seed}: {n} trials", flush=True)
    label = "PsychRNN 1.0.0" if args.psychrnn else f"psychcore ({args.backend}, {args.coherence})"
    print(f"{label}: median {np.median(trials):.0f} trials to 90% over {args.seeds} seeds")


if __name__ == "__main__":
    main()
