"""MatchToCategory: ring input, categories as ring slices, timing, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from psychcore_tasks_classic import MatchToCategory
from psychcore_tasks_classic._category import category_of, ring_input


@pytest.mark.parametrize("n_out", [2, 3, 5])
@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_category_is_the_ring_slice_of_the_angle(n_out: int, vectorized: bool) -> None:
    task = MatchToCategory(10, 100, 2000, 60, N_out=n_out, seed=0)
    _, y, mask, trial_params = task.get_trial_batch(vectorized=vectorized)
    seen = set()
    for i, p in enumerate(trial_params):
        assert 0 <= p["angle"] < 2 * math.pi
        expected = int(p["angle"] // (2 * math.pi / n_out))
        assert p["category"] == expected
        seen.add(expected)
        respond = mask[i, :, 0] == 1
        assert (y[i, respond, expected] == 1).all()
        assert (np.delete(y[i, respond], expected, axis=1) == 0).all()
    assert seen == set(range(n_out))


def test_category_boundaries() -> None:
    angles = np.array([0.0, math.pi - 1e-9, math.pi, 2 * math.pi - 1e-12])
    assert category_of(angles, 2).tolist() == [0, 0, 1, 1]
    assert category_of(np.array([math.pi / 2 + 1e-9]), 4).tolist() == [1]


def test_ring_input_peaks_at_the_nearest_channel_and_wraps() -> None:
    bump = ring_input(np.array([0.0, 2 * math.pi - 0.05, math.pi]), 16)
    assert bump.shape == (3, 16)
    assert bump[0].argmax() == 0 and bump[1].argmax() == 0 and bump[2].argmax() == 8
    assert bump[0].max() == pytest.approx(1 / math.sqrt(2 * math.pi))  # standard normal pdf
    assert bump[0, 1] == pytest.approx(bump[0, 15])  # symmetric around the ring
    assert bump[1, 15] > bump[1, 1]  # just below 2 pi: nearer channel 15 than channel 1


def test_noise_free_input_is_the_bump_during_the_stimulus(noise_free_trials) -> None:
    task = MatchToCategory(10, 100, 2000, 12, seed=0)
    params, x, _, _ = noise_free_trials(task, 12)
    t = task.time
    stim = (t >= 200) & (t < 1200)
    bumps = ring_input(params["angle"], 16).astype(np.float32)
    for i in range(12):
        assert (x[i, stim] == bumps[i]).all()
        assert (x[i, ~stim] == 0).all()
        nearest = round(params["angle"][i] / (2 * math.pi / 16)) % 16
        assert x[i, stim][0].argmax() == nearest


def test_periods_scale_with_T(check_decision_mask) -> None:
    task = MatchToCategory(10, 100, 2000, 4, seed=0)
    p = task.get_trial_batch()[3][0]
    assert (p["onset_time"], p["input_dur"], p["output_dur"]) == (200.0, 1000.0, 800.0)
    assert p["stim_noise"] == 0.1
    long = MatchToCategory(10, 100, 3000, 8, seed=0)
    _, y, mask, trial_params = long.get_trial_batch()
    p = trial_params[0]
    assert (p["onset_time"], p["input_dur"], p["output_dur"]) == (300.0, 1500.0, 1200.0)
    check_decision_mask(long, y, mask, trial_params)
    assert (mask[:, :180] == 0).all() and (mask[:, 180:] == 1).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"N_in": 1}, ValueError, "N_in must be an int >= 2; received 1"),
        ({"N_in": 16.0}, TypeError, "N_in.*received float"),
        ({"N_out": 1}, ValueError, "N_out must be an int >= 2"),
        ({"N_out": True}, TypeError, "N_out"),
        ({"T": 90}, ValueError, "T must be at least 10 \\* dt"),
    ],
)
def test_constructor_validation(kwargs: dict, error: type[Exception], match: str) -> None:
    args = {"dt": 10, "tau": 100, "T": 2000, "N_batch": 4} | kwargs
    with pytest.raises(error, match=match):
        MatchToCategory(**args)


def test_sizes_follow_n_in_and_n_out() -> None:
    task = MatchToCategory(10, 100, 2000, 4, N_in=32, N_out=4, seed=0)
    x, y, mask, _ = task.get_trial_batch()
    assert x.shape == (4, 200, 32) and y.shape == mask.shape == (4, 200, 4)
