"""Conformance checks for Task subclasses.

Each check takes a task instance and raises AssertionError naming what is wrong. A check that
does not apply to a task (:data:`NOT_APPLICABLE` says why) raises ``unittest.SkipTest`` when
called on it, and :func:`task_checks` marks it skipped, so that it never passes vacuously.
"""

from __future__ import annotations

import copy
import math
import unittest
from collections.abc import Callable, Iterator

import numpy as np

from .._task import Task, defines_accuracy, split_params
from ._report import Check

TaskCheck = Callable[[Task], None]


def _one_path_only(task: Task) -> str | None:
    if task.is_vectorized and task.has_trial_function:
        return None
    has = "only the vectorised batch_function" if task.is_vectorized else (
        "only the per-step trial_function")
    return f"{type(task).__name__} defines {has}: there is no second path to compare"


def _no_accuracy(task: Task) -> str | None:
    if defines_accuracy(task):
        return None
    return f"{type(task).__name__} defines no accuracy_function (optional)"


def _skip_unless_applies(check: TaskCheck, task: Task) -> None:
    reason = NOT_APPLICABLE[check](task)
    if reason is not None:
        raise unittest.SkipTest(f"{check.__name__}: {reason}")


def _batch(task: Task, seed: int, **kw: object) -> tuple[np.ndarray, ...]:
    return task.get_trial_batch(np.random.default_rng(seed), **kw)  # type: ignore[arg-type]


def check_task_params(task: Task) -> None:
    """Inferred parameters follow PsychRNN and ``get_task_params`` returns a copy."""
    params = task.get_task_params()
    for key in ("N_in", "N_out", "dt", "tau", "T", "N_batch", "alpha", "N_steps"):
        assert key in params, f"get_task_params() lacks '{key}'"
    assert math.isclose(params["alpha"], task.dt / task.tau), "alpha must equal dt / tau"
    assert params["N_steps"] == math.ceil(task.T / task.dt - 1e-9), "N_steps must be ceil(T/dt)"
    snapshot = copy.deepcopy(params)
    saved = copy.deepcopy(vars(task))
    for key, value in params.items():
        if isinstance(value, list | dict | set):
            value.clear()
        elif (isinstance(value, np.ndarray) and value.dtype.kind in "biuf"
              and value.flags.writeable):
            value[...] = 0
        params[key] = None
    if not _same(task.get_task_params(), snapshot):
        # the task shared its state: restore it (only then, so that a task's objects, e.g.
        # an environment and its generator, stay the ones it holds) for the other checks
        vars(task).clear()
        vars(task).update(saved)
        raise AssertionError("editing the dict returned by get_task_params() edited the task")


def _same(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
    return bool(a == b) or (a != a and b != b)


def check_batch_shapes(task: Task) -> None:
    """Shapes, dtypes and value ranges of ``get_trial_batch``."""
    x, y, mask, trial_params = _batch(task, 0)
    N, S = task.N_batch, task.N_steps
    assert x.shape == (N, S, task.N_in), f"x has shape {x.shape}, expected {(N, S, task.N_in)}"
    assert y.shape == (N, S, task.N_out), f"y has shape {y.shape}, expected {(N, S, task.N_out)}"
    assert mask.shape == y.shape, f"mask has shape {mask.shape}, expected {y.shape}"
    for name, arr in (("x", x), ("y", y), ("mask", mask)):
        assert arr.dtype.kind == "f", f"{name} has dtype {arr.dtype}, expected floating point"
        assert np.isfinite(arr).all(), f"{name} has non-finite values"
    assert mask.min() >= 0 and mask.max() <= 1, "mask values must lie in [0, 1]"
    assert mask.max() > 0, "the mask is zero everywhere: nothing would be trained"
    assert isinstance(trial_params, np.ndarray) and trial_params.dtype == object
    assert trial_params.shape == (N,), f"trial_params has shape {trial_params.shape}"
    assert all(isinstance(p, dict) for p in trial_params), "trial_params must hold dicts"
    x3, *_ = _batch(task, 0, N_batch=3)
    assert x3.shape == (3, S, task.N_in), "get_trial_batch(N_batch=3) ignored N_batch"


def check_reproducible(task: Task) -> None:
    """The same seed gives byte-identical batches; the global NumPy state is untouched."""
    state = np.random.get_state()
    a = _batch(task, 123)
    b = _batch(task, 123)
    after = np.random.get_state()
    for name, u, v in zip(("x", "y", "mask"), a[:3], b[:3], strict=True):
        assert u.tobytes() == v.tobytes(), f"{name} differs between two batches from seed 123"
    assert state[0] == after[0] and np.array_equal(state[1], after[1]), (
        "building a batch changed numpy's global random state"
    )
    task.set_seed(7)
    c = task.get_trial_batch()
    task.set_seed(7)
    d = task.get_trial_batch()
    assert c[0].tobytes() == d[0].tobytes(), "set_seed(7) twice gave different batches"


def check_batch_counter(task: Task) -> None:
    """Consecutive calls continue the batch counter (PsychRNN restarted it)."""
    start = task._batch_index
    task.get_trial_batch(np.random.default_rng(1))
    task.get_trial_batch(np.random.default_rng(2))
    assert task._batch_index == start + 2, "get_trial_batch must advance the batch counter"


def check_paths_agree(task: Task) -> None:
    """With input noise off, the vectorised and per-step paths build the same trials.

    Applies to tasks that define both ``batch_function`` and ``trial_function``.
    """
    _skip_unless_applies(check_paths_agree, task)
    N = min(task.N_batch, 16)
    rng = np.random.default_rng(5)
    task._active_rng = rng
    try:
        params = {k: np.asarray(v) for k, v in task.generate_batch_params(0, N, rng).items()}
        if "stim_noise" in params:
            params["stim_noise"] = np.zeros_like(params["stim_noise"])
        x, y, mask = (np.asarray(a, dtype=np.float64)
                      for a in task.batch_function(task.time, params, rng))
        for i, p in enumerate(split_params(params, N)):
            xs, ys, ms = task.generate_trial(p)
            np.testing.assert_array_equal(ys, y[i].astype(ys.dtype), err_msg=f"y, trial {i}")
            np.testing.assert_array_equal(ms, mask[i].astype(ms.dtype),
                                          err_msg=f"mask, trial {i}")
            np.testing.assert_allclose(xs, x[i], atol=1e-6, err_msg=f"x, trial {i}")
    finally:
        task._active_rng = None


def check_accuracy(task: Task, perfect_on_target: bool = True) -> None:
    """``accuracy_function`` returns a number in [0, 1] (on random noise), 1 on the target
    itself, and less than 1 on a deliberately wrong output over 64 trials: the target with its
    output channels reversed, negated or flipped (``1 - y``), the first of these that differs
    from the target where the mask counts (an accuracy that gives it full marks measures
    nothing).

    Applies to tasks that define ``accuracy_function``.
    """
    _skip_unless_applies(check_accuracy, task)
    x, y, mask, _ = _batch(task, 3, N_batch=64)
    rng = np.random.default_rng(4)
    acc = float(task.accuracy_function(y, rng.standard_normal(y.shape), mask))
    assert 0.0 <= acc <= 1.0, f"accuracy of a random output is {acc}, outside [0, 1]"
    counted = np.asarray(mask) != 0
    wrong = next((w for w in (y[..., ::-1], -y, 1.0 - y)
                  if not np.array_equal(w[counted], y[counted])), None)
    assert wrong is not None, "no wrong output differs from the target where the mask counts"
    acc = float(task.accuracy_function(y, wrong, mask))
    assert acc < 1.0, (f"a deliberately wrong output (the target reversed, negated or flipped) "
                       f"scores {acc} on 64 trials: the accuracy measures nothing")
    if perfect_on_target:
        acc = float(task.accuracy_function(y, y, mask))
        assert acc == 1.0, f"accuracy of the target itself is {acc}, expected 1.0"


def check_bad_input(task: Task) -> None:
    """Invalid batch requests raise clear errors."""
    for bad, exc in ((0, ValueError), (2.5, TypeError)):
        try:
            task.get_trial_batch(N_batch=bad)  # type: ignore[arg-type]
        except exc as err:
            assert "N_batch" in str(err), f"error for N_batch={bad} does not name N_batch"
        else:
            raise AssertionError(f"get_trial_batch(N_batch={bad!r}) did not raise {exc.__name__}")


TASK_CHECKS: tuple[TaskCheck, ...] = (
    check_task_params,
    check_batch_shapes,
    check_reproducible,
    check_batch_counter,
    check_paths_agree,
    check_accuracy,
    check_bad_input,
)


#: Checks that apply to some tasks only -> why one does not apply to a task (``None``: it does).
NOT_APPLICABLE: dict[TaskCheck, Callable[[Task], str | None]] = {
    check_paths_agree: _one_path_only,
    check_accuracy: _no_accuracy,
}


def task_checks(task: Task) -> Iterator[tuple[str, Check]]:
    """Yield ``(check name, check)`` for every task check, in :data:`TASK_CHECKS` order.

    Each check is a zero-argument :class:`~psychcore.testing.Check`; one that does not apply
    to ``task`` carries its ``skip_reason`` and raises ``unittest.SkipTest`` when called.
    """
    if not isinstance(task, Task):
        raise TypeError(f"task must be a psychcore Task instance; received {type(task).__name__}")
    for check in TASK_CHECKS:
        reason = NOT_APPLICABLE[check](task) if check in NOT_APPLICABLE else None
        yield check.__name__, Check(check.__name__, lambda c=check: c(task), reason)
