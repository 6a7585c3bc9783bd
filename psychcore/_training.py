"""The training loop, shared by every backend.

It draws batches from the task (or the current curriculum stage), asks the backend for one
optimisation step per batch, records the loss every ``loss_epoch`` steps, advances curricula,
stops at a performance cutoff, writes weight snapshots and checkpoints, and stops cleanly on
Ctrl-C. One *epoch* is one optimisation step on one batch, as in PsychRNN; ``training_iters``
counts trials, so a call makes ``ceil(training_iters / N_batch)`` steps.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np

from ._curriculum import Curriculum
from ._task import Task

if TYPE_CHECKING:
    from ._model import Model

#: PsychRNN's ``train_params`` keys and their defaults.
TRAIN_DEFAULTS: dict[str, Any] = {
    "training_iters": 50000,
    "learning_rate": 1e-3,
    "loss_epoch": 10,
    "verbosity": True,
    "save_weights_path": None,
    "save_training_weights_epoch": 100,
    "training_weights_path": None,
    "curriculum": None,
    "optimizer": "adam",
    "optimizer_options": None,
    "clip_grads": True,
    "performance_cutoff": None,
    "performance_measure": None,
    "checkpoint_path": None,
    "checkpoint_epoch": 100,
    "callback": None,
}
_IGNORED_PSYCHRNN_KEYS = {"fixed_weights"}


@dataclass
class TrainStatus:
    """What a ``callback(status)`` receives after every step."""

    epoch: int
    trials: int
    loss: float
    stage: int | None
    performance: float | None
    done_steps: int
    total_steps: int


def resolve_train_params(train_params: dict | None, explicit: dict[str, Any]) -> dict[str, Any]:
    """Merge PsychRNN's ``train_params`` dict with explicit keyword arguments.

    Explicit (non-None) keyword arguments win over ``train_params``, which win over defaults.

    Raises:
        TypeError: If ``train_params`` is not a dict.
        ValueError: For unknown keys or invalid values, naming them.
    """
    if train_params is not None and not isinstance(train_params, dict):
        raise TypeError(
            f"train_params must be a dict (PsychRNN's train_params); "
            f"received {type(train_params).__name__}"
        )
    params = dict(TRAIN_DEFAULTS)
    for key, value in (train_params or {}).items():
        if key in _IGNORED_PSYCHRNN_KEYS:
            raise ValueError(
                f"train_params['{key}'] is not a training option in psychcore: fixed weights "
                "are part of the network; use ModelSpec(constraints=[FixedWeights(...)])"
            )
        if key not in TRAIN_DEFAULTS:
            raise ValueError(
                f"unknown train_params key '{key}'; valid keys: {', '.join(TRAIN_DEFAULTS)}"
            )
        params[key] = value
    params.update({k: v for k, v in explicit.items() if v is not None})
    for key in ("training_iters", "loss_epoch", "save_training_weights_epoch", "checkpoint_epoch"):
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
            raise ValueError(f"{key} must be a positive int; received {value!r}")
    lr = params["learning_rate"]
    if isinstance(lr, bool) or not isinstance(lr, Real) or not lr > 0 or not math.isfinite(lr):
        raise ValueError(f"learning_rate must be a positive number; received {lr!r}")
    cutoff = params["performance_cutoff"]
    if cutoff is not None and (isinstance(cutoff, bool) or not isinstance(cutoff, Real)):
        raise TypeError(f"performance_cutoff must be a number; received {type(cutoff).__name__}")
    for key in ("performance_measure", "callback"):
        if params[key] is not None and not callable(params[key]):
            raise TypeError(f"{key} must be callable; received {type(params[key]).__name__}")
    return params


def _source(
    task_or_curriculum: Any, curriculum: Curriculum | None
) -> tuple[Task, Curriculum | None]:
    if curriculum is not None and not isinstance(curriculum, Curriculum):
        raise TypeError(f"curriculum must be a Curriculum; received {type(curriculum).__name__}")
    if isinstance(task_or_curriculum, Curriculum):
        curriculum = task_or_curriculum
    if curriculum is not None:
        return curriculum.current_task, curriculum
    if not isinstance(task_or_curriculum, Task):
        raise TypeError(
            "train() needs a psychcore Task or Curriculum; received "
            f"{type(task_or_curriculum).__name__}"
        )
    return task_or_curriculum, None


def _check_task_fits(model: Model, task: Task) -> None:
    spec = model.spec
    if (task.N_in, task.N_out) != (spec.N_in, spec.N_out):
        raise ValueError(
            f"task {type(task).__name__} has N_in={task.N_in}, N_out={task.N_out} but the "
            f"model was built for N_in={spec.N_in}, N_out={spec.N_out}"
        )
    if not math.isclose(task.dt / task.tau, spec.dt / spec.tau, rel_tol=1e-12):
        raise ValueError(
            f"task {type(task).__name__} has dt/tau={task.dt}/{task.tau} but the model was "
            f"built for dt/tau={spec.dt}/{spec.tau}"
        )


def run_training(model: Model, task_or_curriculum: Any, p: dict[str, Any]) -> list[float]:
    """Run the loop for ``model`` with resolved parameters ``p``; returns this call's losses."""
    task, curriculum = _source(task_or_curriculum, p["curriculum"])
    _check_task_fits(model, task)
    measure: Callable | None = p["performance_measure"]
    if p["performance_cutoff"] is not None and measure is None:
        def measure(x, y, mask, output, epoch, losses, verbosity):  # noqa: ARG001
            return task.accuracy_function(y, output, mask)
    n_steps = math.ceil(p["training_iters"] / task.N_batch)
    losses: list[float] = []
    verbose = bool(p["verbosity"])
    performance: float | None = None
    backend = model.backend
    rng = model.batch_rng
    done = 0
    try:
        for done in range(1, n_steps + 1):  # noqa: B007
            model.epoch += 1
            epoch = model.epoch
            x, y, mask, _ = task.get_trial_batch(rng)
            loss = float(backend.train_step(x, y, mask))
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {loss} at epoch {epoch}; lower the learning rate or "
                    "check the task's targets"
                )
            if epoch % p["loss_epoch"] == 0:
                losses.append(loss)
                model.losses.append(loss)
                model.loss_epochs.append(epoch)
                if verbose:
                    print(f"Iter {epoch * task.N_batch}, Minibatch Loss= {loss:.6f}")
            stop = False
            if curriculum is not None and epoch % curriculum.metric_epoch == 0:
                xb, yb, mb, _ = task.get_trial_batch(rng)
                out, _ = backend.forward(xb)
                if curriculum.metric_test(xb, yb, mb, out, epoch, model.losses, verbose):
                    if curriculum.stop_training:
                        stop = True
                    else:
                        task = curriculum.current_task
                        _check_task_fits(model, task)
            if p["training_weights_path"] is not None and (
                epoch % p["save_training_weights_epoch"] == 0
            ):
                model.save(f"{p['training_weights_path']}{epoch}")
            if measure is not None and p["performance_cutoff"] is not None and (
                epoch % p["loss_epoch"] == 0
            ):
                xb, yb, mb, _ = task.get_trial_batch(rng)
                out, _ = backend.forward(xb)
                performance = float(measure(xb, yb, mb, out, epoch, model.losses, verbose))
                if verbose:
                    print(f"Iter {epoch * task.N_batch}, performance= {performance:.4f}")
                if performance >= p["performance_cutoff"]:
                    stop = True
            if p["checkpoint_path"] is not None and epoch % p["checkpoint_epoch"] == 0:
                model.save_checkpoint(p["checkpoint_path"], curriculum=curriculum)
            if p["callback"] is not None:
                stage = curriculum.stage if curriculum is not None else None
                p["callback"](
                    TrainStatus(epoch, epoch * task.N_batch, loss, stage, performance, done,
                                n_steps)
                )
            if stop:
                break
    except KeyboardInterrupt:
        model.interrupted = True
        warnings.warn(
            f"training interrupted at epoch {model.epoch}; saving and returning",
            RuntimeWarning,
            stacklevel=3,
        )
        if p["checkpoint_path"] is not None:
            model.save_checkpoint(p["checkpoint_path"], curriculum=curriculum)
    if p["save_weights_path"] is not None:
        model.save(p["save_weights_path"])
    return losses


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Call ``fn`` and return its result and the wall time it took."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start
