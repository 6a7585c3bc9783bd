"""DelayedDiscrimination: frequencies, choice, periods in ms, validation."""

from __future__ import annotations

import numpy as np
import pytest
from psychcore_tasks_classic import DelayedDiscrimination
from psychcore_tasks_classic._delayed import FREQUENCY_PAIRS, encode_down, encode_up


def test_frequency_pairs_span_romo_range() -> None:
    assert FREQUENCY_PAIRS == ((10, 18), (14, 22), (18, 26), (22, 30), (26, 34))
    assert encode_up(10) == pytest.approx(0.4) and encode_up(34) == pytest.approx(1.2)
    assert encode_down(10) == pytest.approx(1.2) and encode_down(34) == pytest.approx(0.4)


@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_choice_is_f1_greater_than_f2(vectorized: bool) -> None:
    task = DelayedDiscrimination(10, 100, 2000, 200, seed=0)
    _, y, mask, trial_params = task.get_trial_batch(vectorized=vectorized)
    pairs = set()
    for i, p in enumerate(trial_params):
        assert isinstance(p["f1"], int) and isinstance(p["f2"], int)
        assert tuple(sorted((p["f1"], p["f2"]))) in FREQUENCY_PAIRS
        pairs.add(tuple(sorted((p["f1"], p["f2"]))))
        assert p["choice"] == (0 if p["f1"] > p["f2"] else 1)
        decision = mask[i, :, 0] == 1
        assert (y[i, decision, p["choice"]] == np.float32(1.0)).all()
        assert (y[i, decision, 1 - p["choice"]] == np.float32(0.2)).all()
    assert pairs == set(FREQUENCY_PAIRS)
    choices = [p["choice"] for p in trial_params]
    assert 0.3 < np.mean(choices) < 0.7


def test_default_periods_in_ms() -> None:
    task = DelayedDiscrimination(10, 100, 2000, 4, seed=0)
    p = task.get_trial_batch()[3][0]
    assert (p["stimulus_1"], p["delay"], p["stimulus_2"], p["decision"], p["end"]) == (
        100.0,
        600.0,
        1100.0,
        1600.0,
        2000.0,
    )
    assert p["stim_noise"] == 0.1


def test_given_periods_are_honoured_and_mask_ends_with_the_decision(check_decision_mask) -> None:
    task = DelayedDiscrimination(10, 100, 2500, 16, 200, 300, 1000, 300, 500, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    p = trial_params[0]
    assert (p["stimulus_1"], p["delay"], p["stimulus_2"], p["decision"], p["end"]) == (
        200.0,
        500.0,
        1500.0,
        1800.0,
        2300.0,
    )
    check_decision_mask(task, y, mask, trial_params)
    assert (mask[:, 230:] == 0).all()  # after the decision period nothing is trained
    assert (mask[:, 180:230] == 1).all()


def test_noise_free_inputs_encode_the_frequencies(noise_free_trials) -> None:
    task = DelayedDiscrimination(10, 100, 2000, 16, seed=0)
    params, x, _, _ = noise_free_trials(task, 16)
    t = task.time
    for i in range(16):
        f1, f2 = params["f1"][i], params["f2"][i]
        stim1 = (t >= 100) & (t < 600)
        stim2 = (t >= 1100) & (t < 1600)
        assert (x[i, stim1, 0] == np.float32(encode_up(float(f1)))).all()
        assert (x[i, stim1, 1] == np.float32(encode_down(float(f1)))).all()
        assert (x[i, stim2, 0] == np.float32(encode_up(float(f2)))).all()
        assert (x[i, stim2, 1] == np.float32(encode_down(float(f2)))).all()
        assert (x[i, ~(stim1 | stim2)] == 0).all()
        # the channel with the greater first input is the correct output
        assert (x[i, stim1, 0] > x[i, stim2, 0]).all() == (params["choice"][i] == 0)


def test_periods_must_fit_in_the_trial() -> None:
    with pytest.raises(ValueError) as info:
        DelayedDiscrimination(10, 100, 1500, 4)
    message = str(info.value)
    for word in ("onset_time", "stim_duration_1", "delay_duration", "decision_duration"):
        assert word in message
    assert "2000" in message and "T = 1500" in message
    DelayedDiscrimination(10, 100, 1500, 4, 100, 300, 400, 300, 400).get_trial_batch()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"onset_time": -1}, ValueError, "onset_time must be a finite number >= 0"),
        ({"stim_duration_1": 0}, ValueError, "stim_duration_1 must be a finite number > 0"),
        ({"delay_duration": 5}, ValueError, "delay_duration must be at least dt = 10"),
        ({"stim_duration_2": "500"}, TypeError, "stim_duration_2.*received str"),
        ({"decision_duration": float("inf")}, ValueError, "decision_duration"),
        ({"decision_duration": True}, TypeError, "decision_duration"),
    ],
)
def test_constructor_validation(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        DelayedDiscrimination(10, 100, 3000, 4, **kwargs)
