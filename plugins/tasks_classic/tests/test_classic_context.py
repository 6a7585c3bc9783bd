"""ContextDependentIntegration: the context decides which coherence's sign is reported."""

from __future__ import annotations

import numpy as np
import pytest
from psychcore_tasks_classic import ContextDependentIntegration
from psychcore_tasks_classic._context import DEFAULT_COHERENCES


@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_choice_is_the_sign_of_the_relevant_coherence(vectorized: bool) -> None:
    task = ContextDependentIntegration(10, 100, 2000, 120, seed=0)
    _, y, mask, trial_params = task.get_trial_batch(vectorized=vectorized)
    disagree = 0
    for i, p in enumerate(trial_params):
        assert p["motion_coherence"] in DEFAULT_COHERENCES
        assert p["color_coherence"] in DEFAULT_COHERENCES
        relevant = p["motion_coherence"] if p["context"] == 0 else p["color_coherence"]
        irrelevant = p["color_coherence"] if p["context"] == 0 else p["motion_coherence"]
        expected = 0 if relevant > 0 else 1
        assert p["choice"] == expected
        disagree += (irrelevant > 0) != (relevant > 0)
        decision = mask[i, :, 0] == 1
        assert (y[i, decision, expected] == np.float32(1.0)).all()
        assert (y[i, decision, 1 - expected] == np.float32(0.2)).all()
    assert disagree > 20  # the irrelevant dimension often points the other way
    assert 0.3 < np.mean([p["context"] for p in trial_params]) < 0.7


def test_noise_free_inputs(noise_free_trials) -> None:
    task = ContextDependentIntegration(10, 100, 2000, 16, seed=0)
    params, x, _, _ = noise_free_trials(task, 16)
    t = task.time
    stim = (t >= 200) & (t < 1000)
    for i in range(16):
        assert (x[i, stim, 0] == np.float32(params["motion_coherence"][i])).all()
        assert (x[i, stim, 1] == np.float32(params["color_coherence"][i])).all()
        assert (x[i, ~stim, :2] == 0).all()
        context = params["context"][i]
        assert (x[i, :, 2 + context] == 1).all()  # the cue lasts the whole trial
        assert (x[i, :, 3 - context] == 0).all()


def test_context_channels_are_noise_free() -> None:
    task = ContextDependentIntegration(10, 100, 2000, 16, seed=0)
    x = task.get_trial_batch()[0]
    assert set(np.unique(x[:, :, 2:])) == {0.0, 1.0}
    assert x[:, :, :2].std() > 0.05


@pytest.mark.parametrize("context", [0, 1])
def test_fixed_context_and_coherences_are_honoured(context: int, check_decision_mask) -> None:
    task = ContextDependentIntegration(10, 100, 2000, 30, (0.3, -0.1), context, seed=0)
    for vectorized in (True, False):
        _, y, mask, trial_params = task.get_trial_batch(vectorized=vectorized)
        check_decision_mask(task, y, mask, trial_params)
        for p in trial_params:
            assert p["context"] == context
            assert {p["motion_coherence"], p["color_coherence"]} <= {0.3, -0.1}


def test_stim_noise_parameter_scales_the_sensory_noise() -> None:
    quiet = ContextDependentIntegration(10, 100, 2000, 64, stim_noise=0.1, seed=0)
    loud = ContextDependentIntegration(10, 100, 2000, 64, stim_noise=1.0, seed=0)
    before = slice(0, 20)  # fore period: noise only
    sd_quiet = quiet.get_trial_batch()[0][:, before, :2].std()
    sd_loud = loud.get_trial_batch()[0][:, before, :2].std()
    assert sd_quiet == pytest.approx(np.sqrt(0.2) * 0.1, rel=0.05)
    assert sd_loud == pytest.approx(np.sqrt(0.2) * 1.0, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"coherences": ()}, ValueError, "coherences must be a non-empty sequence"),
        ({"coherences": (0.1, 0.0)}, ValueError, "coherences\\[1\\] must be a finite, non-zero"),
        ({"coherences": "0.1"}, TypeError, "coherences.*received str"),
        ({"coherences": (0.1, "a")}, TypeError, "coherences\\[1\\]"),
        ({"context": 2}, ValueError, "context must be None or one of 0, 1"),
        ({"stim_noise": -0.5}, ValueError, "stim_noise must be a finite number >= 0"),
        ({"decision_duration": 3000}, ValueError, "exceeds T = 2000"),
    ],
)
def test_constructor_validation(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        ContextDependentIntegration(10, 100, 2000, 4, **kwargs)
