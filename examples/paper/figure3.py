"""Figure 3 of the PsychRNN paper: modularity of task definition.

(B) One input channel of DelayedDiscrimination with the stimulus duration varied across rows
and the delay duration across columns (two constructor arguments). (D) MatchToCategory with
the number of inputs varied across columns and the number of categories across rows: each
panel shows the ring of input channels (coloured by their mean input during the stimulus of
one trial), the category boundaries and the stimulus direction, and a second figure shows the
inputs and target of the same trials over time. With ``--train``, a 50-unit network is also
trained on DelayedDiscrimination and on MatchToCategory(N_in=8, N_out=3) (sizes taken from the
task) and one trial's output is shown.

    python examples/paper/figure3.py [--train] [--backend torch|tensorflow] [--out docs/paper]
"""

from __future__ import annotations

import time

import numpy as np
import paper_common as pc

import psychcore

STIM = (200, 500, 800)  # ms, rows of 3B
DELAY = (250, 500, 1000)  # ms, columns of 3B
N_INS = (4, 8, 16)  # columns of 3D
N_OUTS = (2, 3, 4)  # rows of 3D


def delayed(args) -> None:
    import matplotlib.pyplot as plt

    cls = psychcore.get_task("DelayedDiscrimination")
    fig, axes = plt.subplots(len(STIM), len(DELAY), figsize=(12, 7), sharex=True, sharey=True)
    for i, stim in enumerate(STIM):
        for j, delay in enumerate(DELAY):
            task = cls(dt=pc.DT, tau=pc.TAU, T=3200, N_batch=1, onset_time=100,
                       stim_duration_1=stim, delay_duration=delay, stim_duration_2=stim,
                       decision_duration=400, seed=args.seed + 10 * i + j)
            x, y, mask, params = task.get_trial_batch()
            p = params[0]
            t = np.arange(x.shape[1]) * pc.DT
            ax = axes[i, j]
            ax.plot(t, x[0, :, 0], color="tab:blue", lw=1)
            ax.axvspan(p["decision"], p["end"], color="grey", alpha=0.25)
            ax.set_title(f"stimulus {stim} ms, delay {delay} ms\n"
                         f"f1={p['f1']} Hz, f2={p['f2']} Hz", fontsize=9)
            if j == 0:
                ax.set_ylabel("input channel 0")
            if i == len(STIM) - 1:
                ax.set_xlabel("time (ms)")
            print(f"[fig3] DelayedDiscrimination stim={stim} delay={delay}: N_in={task.N_in} "
                  f"N_out={task.N_out}, periods stim1 {p['stimulus_1']:.0f}, delay "
                  f"{p['delay']:.0f}, stim2 {p['stimulus_2']:.0f}, decision "
                  f"{p['decision']:.0f}-{p['end']:.0f} ms")
    fig.suptitle("Figure 3B: DelayedDiscrimination, stimulus duration (rows) x delay (columns);"
                 " grey = decision period (mask 1)")
    fig.tight_layout()
    pc.savefig(fig, args.out / "fig3b_delayed_discrimination.png")


def category(args) -> None:
    import matplotlib.pyplot as plt

    cls = psychcore.get_task("MatchToCategory")
    ring, axes = plt.subplots(len(N_OUTS), len(N_INS), figsize=(10, 10))
    traces, taxes = plt.subplots(len(N_OUTS), len(N_INS), figsize=(13, 9), sharex=True)
    for i, n_out in enumerate(N_OUTS):
        for j, n_in in enumerate(N_INS):
            task = cls(dt=pc.DT, tau=pc.TAU, T=2000, N_batch=1, N_in=n_in, N_out=n_out,
                       seed=args.seed + 10 * i + j)
            x, y, mask, params = task.get_trial_batch()
            p = params[0]
            on = int(p["onset_time"] / pc.DT)
            off = on + int(p["input_dur"] / pc.DT)
            mean_in = x[0, on:off].mean(axis=0)
            ax = axes[i, j]
            pref = 2 * np.pi * np.arange(n_in) / n_in
            for c in range(n_out):  # category boundaries
                a = 2 * np.pi * c / n_out
                ax.plot([0, 1.35 * np.cos(a)], [0, 1.35 * np.sin(a)], color="k", lw=1)
                mid = 2 * np.pi * (c + 0.5) / n_out
                ax.text(0.55 * np.cos(mid), 0.55 * np.sin(mid), f"cat {c}", ha="center",
                        va="center", fontsize=8,
                        weight="bold" if c == p["category"] else "normal")
            ax.scatter(np.cos(pref), np.sin(pref), c=mean_in, cmap="viridis", s=120,
                       edgecolors="k", vmin=0, vmax=0.4)
            ax.annotate("", xy=(0.9 * np.cos(p["angle"]), 0.9 * np.sin(p["angle"])),
                        xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "red"})
            ax.set_xlim(-1.5, 1.5)
            ax.set_ylim(-1.5, 1.5)
            ax.set_aspect("equal")
            ax.axis("off")
            ax.set_title(f"N_in={n_in}, N_out={n_out}: stimulus {np.degrees(p['angle']):.0f}"
                         f" deg -> cat {p['category']}", fontsize=9)
            tx = taxes[i, j]
            t = np.arange(x.shape[1]) * pc.DT
            tx.imshow(x[0].T, aspect="auto", origin="lower", cmap="viridis",
                      interpolation="nearest", extent=(0, t[-1] + pc.DT, -0.5, n_in - 0.5))
            tx.set_title(f"N_in={n_in}, N_out={n_out}: inputs (image), target "
                         f"cat {p['category']} (red)", fontsize=8)
            tx2 = tx.twinx()
            tx2.plot(t, y[0, :, p["category"]], color="red", lw=1.5)
            tx2.set_ylim(-0.05, 1.6)
            tx2.set_yticks([])
            if j == 0:
                tx.set_ylabel("input channel")
            if i == len(N_OUTS) - 1:
                tx.set_xlabel("time (ms)")
            print(f"[fig3] MatchToCategory N_in={n_in} N_out={n_out}: task N_in={task.N_in} "
                  f"N_out={task.N_out}, angle {np.degrees(p['angle']):.1f} deg -> category "
                  f"{p['category']}")
    ring.suptitle("Figure 3D: MatchToCategory, inputs on the ring (columns: N_in) x categories "
                  "(rows: N_out)\ndots = input channels coloured by mean stimulus input; "
                  "red arrow = stimulus direction; lines = category boundaries")
    ring.tight_layout()
    pc.savefig(ring, args.out / "fig3d_match_to_category.png")
    traces.suptitle("Figure 3D (time course): MatchToCategory inputs and target of the same "
                    "trials")
    traces.tight_layout()
    pc.savefig(traces, args.out / "fig3d_match_to_category_traces.png")


def train_small(args) -> None:
    """``--train``: train a 50-unit network on each of two task variants; plot one trial."""
    from psychcore.analysis import plot_trial

    variants = [
        ("delayed", "DelayedDiscrimination (500 ms stimuli, 500 ms delay)",
         lambda n, s: psychcore.get_task("DelayedDiscrimination")(
             dt=pc.DT, tau=pc.TAU, T=2000, N_batch=n, seed=s)),
        ("category", "MatchToCategory (N_in=8, N_out=3)",
         lambda n, s: psychcore.get_task("MatchToCategory")(
             dt=pc.DT, tau=pc.TAU, T=2000, N_batch=n, N_in=8, N_out=3, seed=s)),
    ]
    for name, title, make in variants:
        task = make(pc.N_BATCH, args.seed)
        model = psychcore.Model(task, pc.hello_spec(), backend=args.backend, seed=args.seed)
        start = time.perf_counter()
        model.train(task, training_iters=args.train_trials, learning_rate=1e-3,
                    loss_epoch=10, verbosity=False)
        seconds = time.perf_counter() - start
        x, y, mask, _ = make(1000, 5000 + args.seed).get_trial_batch()
        outputs, _ = model.test(x)
        accuracy = float(task.accuracy_function(y, outputs, mask))
        print(f"[fig3] trained {title}: N_in={task.N_in} N_out={task.N_out}, "
              f"{model.epoch * pc.N_BATCH} trials ({seconds:.1f} s), accuracy {accuracy:.3f} "
              f"on 1000 fresh trials")
        fig = plot_trial(x, y, mask, outputs, trial=0, dt=pc.DT,
                         title=f"Figure 3 (trained): {title}, accuracy {accuracy:.1%}")
        pc.savefig(fig, args.out / f"fig3_trained_{name}.png")


def options(parser) -> None:
    parser.add_argument("--train", action="store_true",
                        help="also train small networks on two task variants and show outputs")
    parser.add_argument("--train-trials", type=int, default=128 * 400,
                        help="trials per trained network, no early stop (default 51200)")


def main() -> None:
    args = pc.parse_args(__doc__.splitlines()[0], options)
    t0 = time.perf_counter()
    delayed(args)
    category(args)
    if args.train:
        if args.quick:
            args.train_trials = min(args.train_trials, 128 * 50)
        train_small(args)
    print(f"[fig3] total wall time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
