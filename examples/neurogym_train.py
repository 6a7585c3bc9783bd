"""Train rate RNNs on NeuroGym's DelayComparison-v0 and PerceptualDecisionMaking-v0.

The settings of the BrainPy/NeuroGym working-memory tutorial: dt = 100 ms, delays of 200, 400,
800, 1600 or 3200 ms, a 64-unit ReLU rate network with alpha = dt / tau = 1, Adam with a
learning rate of 1e-3, a cross-entropy loss on every step of the trial. The accuracy printed is
the tutorial's: the fraction of the steps whose ground truth is not fixation on which the
network's most active output is the ground truth, on trials it was not trained on; NeuroGym's
per-trial accuracy (the choice in the decision period, ``task.accuracy_function``) follows.

Needs the NeuroGym plugin and a backend (see plugins/tasks_neurogym/README.md)::

    python examples/neurogym_train.py --backend torch
    python examples/neurogym_train.py --backend tensorflow --envs DelayComparison-v0
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import psychcore
from psychcore import ModelSpec

#: The tutorial's DelayComparison-v0 settings.
TUTORIAL = {
    "DelayComparison-v0": {
        "dt": 100,
        # "response" is no period of DelayComparison-v0 (its last one is "decision"): NeuroGym
        # ignores it, as psychcore does when it pads trials to the longest one
        "timing": {"delay": ("choice", [200, 400, 800, 1600, 3200]),
                   "response": ("constant", 500)},
    },
    "PerceptualDecisionMaking-v0": {"dt": 100},
}

#: Training trials by default: about the tutorial's 100,000 for DelayComparison-v0; the
#: perceptual task's weakest coherences take longer to reach the ideal observer.
ITERS = {"DelayComparison-v0": 128_000, "PerceptualDecisionMaking-v0": 512_000}


def non_fixation_accuracy(task: psychcore.Task, model: psychcore.Model, n_trials: int,
                          seed: int) -> tuple[float, float]:
    """The tutorial's accuracy and NeuroGym's per-trial accuracy on fresh trials.

    Returns:
        ``(accuracy on non-fixation steps, accuracy of the trials' choices)``.
    """
    x, y, mask, trial_params = task.get_trial_batch(np.random.default_rng(seed),
                                                    N_batch=n_trials)
    outputs, _ = model.test(x)
    labels = task.labels(trial_params)
    respond = (labels != task.fixation_action) & (labels >= 0)
    step_acc = float(np.mean(outputs.argmax(axis=2)[respond] == labels[respond]))
    trial_acc = task.accuracy_function(y, outputs, mask, trial_params)
    return step_acc, trial_acc


def ideal_observer(task: psychcore.Task, n_trials: int, seed: int) -> float:
    """Accuracy of the best possible choices in PerceptualDecisionMaking-v0: the stimulus
    channel with the larger sum over the stimulus period. Trials of coherence 0 are guesses,
    so no network can exceed it."""
    _, _, _, trial_params = task.get_trial_batch(np.random.default_rng(seed), N_batch=n_trials)
    correct = []
    for p in trial_params:
        start, end = p["periods"]["stimulus"]
        evidence = p["ob"][start:end, 1:].sum(axis=0)
        correct.append(int(np.argmax(evidence)) == p["trial"]["ground_truth"])
    return float(np.mean(correct))


def train(env_id: str, args: argparse.Namespace) -> dict[str, float]:
    """Train one network on ``env_id`` and return its scores."""
    settings = TUTORIAL[env_id]
    task = psychcore.get_task(f"neurogym:{env_id}")(
        settings["dt"], settings.get("timing"), N_batch=args.batch, seed=args.seed,
    )
    spec = ModelSpec(N_rec=64, transfer_function="relu", loss="cross_entropy")
    model = psychcore.Model(task, spec, backend=args.backend, seed=args.seed)
    print(f"{env_id}: {task.N_in} inputs, {task.N_out} outputs, trials padded to "
          f"{task.N_steps} steps of {task.dt:g} ms, alpha = {task.alpha:g}")
    losses, training_time, _ = model.train(
        task, training_iters=args.iters or ITERS[env_id], learning_rate=1e-3, optimizer="adam",
        clip_grads=False, loss_epoch=100, verbosity=False,
    )
    step_acc, trial_acc = non_fixation_accuracy(task, model, args.test_trials, args.seed + 1)
    print(f"{env_id}: {model.epoch} steps of {task.N_batch} trials in {training_time:.0f} s; "
          f"final loss {losses[-1]:.4f}; accuracy on non-fixation steps {step_acc:.3f}; "
          f"trial accuracy (choice in the decision period) {trial_acc:.3f}", flush=True)
    if env_id == "PerceptualDecisionMaking-v0":
        best = ideal_observer(task, args.test_trials, args.seed + 1)
        print(f"{env_id}: an ideal observer of the same trials is right on {best:.3f} of them "
              "(coherence-0 trials are guesses)", flush=True)
    return {"step_accuracy": step_acc, "trial_accuracy": trial_acc}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("torch", "tensorflow"), default="torch")
    parser.add_argument("--envs", nargs="+", choices=sorted(TUTORIAL), default=list(TUTORIAL))
    parser.add_argument("--iters", type=int, default=None,
                        help="training trials (default: 128,000 for DelayComparison-v0, as the "
                        "tutorial's ~100,000, and 512,000 for PerceptualDecisionMaking-v0)")
    parser.add_argument("--batch", type=int, default=64, help="trials per training step")
    parser.add_argument("--test-trials", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads of the backend (a 64-unit network runs fastest on one)")
    args = parser.parse_args()
    # read by PyTorch and TensorFlow when the backend first imports them
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(name, str(args.threads))
    if args.backend not in psychcore.backends():
        parser.error(f"no '{args.backend}' backend is installed; installed: "
                     f"{', '.join(sorted(psychcore.backends())) or 'none'}")
    start = time.perf_counter()
    for env_id in args.envs:
        train(env_id, args)
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
