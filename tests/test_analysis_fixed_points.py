"""Fixed and slow points against networks whose fixed points are known independently."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from psychcore import ModelSpec, Simulator
from psychcore.analysis import (
    EulerMap,
    FixedPoints,
    find_fixed_points,
    pca,
    sample_initial_states,
    transfer_derivative,
)

optimize = pytest.importorskip("scipy.optimize")

DT, TAU = 10.0, 100.0
ALPHA = DT / TAU


def network(W, W_in, b, transfer="tanh", **spec_extra):
    n, n_in = W.shape[0], W_in.shape[1]
    spec = ModelSpec(N_rec=n, transfer_function=transfer, **spec_extra).bind(
        {"N_in": n_in, "N_out": 1, "dt": DT, "tau": TAU})
    weights = {"W_in": W_in, "W_rec": W, "W_out": np.ones((1, n)), "b_rec": b,
               "b_out": np.zeros(1), "init_state": np.zeros((1, n))}
    return spec, weights


def linear_network(seed, radius):
    rng = np.random.default_rng(seed)
    n = 6
    W = rng.normal(size=(n, n))
    W *= radius / np.max(np.abs(np.linalg.eigvals(W)))
    return network(W, rng.normal(size=(n, 2)), 0.1 * rng.normal(size=n), "linear")


# ----------------------------------------------------------------------------- linear
def test_linear_network_fixed_point_is_the_closed_form_one():
    spec, w = linear_network(0, radius=0.8)
    u = np.array([0.3, -0.7])
    x_star = np.linalg.solve(np.eye(6) - w["W_rec"], w["W_in"] @ u + w["b_rec"])
    inits = np.random.default_rng(1).normal(scale=3.0, size=(10, 6))
    fps = find_fixed_points(spec, w, u, inits)
    assert isinstance(fps, FixedPoints) and len(fps) == 1
    assert_allclose(fps.points[0], x_star, atol=1e-10)
    assert fps.is_fixed[0] and fps.q[0] < 1e-20 and fps.counts[0] == 10
    assert fps.stability[0] == "stable" and fps.n_unstable[0] == 0 and fps.stable[0]
    expected = 1 - ALPHA + ALPHA * np.linalg.eigvals(w["W_rec"])
    assert_allclose(np.sort_complex(fps.eigenvalues[0]), np.sort_complex(expected), atol=1e-12)
    assert fps.kind.tolist() == ["fixed"]


@pytest.mark.parametrize("method", ["lm", "lbfgs"])
def test_unstable_linear_network_is_a_saddle_with_the_right_count(method):
    rng = np.random.default_rng(2)
    Q = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    W = Q @ np.diag([1.5, 1.2, 0.8, 0.5, 0.2, -0.3]) @ Q.T  # two eigenvalues above 1
    spec, w = network(W, rng.normal(size=(6, 2)), 0.1 * rng.normal(size=6), "linear")
    u = np.array([1.0, 0.5])
    x_star = np.linalg.solve(np.eye(6) - w["W_rec"], w["W_in"] @ u + w["b_rec"])
    fps = find_fixed_points(spec, w, u, np.zeros((3, 6)), method=method)
    assert len(fps) == 1
    assert_allclose(fps.points[0], x_star, atol=1e-9)
    n_unstable = int(np.sum(np.abs(1 - ALPHA + ALPHA * np.linalg.eigvals(w["W_rec"])) > 1))
    assert n_unstable == 2
    assert fps.n_unstable[0] == n_unstable and fps.stability[0] == "saddle"
    assert not fps.stable[0]


# ----------------------------------------------------------------------------- nonlinear
def independent_roots(W, b):
    """Every root of -x + W tanh(x) + b = 0 from a dense grid of fsolve starts."""
    def G(x):
        return -x + W @ np.tanh(x) + b

    roots = []
    for a in np.linspace(-4, 4, 17):
        for c in np.linspace(-4, 4, 17):
            r, _, ier, _ = optimize.fsolve(G, [a, c], full_output=True, xtol=1e-13)
            if ier == 1 and np.max(np.abs(G(r))) < 1e-10 and \
                    not any(np.linalg.norm(r - q) < 1e-6 for q in roots):
                roots.append(r)
    return np.array(roots)


def test_two_unit_tanh_bistable_system_has_its_three_fixed_points():
    W = np.array([[1.5, -0.6], [-0.5, 1.3]])
    b = np.array([0.1, -0.05])
    roots = independent_roots(W, b)
    assert len(roots) == 3
    # stability from the continuous-time Jacobian -I + W diag(sech^2) (independent criterion)
    stable_expected = [bool(np.all(np.linalg.eigvals(
        -np.eye(2) + W * (1 - np.tanh(r) ** 2)[None, :]).real < 0)) for r in roots]
    assert sorted(stable_expected) == [False, True, True]
    spec, w = network(W, np.zeros((2, 1)), b)
    grid = np.stack(np.meshgrid(np.linspace(-3, 3, 7), np.linspace(-3, 3, 7)), -1).reshape(-1, 2)
    fps = find_fixed_points(spec, w, np.zeros(1), grid)
    assert len(fps) == 3 and np.all(fps.is_fixed) and fps.counts.sum() == 49
    for root, stable in zip(roots, stable_expected, strict=True):
        k = int(np.argmin(np.linalg.norm(fps.points - root, axis=1)))
        assert_allclose(fps.points[k], root, atol=1e-10)
        assert fps.stable[k] == stable
        assert fps.stability[k] == ("stable" if stable else "saddle")
        assert fps.n_unstable[k] == (0 if stable else 1)


def test_slow_point_of_a_saddle_node_ghost_is_found_and_labelled():
    # x = 1.5 tanh(x) + 0.25: one fixed point; the left pair has just vanished, leaving a ghost
    # at the minimum of |1.5 tanh(x) + 0.25 - x|, i.e. where sech^2(x) = 1/1.5
    spec, w = network(np.array([[1.5]]), np.zeros((1, 1)), np.array([0.25]))
    fps = find_fixed_points(spec, w, np.zeros(1), np.linspace(-3, 3, 25)[:, None],
                            tol_slow=1e-4)
    assert fps.kind.tolist() == ["fixed", "slow"]
    ghost = -np.arccosh(np.sqrt(1.5))
    assert_allclose(fps.points[1, 0], ghost, atol=1e-5)
    gap = 1.5 * np.tanh(ghost) + 0.25 - ghost
    assert_allclose(fps.q[1], 0.5 * (ALPHA * gap) ** 2, rtol=1e-6)
    right = optimize.brentq(lambda x: 1.5 * np.tanh(x) + 0.25 - x, 0.5, 3.0)
    assert_allclose(fps.points[0, 0], right, atol=1e-10)
    # with the default tolerance the ghost is dropped
    assert len(find_fixed_points(spec, w, np.zeros(1), np.array([[-0.6]]))) == 0


def test_per_unit_alpha_jacobian_matches_finite_differences_and_the_simulator():
    rng = np.random.default_rng(5)
    n = 4
    spec, w = network(rng.normal(size=(n, n)), rng.normal(size=(n, 2)), rng.normal(size=n),
                      "tanh", train_tau=True, tau_range=(20.0, 400.0))
    w["tau_raw"] = rng.normal(size=n)
    fmap = EulerMap(spec, w, np.array([0.2, -0.4]))
    assert np.ptp(fmap.alpha) > 0.01  # really per-unit
    x = rng.normal(size=n)
    sim = Simulator(spec, w)
    _, new_state = sim.rnn_step(x[None], np.array([[0.2, -0.4]]))
    assert_allclose(fmap.step(x), new_state[0], rtol=1e-12)
    h = 1e-6
    numeric = np.stack([(fmap.step(x + h * e) - fmap.step(x - h * e)) / (2 * h)
                        for e in np.eye(n)], axis=1)
    assert_allclose(fmap.jacobian(x), numeric, atol=1e-8)


@pytest.mark.parametrize("transfer", ["relu", "tanh", "sigmoid", "softplus", "linear"])
def test_q_gradient_matches_finite_differences(transfer):
    rng = np.random.default_rng(6)
    spec, w = network(rng.normal(size=(5, 5)), rng.normal(size=(5, 1)), rng.normal(size=5),
                      transfer)
    fmap = EulerMap(spec, w, np.array([0.5]))
    x = rng.normal(size=5)
    x[np.abs(x) < 0.05] = 0.3  # away from the ReLU kink
    q, grad = fmap.q_and_grad(x)
    assert_allclose(q, fmap.q(x))
    h = 1e-6
    numeric = np.array([(fmap.q(x + h * e) - fmap.q(x - h * e)) / (2 * h) for e in np.eye(5)])
    assert_allclose(grad, numeric, rtol=1e-5, atol=1e-10)
    assert_allclose(transfer_derivative(transfer)(x),
                    (fmap.f(x + h) - fmap.f(x - h)) / (2 * h), rtol=1e-6, atol=1e-8)


def test_deduplication_counts_and_projection():
    W = np.array([[1.5, -0.6], [-0.5, 1.3]])
    spec, w = network(W, np.zeros((2, 1)), np.array([0.1, -0.05]))
    inits = np.random.default_rng(0).uniform(-3, 3, size=(30, 2))
    fps = find_fixed_points(spec, w, np.zeros(1), inits)
    assert fps.counts.sum() == 30 and fps.n_initial == 30
    merged = find_fixed_points(spec, w, np.zeros(1), inits, dedup_tol=100.0)
    assert len(merged) == 1 and merged.counts[0] == 30
    res = pca(np.random.default_rng(1).normal(size=(50, 2)), n_components=2)
    assert_allclose(fps.project(res), (fps.points - res.mean) @ res.components.T)
    assert "stable" in fps.summary()
    with pytest.raises(TypeError, match="pca_result must be a PCAResult"):
        fps.project(np.eye(2))


def test_sample_initial_states_draws_visited_states():
    states = np.arange(2 * 5 * 3, dtype=float).reshape(2, 5, 3)
    drawn = sample_initial_states(states, 4, rng=0)
    flat = states.reshape(-1, 3)
    assert drawn.shape == (4, 3)
    assert all(any(np.array_equal(d, f) for f in flat) for d in drawn)
    assert len({tuple(d) for d in drawn}) == 4  # without replacement
    noisy = sample_initial_states(states, 4, rng=0, noise_scale=0.1)
    assert 0 < np.abs(noisy - drawn).max() < 1.0
    assert sample_initial_states(states, 20, rng=0).shape == (20, 3)
    with pytest.raises(ValueError, match=r"states must have shape \(..., N_rec\)"):
        sample_initial_states(np.zeros((1, 1, 1, 1, 2)), 3)
    with pytest.raises(ValueError, match="noise_scale must be a finite number >= 0"):
        sample_initial_states(states, 3, noise_scale=-1.0)


def test_fixed_point_errors_name_the_argument():
    spec, w = network(np.eye(2), np.zeros((2, 1)), np.zeros(2))
    with pytest.raises(ValueError, match=r"x_const must have shape \(N_in,\) = \(1,\)"):
        find_fixed_points(spec, w, np.zeros(3), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"initial_states must have shape \(n, N_rec=2\)"):
        find_fixed_points(spec, w, np.zeros(1), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="tol_slow must be >= tol_fixed"):
        find_fixed_points(spec, w, np.zeros(1), np.zeros((1, 2)), tol_fixed=1e-3, tol_slow=1e-6)
    with pytest.raises(ValueError, match="method must be one of"):
        find_fixed_points(spec, w, np.zeros(1), np.zeros((1, 2)), method="adam")
    gru = ModelSpec(N_rec=2, architecture="gru").bind({"N_in": 1, "N_out": 1, "dt": 10,
                                                          "tau": 100})
    with pytest.raises(ValueError, match="architecture 'rnn' only; received 'gru'"):
        EulerMap(gru, w, np.zeros(1))
    with pytest.raises(TypeError, match="spec must be a ModelSpec"):
        EulerMap({"N_rec": 2}, w, np.zeros(1))
    fmap = EulerMap(spec, w, np.zeros(1))
    with pytest.raises(ValueError, match=r"x must have shape \(N_rec,\) = \(2,\)"):
        fmap.jacobian(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="name must be one of"):
        transfer_derivative("elu")


def test_finder_does_not_modify_its_inputs():
    spec, w = network(np.array([[1.5, -0.6], [-0.5, 1.3]]), np.zeros((2, 1)),
                      np.array([0.1, -0.05]))
    before = {k: val.copy() for k, val in w.items()}
    inits = np.ones((3, 2))
    find_fixed_points(spec, w, np.zeros(1), inits, noise_scale=0.5, rng=0)
    for k in before:
        assert_array_equal(w[k], before[k])
    assert_array_equal(inits, np.ones((3, 2)))
