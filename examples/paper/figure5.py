"""Figure 5 of the PsychRNN paper: curriculum learning on perceptual discrimination.

For each seed, two networks with identical initial weights (same ``Model`` seed) are trained:

- curriculum: PerceptualDiscrimination at coherence 0.7, 0.5, 0.3, 0.1 in turn, advancing
  when the accuracy on a fresh 128-trial test batch (every ``metric_epoch`` steps) reaches 0.9;
- none: coherence 0.1 from the start (a one-stage Curriculum with the same test rule).

Both stop when the accuracy at coherence 0.1 reaches 0.9, or at ``--max-trials`` (censored).
Prints trials to criterion per seed, the Wilcoxon signed-rank test (scipy.stats.wilcoxon,
two-sided, paired by seed; censored runs enter at the cap, which is conservative for the
faster condition), and plots trials to criterion and the difficulty (1/coherence), accuracy
and loss trajectories of one pair.

    python examples/paper/figure5.py [--seeds 10] [--backend torch|tensorflow] [--quick]
"""

from __future__ import annotations

import time

import numpy as np
import paper_common as pc

import psychcore
from psychcore import Curriculum

COHERENCES = (0.7, 0.5, 0.3, 0.1)
METRIC_EPOCH = 10  # steps between curriculum tests


def options(parser) -> None:
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (default 10)")
    parser.add_argument("--max-trials", type=int, default=128 * 4000,
                        help="cap on training trials per run (default 512000)")
    parser.add_argument("--learning-rate", type=float, default=1e-3)


def run(seed: int, curriculum: bool, args) -> dict:
    """Train one network; returns trials to criterion and its trajectories."""
    coherences = COHERENCES if curriculum else COHERENCES[-1:]
    tasks = [pc.perceptual(seed=10_000 * seed + 100 * curriculum + k, coherence=c)
             for k, c in enumerate(coherences)]
    cur = Curriculum(tasks, thresholds=[0.9] * len(tasks), metric_epoch=METRIC_EPOCH)
    model = psychcore.Model(tasks[0], pc.hello_spec(dale_ratio=0.8), backend=args.backend,
                            seed=seed)
    start = time.perf_counter()
    # validation_trials=0: stages decide on fresh training batches, as in PsychRNN's paper
    model.train(cur, training_iters=args.max_trials, learning_rate=args.learning_rate,
                loss_epoch=METRIC_EPOCH, verbosity=False, validation_trials=0)
    seconds = time.perf_counter() - start
    done = bool(cur.stop_training)
    values = np.array([v for v, _ in cur.metric_values])
    stages = np.array([s for _, s in cur.metric_values])
    return {
        "trials": model.epoch * pc.N_BATCH, "censored": not done, "seconds": seconds,
        "stage_trials": [t.epoch * pc.N_BATCH for t in cur.history],
        "test_trials": (np.arange(1, len(values) + 1) * METRIC_EPOCH * pc.N_BATCH),
        "accuracy": values, "coherence": np.array(coherences)[stages],
        "loss_trials": np.array(model.loss_epochs) * pc.N_BATCH, "loss": np.array(model.losses),
    }


def plot(results: dict, seeds: list[int], example: int, args) -> None:
    import matplotlib.pyplot as plt

    cur = np.array([results[(s, True)]["trials"] for s in seeds])
    non = np.array([results[(s, False)]["trials"] for s in seeds])
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for s, a, b in zip(seeds, cur, non, strict=True):
        ax.plot([0, 1], [a, b], color="grey", lw=1, marker="o", ms=4)
        for x, key in ((0, True), (1, False)):
            if results[(s, key)]["censored"]:
                ax.plot(x, results[(s, key)]["trials"], "rx", ms=10)
    ax.bar([0, 1], [np.median(cur), np.median(non)], color=["tab:green", "tab:orange"],
           alpha=0.4, width=0.5, label="median")
    ax.set_xticks([0, 1], ["curriculum\n0.7>0.5>0.3>0.1", "no curriculum\n0.1 only"])
    ax.set_ylabel("training trials to 90% at coherence 0.1")
    ax.set_title(f"Figure 5C: trials to criterion ({len(seeds)} seeds)\n"
                 f"Wilcoxon signed-rank p = {args.p_value:.3g}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    pc.savefig(fig, args.out / "fig5c_trials_to_criterion.png")

    fig, axes = plt.subplots(3, 1, figsize=(7, 7.5), sharex=True)
    for key, color, label in ((True, "tab:green", "curriculum"),
                              (False, "tab:orange", "no curriculum")):
        r = results[(example, key)]
        # Each test's stage held over the training since the previous test.
        axes[0].step(np.r_[0, r["test_trials"]], 1 / np.r_[r["coherence"][:1], r["coherence"]],
                     where="pre", color=color, label=label)
        axes[1].plot(r["test_trials"], r["accuracy"], color=color, label=label)
        axes[2].plot(r["loss_trials"], r["loss"], color=color, label=label)
    axes[0].set_ylabel("difficulty\n(1 / coherence)")
    axes[1].set_ylabel("test accuracy\n(current stage)")
    axes[1].axhline(0.9, color="k", ls=":", lw=1)
    axes[2].set_ylabel("loss (MSE)")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("training trials")
    axes[0].legend(fontsize=8)
    axes[0].set_title(f"Figure 5D: one identically initialised pair (seed {example})")
    pc.savefig(fig, args.out / "fig5d_trajectories.png")


def main() -> None:
    from scipy.stats import wilcoxon

    args = pc.parse_args(__doc__.splitlines()[0], options)
    if args.quick:
        args.seeds, args.max_trials = min(args.seeds, 3), min(args.max_trials, 128 * 300)
    t_all = time.perf_counter()
    seeds = list(range(args.seed, args.seed + args.seeds))
    results = {}
    for s in seeds:
        for key in (True, False):
            r = results[(s, key)] = run(s, key, args)
            print(f"[fig5] seed {s} {'curriculum' if key else 'none':10s}: "
                  f"{r['trials']:7d} trials{' (CENSORED at cap)' if r['censored'] else ''}, "
                  f"stage ends at {r['stage_trials']}, {r['seconds']:.1f} s", flush=True)
    cur = np.array([results[(s, True)]["trials"] for s in seeds])
    non = np.array([results[(s, False)]["trials"] for s in seeds])
    test = wilcoxon(cur, non, alternative="two-sided")
    args.p_value = float(test.pvalue)
    n_cens = sum(r["censored"] for r in results.values())
    print(f"[fig5] seeds={len(seeds)} cap={args.max_trials} trials, censored runs={n_cens}")
    print(f"[fig5] curriculum trials: {cur.tolist()}")
    print(f"[fig5] none trials:       {non.tolist()}")
    print(f"[fig5] median curriculum {np.median(cur):.0f}, median none {np.median(non):.0f}; "
          f"curriculum faster in {int((cur < non).sum())}/{len(seeds)} seeds")
    print(f"[fig5] Wilcoxon signed-rank (two-sided): statistic={test.statistic:g}, "
          f"p={test.pvalue:.4g}")
    example = int(seeds[int(np.argsort(non - cur)[len(seeds) // 2])])
    plot(results, seeds, example, args)
    print(f"[fig5] total wall time {time.perf_counter() - t_all:.1f} s")


if __name__ == "__main__":
    main()
