"""Tests of the initialisers and initialize_weights."""

from __future__ import annotations

import numpy as np
import pytest

from psychcore._constraints import (
    ConnectivityMask,
    FixedWeights,
    SparseConnectivity,
    Structure,
    apply_constraints,
)
from psychcore._init import initialize_weights, tau_raw_for
from psychcore._initializers import (
    INITIALIZERS,
    AlphaIdentity,
    ConstUniform,
    GaussianSpectralRadius,
    Initializer,
    balance_dale_ratio,
    draw_matrix,
    get_initializer,
    register_initializer,
)
from psychcore._spec import ModelSpec

TASK = {"N_in": 3, "N_out": 2, "dt": 10.0, "tau": 100.0}
NAMES = ["gaussian_spectral_radius", "alpha_identity", "glorot_normal", "glorot_uniform",
         "const_uniform", "const_normal", "rate_gaussian", "rate_gamma", "orthogonal"]


def spec(**kw) -> ModelSpec:
    return ModelSpec(**{"N_rec": 20, **kw}).bind(TASK)


def effective_rec(w: dict) -> np.ndarray:
    """Effective W_rec of docs/equations.md, computed here independently."""
    W, C = w["W_rec"].astype(np.float64), w["rec_connectivity"]
    if np.isnan(w["dale_ratio"]):
        return W * C
    return (np.abs(W) * C) @ w["Dale_rec"]


def spectral_radius(M: np.ndarray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def test_registry_names():
    assert set(NAMES) <= set(INITIALIZERS)
    for name, cls in INITIALIZERS.items():
        assert cls.name == name and issubclass(cls, Initializer)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"initializer_params": {"spec_rad": 0.8}},
        {"dale_ratio": 0.8},
        {"dale_ratio": 0.75, "autapses": False, "constraints": (SparseConnectivity(0.5),)},
        {"rec_connectivity": np.triu(np.ones((20, 20))) + np.eye(20, k=-1) - np.eye(20) * 0},
    ],
)
def test_spectral_radius_of_effective_w_rec(kw):
    s = spec(dtype="float64", **kw)
    w = initialize_weights(s, 0)
    expected = s.initializer_params.get("spec_rad", 1.1)
    np.testing.assert_allclose(spectral_radius(effective_rec(w)), expected, rtol=1e-9)


def test_dale_balancing_and_signs():
    w = initialize_weights(spec(dale_ratio=0.8, dtype="float64"), 1)
    eff = effective_rec(w)
    signs = np.diag(w["Dale_rec"])
    assert np.all(w["W_rec"] >= 0)  # magnitudes; the signs live in Dale_rec
    assert np.all(eff[:, signs > 0] >= 0) and np.all(eff[:, signs < 0] <= 0)
    # E and I balance: total excitatory weight equals total inhibitory weight
    np.testing.assert_allclose(eff[:, signs > 0].sum(), -eff[:, signs < 0].sum(), rtol=1e-9)


def test_balance_dale_ratio_function():
    W = np.arange(16.0).reshape(4, 4) - 8
    signs = np.array([1, 1, 1, -1])
    B = balance_dale_ratio(W, signs)
    assert np.all(B >= 0)
    np.testing.assert_allclose(B[:, :3], np.abs(W[:, :3]))
    np.testing.assert_allclose(B[:, :3].sum(), B[:, 3].sum())
    np.testing.assert_allclose(balance_dale_ratio(W, np.ones(4)), np.abs(W))


def test_alpha_identity_diagonal():
    w = initialize_weights(spec(initializer="alpha_identity",
                                initializer_params={"alpha": 0.3}, dtype="float64"), 0)
    np.testing.assert_allclose(w["W_rec"], 0.3 * np.eye(20))
    w = initialize_weights(spec(initializer=AlphaIdentity(alpha=0.3), autapses=False), 0)
    np.testing.assert_array_equal(w["W_rec"], np.zeros((20, 20)))
    # with Dale: diagonal only, E at alpha, I scaled up to balance (NE/NI = 4)
    w = initialize_weights(spec(initializer="alpha_identity", initializer_params={"alpha": 0.3},
                                dale_ratio=0.8, dtype="float64"), 0)
    np.testing.assert_allclose(np.diag(w["W_rec"]), [0.3] * 16 + [1.2] * 4)
    np.testing.assert_allclose(w["W_rec"] - np.diag(np.diag(w["W_rec"])), 0)


def test_glorot_normal_std_for_large_matrices():
    s = ModelSpec(N_rec=300, initializer="glorot_normal", dtype="float64")
    w = initialize_weights(s, 0, N_in=200, N_out=100)
    np.testing.assert_allclose(w["W_rec"].std(), np.sqrt(2 / (300 + 300)), rtol=0.02)
    np.testing.assert_allclose(w["W_in"].std(), np.sqrt(2 / (200 + 300)), rtol=0.02)
    np.testing.assert_allclose(w["W_out"].std(), np.sqrt(2 / (300 + 100)), rtol=0.03)
    assert abs(w["W_rec"].mean()) < 0.002


def test_glorot_uniform_limits_and_std():
    s = ModelSpec(N_rec=300, initializer="glorot_uniform", dtype="float64",
                  initializer_params={"which_rand_init": "glorot_unif"})
    w = initialize_weights(s, 0, N_in=200, N_out=100)
    limit = np.sqrt(6 / 600)
    assert np.abs(w["W_rec"]).max() <= limit
    assert np.abs(w["W_rec"]).max() > 0.99 * limit
    np.testing.assert_allclose(w["W_rec"].std(), np.sqrt(2 / 600), rtol=0.02)
    np.testing.assert_allclose(w["W_in"].std(), np.sqrt(2 / 500), rtol=0.02)


def test_glorot_fans_respect_connectivity():
    conn = np.zeros((400, 400))
    conn[:, :100] = 1  # each unit receives 100 connections; each sender sends 400
    W = draw_matrix("glorot_normal", conn, np.random.default_rng(0))
    np.testing.assert_array_equal(W[:, 100:], 0)
    np.testing.assert_allclose(W[:, :100].std(), np.sqrt(2 / (100 + 400)), rtol=0.02)
    with pytest.raises(ValueError, match=r"rule must be one of .* received 'he'"):
        draw_matrix("he", conn, np.random.default_rng(0))


def test_const_initializers():
    w = initialize_weights(spec(initializer="const_uniform", dtype="float64",
                                initializer_params={"minval": 0.1, "maxval": 0.3,
                                                    "which_rand_init": "const_uniform",
                                                    "init_minval": -0.5, "init_maxval": -0.4}), 0)
    assert w["W_rec"].min() >= 0.1 and w["W_rec"].max() < 0.3
    assert w["W_in"].min() >= -0.5 and w["W_in"].max() < -0.4
    s = ModelSpec(N_rec=200, initializer="const_normal", dtype="float64",
                  initializer_params={"std": 0.5, "which_rand_init": "const_gauss",
                                      "init_std": 2.0})
    w = initialize_weights(s, 0, N_in=100, N_out=3)
    np.testing.assert_allclose(w["W_rec"].std(), 0.5, rtol=0.02)
    np.testing.assert_allclose(w["W_in"].std(), 2.0, rtol=0.03)


def test_rate_initializers():
    N = 400
    w = initialize_weights(ModelSpec(N_rec=N, initializer="rate_gaussian", dtype="float64",
                                     initializer_params={"gain": 1.5, "P_rec": 0.2}), 0, 2, 1)
    nz = w["W_rec"][w["W_rec"] != 0]
    np.testing.assert_allclose(nz.size / N**2, 0.2, atol=0.005)
    np.testing.assert_allclose(nz.std(), 1.5 / np.sqrt(N * 0.2), rtol=0.03)
    w = initialize_weights(ModelSpec(N_rec=N, initializer="rate_gamma", dtype="float64"), 0, 2, 1)
    assert np.all(w["W_rec"] >= 0)
    nz = w["W_rec"][w["W_rec"] != 0]
    np.testing.assert_allclose(nz.size / N**2, 0.2, atol=0.005)
    np.testing.assert_allclose(nz.mean(), 2.0 * 0.003, rtol=0.03)
    w = initialize_weights(ModelSpec(N_rec=N, initializer="rate_gamma", dale_ratio=0.8,
                                     dtype="float64"), 0, 2, 1)
    eff = effective_rec(w)
    np.testing.assert_allclose(eff.sum(), 0.0, atol=1e-9)


def test_orthogonal():
    w = initialize_weights(spec(initializer="orthogonal", initializer_params={"gain": 2.0},
                                dtype="float64"), 0)
    np.testing.assert_allclose(w["W_rec"] @ w["W_rec"].T, 4.0 * np.eye(20), atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_masked_entries_are_zero_and_seeds_reproduce(name):
    r = np.random.default_rng(5)
    conn_in = (r.random((20, 3)) > 0.4).astype(float)
    conn_rec = (r.random((20, 20)) > 0.4).astype(float)
    conn_out = (r.random((2, 20)) > 0.4).astype(float)
    s = spec(initializer=name, input_connectivity=conn_in, rec_connectivity=conn_rec,
             output_connectivity=conn_out, dale_ratio=0.8)
    w = initialize_weights(s, 11)
    np.testing.assert_array_equal(w["W_in"][conn_in == 0], 0)
    np.testing.assert_array_equal(w["W_rec"][conn_rec == 0], 0)
    np.testing.assert_array_equal(w["W_out"][conn_out == 0], 0)
    np.testing.assert_array_equal(w["rec_connectivity"], conn_rec)
    same = initialize_weights(s, 11)
    other = initialize_weights(s, 12)
    for key in w:
        np.testing.assert_array_equal(w[key], same[key])
    assert not np.array_equal(w["W_in"], other["W_in"])
    assert not np.array_equal(w["init_state"], other["init_state"])
    if name != "alpha_identity":
        assert not np.array_equal(w["W_rec"], other["W_rec"])


def test_generator_is_used_and_advanced():
    s = spec()
    g = np.random.default_rng(3)
    a = initialize_weights(s, g)
    b = initialize_weights(s, g)  # continues from the advanced state
    np.testing.assert_array_equal(a["W_rec"], initialize_weights(s, 3)["W_rec"])
    assert not np.array_equal(a["W_rec"], b["W_rec"])


def test_full_rnn_dict_keys_shapes_dtype():
    w = initialize_weights(spec(), 0)
    expected = {
        "W_in": (20, 3), "W_rec": (20, 20), "W_out": (2, 20), "b_rec": (20,), "b_out": (2,),
        "init_state": (1, 20), "input_connectivity": (20, 3), "rec_connectivity": (20, 20),
        "output_connectivity": (2, 20), "Dale_rec": (20, 20), "Dale_out": (20, 20),
        "dale_ratio": (), "W_in_fixed": (20, 3), "W_rec_fixed": (20, 20), "W_out_fixed": (2, 20),
    }
    assert {k: v.shape for k, v in w.items()} == expected
    assert all(v.dtype == np.float32 for v in w.values())
    np.testing.assert_array_equal(w["b_rec"], 0)
    np.testing.assert_array_equal(w["b_out"], 0)
    assert abs(w["init_state"].mean() - 0.1) < 0.01 and w["init_state"].std() < 0.03
    assert np.isnan(w["dale_ratio"])
    w64 = initialize_weights(spec(dtype="float64"), 0)
    assert all(v.dtype == np.float64 for v in w64.values())


def test_gated_architectures():
    fixed = np.zeros((20, 3), dtype=bool)
    fixed[0, 0] = True
    w = initialize_weights(spec(architecture="lstm", constraints=(FixedWeights(W_in=fixed),)), 0)
    assert w["W_in"].shape == (80, 3) and w["W_rec"].shape == (80, 20)
    assert w["b_rec"].shape == (80,) and w["W_in_fixed"].shape == (80, 3)
    np.testing.assert_array_equal(w["b_rec"][20:40], 1.0)  # forget gate (order i, f, g, o)
    np.testing.assert_array_equal(w["b_rec"][:20], 0.0)
    np.testing.assert_array_equal(w["b_rec"][40:], 0.0)
    np.testing.assert_array_equal(w["init_cell"], np.zeros((1, 20)))
    np.testing.assert_array_equal(w["W_in_fixed"][[0, 20, 40, 60], 0], 1.0)
    assert w["W_in_fixed"].sum() == 4
    # every gate block is drawn independently, each with the initialiser's spectral radius
    blocks = [w["W_rec"][20 * k:20 * (k + 1)].astype(float) for k in range(4)]
    assert not np.array_equal(blocks[0], blocks[1])
    for b in blocks:
        np.testing.assert_allclose(spectral_radius(b), 1.1, rtol=1e-5)
    g = initialize_weights(spec(architecture="gru"), 0)
    assert g["W_rec"].shape == (60, 20) and g["W_in"].shape == (60, 3)
    assert "init_cell" not in g
    np.testing.assert_array_equal(g["b_rec"], 0.0)


def test_train_tau_starts_at_task_tau():
    for s in (spec(train_tau=True, dtype="float64"),
              spec(train_tau=True, tau_range=(20.0, 500.0), dtype="float64")):
        w = initialize_weights(s, 0)
        lo, hi = s.tau_range
        tau_unit = lo + (hi - lo) / (1 + np.exp(-w["tau_raw"]))
        assert w["tau_raw"].shape == (20,)
        np.testing.assert_allclose(tau_unit, 100.0, rtol=1e-12)
    assert "tau_raw" not in initialize_weights(spec(), 0)


def test_tau_raw_for_errors():
    with pytest.raises(ValueError, match=r"tau must lie strictly inside tau_range \(10.0, 50.0\)"):
        tau_raw_for(100.0, (10.0, 50.0), 3)


def test_initialize_weights_sizes():
    unbound = ModelSpec(N_rec=5)
    w = initialize_weights(unbound, 0, N_in=4, N_out=1)
    assert w["W_in"].shape == (5, 4) and w["W_out"].shape == (1, 5)
    with pytest.raises(ValueError, match=r"N_in is unknown: bind the spec"):
        initialize_weights(unbound, 0)
    with pytest.raises(ValueError, match=r"N_in=4 conflicts with the spec's N_in=3"):
        initialize_weights(spec(), 0, N_in=4)
    with pytest.raises(ValueError, match=r"N_out must be a positive int; received -1"):
        initialize_weights(unbound, 0, N_in=1, N_out=-1)
    with pytest.raises(TypeError, match=r"spec must be a ModelSpec; received dict"):
        initialize_weights({"N_rec": 5}, 0)
    with pytest.raises(TypeError, match=r"rng must be None, an int"):
        initialize_weights(spec(), "seed")
    with pytest.raises(ValueError, match=r"train_tau=True needs the task's tau"):
        initialize_weights(ModelSpec(N_rec=5, train_tau=True), 0, N_in=1, N_out=1)


def test_get_initializer_forms():
    assert get_initializer("gaussian_spectral_radius") == GaussianSpectralRadius()
    assert get_initializer("gaussian_spectral_radius", spec_rad=2.0).spec_rad == 2.0
    obj = AlphaIdentity(alpha=0.2)
    assert get_initializer(obj) is obj
    assert get_initializer(AlphaIdentity, alpha=0.2) == obj
    assert get_initializer(obj.to_dict()) == obj
    assert obj.to_dict() == {"type": "alpha_identity", "alpha": 0.2,
                             "which_rand_init": "glorot_normal", "init_minval": -0.1,
                             "init_maxval": 0.1, "init_std": 1.0}
    assert GaussianSpectralRadius(which_rand_init="glorot_gauss") == GaussianSpectralRadius()
    assert hash(AlphaIdentity(alpha=0.2)) == hash(obj)
    assert obj != AlphaIdentity(alpha=0.3) and obj != GaussianSpectralRadius()
    assert repr(obj) == "AlphaIdentity(alpha=0.2)"


def test_get_initializer_errors():
    with pytest.raises(ValueError, match=r"unknown initializer 'he'; registered: \["):
        get_initializer("he")
    with pytest.raises(TypeError, match=r"expected a registered name.*received 3 \(int\)"):
        get_initializer(3)
    with pytest.raises(ValueError, match=r"parameters \['alpha'\] given with an Initializer"):
        get_initializer(AlphaIdentity(), alpha=1.0)
    with pytest.raises(TypeError, match=r"GaussianSpectralRadius: unknown parameter\(s\) "
                                        r"\['alpha'\]; valid parameters"):
        get_initializer("gaussian_spectral_radius", alpha=1.0)
    with pytest.raises(ValueError, match=r"spec_rad must be a finite number > 0; received -1"):
        GaussianSpectralRadius(spec_rad=-1)
    with pytest.raises(ValueError, match=r"which_rand_init must be one of .* received 'he'"):
        GaussianSpectralRadius(which_rand_init="he")
    with pytest.raises(ValueError, match=r"ConstUniform: minval must be < maxval"):
        ConstUniform(minval=1.0, maxval=0.0)
    with pytest.raises(ValueError, match=r"init_minval must be < init_maxval"):
        ConstUniform(init_minval=1.0, init_maxval=0.0)
    with pytest.raises(TypeError, match=r"P_rec must be .*received 'x' \(str\)"):
        get_initializer("rate_gaussian", P_rec="x")
    with pytest.raises(TypeError, match=r"expected an Initializer subclass with a name"):
        register_initializer(dict)
    with pytest.raises(ValueError, match=r"architecture must be one of"):
        GaussianSpectralRadius().initialize(Structure(1, 2, 1), np.random.default_rng(0), "cnn")


def test_custom_initializer_registers():
    @register_initializer
    class Zeros(Initializer):
        name = "test_zeros"

        def draw_recurrent(self, structure, rng):
            return np.zeros((structure.N_rec, structure.N_rec))

    try:
        w = initialize_weights(spec(initializer="test_zeros"), 0)
        np.testing.assert_array_equal(w["W_rec"], 0)
        s = spec(initializer=Zeros())
        assert ModelSpec.from_json(s.to_json()) == s
    finally:
        INITIALIZERS.pop("test_zeros")


def test_structure_masks_used_by_initializer_directly():
    st = apply_constraints([ConnectivityMask(rec=1 - np.eye(4))], 2, 4, 1)
    out = GaussianSpectralRadius().initialize(st, np.random.default_rng(0))
    np.testing.assert_array_equal(np.diag(out["W_rec"]), 0)
    np.testing.assert_allclose(spectral_radius(out["W_rec"]), 1.1, rtol=1e-9)
