"""Figure 2 of the PsychRNN paper: the perceptual discrimination hello world.

Trains PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=128) with
ModelSpec(N_rec=50, dale_ratio=0.8) until 90% accuracy on a fresh 1000-trial batch and on to
100,000 trials in all (``--trials``; PsychRNN's hello world trains 100,000), then draws
(A) inputs, target and output of one trial, (B) the psychometric curve with its logistic fit,
(C) state traces of example units by coherence (correct trials) and (D) condition-averaged
trajectories in the top two principal components.

    python examples/paper/figure2.py [--backend torch|tensorflow] [--out docs/paper] [--quick]
"""

from __future__ import annotations

import time

import numpy as np
import paper_common as pc

import psychcore
from psychcore.analysis import (
    condition_averages,
    correct_trials,
    pca,
    plot_pca_trajectories,
    plot_psychometric,
    plot_trial,
    plot_unit_traces,
    signed_coherence,
)


def main() -> None:
    args = pc.parse_args(__doc__.splitlines()[0], lambda p: p.add_argument(
        "--trials", type=int, default=100_000,
        help="after reaching 90%%, train on to this many trials in all (default 100000)"))
    t0 = time.perf_counter()
    task = pc.perceptual(seed=args.seed)
    model = psychcore.Model(task, pc.hello_spec(dale_ratio=0.8), backend=args.backend,
                            seed=args.seed)
    result = pc.train_to_accuracy(model, task, n_test=200 if args.quick else 1000,
                                  max_trials=128 * (300 if args.quick else 3000),
                                  min_trials=0 if args.quick else args.trials)
    print(f"[fig2] backend={args.backend} seed={args.seed}: 90% test accuracy reached after "
          f"{result['criterion_trials']} trials; after {result['trials']} training trials "
          f"({result['steps']} steps of 128, {result['seconds']:.1f} s) test accuracy "
          f"{result['accuracy']:.3f}")

    # A: one trial (default coherence distribution).
    x, y, mask, _ = pc.perceptual(8, seed=args.seed + 1).get_trial_batch()
    outputs, _ = model.test(x)
    fig = plot_trial(x, y, mask, outputs, trial=0, dt=pc.DT,
                     title="Figure 2A: perceptual discrimination, one trial")
    pc.savefig(fig, args.out / "fig2a_trial.png")

    # B: psychometric curve at fixed coherences.
    data, fit, (xb, yb, mb, params, out_b, states) = pc.psychometric(
        model, 20 if args.quick else 100, seed=1000 + args.seed)
    print(f"[fig2] psychometric ({int(data.n_trials.sum())} trials): {fit.summary()}")
    for level, p, n in zip(data.levels, data.p_choice, data.n_trials, strict=True):
        print(f"    coherence {level:+.2f}: P(output 1) = {p:.3f} (n={int(n)})")
    fig = plot_psychometric(data, fit, label="network")
    ax = fig.axes[0]
    ax.set_title("Figure 2B: psychometric function (logistic fit)")
    ax.set_xlabel("signed coherence (+: output 1 correct)")
    ax.set_ylabel("% choosing output 1")
    ax.legend(loc="center right", fontsize=8)
    pc.savefig(fig, args.out / "fig2b_psychometric.png")

    # C: unit traces by coherence, correct trials only.
    conds = np.round(signed_coherence(params, channel=1), 4) + 0.0  # -0.0 -> 0.0
    correct = correct_trials(yb, out_b, mb)
    print(f"[fig2] fixed-coherence batch accuracy {correct.mean():.3f}")
    # Panels C and D leave out the +-0.01 levels: 11 conditions keep the legend (<= 12).
    correct = correct & ~np.isclose(np.abs(conds), 0.01)
    fig = plot_unit_traces(states, conds, units=[0, 5, 10, 20, 35, 40, 45, 49],
                           mask_trials=correct, dt=pc.DT, legend_title="signed coherence")
    fig.suptitle("Figure 2C: state traces of example units by coherence (correct trials;"
                 " units 0-39 E, 40-49 I)", fontsize=10)
    pc.savefig(fig, args.out / "fig2c_units.png")

    # D: PCA of condition-averaged correct-trial states.
    avg = condition_averages(states, conds, mask_trials=correct)
    res = pca(avg.averages, n_components=3)
    ratio = res.explained_variance_ratio
    print(f"[fig2] PCA explained variance ratio PC1-3: {np.round(ratio[:3], 3).tolist()}")
    fig = plot_pca_trajectories(res, avg.conditions, dims=2, legend_title="signed coherence")
    ax = fig.axes[0]
    ax.set_title("Figure 2D: population trajectories (top two PCs)")
    ax.set_xlabel(f"PC1 ({100 * ratio[0]:.0f}% var)")
    ax.set_ylabel(f"PC2 ({100 * ratio[1]:.0f}% var)")
    pc.savefig(fig, args.out / "fig2d_pca.png")
    print(f"[fig2] total wall time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
