"""The Period helper behind every vectorised batch, against a direct reference."""

from __future__ import annotations

import numpy as np
import pytest
from psychcore_tasks_classic._common import Period


def reference(t: np.ndarray, start: np.ndarray, end: np.ndarray, values: np.ndarray):
    active = (start[:, None] <= t[None, :]) & (t[None, :] < end[:, None])
    out = np.where(active[:, :, None], values.astype(np.float32)[:, None, :], np.float32(0))
    return active, out


@pytest.mark.parametrize("channels", [1, 2, 8, 9, 16])
@pytest.mark.parametrize("shared", [True, False], ids=["shared", "per-trial"])
def test_period_matches_the_reference(channels: int, shared: bool) -> None:
    rng = np.random.default_rng(channels)
    N, t = 6, np.arange(57) * 7.0
    if shared:
        start, end = np.full(N, 70.0), np.full(N, 203.5)
    else:
        start = rng.uniform(0, 200, N)
        end = start + rng.uniform(0, 200, N)
        start[0], end[0] = 14.0, 14.0  # an empty period
    values = rng.standard_normal((N, channels))
    active, expected = reference(t, start, end, values)
    period = Period(t, start, end)
    assert (period.steps is not None) == shared
    assert period.values(values).tobytes() == expected.tobytes()
    np.testing.assert_array_equal(period.mask(3), np.repeat(active[:, :, None], 3, axis=2))
    base = rng.standard_normal((N, 57, channels)).astype(np.float32)
    added = period.add_to(base.copy(), values)
    np.testing.assert_array_equal(added, base + expected)


def test_period_bounds_are_half_open_and_exact() -> None:
    t = np.arange(10) * 10.0
    period = Period(t, np.array([20.0, 20.0]), np.array([50.0, 50.0]))
    assert period.steps == slice(2, 5)  # t = 20, 30, 40
    to_the_end = Period(t, np.array([35.0]), np.inf)
    assert to_the_end.steps == slice(4, 10)
    reversed_bounds = Period(t, np.array([60.0]), np.array([30.0]))
    assert not reversed_bounds.mask(1).any()
