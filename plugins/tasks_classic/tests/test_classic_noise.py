"""The batch noise helper: NumPy's float32 normals, scaled per trial."""

from __future__ import annotations

import math

import numpy as np
import pytest
from psychcore_tasks_classic._common import batch_noise


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 5, 7), (128, 200, 16)])
def test_batch_noise_shape_dtype_and_reproducibility(shape: tuple[int, int, int]) -> None:
    stim_noise = np.full(shape[0], 0.1)
    a = batch_noise(np.random.default_rng(7), shape, 0.1, stim_noise)
    b = batch_noise(np.random.default_rng(7), shape, 0.1, stim_noise)
    c = batch_noise(np.random.default_rng(8), shape, 0.1, stim_noise)
    assert a.shape == shape and a.dtype == np.float32 and a.flags.c_contiguous
    assert np.isfinite(a).all()
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_batch_noise_is_plain_numpy_normals_times_the_scale() -> None:
    shape, alpha = (4, 50, 2), 0.1
    noise = batch_noise(np.random.default_rng(5), shape, alpha, np.full(4, 0.3))
    z = np.random.default_rng(5).standard_normal(shape, dtype=np.float32)
    np.testing.assert_array_equal(noise, z * np.float32(math.sqrt(2 * alpha) * 0.3))


def test_batch_noise_scale_per_trial_and_exact_zeros() -> None:
    alpha = 0.1
    stim_noise = np.array([0.0, 0.1, 0.5])
    noise = batch_noise(np.random.default_rng(3), (3, 20_000, 2), alpha, stim_noise)
    assert noise.dtype == np.float32 and noise.shape == (3, 20_000, 2)
    assert noise[0].tobytes() == np.zeros((20_000, 2), np.float32).tobytes()  # no -0.0
    for i in (1, 2):
        expected = math.sqrt(2 * alpha) * stim_noise[i]
        assert noise[i].std() == pytest.approx(expected, rel=0.02)
    zeros = batch_noise(np.random.default_rng(3), (2, 5, 2), alpha, np.zeros(2))
    assert zeros.tobytes() == np.zeros((2, 5, 2), np.float32).tobytes()
