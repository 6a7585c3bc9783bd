"""psychcore's first demo: a perceptual-discrimination network, trained if a backend is here.

Run: ``python examples/quickstart.py [--backend torch] [--iters 100000]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import psychcore
from psychcore import ModelSpec, Simulator, effective_weights, initialize_weights


def main() -> None:
    start = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--iters", type=int, default=100_000)
    args = parser.parse_args()

    print("installed tasks:", ", ".join(sorted(psychcore.tasks())))
    print("installed backends:", ", ".join(sorted(psychcore.backends())) or "none")
    task = psychcore.get_task("PerceptualDiscrimination")(dt=10, tau=100, T=2000, N_batch=128)
    spec = ModelSpec(N_rec=50, dale_ratio=0.8).bind(task)
    x, y, mask, trial_params = task.get_trial_batch(rng=1)
    print(f"one batch: x {x.shape}, y {y.shape}, mask {mask.shape}; trial 0: "
          f"coherence {trial_params[0]['coherence']:.3f}, direction {trial_params[0]['direction']}")

    if args.backend not in psychcore.backends():
        weights = initialize_weights(spec, rng=0)
        eff = effective_weights(weights)
        radius = np.max(np.abs(np.linalg.eigvals(eff["W_rec"])))
        outputs, _ = Simulator(spec, weights).run_trials(x)
        print(f"no '{args.backend}' backend installed: simulated the untrained network in NumPy "
              f"(spectral radius {radius:.2f}, accuracy "
              f"{task.accuracy_function(y, outputs, mask):.2f}, chance 0.5)")
        return

    model = psychcore.Model(task, spec, backend=args.backend, seed=0)
    losses, training_time, init_time = model.train(
        task, training_iters=args.iters, performance_cutoff=0.9, verbosity=False)
    outputs, states = model.test(x)
    print(f"trained on {model.epoch * task.N_batch} trials in {training_time:.1f} s "
          f"(+{init_time:.1f} s set-up); final loss {losses[-1]:.4f}; accuracy on a fresh "
          f"batch {task.accuracy_function(y, outputs, mask):.3f}; "
          f"{time.perf_counter() - start:.1f} s since start")


if __name__ == "__main__":
    main()
