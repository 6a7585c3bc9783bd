"""PerceptualDiscrimination: semantics, honoured parameters, PsychRNN fixes, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from psychcore_tasks_classic import PerceptualDiscrimination


def make(**kw: object) -> PerceptualDiscrimination:
    return PerceptualDiscrimination(10, 100, 2000, 64, seed=0, **kw)


@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_correct_output_is_the_direction(vectorized: bool) -> None:
    task = make()
    _, y, mask, trial_params = task.get_trial_batch(vectorized=vectorized)
    for i, p in enumerate(trial_params):
        decision = mask[i, :, 0] == 1
        assert (y[i, decision, p["direction"]] == np.float32(1.0)).all()
        assert (y[i, decision, 1 - p["direction"]] == np.float32(0.2)).all()
    directions = [p["direction"] for p in trial_params]
    assert 0 < sum(directions) < len(directions)  # both directions occur


@pytest.mark.parametrize("direction", [0, 1])
@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_direction_is_honoured(direction: int, vectorized: bool) -> None:
    """PsychRNN ignored ``direction``; here every trial has it."""
    task = make(direction=direction)
    _, y, mask, trial_params = task.get_trial_batch(vectorized=vectorized)
    assert all(p["direction"] == direction for p in trial_params)
    masked_mean = (y * mask).sum(axis=1)
    assert (masked_mean.argmax(axis=1) == direction).all()


@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_coherence_is_honoured(vectorized: bool) -> None:
    task = make(coherence=0.35)
    trial_params = task.get_trial_batch(vectorized=vectorized)[3]
    assert all(p["coherence"] == 0.35 for p in trial_params)


@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_coherences_are_drawn_from_the_given_values(vectorized: bool) -> None:
    """PsychRNN 1.0.0's code drew from (0.1, 0.3, 0.5, 0.7); ``coherences=`` reproduces it."""
    task = make(coherences=PerceptualDiscrimination.PSYCHRNN_CODE_COHERENCES)
    trial_params = task.get_trial_batch(vectorized=vectorized)[3]
    drawn = [p["coherence"] for p in trial_params]
    assert set(drawn) == {0.1, 0.3, 0.5, 0.7}  # 64 trials: every value occurs
    assert task.get_task_params()["coherences"] == (0.1, 0.3, 0.5, 0.7)
    one = make(coherences=[0.25]).get_trial_batch(vectorized=vectorized)[3]
    assert all(p["coherence"] == 0.25 for p in one)


def test_default_draws_follow_psychrnn() -> None:
    task = PerceptualDiscrimination(10, 100, 2000, 4000, seed=1)
    params = task.generate_batch_params(0, 4000, np.random.default_rng(1))
    assert params["coherence"].min() >= 0
    assert params["coherence"].mean() == pytest.approx(0.2, rel=0.06)  # Exponential(1/5)
    assert params["direction"].mean() == pytest.approx(0.5, abs=0.03)
    assert params["onset_time"].min() >= 0 and params["onset_time"].max() < 1000
    assert params["stim_duration"].min() >= 250 and params["stim_duration"].max() < 750
    assert (params["stim_noise"] == 0.1).all()


def test_noise_free_input_is_one_plus_coherence_during_the_stimulus(noise_free_trials) -> None:
    task = make()
    params, x, _, _ = noise_free_trials(task, 32)
    t = task.time
    for i in range(32):
        onset = params["onset_time"][i]
        stim = (t >= onset) & (t < onset + params["stim_duration"][i])
        d = params["direction"][i]
        assert (x[i, stim, d] == np.float32(1.0 + params["coherence"][i])).all()
        assert (x[i, stim, 1 - d] == 1.0).all()
        assert (x[i, ~stim] == 0.0).all()


def test_target_starts_exactly_with_the_mask() -> None:
    """PsychRNN's target started 20 ms after its mask; both start at onset + duration."""
    task = make()
    _, y, mask, trial_params = task.get_trial_batch()
    for i, p in enumerate(trial_params):
        first_mask = int(np.argmax(mask[i, :, 0] > 0))
        first_target = int(np.argmax(y[i].max(axis=1) > 0))
        assert first_mask == first_target
        assert first_mask == math.ceil((p["onset_time"] + p["stim_duration"]) / task.dt)
        assert (mask[i, first_mask:] == 1).all()  # to the end of the trial
        assert (mask[i, :first_mask] == 0).all()


def test_mask_is_zero_before_and_one_in_the_decision_period(check_decision_mask) -> None:
    task = make()
    _, y, mask, trial_params = task.get_trial_batch()
    check_decision_mask(task, y, mask, trial_params)


def test_stimulus_channel_carries_more_input() -> None:
    task = make(direction=1, coherence=0.5)
    x, _, _, trial_params = task.get_trial_batch()
    for i, p in enumerate(trial_params):
        t = task.time
        stim = (t >= p["onset_time"]) & (t < p["onset_time"] + p["stim_duration"])
        assert x[i, stim, 1].mean() > x[i, stim, 0].mean() + 0.3


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"coherence": -0.1}, ValueError, "coherence"),
        ({"coherence": float("nan")}, ValueError, "coherence"),
        ({"coherence": "0.2"}, TypeError, "coherence.*received str"),
        ({"direction": 2}, ValueError, "direction must be None or one of 0, 1; received 2"),
        ({"direction": True}, TypeError, "direction"),
        ({"direction": 1.0}, TypeError, "direction.*received float"),
        ({"coherences": (0.1, -0.3)}, ValueError, r"coherences\[1\]"),
        ({"coherences": ()}, ValueError, "coherences must hold at least one value"),
        ({"coherences": "0.1"}, TypeError,
         "coherences must be a sequence of numbers; received str"),
        ({"coherences": 0.1}, TypeError, "coherences must be a sequence.*received float"),
        ({"coherences": (0.1,), "coherence": 0.2}, ValueError, "not both"),
    ],
)
def test_constructor_validation(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make(**kwargs)


def test_short_trials_are_refused() -> None:
    with pytest.raises(ValueError, match="T must be at least 8 \\* dt"):
        PerceptualDiscrimination(10, 100, 70, 4)
    PerceptualDiscrimination(10, 100, 80, 4).get_trial_batch()  # the shortest allowed


def test_base_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="N_batch"):
        PerceptualDiscrimination(10, 100, 2000, 0)
    with pytest.raises(TypeError, match="dt"):
        PerceptualDiscrimination("10", 100, 2000, 4)  # type: ignore[arg-type]
