"""Figure 4 of the PsychRNN paper: four constrained networks on perceptual discrimination.

Each network (50 recurrent units) trains on PerceptualDiscrimination(dt=10, tau=100, T=2000,
N_batch=128) until its accuracy on a fresh 1000-trial batch is at least 90%:

- A/B no autapses (``autapses=False``);
- C/D two densely connected populations of 25 units with sparse (10%) connections between
  them (a ``ConnectivityMask`` on ``W_rec``);
- E/F Dale's principle (80% excitatory);
- G/H Dale's principle with every E-to-I and I-to-E connection fixed (``FixedWeights``).

Draws each recurrent matrix (``plot_weights``) and psychometric curve, and prints each
network's accuracy, training trials and a check that the constraint holds after training.
Training stops when a fresh 1000-trial batch is at least 90% correct and an independent
2000-trial batch confirms it (otherwise training goes on).

    python examples/paper/figure4.py [--backend torch|tensorflow] [--out docs/paper] [--quick]
"""

from __future__ import annotations

import time

import numpy as np
import paper_common as pc

import psychcore
from psychcore import ConnectivityMask, FixedWeights
from psychcore.analysis import plot_psychometric, plot_weights

N_REC = 50
N_E = 40  # round(0.8 * 50) excitatory units come first


def two_populations(seed: int, p_between: float = 0.1) -> np.ndarray:
    """0/1 mask: dense within units 0-24 and 25-49, ``p_between`` between them."""
    rng = np.random.default_rng(seed)
    mask = (rng.random((N_REC, N_REC)) < p_between).astype(float)
    half = N_REC // 2
    mask[:half, :half] = 1.0
    mask[half:, half:] = 1.0
    return mask


def ei_fixed() -> np.ndarray:
    """True on the E-to-I (rows I, columns E) and I-to-E (rows E, columns I) blocks."""
    fixed = np.zeros((N_REC, N_REC), dtype=bool)
    fixed[N_E:, :N_E] = True
    fixed[:N_E, N_E:] = True
    return fixed


def networks(seed: int) -> list[tuple[str, str, object]]:
    block = two_populations(seed)
    return [
        ("no_autapses", "A/B: no autapses", pc.hello_spec(autapses=False)),
        ("two_populations", "C/D: two populations, sparse between",
         pc.hello_spec(constraints=(ConnectivityMask(rec=block),))),
        ("dale", "E/F: Dale's principle (40 E, 10 I)", pc.hello_spec(dale_ratio=0.8)),
        ("dale_fixed_ei", "G/H: Dale + fixed E-I and I-E weights",
         pc.hello_spec(dale_ratio=0.8, constraints=(FixedWeights(W_rec=ei_fixed()),))),
    ]


def check(name: str, w0: dict, w1: dict, seed: int) -> str:
    """A one-line check that the constraint still holds in the trained weights ``w1``."""
    eff = w1["W_rec"] * w1["rec_connectivity"]
    if name == "no_autapses":
        return f"max |diagonal of effective W_rec| = {np.abs(np.diag(eff)).max():.2g}"
    if name == "two_populations":
        absent = two_populations(seed) == 0
        return (f"{int(absent.sum())} absent connections, max |W_rec_eff| there = "
                f"{np.abs(eff[absent]).max():.2g}; present between-population fraction "
                f"{1 - absent[:25, 25:].mean():.2f}/{1 - absent[25:, :25].mean():.2f}")
    if name == "dale":
        dale = np.abs(w1["W_rec"]) @ w1["Dale_rec"]
        sign_ok = np.all(dale[:, :N_E] >= 0) and np.all(dale[:, N_E:] <= 0)
        return f"E columns >= 0 and I columns <= 0 in effective W_rec: {bool(sign_ok)}"
    fixed = ei_fixed()
    change = np.abs(w1["W_rec"] - w0["W_rec"])
    return (f"max |change| of the {int(fixed.sum())} fixed E-I/I-E weights = "
            f"{change[fixed].max():.2g}; median |change| of plastic weights = "
            f"{np.median(change[~fixed]):.2g}")


def main() -> None:
    import matplotlib.pyplot as plt

    args = pc.parse_args(__doc__.splitlines()[0])
    t_all = time.perf_counter()
    fig_psy, axes = plt.subplots(1, 4, figsize=(17, 4), sharey=True)
    rows = []
    for i, (name, title, spec) in enumerate(networks(args.seed)):
        task = pc.perceptual(seed=args.seed + i)
        model = psychcore.Model(task, spec, backend=args.backend, seed=args.seed + i)
        w0 = model.get_weights()
        t_net = time.perf_counter()
        max_trials = 128 * (300 if args.quick else 4000)
        n_stop, n_check = (200, 200) if args.quick else (1000, 2000)
        for rnd in range(1, 20):  # go on until an independent batch confirms 90%
            res = pc.train_to_accuracy(model, task, n_test=n_stop,
                                       max_trials=max_trials, test_seed=777 + 100 * i + rnd)
            final = pc.test_accuracy(model, lambda n, s: pc.perceptual(n, seed=s),
                                     n_check, 99_000 + 100 * i + rnd)
            if final >= 0.9 or res["trials"] >= max_trials:
                break
            print(f"    independent batch {final:.3f} < 0.9: training on (round {rnd + 1})")
        w1 = model.get_weights()
        msg = check(name, w0, w1, args.seed)
        print(f"[fig4] {title}: accuracy {res['accuracy']:.3f} on the stopping {n_stop}-trial "
              f"batch, {final:.3f} on an independent {n_check}-trial batch; {res['trials']} "
              f"training trials ({res['steps']} steps), {time.perf_counter() - t_net:.1f} s incl. "
              f"tests; {msg}")
        rows.append((title, res, final))
        fig = plot_weights(w1, matrices=("W_rec",))
        if name == "no_autapses":  # the blank diagonal is hard to see against near-0 weights
            diag = np.arange(N_REC)
            fig.axes[0].scatter(diag, diag, marker="x", s=10, c="k", lw=0.6,
                                label="absent (diagonal)")
            fig.axes[0].legend(loc="upper right", fontsize=7, framealpha=0.9)
        fig.suptitle(f"Figure 4 {title}: trained W_rec (rows receive, columns send)",
                     fontsize=10)
        pc.savefig(fig, args.out / f"fig4_{name}_weights.png")
        data, fit, _ = pc.psychometric(model, 20 if args.quick else 100, seed=2000 + i)
        print(f"    psychometric: {fit.summary()}")
        plot_psychometric(data, fit, ax=axes[i], label="network")
        axes[i].set_title(f"{title}\naccuracy {final:.1%}", fontsize=10)
        axes[i].set_xlabel("signed coherence (+: output 1 correct)")
        axes[i].set_ylabel("% choosing output 1")
    fig_psy.suptitle("Figure 4 psychometric functions of the four constrained networks")
    fig_psy.tight_layout()
    pc.savefig(fig_psy, args.out / "fig4_psychometric.png")
    print("[fig4] summary:")
    for title, res, final in rows:
        print(f"    {title:42s} reached={res['reached']} acc={final:.3f} "
              f"trials={res['trials']}")
    print(f"[fig4] total wall time {time.perf_counter() - t_all:.1f} s")


if __name__ == "__main__":
    main()
