"""``psychcore report RUN_DIR``: every applicable figure of a trained run, with an HTML index.

The run directory is the one ``psychcore train`` writes (``psychcore._run``): the network is
read from ``spec.json`` and ``weights.npz`` (``weights.json`` when ``spec.json`` is missing),
the task from ``run.json`` (``task`` and ``task_params``; the task is rebuilt with
``psychcore.get_task(name)`` and those saved parameters its constructor accepts), and the
training curves from ``metrics.csv``. Trials are simulated with the NumPy Simulator (with the
spec's recurrent noise), so no backend is needed.

Figures (PNG, in ``RUN_DIR/report/``), each written when it applies:

- ``training.png``: loss and validation accuracy against trials (``metrics.csv``);
- ``weights.png``: effective ``W_in``, ``W_rec``, ``W_out`` (E red, I blue, absent blank);
- ``spectrum.png``: eigenvalues of ``W_rec_eff`` with the unit circle (rate RNN);
- ``example_trial.png``: inputs, target and output of one trial;
- ``psychometric.png``: choice probability per signed coherence with a logistic fit (tasks
  whose trials have ``coherence`` and ``direction``);
- ``unit_traces.png``: condition-averaged state of the most condition-selective units
  (correct trials);
- ``pca.png``: condition-averaged trajectories in the top two PCs (correct trials);
- ``fixed_points.png``: fixed and slow points for zero input on the same PCs, and their
  Jacobian spectra (rate RNN);
- ``lesions.png``: accuracy after random lesions of a growing fraction of recurrent
  connections, and per E/I pairing with Dale's principle (tasks with an accuracy function);
- ``spiking_*.png``: when ``psychcore spiking RUN_DIR`` has written ``RUN_DIR/spiking/``, its
  figures (lambda search, raster, rate vs spiking output, firing rates), and the chosen lambda
  and the rate and spiking accuracies in the table.

The report is written into a temporary directory and moved into place at the end, so an
interrupted report leaves nothing half-written; an existing report is replaced only with
``overwrite=True``. A figure that fails is listed (with the error) in ``index.html`` and in
:attr:`ReportResult.failed`; the others are still written.
"""

from __future__ import annotations

import html
import inspect
import json
import os
import shutil
import textwrap
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import describe
from .._io import replace_dir
from .._progress import progress_bar, show_progress
from .._rng import as_generator
from .._spec_io import read_json_file
from . import _validate as v

#: Directory of ``psychcore spiking``'s results in a run (``psychcore.analysis._spiking``).
SPIKING_DIR = "spiking"
#: Unsigned coherences of the psychometric batch (each with both directions).
PSYCHOMETRIC_COHERENCES = (0.0, 0.025, 0.05, 0.1, 0.2, 0.4)


@dataclass
class ReportResult:
    """What :func:`write_report` returns.

    Attributes:
        path: The report directory.
        figures: Written figures: name -> PNG path.
        captions: Caption of each written figure.
        skipped: Figures that do not apply: name -> reason.
        failed: Figures that raised: name -> error message.
        notes: Numbers measured on the way (accuracy, fit parameters, fixed points).
    """

    path: Path
    figures: dict[str, Path] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- loading
def load_run(run_dir: str | os.PathLike) -> tuple[Any, dict[str, np.ndarray], dict[str, Any]]:
    """The spec, weights and ``run.json`` contents of a run directory.

    Raises:
        FileNotFoundError: If the directory or its weights are missing.
        ValueError: If neither ``spec.json`` nor ``weights.json`` gives the spec.
    """
    from .._spec import ModelSpec
    from .._weights import load_weights

    run = Path(run_dir)
    if not run.is_dir():
        raise FileNotFoundError(f"report: run directory {run} does not exist")
    if not (run / "weights.npz").exists():
        raise FileNotFoundError(f"report: {run} has no weights.npz (is it a psychcore run "
                                "directory?)")
    weights, spec = load_weights(run / "weights.npz")
    if (run / "spec.json").exists():
        spec = ModelSpec.from_file(run / "spec.json")
    if spec is None:
        raise ValueError(f"report: {run} has neither spec.json nor weights.json")
    info: dict[str, Any] = {}
    if (run / "run.json").exists():
        info = read_json_file(run / "run.json", "the run.json of a psychcore run")
    return spec, weights, info


def rebuild_task(info: dict[str, Any], seed: int = 0) -> Any:
    """The task of ``run.json``: :func:`psychcore.plugins.build_task` with the saved parameters
    its constructor accepts (``N_in``, ``alpha``, ``N_steps`` and other derived values are
    not), no defaults, and the task's generator seeded with ``seed`` (a saved ``seed``
    parameter is left out: the report's seed decides).

    Raises:
        ValueError: If ``run.json`` names no task, or the task is not installed.
    """
    from .._plugins import build_task

    name = info.get("task")
    if not isinstance(name, str) or not name:
        raise ValueError("run.json names no task")
    params = {k: v for k, v in (info.get("task_params") or {}).items() if k != "seed"}
    return build_task(name, params, seed=seed, defaults={}, ignore_unknown=True)


def _accepts(task_cls: type, name: str) -> bool:
    params = inspect.signature(task_cls).parameters
    return name in params


# --------------------------------------------------------------------------- figures
def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)


def _training(run: Path, out: Path) -> str | None:
    from .._run import _read_metrics, metrics_figure

    rows = _read_metrics(run / "metrics.csv")
    if not rows:
        return None
    v.pyplot()  # matplotlib (Agg unless a backend is chosen), or an ImportError saying how
    _save(metrics_figure(rows), out)
    last = rows[-1]
    acc = last.get("accuracy") or "n/a"
    return (f"Training: loss (log scale) and validation accuracy against trials seen, from "
            f"metrics.csv ({len(rows)} records; last: loss {last['loss']}, accuracy {acc}).")


class _Context:
    """Everything the figure functions share: network, task, simulated batches."""

    def __init__(self, spec: Any, weights: dict[str, np.ndarray], task: Any, n_trials: int,
                 seed: int) -> None:
        from .._simulator import Simulator

        self.spec, self.weights, self.task = spec, weights, task
        self.rng = as_generator(seed)
        self.sim = Simulator(spec, weights, seed=self.rng)
        self.rec_noise = float(getattr(spec, "rec_noise", 0.0) or 0.0)
        self.dt = float(spec.dt)
        self.n_trials = n_trials
        self.batch: tuple[Any, ...] | None = None
        self.levels: tuple[Any, ...] | None = None
        self.pca_result: Any = None

    def simulate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.sim.run_trials(x, rec_noise=self.rec_noise)

    def main_batch(self) -> tuple[Any, ...]:
        if self.batch is None:
            x, y, mask, params = self.task.get_trial_batch(self.rng, N_batch=self.n_trials)
            out, states = self.simulate(np.asarray(x, dtype=np.float64))
            self.batch = (x, y, mask, params, out, states)
        return self.batch

    def has_coherence(self) -> bool:
        params = self.main_batch()[3]
        first = params[0] if len(params) else {}
        return (isinstance(first, dict) and "coherence" in first and "direction" in first
                and self.sim.N_out >= 2)

    def condition_batch(self) -> tuple[Any, ...]:
        """Trials by condition: fixed coherence levels (coherence tasks) or the main batch
        labelled by the target's choice. Returns (x, y, mask, labels, out, states, kind)."""
        if self.levels is not None:
            return self.levels
        from ._behaviour import choices
        from ._psychometric import signed_coherence

        cls = type(self.task)
        if self.has_coherence() and _accepts(cls, "coherence"):
            per = max(16, self.n_trials // len(PSYCHOMETRIC_COHERENCES))
            xs, ys, ms, labels = [], [], [], []
            base = {k: val for k, val in self.task.get_task_params().items()
                    if _accepts(cls, k) and k not in ("coherence", "seed")}
            for c in PSYCHOMETRIC_COHERENCES:
                task = cls(**{**base, "coherence": c})
                task.set_seed(int(self.rng.integers(2**31)))
                x, y, mask, params = task.get_trial_batch(N_batch=per)
                xs.append(x)
                ys.append(y)
                ms.append(mask)
                labels.append(signed_coherence(params, 1))
            x, y, mask = (np.concatenate(a) for a in (xs, ys, ms))
            label = np.round(np.concatenate(labels), 10)
            kind = "signed coherence"
        elif self.has_coherence():  # coherence drawn per trial: label by quantile bin means
            x, y, mask, params = self.main_batch()[:4]
            sc = signed_coherence(params, 1)
            edges = np.unique(np.quantile(sc, np.linspace(0.0, 1.0, 9)))
            index = np.clip(np.searchsorted(edges, sc, side="right") - 1, 0, len(edges) - 2)
            means = {i: float(sc[index == i].mean()) for i in np.unique(index)}
            label = np.round(np.array([means[i] for i in index]), 10)
            kind = "signed coherence (binned)"
        else:
            x, y, mask = self.main_batch()[:3]
            if self.sim.N_out >= 2:
                label, kind = choices(np.asarray(y, dtype=np.float64), mask), "target choice"
            else:
                label, kind = np.zeros(len(x), dtype=np.int64), "one condition"
        out, states = self.simulate(np.asarray(x, dtype=np.float64))
        self.levels = (x, y, mask, label, out, states, kind)
        return self.levels


def _value_text(value: Any) -> str:
    """A trial parameter as a person writes it: ``1400`` (not ``1.4e+03``), ``0.204``,
    ``2.5e-05``; ``True``, strings and short lists as they are."""
    if isinstance(value, np.ndarray) and value.size <= 4:
        value = value.tolist()
    if isinstance(value, list | tuple) and len(value) <= 4:
        return "[" + ", ".join(_value_text(val) for val in value) + "]"
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        text = str(value)
        return text if len(text) <= 24 else text[:21] + "..."
    number = float(value)
    if not np.isfinite(number) or number == 0:
        return f"{number + 0.0:g}"  # + 0.0: -0.0 reads 0
    if number == round(number) and abs(number) < 1e9:
        return str(int(number))
    if abs(number) >= 100:
        return f"{number:.0f}"
    if abs(number) >= 1e-3:
        return f"{number:.3g}"
    return f"{number:.2g}"


def _example_trial(ctx: _Context, path: Path, result: ReportResult) -> str:
    from ._behaviour import plot_trial

    x, y, mask, params, out, _ = ctx.main_batch()
    desc = ", ".join(f"{k}={_value_text(val)}"
                     for k, val in dict(params[0]).items()) if len(params) else ""
    title = textwrap.fill(desc, width=72, break_long_words=False) if desc else None
    _save(plot_trial(x, y, mask, out, trial=0, dt=ctx.dt, title=title), path)
    try:
        acc = float(ctx.task.accuracy_function(y, out, mask))
        result.notes["accuracy"] = acc
        acc_text = f" Accuracy of the network on {len(out)} simulated trials: {acc:.3f}."
    except NotImplementedError:
        acc_text = ""
    return (f"Example trial ({desc}): inputs (top), target (middle) and the network's output "
            f"(bottom); grey where the output mask is 0.{acc_text}")


def _psychometric(ctx: _Context, path: Path, result: ReportResult) -> str | None:
    from ._psychometric import choice_probabilities, fit_psychometric, plot_psychometric

    if not ctx.has_coherence():
        return None
    x, y, mask, label, out, _, _ = ctx.condition_batch()
    data = choice_probabilities(out, label, mask, channel=1)
    fit = None
    note = ""
    if data.levels.size >= 3:
        fit = fit_psychometric(data.levels, data.p_choice, data.n_trials, kind="logistic")
        result.notes["psychometric"] = {k: [val, *fit.ci[k]] for k, val in fit.params.items()}
        note = " " + fit.summary() + "."
    _save(plot_psychometric(data, fit), path)
    return (f"Psychometric function: percentage of choices of output 1 against signed "
            f"coherence (positive: output 1 correct), {int(data.n_trials.sum())} trials at "
            f"{data.levels.size} levels with 95% Wilson intervals, and a maximum-likelihood "
            f"logistic fit.{note}")


def _averages(ctx: _Context) -> tuple[Any, str, str]:
    """Condition averages over correct trials, or over all trials when some condition has no
    correct trial (it would vanish from the figures); returns (averages, kind, which trials)."""
    from ._behaviour import correct_trials
    from ._population import condition_averages

    x, y, mask, label, out, states, kind = ctx.condition_batch()
    yf = np.asarray(y, dtype=np.float64)
    if yf.shape[2] >= 2:
        correct = correct_trials(yf, out, mask)
        if set(np.unique(label[correct]).tolist()) == set(np.unique(label).tolist()):
            return condition_averages(states, label, correct), kind, "correct trials"
        return (condition_averages(states, label), kind,
                "all trials (some condition had no correct trial)")
    return condition_averages(states, label), kind, "all trials"  # one output: no choice


def _unit_traces(ctx: _Context, path: Path, result: ReportResult) -> str:
    from ._population import plot_unit_traces

    avg, kind, which = _averages(ctx)
    single = avg.conditions.size == 1
    # most condition-selective units; with one condition, the most modulated in time
    spread = avg.averages.std(axis=1 if single else 0).mean(axis=0)
    units = np.sort(np.argsort(-spread)[:8])
    _save(plot_unit_traces(avg, units=units, dt=ctx.dt, legend_title=kind), path)
    how = ("vary most over the trial" if single
           else "condition-averaged state differs most across conditions")
    lines = "" if single else f", one line per {kind}"
    return (f"State of the {units.size} units whose {how} (units "
            f"{', '.join(map(str, units))}), averaged over {which}{lines}.")


def _pca(ctx: _Context, path: Path, result: ReportResult) -> str:
    from ._population import pca, plot_pca_trajectories

    avg, kind, which = _averages(ctx)
    res = pca(avg.averages, n_components=min(3, *avg.averages.shape[1:]))
    ctx.pca_result = res
    _save(plot_pca_trajectories(res, avg.conditions, legend_title=kind), path)
    evr = ", ".join(f"{100 * r:.1f}%" for r in res.explained_variance_ratio[:3])
    result.notes["pca_explained_variance_ratio"] = res.explained_variance_ratio.tolist()
    return (f"Population trajectories: condition-averaged states ({which}, by {kind}) "
            f"projected on their top two principal components (explained variance of PCs "
            f"1-3: {evr}); circles mark the start, squares the end of each trial.")


def _fixed_points(ctx: _Context, path: Path, result: ReportResult, n_inits: int) -> str | None:
    from ._fixed_points import find_fixed_points, sample_initial_states
    from ._population import condition_colorbar, pca, plot_pca_trajectories

    if ctx.spec.architecture != "rnn":
        return None
    avg, kind, _ = _averages(ctx)
    res = ctx.pca_result if ctx.pca_result is not None else pca(avg.averages, n_components=2)
    states = ctx.condition_batch()[5]
    scale = float(np.std(states)) * 0.05
    inits = sample_initial_states(np.concatenate([avg.averages.reshape(-1, states.shape[2]),
                                                  states.reshape(-1, states.shape[2])]),
                                  n_inits, rng=ctx.rng, noise_scale=scale)
    fps = find_fixed_points(ctx.spec, ctx.weights, np.zeros(ctx.sim.N_in), inits)
    plt = v.pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.8), layout="constrained",
                                   width_ratios=[1.25, 1])
    plot_pca_trajectories(res, avg.conditions, ax=ax1, fixed_points=fps, legend=False)
    condition_colorbar(ax1, avg.conditions, label=kind)  # the trajectories' colours
    handles = [h for h in ax1.get_lines() if h.get_label().endswith(("point", "points"))]
    if handles:
        ax1.legend(handles=handles, fontsize=7, frameon=False, loc="upper center",
                   bbox_to_anchor=(0.5, -0.13), ncols=len(handles))
    ax1.set_title("fixed points (zero input) on the PCs", fontsize=10)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    top = min(10, ctx.sim.N_rec)
    for i in range(min(len(fps), 8)):
        mod = np.abs(fps.eigenvalues[i][:top])
        ax2.plot(np.arange(1, top + 1), mod, "o-", ms=4, lw=1, color=colors[i % len(colors)],
                 label=f"#{i} {fps.kind[i]}, {fps.stability[i]} ({fps.n_unstable[i]} unstable)")
    ax2.axhline(1.0, color="0.5", ls="--", lw=1)
    ax2.set(xlabel="eigenvalue rank", ylabel="|λ| of the Euler map's Jacobian")
    ax2.set_title("largest eigenvalue moduli (> 1: unstable)", fontsize=10)
    ax2.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.13),
               ncols=2)
    _save(fig, path)
    n_fixed = int(fps.is_fixed.sum())
    kinds = ", ".join(f"{int(np.sum(fps.is_fixed & (fps.stability == s)))} {s}"
                      for s in ("stable", "saddle", "unstable", "marginal")
                      if np.any(fps.is_fixed & (fps.stability == s)))
    result.notes["fixed_points"] = {"fixed": n_fixed, "slow": int(len(fps) - n_fixed),
                                    "stability": fps.stability.tolist()}
    return (f"Fixed points for zero input (no stimulus), searched from {fps.n_initial} states "
            f"visited in the simulated trials by minimising q = ½‖F(x) − x‖²: {n_fixed} fixed "
            f"point(s) ({kinds or 'none'}) and {len(fps) - n_fixed} slow point(s) "
            f"(q < {fps.tol_slow:g}). Left: on the PCs of the trajectories of pca.png "
            f"(filled black: stable, open red: unstable/saddle, grey x: slow; the colour bar gives "
            f"each trajectory's {kind}). Right: moduli "
            f"of the top "
            f"eigenvalues of the Euler map's Jacobian at each point, largest first.")


def _lesions(ctx: _Context, path: Path, result: ReportResult) -> str | None:
    from .._equations import dale_enabled
    from ._perturbation import lesion, lesion_by_type, run_perturbed

    x, y, mask = (a[: min(ctx.n_trials, 128)] for a in ctx.main_batch()[:3])
    try:
        ctx.task.accuracy_function(y, ctx.main_batch()[4][: len(y)], mask)
    except NotImplementedError:
        return None
    x = np.asarray(x, dtype=np.float64)
    xi = ctx.rng.standard_normal(x.shape[:2] + (ctx.sim.N_rec,)) if ctx.rec_noise else None
    fractions = np.array([0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9])
    repeats = 3
    kinds = {"random": lesion}
    if dale_enabled(ctx.weights):
        kinds["equal per E/I pairing"] = lesion_by_type
    plt = v.pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 3.9), layout="constrained")
    curves = {}
    for name, fn in kinds.items():
        acc = np.empty((fractions.size, repeats))
        for i, f in enumerate(fractions):
            for r in range(repeats):
                lesioned = fn(ctx.weights, float(f), 0.0, rng=ctx.rng)
                out, _ = run_perturbed(ctx.spec, lesioned, x, rec_noise=ctx.rec_noise, noise=xi)
                acc[i, r] = float(ctx.task.accuracy_function(y, out, mask))
        curves[name] = acc.mean(axis=1).tolist()
        ax.errorbar(fractions, acc.mean(axis=1), yerr=acc.std(axis=1), fmt="o-", ms=4,
                    capsize=2, label=name)
    ax.set(xlabel="fraction of existing recurrent connections removed", ylabel="accuracy",
           ylim=(-0.02, 1.02), title="lesions")
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncols=len(kinds))
    _save(fig, path)
    result.notes["lesions"] = {"fractions": fractions.tolist(), **curves}
    return (f"Lesions: task accuracy on the same {len(y)} trials (and noise) after removing a "
            f"random fraction of the existing recurrent connections" +
            (", and the same fraction within each E/I pairing" if len(kinds) > 1 else "") +
            f"; mean and standard deviation over {repeats} random lesions per point.")


# --------------------------------------------------------------------------- html
def _html(run: Path, spec: Any, info: dict[str, Any], result: ReportResult) -> str:
    esc = html.escape
    rows = [("run", run.name), ("task", info.get("task", "n/a")),
            ("backend", info.get("backend", "n/a")), ("seed", info.get("seed", "n/a")),
            ("status", info.get("status", "n/a")),
            ("accuracy (run.json)", info.get("accuracy", "n/a")),
            ("accuracy (this report)", result.notes.get("accuracy", "n/a")),
            ("architecture", spec.architecture), ("N_rec", spec.N_rec),
            ("transfer function", spec.transfer_function),
            ("dale_ratio", spec.dale_ratio), ("rec_noise", spec.rec_noise),
            ("dt / tau", f"{spec.dt} / {spec.tau}")]
    spiking = result.notes.get("spiking")
    if spiking:
        rows += [("spiking: chosen lambda", spiking["best_lambda"]),
                 ("spiking: accuracy rate / spiking",
                  f"{spiking['rate_accuracy']:.3f} / {spiking['spiking_accuracy']:.3f} "
                  f"({spiking['eval_trials']} fresh trials)")]
    table = "\n".join(
        f"<tr><th>{esc(str(k))}</th><td>{esc(f'{val:.4g}' if isinstance(val, float) else str(val))}"
        f"</td></tr>" for k, val in rows)
    figures = "\n".join(
        f'<figure id="{esc(name)}"><img src="{esc(p.name)}" alt="{esc(name)}">'
        f"<figcaption><b>{esc(name)}</b>: {esc(result.captions.get(name, ''))}</figcaption>"
        f"</figure>" for name, p in result.figures.items())
    extra = ""
    if result.skipped:
        extra += "<h2>Not applicable</h2><ul>" + "".join(
            f"<li>{esc(k)}: {esc(val)}</li>" for k, val in result.skipped.items()) + "</ul>"
    if result.failed:
        extra += "<h2>Failed</h2><ul>" + "".join(
            f"<li>{esc(k)}: <pre>{esc(val)}</pre></li>" for k, val in result.failed.items()
        ) + "</ul>"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>psychcore report: {esc(run.name)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ text-align: left; padding: 2px 12px; border-bottom: 1px solid #ddd; }}
figure {{ margin: 2em 0; }} img {{ max-width: 100%; border: 1px solid #eee; }}
figcaption {{ font-size: 0.9em; margin-top: 0.4em; }}
</style>
</head>
<body>
<h1>psychcore report: {esc(run.name)}</h1>
<p>Generated {esc(time.strftime('%Y-%m-%d %H:%M:%S'))} by <code>psychcore report</code> from
<code>{esc(str(run))}</code>; trials simulated with the NumPy Simulator.</p>
<table>
{table}
</table>
{figures}
{extra}
</body>
</html>
"""


# --------------------------------------------------------------------------- driver
def write_report(
    run_dir: str | os.PathLike,
    *,
    overwrite: bool = False,
    n_trials: int = 256,
    seed: int = 0,
    fixed_point_inits: int = 64,
    progress: bool | None = None,
) -> ReportResult:
    """Write every applicable figure of a run into ``RUN_DIR/report/`` (module docstring).

    Args:
        run_dir: A run directory written by ``psychcore train`` (or by hand: ``spec.json``,
            ``weights.npz``, ``run.json``, optionally ``metrics.csv``).
        overwrite: Replace an existing ``report/``.
        n_trials: Trials simulated for the example, accuracy and population figures.
        seed: Seed of the simulated trials, noise and fixed-point search.
        fixed_point_inits: Initial states of the fixed-point search.
        progress: Show a progress bar on stderr (default: when stderr is a terminal).

    Returns:
        A :class:`ReportResult`.

    Raises:
        FileNotFoundError: If the run directory or its weights are missing.
        FileExistsError: If ``report/`` exists and ``overwrite`` is False.
        ImportError: If matplotlib or scipy is missing.
        TypeError, ValueError: On bad arguments or an unreadable run.
    """
    owner = "write_report"
    if not isinstance(run_dir, str | os.PathLike):
        raise TypeError(f"{owner}: run_dir must be a path; received {describe(run_dir)}")
    n_trials = v.integer(n_trials, "n_trials", owner, minimum=2)
    seed = v.integer(seed, "seed", owner, minimum=0)
    fixed_point_inits = v.integer(fixed_point_inits, "fixed_point_inits", owner)
    run = Path(run_dir)
    final = run / "report"
    spec, weights, info = load_run(run)
    if final.exists() and not overwrite:
        raise FileExistsError(f"report: {final} already exists; pass --overwrite "
                              "(overwrite=True) to replace it")
    v.pyplot()
    v.scipy_optimize()
    tmp = run / f".report.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    result = ReportResult(path=final)
    task, task_error = None, ""
    try:
        task = rebuild_task(info, seed) if info else None
        if task is None:
            task_error = "the run has no run.json naming its task"
    except Exception as exc:  # the task may not be installed: keep the network figures
        task_error = f"the task could not be rebuilt: {exc}"
    ctx = _Context(spec, weights, task, n_trials, seed) if task is not None else None
    stages: list[tuple[str, Callable[[Path], str | None], str]] = []

    def task_stage(name: str, fn: Callable[..., str | None], *extra: Any) -> None:
        if ctx is None:
            result.skipped[name] = task_error
            return
        stages.append((name, lambda p, fn=fn, extra=extra: fn(ctx, p, result, *extra), name))

    stages.append(("training", lambda p: _training(run, p), "training curves"))
    stages.append(("weights", lambda p: _weights(spec, weights, p), "weights"))
    stages.append(("spectrum", lambda p: _spectrum(spec, weights, p), "spectrum"))
    task_stage("example_trial", _example_trial)
    task_stage("psychometric", _psychometric)
    task_stage("unit_traces", _unit_traces)
    task_stage("pca", _pca)
    task_stage("fixed_points", _fixed_points, fixed_point_inits)
    task_stage("lesions", _lesions)
    bar = progress_bar(len(stages), show_progress(progress), desc="report", unit="figure")
    try:
        for name, fn, label in stages:
            bar.set_postfix_str(label)
            path = tmp / f"{name}.png"
            try:
                caption = fn(path)
            except Exception as exc:
                result.failed[name] = f"{type(exc).__name__}: {exc}\n" + "".join(
                    traceback.format_exception(exc)[-3:])
                caption = False
            if caption is None:
                result.skipped[name] = _NOT_APPLICABLE.get(name, "not applicable")
            elif caption is not False:
                result.figures[name] = final / path.name
                result.captions[name] = caption
            bar.update()
        bar.set_postfix_str("done", refresh=False)
        bar.close()
        _spiking_section(run, tmp, final, result)
        (tmp / "index.html").write_text(_html(run, spec, info, result), encoding="utf-8")
        (tmp / "report.json").write_text(json.dumps(
            {"figures": {k: p.name for k, p in result.figures.items()},
             "captions": result.captions, "skipped": result.skipped,
             "failed": {k: val.splitlines()[0] for k, val in result.failed.items()},
             "notes": result.notes}, indent=1, default=str), encoding="utf-8")
        replace_dir(tmp, final)
    finally:
        bar.close()
        if tmp.exists():
            shutil.rmtree(tmp)
    return result


def _spiking_section(run: Path, tmp: Path, final: Path, result: ReportResult) -> None:
    """The figures and numbers of ``psychcore spiking`` (``RUN_DIR/spiking/``), when there:
    its PNGs copied as ``spiking_NAME.png``, its captions, and the chosen lambda and the
    accuracies in the table."""
    path = run / SPIKING_DIR / "spiking.json"
    if not path.is_file():
        return
    try:
        record = read_json_file(path, "the spiking.json of psychcore spiking")
    except Exception as exc:  # an unreadable spiking.json: say so, keep the report
        result.failed["spiking"] = f"{type(exc).__name__}: {exc}"
        return
    result.notes["spiking"] = {k: record.get(k) for k in (
        "best_lambda", "rate_accuracy", "spiking_accuracy", "eval_trials", "lambdas",
        "accuracy")}
    for name, file in (record.get("figures") or {}).items():
        src = run / SPIKING_DIR / str(file)
        if not src.is_file():
            result.failed[f"spiking_{name}"] = f"{src} is missing"
            continue
        shutil.copyfile(src, tmp / f"spiking_{name}.png")
        result.figures[f"spiking_{name}"] = final / f"spiking_{name}.png"
        result.captions[f"spiking_{name}"] = (
            "Spiking network (psychcore spiking, " + SPIKING_DIR + "/): "
            + str((record.get("captions") or {}).get(name, "")))


_NOT_APPLICABLE = {
    "training": "no metrics.csv records",
    "spectrum": "the spectrum of W_rec is shown for rate RNNs (square W_rec) only",
    "psychometric": "the task's trials have no 'coherence' and 'direction'",
    "fixed_points": "fixed points are computed for rate RNNs only",
    "lesions": "the task has no accuracy_function",
}


def _weights(spec: Any, weights: dict[str, np.ndarray], path: Path) -> str:
    from ._connectivity import plot_weights

    _save(plot_weights(weights), path)
    dale = (f"Dale's principle (ratio {spec.dale_ratio:g}): excitatory units' outgoing "
            f"weights are red, inhibitory units' blue" if spec.dale_ratio is not None
            else "positive weights red, negative blue")
    return (f"Effective weights (after masks and Dale signs): W_in (left), W_rec (rows: "
            f"receiving, columns: sending unit) and W_out (below). {dale}; connections that "
            f"do not exist are blank.")


def _spectrum(spec: Any, weights: dict[str, np.ndarray], path: Path) -> str | None:
    from ._connectivity import eigenvalue_spectrum, plot_spectrum

    if spec.architecture != "rnn":
        return None
    eig = eigenvalue_spectrum(weights)
    _save(plot_spectrum(eig), path)
    return (f"Eigenvalues of the effective recurrent matrix W_rec in the complex plane; "
            f"spectral radius {np.max(np.abs(eig)):.3g} (dashed: unit circle).")
