"""GoNoGo: respond after the delay on Go, withhold on No-Go."""

from __future__ import annotations

import numpy as np
import pytest
from psychcore_tasks_classic import GoNoGo


@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_target_is_one_on_go_and_zero_on_nogo(vectorized: bool, check_decision_mask) -> None:
    task = GoNoGo(10, 100, 2000, 80, seed=0)
    _, y, mask, trial_params = task.get_trial_batch(vectorized=vectorized)
    check_decision_mask(task, y, mask, trial_params)
    t = task.time
    respond = (t >= 1200) & (t < 2000)
    for i, p in enumerate(trial_params):
        assert p["go"] in (0, 1)
        assert (y[i, respond, 0] == p["go"]).all()
        assert (mask[i, respond, 0] == 1).all() and (mask[i, ~respond, 0] == 0).all()
    assert 0.3 < np.mean([p["go"] for p in trial_params]) < 0.7


def test_noise_free_input_names_the_stimulus(noise_free_trials) -> None:
    task = GoNoGo(10, 100, 2000, 16, seed=0)
    params, x, _, _ = noise_free_trials(task, 16)
    t = task.time
    stim = (t >= 200) & (t < 700)
    for i in range(16):
        go = params["go"][i]
        assert (x[i, stim, 0] == go).all() and (x[i, stim, 1] == 1 - go).all()
        assert (x[i, ~stim] == 0).all()


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_go_probability_is_honoured(probability: float) -> None:
    for vectorized in (True, False):
        trial_params = GoNoGo(10, 100, 2000, 20, probability, seed=0).get_trial_batch(
            vectorized=vectorized
        )[3]
        assert all(p["go"] == int(probability) for p in trial_params)


def test_accuracy_counts_responses_on_the_right_trials() -> None:
    task = GoNoGo(10, 100, 2000, 100, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    go = np.array([p["go"] for p in trial_params])
    assert task.accuracy_function(y, y, mask) == 1.0
    assert task.accuracy_function(y, 1.0 - y, mask) == 0.0
    assert task.accuracy_function(y, np.zeros_like(y), mask) == pytest.approx(1 - go.mean())
    assert task.accuracy_function(y, np.ones_like(y), mask) == pytest.approx(go.mean())
    half = np.full_like(y, 0.5)  # 0.5 is not a response
    assert task.accuracy_function(y, half, mask) == pytest.approx(1 - go.mean())


def test_custom_periods(check_decision_mask) -> None:
    task = GoNoGo(5, 100, 1500, 8, 0.5, 0, 100, 300, 400, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    p = trial_params[0]
    assert (p["stimulus"], p["delay"], p["response"], p["end"]) == (0.0, 100.0, 400.0, 800.0)
    check_decision_mask(task, y, mask, trial_params)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"go_probability": 1.5}, ValueError, "go_probability must be a finite number >= 0"),
        ({"go_probability": None}, TypeError, "go_probability"),
        ({"response_duration": 0.5}, ValueError, "response_duration must be at least dt"),
        ({"stim_duration": 2000}, ValueError, "periods must fit in the trial"),
    ],
)
def test_constructor_validation(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        GoNoGo(10, 100, 2000, 4, **kwargs)
