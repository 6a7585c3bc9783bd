"""The fast float32 Gaussian sampler and the batch noise helper."""

from __future__ import annotations

import math

import numpy as np
import pytest
from psychcore_tasks_classic._common import batch_noise, standard_normal_f32


def test_standard_normal_moments_and_tails() -> None:
    z = standard_normal_f32(np.random.default_rng(0), (1000, 1000)).astype(np.float64)
    assert abs(z.mean()) < 0.005
    assert z.std() == pytest.approx(1.0, abs=0.003)
    assert ((z - z.mean()) ** 3).mean() == pytest.approx(0.0, abs=0.02)  # skewness
    assert (z**4).mean() == pytest.approx(3.0, abs=0.04)  # kurtosis
    for k, tail in ((1, 0.3173), (2, 0.0455), (3, 0.0027)):
        assert (np.abs(z) > k).mean() == pytest.approx(tail, rel=0.05)
    assert np.abs(z).max() < 5.7  # 23-bit uniforms truncate at sqrt(46 ln 2) = 5.65


def test_standard_normal_pairs_are_uncorrelated() -> None:
    z = standard_normal_f32(np.random.default_rng(1), (400_000,)).astype(np.float64)
    half = z.shape[0] // 2
    assert abs(np.corrcoef(z[:half], z[half:])[0, 1]) < 0.01  # Box-Muller partners
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 0.01  # neighbours
    assert abs(np.corrcoef(z[:half] ** 2, z[half:] ** 2)[0, 1]) < 0.01


@pytest.mark.parametrize("shape", [(1,), (3, 5, 7), (2, 3), (128, 200, 16)])
def test_standard_normal_shape_dtype_and_reproducibility(shape: tuple[int, ...]) -> None:
    a = standard_normal_f32(np.random.default_rng(7), shape)
    b = standard_normal_f32(np.random.default_rng(7), shape)
    c = standard_normal_f32(np.random.default_rng(8), shape)
    assert a.shape == shape and a.dtype == np.float32 and a.flags.c_contiguous
    assert np.isfinite(a).all()
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_standard_normal_scale() -> None:
    rng = np.random.default_rng(2)
    z = standard_normal_f32(rng, (200_000,), scale=0.25)
    assert z.std() == pytest.approx(0.25, rel=0.01)
    assert (standard_normal_f32(rng, (10,), scale=0.0) == 0).all()


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
