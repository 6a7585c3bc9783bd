"""``psychcore spiking RUN_DIR``: a trained sigmoid rate network converted to LIF spiking
neurons (:mod:`psychcore.spiking`), its scaling factor lambda chosen by task accuracy.

Written into ``RUN_DIR/spiking/`` (a temporary directory renamed into place at the end, so an
interrupted conversion leaves nothing half-written; an existing one is replaced only with
``overwrite=True``):

- ``network.npz``: the converted network (:class:`~psychcore.spiking.RateNetwork`'s arrays,
  plain numeric and string arrays that ``numpy.load(..., allow_pickle=False)`` reads) and the
  chosen ``lam``;
- ``spiking.json``: the chosen lambda, the accuracy and mean firing rates for every lambda
  tried, the LIF parameters, the accuracy of the rate and of the spiking network on fresh
  trials, the seed, and the figures with their captions;
- ``accuracy.png`` (accuracy and firing rate against lambda), ``raster.png`` (one trial's
  spikes, excitatory and inhibitory neurons apart), ``outputs.png`` (rate and spiking output
  on the same trials), ``firing_rates.png`` (distribution of the neurons' firing rates, E and
  I).

``psychcore report RUN_DIR`` adds these figures and numbers when ``spiking/`` exists.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import describe
from .._io import atomic_write_text, replace_dir
from .._progress import show_progress
from .._rng import as_generator
from .._task import defines_accuracy
from . import _validate as v
from ._report import SPIKING_DIR, load_run, rebuild_task

#: spikeRNN's grid of scaling factors (``lambda_grid_search.py``).
DEFAULT_LAMBDAS = tuple(float(x) for x in range(20, 76, 5))
FIGURES = ("accuracy", "raster", "outputs", "firing_rates")


@dataclass
class SpikingResult:
    """What :func:`write_spiking` returns.

    Attributes:
        path: The ``spiking/`` directory.
        best_lambda: The chosen scaling factor.
        search: The :class:`~psychcore.spiking.LambdaSearchResult`.
        rate_accuracy: Accuracy of the rate network on the fresh evaluation trials.
        spiking_accuracy: Accuracy of the LIF network at ``best_lambda`` on the same trials.
        eval_trials: Number of those trials.
        figures: Figure name -> PNG path; ``captions`` their captions.
    """

    path: Path
    best_lambda: float
    search: Any
    rate_accuracy: float
    spiking_accuracy: float
    eval_trials: int
    figures: dict[str, Path] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)


def _npz_arrays(network: Any, lam: float) -> dict[str, np.ndarray]:
    arrays = {"w_in": network.w_in, "w_rec": network.w_rec, "w_out": network.w_out,
              "b_out": network.b_out, "tau": network.tau, "b_rec": network.b_rec,
              "dt": np.array(network.dt), "rectify": np.array(network.rectify),
              "W_rec_effective": network.recurrent_weights(), "lam": np.array(lam),
              "excitatory": network.excitatory}
    if network.rec_signs is not None:
        arrays["rec_signs"] = network.rec_signs
    if network.rec_mask is not None:
        arrays["rec_mask"] = network.rec_mask
    return {k: np.array(a, order="C") for k, a in arrays.items()}


def load_spiking_network(path: str | os.PathLike) -> tuple[Any, float]:
    """The :class:`~psychcore.spiking.RateNetwork` and lambda saved in ``network.npz``."""
    from ..spiking import RateNetwork

    with np.load(path, allow_pickle=False) as data:
        net = RateNetwork(
            w_in=data["w_in"], w_rec=data["w_rec"],
            rec_signs=data.get("rec_signs", None),
            rec_mask=data.get("rec_mask", None),
            rectify=str(data["rectify"]), w_out=data["w_out"], b_out=data["b_out"],
            tau=data["tau"], dt=float(data["dt"]), b_rec=data["b_rec"])
        return net, float(data["lam"])


# --------------------------------------------------------------------------- figures
def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_lambda_search(search: Any) -> Any:
    """Accuracy (left axis) and mean firing rate of E and I neurons (right) against lambda."""
    plt = v.pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 3.6), layout="constrained")
    ax.plot(search.lambdas, search.accuracy, "o-", color="k", label="accuracy")
    best = int(np.argmax(search.accuracy))
    ax.plot(search.lambdas[best], search.accuracy[best], "o", ms=11, mfc="none", mec="C2",
            mew=2, label=f"chosen: {search.lambdas[best]:g}")
    ax.set(xlabel="scaling factor lambda", ylabel="task accuracy", ylim=(-0.03, 1.03),
           title=f"lambda search ({search.n_trials} trials per lambda)")
    ax2 = ax.twinx()
    ax2.plot(search.lambdas, search.firing_rate_exc, "s--", ms=3, color="C3", alpha=0.8,
             label="E rate")
    if np.any(np.isfinite(search.firing_rate_inh)):
        ax2.plot(search.lambdas, search.firing_rate_inh, "s--", ms=3, color="C0", alpha=0.8,
                 label="I rate")
    ax2.set_ylabel("mean firing rate (Hz)")
    ax2.set_ylim(bottom=0)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=7, frameon=False,
              loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=4)
    return fig


def plot_raster(res: Any, trial: int = 0, title: str | None = None) -> Any:
    """Spikes of one trial, excitatory neurons (red, bottom) then inhibitory (blue, top)."""
    plt = v.pyplot()
    exc = res.excitatory
    order = np.r_[np.flatnonzero(exc), np.flatnonzero(~exc)]
    position = np.empty(exc.size, dtype=np.int64)
    position[order] = np.arange(exc.size)
    sel = res.spike_trial == trial
    t = res.spike_step[sel] * res.dt * 1000.0
    unit = res.spike_unit[sel]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    e = exc[unit]
    ax.scatter(t[e], position[unit[e]], s=1.2, c="C3", marker="|", linewidths=0.6,
               label=f"excitatory ({int(exc.sum())})")
    ax.scatter(t[~e], position[unit[~e]], s=1.2, c="C0", marker="|", linewidths=0.6,
               label=f"inhibitory ({int((~exc).sum())})")
    if (~exc).any() and exc.any():
        ax.axhline(exc.sum() - 0.5, color="0.5", lw=0.6)
    ax.set(xlabel="time (ms)", ylabel="neuron (E, then I)", xlim=(0, res.n_steps * res.dt * 1000),
           ylim=(-0.5, exc.size - 0.5), title=title)
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.14),
              ncols=2, markerscale=8)
    return fig


def plot_rate_vs_spiking(rate_out: np.ndarray, res: Any, target: np.ndarray, dt_ms: float,
                         trials: Sequence[int], labels: Sequence[str]) -> Any:
    """Output of the rate network and of the LIF network on the same trials (one panel per
    trial; the first output channel, and the target dashed)."""
    plt = v.pyplot()
    n = len(trials)
    fig, axes = plt.subplots(n, 1, figsize=(6.4, 1.5 + 1.25 * n), sharex=True, squeeze=False,
                             layout="constrained")
    t_rate = (np.arange(rate_out.shape[1]) + 1) * dt_ms
    sub = max(1, res.n_steps // 2000)
    t_lif = (np.arange(res.n_steps)[::sub] + 1) * res.dt * 1000.0
    for ax, b, label in zip(axes[:, 0], trials, labels, strict=True):
        ax.plot(t_lif, res.outputs[b, ::sub, 0], color="C1", lw=0.8, label="spiking (LIF)")
        ax.plot(t_rate, rate_out[b, :, 0], color="k", lw=1.2, label="rate network")
        ax.plot(t_rate, target[b, :, 0], color="0.5", lw=1, ls="--", label="target")
        ax.set_ylabel("output")
        ax.set_title(label, fontsize=8, loc="left")
    axes[-1, 0].set_xlabel("time (ms)")
    axes[0, 0].legend(fontsize=7, frameon=False, loc="lower center",
                      bbox_to_anchor=(0.5, 1.18), ncols=3)
    return fig


def plot_firing_rates(rates: np.ndarray, excitatory: np.ndarray) -> Any:
    """Histograms of the neurons' firing rates (Hz, averaged over trials), E and I."""
    plt = v.pyplot()
    per_unit = rates.mean(axis=0)
    fig, ax = plt.subplots(figsize=(5.2, 3.6), layout="constrained")
    bins = np.linspace(0, max(1.0, float(per_unit.max())) * 1.02, 31)
    for sel, name, color in ((excitatory, "excitatory", "C3"), (~excitatory, "inhibitory", "C0")):
        if sel.any():
            vals = per_unit[sel]
            ax.hist(vals, bins=bins, color=color, alpha=0.55,
                    label=f"{name}: {sel.sum()} neurons, mean {vals.mean():.1f} Hz, "
                          f"median {np.median(vals):.1f} Hz")
    ax.set(xlabel="firing rate (Hz)", ylabel="neurons",
           title=f"firing rates over {rates.shape[0]} trials")
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    return fig


# --------------------------------------------------------------------------- driver
def _trial_label(params: Any) -> str:
    if isinstance(params, dict) and params:
        items = list(params.items())[:3]
        return ", ".join(f"{k}={val:.3g}" if isinstance(val, float) else f"{k}={val}"
                         for k, val in items)
    return ""


def _pick_trials(y: np.ndarray, k: int = 4) -> list[int]:
    """Up to ``k`` trials with different final targets first (e.g. Go and NoGo)."""
    final = np.round(np.asarray(y)[:, -1, 0], 6)
    picked: list[int] = []
    for value in np.unique(final):
        picked.extend(np.flatnonzero(final == value)[: max(1, k // len(np.unique(final)))])
    for b in range(len(y)):
        if len(picked) >= k:
            break
        if b not in picked:
            picked.append(b)
    return sorted(int(b) for b in picked[:k])


def write_spiking(
    run_dir: str | os.PathLike,
    *,
    lambdas: Sequence[float] | None = None,
    n_trials: int = 100,
    eval_trials: int = 200,
    workers: int = 1,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool | None = None,
    params: Any = None,
) -> SpikingResult:
    """Convert a run's sigmoid rate network to LIF neurons and write ``RUN_DIR/spiking/``.

    Args:
        run_dir: A run directory of ``psychcore train`` with an ``"rnn"`` of sigmoid units.
        lambdas: Scaling factors to try (default :data:`DEFAULT_LAMBDAS`, spikeRNN's).
        n_trials: Trials per lambda in the search (all lambdas on the same trials).
        eval_trials: Fresh trials on which the rate network and the LIF network at the chosen
            lambda are scored (and the figures drawn).
        workers: Processes of the search (:func:`~psychcore.spiking.lambda_search`).
        seed: Seed of the trials and of every draw of the simulations.
        overwrite: Replace an existing ``spiking/``.
        progress: Progress bar of the search (default: when stderr is a terminal).
        params: :class:`~psychcore.spiking.LIFParams` (their ``lam`` is ignored); spikeRNN's
            defaults by default.

    Returns:
        :class:`SpikingResult`.

    Raises:
        FileNotFoundError: If the run directory or its weights are missing.
        FileExistsError: If ``spiking/`` exists and ``overwrite`` is False.
        ValueError: If the run's network is not a sigmoid ``"rnn"``, its task cannot be
            rebuilt or has no ``accuracy_function``, or an argument is out of range.
    """
    from ..spiking import LIFParams, RateNetwork, lambda_search, simulate_lif

    owner = "write_spiking"
    if not isinstance(run_dir, str | os.PathLike):
        raise TypeError(f"{owner}: run_dir must be a path; received {describe(run_dir)}")
    n_trials = v.integer(n_trials, "n_trials", owner)
    eval_trials = v.integer(eval_trials, "eval_trials", owner)
    workers = v.integer(workers, "workers", owner)
    seed = v.integer(seed, "seed", owner, minimum=0)
    lam = np.asarray(DEFAULT_LAMBDAS if lambdas is None else lambdas, dtype=np.float64)
    if params is None:
        params = LIFParams(lam=float(lam[0]) if lam.size and lam[0] > 0 else 1.0)
    run = Path(run_dir)
    final = run / SPIKING_DIR
    spec, weights, info = load_run(run)
    arch, tf = getattr(spec, "architecture", None), getattr(spec, "transfer_function", None)
    if arch != "rnn" or tf != "sigmoid":
        raise ValueError(f"spiking: the network of {run} is a {arch!r} with {tf!r} units; the "
                         "LIF conversion needs an 'rnn' with sigmoid units (train one with "
                         "-s transfer_function=sigmoid)")
    if final.exists() and not overwrite:
        raise FileExistsError(f"spiking: {final} already exists; pass --overwrite "
                              "(overwrite=True) to replace it")
    if not info:
        raise ValueError(f"spiking: {run} has no run.json naming its task")
    try:
        task = rebuild_task(info, seed)
    except Exception as exc:
        raise ValueError(f"spiking: the task of {run} could not be rebuilt: {exc}") from exc
    if not defines_accuracy(task):
        raise ValueError(f"spiking: the task of {run} ({type(task).__name__}) has no "
                         "accuracy_function, which the lambda search scores")
    v.pyplot()
    network = RateNetwork.from_weights(spec, weights)
    gen = as_generator(seed)
    search_rng, eval_rng, sim_rng, rate_rng = gen.spawn(4)
    search = lambda_search(network, task, lam, n_trials, workers=workers, rng=search_rng,
                           params=params, progress=show_progress(progress))
    best = search.best_lambda
    best_params = dataclasses.replace(params, lam=best)

    # fresh trials: the rate network (NumPy Simulator, the run's noise) and the LIF network
    from .._simulator import Simulator

    x, y, mask, trial_params = task.get_trial_batch(rng=eval_rng, N_batch=eval_trials)
    x = np.asarray(x, dtype=np.float64)
    rate_out, _ = Simulator(spec, weights, seed=rate_rng).run_trials(
        x, rec_noise=float(getattr(spec, "rec_noise", 0.0) or 0.0))
    res = simulate_lif(network, x, best_params, rng=sim_rng)
    rate_acc = float(task.accuracy_function(y, rate_out, mask))
    spk_acc = float(task.accuracy_function(y, res.outputs_rate, mask))
    rates = res.firing_rates()

    tmp = run / f".spiking.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    result = SpikingResult(path=final, best_lambda=best, search=search,
                           rate_accuracy=rate_acc, spiking_accuracy=spk_acc,
                           eval_trials=eval_trials)
    try:
        np.savez(tmp / "network.npz", **_npz_arrays(network, best))
        shown = _pick_trials(np.asarray(y))
        labels = [f"trial {b}: {_trial_label(trial_params[b])}" for b in shown]
        exc = network.excitatory
        captions = {
            "accuracy": (
                f"Lambda search: task accuracy of the LIF network for each scaling factor "
                f"lambda, all on the same {search.n_trials} trials with the same initial "
                f"voltages and noise (circle: the chosen lambda, {best:g}); dashed, right "
                f"axis: mean firing rate of the excitatory and inhibitory neurons."),
            "raster": (
                f"Spikes of {labels[0]} at lambda {best:g}: each row a neuron, excitatory "
                f"(red, {int(exc.sum())}) below the line, inhibitory (blue, "
                f"{int((~exc).sum())}) above."),
            "outputs": (
                f"Output of the rate network (black) and of the spiking network at lambda "
                f"{best:g} (orange, the filtered spike trains read out every "
                f"{res.dt * 1000:g} ms) on the same {len(shown)} trials; target dashed. "
                f"Accuracy on {eval_trials} fresh trials: rate {rate_acc:.3f}, spiking "
                f"{spk_acc:.3f}."),
            "firing_rates": (
                f"Distribution of the neurons' firing rates at lambda {best:g}, averaged "
                f"over {eval_trials} trials, excitatory and inhibitory neurons apart."),
        }
        figs = {
            "accuracy": lambda: plot_lambda_search(search),
            "raster": lambda: plot_raster(res, shown[0], title=f"{labels[0]} (lambda {best:g})"),
            "outputs": lambda: plot_rate_vs_spiking(rate_out, res, np.asarray(y),
                                                    float(spec.dt), shown, labels),
            "firing_rates": lambda: plot_firing_rates(rates, exc),
        }
        for name in FIGURES:
            _save(figs[name](), tmp / f"{name}.png")
            result.figures[name] = final / f"{name}.png"
        result.captions = {k: captions[k] for k in FIGURES}
        record = {
            "run": run.name, "task": info.get("task"), "best_lambda": best,
            "lambdas": search.lambdas.tolist(), "accuracy": search.accuracy.tolist(),
            "firing_rate": search.firing_rate.tolist(),
            "firing_rate_exc": _listed(search.firing_rate_exc),
            "firing_rate_inh": _listed(search.firing_rate_inh),
            "search_trials": search.n_trials, "eval_trials": eval_trials,
            "rate_accuracy": rate_acc, "spiking_accuracy": spk_acc,
            "eval_firing_rate_exc": _mean_or_none(rates[:, exc]),
            "eval_firing_rate_inh": _mean_or_none(rates[:, ~exc]),
            "seed": seed, "lif_params": {**dataclasses.asdict(best_params),
                                         "v_init": list(best_params.v_init)},
            "figures": {k: f"{k}.png" for k in FIGURES}, "captions": result.captions,
        }
        atomic_write_text(tmp / "spiking.json", json.dumps(record, indent=1))
        replace_dir(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return result


def _listed(a: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(x) else float(x) for x in a]


def _mean_or_none(a: np.ndarray) -> float | None:
    return float(a.mean()) if a.size else None
