"""Run directories: one trained network with everything needed to inspect or resume it.

``train_run`` (and ``psychcore train``) writes into a new directory:

- ``spec.json``: the bound ModelSpec; ``run.json``: task, task parameters, backend, seed,
  training options, versions, status and summary numbers, and ``cutoff_reached``: the
  ``{"epoch", "trials"}`` at which the performance cutoff stopped training, or null;
- ``weights.npz`` (+ ``weights.json``): the final weights, PsychRNN's key names;
- ``checkpoint.npz``/``.json``: the latest resumable checkpoint;
- ``metrics.csv``: epoch, trials, loss, accuracy (on a fixed validation batch), stage, time;
- ``training.png``: loss and accuracy against trials (when matplotlib is installed).

An existing directory is never overwritten; ``resume=True`` continues it from its checkpoint.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._backend import Backend
from ._io import atomic_write_text
from ._model import Model
from ._spec import ModelSpec
from ._task import Task, checked_accuracy
from ._training import TrainStatus, ValidationSets

METRIC_FIELDS = ("epoch", "trials", "loss", "accuracy", "stage", "elapsed_s")


@dataclass
class RunResult:
    """What :func:`train_run` returns."""

    path: Path
    model: Model
    accuracy: float | None
    final_loss: float | None
    epochs: int
    training_time: float
    interrupted: bool


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


def _versions(backend: str) -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for dist in ("psychcore", "numpy", "torch", "tensorflow", "tensorflow-cpu"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    out["backend"] = backend
    return out


class _Progress:
    """A one-line progress bar on stderr (no dependency); silent when not a terminal."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = max(total, 1)
        self.enabled = enabled
        self.start = time.perf_counter()

    def update(self, done: int, loss: float, accuracy: float | None, stage: int | None) -> None:
        if not self.enabled:
            return
        frac = min(done / self.total, 1.0)
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        acc = "" if accuracy is None else f" acc {accuracy:.3f}"
        stg = "" if stage is None else f" stage {stage}"
        elapsed = time.perf_counter() - self.start
        sys.stderr.write(f"\r[{bar}] {done}/{self.total} loss {loss:.4f}{acc}{stg} "
                         f"{elapsed:.0f}s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _cutoff(model: Model) -> dict[str, int] | None:
    """When this call's training reached the performance cutoff, or None."""
    result = model.last_result
    if result is None or not result.cutoff_reached:
        return None
    return {"epoch": result.cutoff_epoch, "trials": result.cutoff_trials}


def _write_metrics(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=METRIC_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue(), overwrite=True)


def _read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def plot_metrics(rows: list[dict[str, Any]], path: Path) -> bool:
    """Draw loss and accuracy against trials into ``path``; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    trials = [float(r["trials"]) for r in rows]
    loss = [float(r["loss"]) for r in rows]
    acc = [float(r["accuracy"]) if r["accuracy"] not in ("", None) else math.nan for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    ax1.plot(trials, loss, color="black")
    ax1.set(xlabel="trials", ylabel="loss", yscale="log", title="training loss")
    ax2.plot(trials, acc, color="tab:blue")
    ax2.set(xlabel="trials", ylabel="accuracy", ylim=(0, 1.02), title="validation accuracy")
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return True


def train_run(
    task: Task,
    spec: ModelSpec,
    out_dir: str | os.PathLike,
    *,
    backend: str | type[Backend] | None = None,
    seed: int = 0,
    resume: bool = False,
    training_iters: int = 50000,
    learning_rate: float = 1e-3,
    loss_epoch: int = 10,
    checkpoint_epoch: int = 100,
    performance_cutoff: float | None = None,
    curriculum: Any = None,
    device: str | None = None,
    progress: bool | None = None,
    task_name: str | None = None,
    validation_trials: int = 512,
) -> RunResult:
    """Train one network into a run directory (see the module docstring).

    Args:
        task: The task to train on (and to validate on).
        spec: The network description.
        out_dir: The run directory; must not exist unless ``resume``.
        backend: Backend name or class; None picks the only installed backend. ``run.json`` records
            the name of the backend used.
        seed: Seed of the model (weights, batches, noise and the validation sets' stream).
        resume: Continue the run in ``out_dir`` from its checkpoint.
        training_iters, learning_rate, loss_epoch, checkpoint_epoch, performance_cutoff,
        curriculum: As :meth:`Model.train`.
        device: Backend device.
        progress: Show a progress bar (default: when stderr is a terminal).
        task_name: Name recorded in ``run.json`` (the class name by default).
        validation_trials: Trials in the fixed validation set of each task (curriculum
            stage): the cutoff and stages decide on it and ``metrics.csv`` records its accuracy
            (see :meth:`Model.train`); 0 makes the decisions on fresh training batches, as
            PsychRNN does, while the metrics still use a fixed 512-trial set.

    Returns:
        A :class:`RunResult`.
    """
    out = Path(out_dir)
    if resume:
        if not (out / "checkpoint.npz").exists():
            raise FileNotFoundError(f"{out} has no checkpoint to resume")
        model = Model.from_checkpoint(out / "checkpoint", backend=backend,
                                      curriculum=curriculum, device=device)
        rows = [r for r in _read_metrics(out / "metrics.csv") if int(r["epoch"]) <= model.epoch]
    else:
        if out.exists() and any(out.iterdir()):
            raise FileExistsError(
                f"run directory {out} already exists and is not empty; psychcore never "
                "overwrites a run (use resume=True / --resume to continue it)"
            )
        out.mkdir(parents=True, exist_ok=True)
        model = Model(task, spec, backend, seed=seed, device=device)
        atomic_write_text(out / "spec.json", model.spec.to_json())
        rows = []
    backend_name = model.backend_class.name
    info = {
        "task": task_name or type(task).__name__,
        "task_params": _jsonable(task.get_task_params()),
        "backend": backend_name,
        "seed": seed,
        "training": {"training_iters": training_iters, "learning_rate": learning_rate,
                     "loss_epoch": loss_epoch, "performance_cutoff": performance_cutoff},
        "versions": _versions(backend_name),
        "status": "running",
    }
    atomic_write_text(out / "run.json", json.dumps(info, indent=1), overwrite=True)
    sets = ValidationSets(validation_trials or 512, model.validation_seed)
    shared = bool(validation_trials) and performance_cutoff is not None
    has_accuracy = type(task).accuracy_function is not Task.accuracy_function
    remaining = training_iters - model.epoch * task.N_batch
    bar = _Progress(math.ceil(max(remaining, 0) / task.N_batch),
                    sys.stderr.isatty() if progress is None else progress)
    start = time.perf_counter()
    last: dict[str, Any] = {"accuracy": None}

    def callback(status: TrainStatus) -> None:
        if status.epoch % loss_epoch == 0:
            acc = None
            if shared:  # the loop has just measured it on the same set for the cutoff
                acc = status.performance
            elif has_accuracy:
                current = curriculum.current_task if curriculum is not None else task
                xv, yv, mv = sets.get(current, status.stage or 0)
                acc = checked_accuracy(current, current.accuracy_function(
                    yv, model.test(xv)[0], mv))
            last["accuracy"] = acc
            rows.append({"epoch": status.epoch, "trials": status.trials,
                         "loss": f"{status.loss:.8g}",
                         "accuracy": "" if acc is None else f"{acc:.6g}",
                         "stage": "" if status.stage is None else status.stage,
                         "elapsed_s": f"{time.perf_counter() - start:.3f}"})
            if status.epoch % checkpoint_epoch == 0:
                _write_metrics(out / "metrics.csv", rows)
        bar.update(status.done_steps, status.loss, last["accuracy"], status.stage)

    training_time = 0.0
    try:
        if remaining > 0:
            _, training_time, _ = model.train(
                curriculum if curriculum is not None else task,
                training_iters=remaining, learning_rate=learning_rate,
                loss_epoch=loss_epoch, verbosity=False, performance_cutoff=performance_cutoff,
                checkpoint_path=str(out / "checkpoint"), checkpoint_epoch=checkpoint_epoch,
                callback=callback, validation_trials=validation_trials,
            )
    finally:
        bar.close()
    weights_path = out / "weights"
    model.save(weights_path, overwrite=resume)
    model.save_checkpoint(out / "checkpoint", curriculum=curriculum)
    _write_metrics(out / "metrics.csv", rows)
    plotted = bool(rows) and plot_metrics(rows, out / "training.png")
    final_acc = None
    if has_accuracy:
        xv, yv, mv = sets.get(task, 0)
        final_acc = checked_accuracy(task, task.accuracy_function(yv, model.test(xv)[0], mv))
    info.update({
        "status": "interrupted" if model.interrupted else "finished",
        "epochs": model.epoch,
        "trials": model.epoch * task.N_batch,
        "final_loss": model.losses[-1] if model.losses else None,
        "accuracy": final_acc,
        "training_time_s": training_time,
        "cutoff_reached": _cutoff(model),
        "plot": "training.png" if plotted else None,
    })
    atomic_write_text(out / "run.json", json.dumps(info, indent=1), overwrite=True)
    return RunResult(out, model, final_acc, info["final_loss"], model.epoch, training_time,
                     model.interrupted)
