"""Shared fixtures of the classic tasks' tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from psychcore_tasks_classic import GoNoGo, MatchToCategory, PerceptualDiscrimination

from psychcore import Task


def _decision_bounds(task: Task, p: dict) -> tuple[float, float]:
    """(start, end) in ms of the trained period of one trial, from its parameters."""
    if isinstance(task, PerceptualDiscrimination):
        return p["onset_time"] + p["stim_duration"], np.inf
    if isinstance(task, MatchToCategory):
        start = p["onset_time"] + p["input_dur"]
        return start, start + p["output_dur"]
    if isinstance(task, GoNoGo):
        return p["response"], p["end"]
    return p["decision"], p["end"]


@pytest.fixture
def decision_bounds() -> Callable[[Task, dict], tuple[float, float]]:
    """Function giving the (start, end) of a trial's decision period from its parameters."""
    return _decision_bounds


@pytest.fixture
def noise_free_trials() -> Callable[..., tuple[dict, np.ndarray, np.ndarray, np.ndarray]]:
    """Function building ``N`` noise-free trials with the vectorised path.

    Returns ``(params, x, y, mask)`` with ``params`` the dict of per-trial arrays.
    """

    def build(task: Task, N: int, seed: int = 0) -> tuple[dict, np.ndarray, ...]:
        rng = np.random.default_rng(seed)
        params = {k: np.asarray(v) for k, v in task.generate_batch_params(0, N, rng).items()}
        params["stim_noise"] = np.zeros_like(params["stim_noise"])
        x, y, mask = task.batch_function(task.time, params, rng)
        return params, x, y, mask

    return build


@pytest.fixture
def check_decision_mask() -> Callable[..., None]:
    """Function asserting that mask and target are 0 outside each trial's decision period
    and the mask 1 inside it."""

    def check(task: Task, y: np.ndarray, mask: np.ndarray, trial_params: np.ndarray) -> None:
        t = task.time
        for i, p in enumerate(trial_params):
            start, end = _decision_bounds(task, p)
            inside = (t >= start) & (t < end)
            assert inside.any(), f"trial {i} has no decision step"
            assert (mask[i][inside] == 1).all(), f"mask not 1 in the decision period, trial {i}"
            assert (mask[i][~inside] == 0).all(), f"mask not 0 outside the decision, trial {i}"
            assert (y[i][~inside] == 0).all(), f"target not 0 outside the decision, trial {i}"

    return check
