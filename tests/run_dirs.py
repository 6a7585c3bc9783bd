"""Hand-built run directories and the figure-layout check that the tests of ``psychcore
report`` and ``psychcore spiking`` share (tests/test_analysis_report.py,
tests/test_spiking_cli.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import psychcore
from psychcore import ModelSpec, save_weights, validate_weights
from psychcore.cli import main

#: ``psychcore report`` options that keep a report of a small network quick.
FAST = ["--trials", "48", "--fixed-point-inits", "24", "--no-progress"]


def write_run(path: Path, spec: ModelSpec, weights: dict[str, np.ndarray],
              run_info: dict[str, Any] | None) -> Path:
    """Write a run directory as ``psychcore train`` leaves it, without training.

    Args:
        path: The directory to create (it must not exist).
        spec: The bound spec, written as ``spec.json``.
        weights: The network, written as ``weights.npz``.
        run_info: What ``run.json`` records (task, its parameters, backend, ...), or None
            for a run directory without ``run.json``.

    Returns:
        ``path``.
    """
    path.mkdir()
    (path / "spec.json").write_text(spec.to_json())
    save_weights(path / "weights", weights, spec)
    if run_info is not None:
        (path / "run.json").write_text(json.dumps(run_info))
    return path


def decision_network(n_pop: int = 16, n_inh: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """A hand-built Dale network that performs perceptual discrimination.

    Two excitatory pools (one per input channel) excite themselves and a shared inhibitory
    pool that inhibits both (and itself, which makes it fast); E biases are slightly negative.
    At zero input the network has three stable states (both pools silent, pool 1 active,
    pool 2 active) separated by saddles: the stimulus pushes it into the pool with the larger
    input, which then stays active through the decision period. Output c reads pool c, giving
    1.0 for the chosen and 0.2 for the other channel.
    """
    rng = np.random.default_rng(seed)
    n = 2 * n_pop + n_inh
    e1, e2, inh = np.arange(n_pop), np.arange(n_pop, 2 * n_pop), np.arange(2 * n_pop, n)
    W = np.zeros((n, n))
    W[np.ix_(e1, e1)] = 1.5 / n_pop
    W[np.ix_(e2, e2)] = 1.5 / n_pop
    W[np.ix_(inh, np.r_[e1, e2])] = 1.0 / n_pop
    W[np.ix_(np.r_[e1, e2], inh)] = 3.0 / n_inh
    W[np.ix_(inh, inh)] = 2.0 / n_inh
    W *= 1 + 0.1 * rng.standard_normal(W.shape)
    W_in = np.zeros((n, 2))
    W_in[e1, 0] = W_in[e2, 1] = 0.5
    W_in *= 1 + 0.1 * rng.standard_normal(W_in.shape)
    b = np.full(n, -0.1)
    b[inh] = -0.5
    W_out = np.zeros((2, n))
    W_out[0, e1] = W_out[1, e2] = 1.0 / n_pop
    return validate_weights({"W_in": W_in, "W_rec": np.abs(W), "W_out": W_out, "b_rec": b,
                             "b_out": np.full(2, 0.2), "init_state": np.full((1, n), -0.1),
                             "dale_ratio": 2 * n_pop / n})


def write_metrics(path: Path) -> None:
    """A ``metrics.csv`` of ten epochs whose loss falls and accuracy rises."""
    lines = ["epoch,trials,loss,accuracy,stage,elapsed_s"]
    lines += [f"{10 * e},{640 * e},{0.2 * np.exp(-e / 3) + 0.02:.5f},{0.5 + 0.04 * e:.3f},,"
              f"{0.1 * e:.2f}" for e in range(1, 11)]
    path.write_text("\n".join(lines) + "\n")


def make_run(path: Path, *, run_json: bool = True, metrics: bool = True) -> Path:
    """The :func:`decision_network` on PerceptualDiscrimination (psychcore_tasks_classic) as
    a run directory, with or without its ``run.json`` and ``metrics.csv``."""
    task = psychcore.get_task("PerceptualDiscrimination")(dt=10, tau=100, T=2000, N_batch=64)
    spec = ModelSpec(N_rec=40, dale_ratio=0.8, rec_noise=0.05).bind(task)
    info = {"task": "PerceptualDiscrimination", "task_params": task.get_task_params(),
            "backend": "none (hand-built)", "seed": 0, "status": "finished"}
    write_run(path, spec, decision_network(), info if run_json else None)
    if metrics:
        write_metrics(path / "metrics.csv")
    return path


def layout_problems(fig: Any, dpi: float = 110) -> list[str]:
    """What keeps a figure off a slide, measured by matplotlib's renderer at the saved dpi:
    tick labels of one axis that overlap each other, and text (titles, axis and tick labels,
    legends, colour bars) that leaves the canvas."""
    from matplotlib.text import Text

    fig.set_dpi(dpi)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    undrawn = set()  # labels of ticks outside the view limits: matplotlib does not draw them
    drawn: dict[object, list] = {}
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            tol = 1e-9 * max(abs(low), abs(high), 1.0)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                labels = (tick.label1, tick.label2)
                if low - tol <= tick.get_loc() <= high + tol:
                    if tick in axis.get_major_ticks():
                        drawn.setdefault(axis, []).extend(labels)
                else:
                    undrawn.update(labels)
    for ax in fig.axes:
        where = ax.get_title() or ax.get_label() or "an axes"
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in drawn.get(axis, []) if t.get_visible() and t.get_text()]
            boxes = [t.get_window_extent(renderer) for t in labels]
            for i in range(len(boxes)):
                for j in range(i + 1, len(boxes)):
                    a, b = boxes[i], boxes[j]
                    # overlapping by more than a pixel in both directions
                    if (min(a.x1, b.x1) - max(a.x0, b.x0) > 1
                            and min(a.y1, b.y1) - max(a.y0, b.y0) > 1):
                        problems.append(f"{axis.axis_name} tick labels of {where!r} overlap: "
                                        f"{labels[i].get_text()!r} and {labels[j].get_text()!r}")
    width, height = fig.bbox.width, fig.bbox.height
    for text in fig.findobj(Text):
        if text in undrawn or not (text.get_visible() and text.get_text().strip()):
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
            problems.append(f"text {text.get_text()!r} leaves the {width:.0f}x{height:.0f} "
                            f"canvas: {box.x0:.0f}..{box.x1:.0f} x {box.y0:.0f}..{box.y1:.0f}")
    return problems


def main_checking_layouts(module: ModuleType, argv: list[str]) -> tuple[int, dict[str, list[str]]]:
    """Run ``psychcore.cli.main(argv)`` with each figure's layout checked as it is saved.

    Args:
        module: The module whose ``_save(fig, path)`` writes the command's figures
            (``psychcore.analysis._report``, ``psychcore.analysis._spiking``); it is wrapped
            for the call only.
        argv: The command line, e.g. ``["report", RUN_DIR, *FAST]``.

    Returns:
        ``(exit status, {figure file stem: its layout_problems})``.
    """
    checked: dict[str, list[str]] = {}
    save = module._save

    def checking_save(fig: Any, path: Path) -> None:
        checked[Path(path).stem] = layout_problems(fig)
        save(fig, path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(module, "_save", checking_save)
        rc = main(argv)
    return rc, checked
