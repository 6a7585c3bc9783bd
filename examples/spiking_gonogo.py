"""From rate to spikes, end to end: train spikeRNN's Go/NoGo with psychcore, convert to LIF
neurons, choose lambda, and compare rate and spiking accuracy on fresh trials.

Run: ``python examples/spiking_gonogo.py [--backend torch] [--out runs/spiking-gonogo]
[--also-pd]``.

1. Trains a 200-unit rate network of sigmoid units with Dale's law (80 % excitatory),
   trainable per-unit time constants in 20-100 ms (spikeRNN's 4-20 steps of 5 ms), spikeRNN's
   recurrent initialisation, no recurrent bias and recurrent noise ``--rec-noise`` on
   ``SpikeRNNGoNoGo`` (16,000 trials) into a run directory (a trained run there is reused);
2. ``write_spiking`` (what ``psychcore spiking RUN_DIR`` runs): lambda search over
   ``--lambdas`` (16, 18, ..., 40) on ``--trials`` trials, then the rate network and the LIF
   network at the chosen lambda on ``--eval-trials`` fresh trials (200), figures in
   ``RUN_DIR/spiking/``;
3. prints the two accuracies side by side. ``--also-pd`` does the same for the classic
   ``PerceptualDiscrimination`` with sigmoid units and trainable time constants.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import psychcore
from psychcore import ModelSpec, train_run
from psychcore.analysis import write_spiking


def train(name: str, task_kwargs: dict, spec: ModelSpec, out: Path, args: argparse.Namespace,
          iters: int) -> None:
    task = psychcore.get_task(name)(**task_kwargs, seed=args.seed)
    if (out / "weights.npz").exists() and (out / "run.json").exists():
        print(f"{name}: using the trained run in {out}")
        return
    t0 = time.perf_counter()
    result = train_run(task, spec.bind(task), out, backend=args.backend, seed=args.seed,
                       training_iters=iters, learning_rate=args.learning_rate,
                       performance_cutoff=args.cutoff, task_name=name, progress=None)
    print(f"{name}: trained on {args.backend}, {result.epochs} steps, validation accuracy "
          f"{result.accuracy:.3f}, {time.perf_counter() - t0:.0f} s; run directory {out}")


def convert(name: str, out: Path, args: argparse.Namespace) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    res = write_spiking(out, lambdas=args.lambdas, n_trials=args.trials,
                        eval_trials=args.eval_trials, workers=args.workers, seed=args.seed,
                        overwrite=True)
    s = res.search
    print(f"{name}: lambda search ({len(s.lambdas)} lambdas x {s.n_trials} trials) and "
          f"{res.eval_trials} fresh trials in {time.perf_counter() - t0:.0f} s")
    print("  lambda   " + " ".join(f"{lam:5.0f}" for lam in s.lambdas))
    print("  accuracy " + " ".join(f"{a:5.2f}" for a in s.accuracy))
    print(f"  chosen lambda {res.best_lambda:g}; figures in {res.path}")
    return res.best_lambda, res.rate_accuracy, res.spiking_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--out", type=Path, default=Path("runs/spiking-gonogo"))
    parser.add_argument("--iters", type=int, default=16_000, help="training trials")
    parser.add_argument("--cutoff", type=float, default=None,
                        help="stop training at this validation accuracy (default: train all "
                             "--iters: a network just above criterion converts less well)")
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--rec-noise", type=float, default=0.6,
                        help="recurrent noise in training (default 0.6)")
    parser.add_argument("--lambdas", type=float, nargs="+",
                        default=[float(x) for x in range(16, 41, 2)],
                        help="scaling factors to try (default 16, 18, ..., 40; spikeRNN's "
                             "grid 20, 25, ..., 75 is coarser)")
    parser.add_argument("--trials", type=int, default=100, help="trials per lambda")
    parser.add_argument("--eval-trials", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--also-pd", action="store_true",
                        help="also PerceptualDiscrimination with sigmoid units")
    args = parser.parse_args()

    rows = []
    # spikeRNN's recurrent initialisation (N(0, 1.5^2 / (N * 0.2)) on 20 % of the
    # connections), no recurrent bias (the LIF neurons would receive it in mV), and strong
    # state noise in training: networks trained with rec_noise 0.1 / 0.3 converted at 0.655 /
    # 0.845 spiking accuracy (docs/spiking.md)
    spikernn_like = {"initializer": "rate_gaussian",
                     "initializer_params": {"gain": 1.5, "P_rec": 0.2},
                     "b_rec_train": False, "rec_noise": args.rec_noise}
    spec = ModelSpec(N_rec=200, transfer_function="sigmoid", dale_ratio=0.8, train_tau=True,
                     tau_range=(20.0, 100.0), **spikernn_like)
    gonogo = args.out
    train("SpikeRNNGoNoGo", {"tau": 50.0, "N_batch": 32}, spec, gonogo, args, args.iters)
    rows.append(("SpikeRNNGoNoGo", *convert("SpikeRNNGoNoGo", gonogo, args)))
    if args.also_pd:
        pd = args.out.with_name(args.out.name + "-pd")
        train("PerceptualDiscrimination", {"dt": 10, "tau": 100, "T": 2000, "N_batch": 64},
              ModelSpec(N_rec=100, transfer_function="sigmoid", dale_ratio=0.8,
                        train_tau=True, tau_range=(20.0, 200.0), **spikernn_like),
              pd, args, args.iters)
        rows.append(("PerceptualDiscrimination", *convert("PerceptualDiscrimination", pd, args)))
    print(f"\naccuracy on {args.eval_trials} fresh trials ({args.backend}):")
    print(f"  {'task':26s} {'lambda':>6s} {'rate':>6s} {'spiking':>8s}")
    for name, lam, rate, spk in rows:
        print(f"  {name:26s} {lam:6g} {rate:6.3f} {spk:8.3f}")


if __name__ == "__main__":
    main()
