"""Condition averages and PCA on planted signals; their plots."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from psychcore.analysis import (
    ConditionAverages,
    PCAResult,
    condition_averages,
    condition_colors,
    pca,
    plot_pca_trajectories,
    plot_unit_traces,
)

plt = pytest.importorskip("matplotlib.pyplot")


def principal_angles(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Principal angles (radians) between the row spaces of A and B (computed here, not in
    psychcore: cosines are the singular values of Qa^T Qb)."""
    qa, _ = np.linalg.qr(A.T)
    qb, _ = np.linalg.qr(B.T)
    return np.arccos(np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), -1.0, 1.0))


# ----------------------------------------------------------------------------- averages
def test_condition_averages_are_exact_means_of_selected_trials():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(10, 4, 3))
    labels = np.array([0.2, -0.2, 0.2, 0.0, -0.2, 0.2, 0.0, 0.0, -0.2, 0.2])
    keep = np.array([True, True, False, True, True, True, False, True, True, True])
    avg = condition_averages(states, labels, keep)
    assert isinstance(avg, ConditionAverages)
    assert_allclose(avg.conditions, [-0.2, 0.0, 0.2])
    assert_array_equal(avg.counts, [3, 2, 3])
    for i, c in enumerate(avg.conditions):
        assert_allclose(avg.averages[i], states[(labels == c) & keep].mean(axis=0))
    # a condition with no selected trial is dropped
    only = condition_averages(states, labels, labels > 0.1)
    assert_allclose(only.conditions, [0.2]) and only.averages.shape == (1, 4, 3)


def test_condition_averages_errors():
    states = np.zeros((4, 3, 2))
    with pytest.raises(ValueError, match=r"conditions must have shape \(N_batch,\) = \(4,\)"):
        condition_averages(states, np.zeros(5))
    with pytest.raises(ValueError, match=r"states must have shape \(N_batch, N_steps, N_units\)"):
        condition_averages(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(TypeError, match="mask_trials must be a boolean array"):
        condition_averages(states, np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match="mask_trials selects no trial"):
        condition_averages(states, np.zeros(4), np.zeros(4, dtype=bool))


# ----------------------------------------------------------------------------- PCA
def test_pca_recovers_a_planted_subspace_and_its_variance():
    rng = np.random.default_rng(1)
    n_units, n_samples = 40, 3000
    basis = np.linalg.qr(rng.normal(size=(n_units, 3)))[0].T  # 3 orthonormal rows
    latent = rng.normal(size=(n_samples, 3)) * np.array([3.0, 2.0, 1.0])
    noise_sd = 0.05
    data = latent @ basis + noise_sd * rng.normal(size=(n_samples, n_units)) + 5.0
    res = pca(data, n_components=3)
    assert isinstance(res, PCAResult) and res.components.shape == (3, n_units)
    assert np.all(principal_angles(res.components, basis) < 0.01)
    # each component matches one planted axis (the variances are well separated)
    for i in range(3):
        assert abs(res.components[i] @ basis[i]) > 0.999
    assert_allclose(res.explained_variance, latent.var(axis=0, ddof=1) + noise_sd**2, rtol=0.02)
    total = latent.var(axis=0, ddof=1).sum() + n_units * noise_sd**2
    assert_allclose(res.explained_variance_ratio.sum(), 1 - (n_units - 3) * noise_sd**2 / total,
                    rtol=1e-3)
    # explained variance equals the covariance eigenvalues exactly
    eig = np.sort(np.linalg.eigvalsh(np.cov(data.T)))[::-1]
    assert_allclose(res.explained_variance, eig[:3], rtol=1e-10)
    assert_allclose(res.mean, data.mean(axis=0))
    assert_allclose(res.components @ res.components.T, np.eye(3), atol=1e-12)
    assert np.all(res.components[np.arange(3), np.argmax(np.abs(res.components), 1)] > 0)


def test_pca_of_trajectories_keeps_their_shape_and_transform_matches():
    rng = np.random.default_rng(2)
    traj = rng.normal(size=(5, 30, 8))
    res = pca(traj, n_components=2)
    assert res.projections.shape == (5, 30, 2)
    assert_allclose(res.projections, res.transform(traj))
    assert_allclose(res.transform(traj[0, 0]), res.projections[0, 0])
    full = pca(traj)
    assert full.n_components == 8
    assert_allclose(full.explained_variance_ratio.sum(), 1.0)
    # all components reconstruct the data exactly
    assert_allclose(full.projections @ full.components + full.mean, traj, atol=1e-12)


def test_pca_errors():
    with pytest.raises(ValueError, match=r"n_components must be <= min\(n_samples, N_units\) = 3"):
        pca(np.zeros((10, 3)), n_components=4)
    with pytest.raises(ValueError, match="at least 2 samples"):
        pca(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="trajectories must have shape"):
        pca(np.zeros(5))
    res = pca(np.random.default_rng(0).normal(size=(10, 3)))
    with pytest.raises(ValueError, match=r"activity must have shape \(..., N_units=3\)"):
        res.transform(np.zeros((2, 4)))


# ----------------------------------------------------------------------------- plots
def test_condition_colors_diverge_around_zero():
    colors = condition_colors([-0.4, 0.0, 0.4])
    assert colors[0][2] > colors[0][0]  # negative: blue
    assert colors[2][0] > colors[2][2]  # positive: red
    assert len(condition_colors(["a", "b"])) == 2


def test_plot_pca_trajectories_draws_one_line_per_condition():
    rng = np.random.default_rng(3)
    traj = np.cumsum(rng.normal(size=(4, 20, 6)), axis=1)
    res = pca(traj, n_components=3)
    fig = plot_pca_trajectories(res, [-0.2, -0.1, 0.1, 0.2])
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 20]
    assert len(lines) == 4
    assert_allclose(lines[2].get_xdata(), res.projections[2, :, 0])
    assert ax.get_xlabel().startswith("PC1 (")
    plt.close(fig)
    fig = plot_pca_trajectories(res, dims=3)
    assert fig.axes[0].name == "3d"
    plt.close(fig)
    with pytest.raises(ValueError, match="dims must be 2 or 3"):
        plot_pca_trajectories(res, dims=4)
    with pytest.raises(ValueError, match=r"conditions must have shape \(N_batch,\) = \(4,\)"):
        plot_pca_trajectories(res, [1, 2])
    with pytest.raises(TypeError, match="result must be a PCAResult"):
        plot_pca_trajectories(traj)
    with pytest.raises(TypeError, match="fixed_points must be a FixedPoints"):
        plot_pca_trajectories(res, fixed_points=np.zeros((2, 6)))


def test_plot_unit_traces_shows_the_condition_means():
    rng = np.random.default_rng(4)
    states = rng.normal(size=(12, 15, 5))
    labels = np.repeat([0, 1, 2], 4)
    fig = plot_unit_traces(states, labels, units=[1, 3], dt=10.0)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["unit 1", "unit 3"]
    mean = states[labels == 2].mean(axis=0)[:, 3]
    assert_allclose(visible[1].get_lines()[2].get_ydata(), mean)
    assert visible[1].get_lines()[2].get_xdata()[-1] == 140.0
    plt.close(fig)
    avg = condition_averages(states, labels)
    plt.close(plot_unit_traces(avg))
    with pytest.raises(ValueError, match=r"units must be unit indices in \[0, 5\)"):
        plot_unit_traces(states, labels, units=[7])
    with pytest.raises(ValueError, match="conditions .* are required"):
        plot_unit_traces(states)
    with pytest.raises(ValueError, match="with a ConditionAverages, conditions and mask_trials"):
        plot_unit_traces(avg, labels)
