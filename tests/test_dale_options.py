"""Dale options, the noise convention and the spikernn initialiser: the equations, the weights
dict entries, serialisation, errors, and every installed backend against the Simulator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from psychcore import (
    CellTypeRule,
    Dale,
    InhibitorySubtype,
    ModelSpec,
    Simulator,
    get_backend,
    initialize_weights,
    load_weights,
    save_weights,
    validate_weights,
    write_psychrnn_weights,
)
from psychcore._constraints import apply_constraints, constraint_from_dict
from psychcore._initializers import get_initializer
from psychcore.equations import effective_weights
from psychcore.testing import central_differences, reference_objective

N_IN, N_REC, N_OUT = 3, 6, 2
SPIKERNN_DALE = Dale(0.5, inputs="signed", readout="all", rectify="relu")


def _spec(**kw) -> ModelSpec:
    kw.setdefault("constraints", (SPIKERNN_DALE,))
    return ModelSpec(N_rec=N_REC, N_in=N_IN, N_out=N_OUT, dt=10.0, tau=100.0, **kw)


def _with_negatives(weights: dict, seed: int = 0) -> dict:
    """Weights whose raw matrices have negative entries (so relu and abs differ)."""
    rng = np.random.default_rng(seed)
    w = dict(weights)
    for key in ("W_in", "W_rec", "W_out"):
        w[key] = rng.standard_normal(np.shape(w[key])) * 0.8
    return w


# ------------------------------------------------------------------ equations, structure
def test_effective_weights_follow_the_options():
    w = _with_negatives(initialize_weights(_spec(), 0))
    eff = effective_weights(w)
    d = np.diag(w["Dale_rec"])
    np.testing.assert_array_equal(eff["W_in"], w["W_in"] * w["input_connectivity"])
    np.testing.assert_array_equal(
        eff["W_rec"], np.maximum(w["W_rec"], 0) * w["rec_connectivity"] * d[None, :])
    np.testing.assert_array_equal(eff["W_out"], w["W_out"] * w["output_connectivity"])
    np.testing.assert_array_equal(w["Dale_out"], np.eye(N_REC))


def test_defaults_and_old_files_keep_psychrnns_abs():
    w = _with_negatives(initialize_weights(_spec(constraints=(), dale_ratio=0.5), 0))
    assert not {"dale_rectify", "dale_signed_in", "dale_signed_out"} & set(w)
    eff = effective_weights(w)
    np.testing.assert_array_equal(eff["W_in"], np.abs(w["W_in"]))
    np.testing.assert_array_equal(eff["W_rec"], np.abs(w["W_rec"]) * np.diag(w["Dale_rec"]))
    np.testing.assert_array_equal(eff["W_out"], np.abs(w["W_out"]) * np.diag(w["Dale_out"]))
    zeros = {**w, "dale_rectify": 0.0, "dale_signed_in": 0, "dale_signed_out": 0.0}
    for key, value in effective_weights(zeros).items():
        np.testing.assert_array_equal(value, eff[key])


def test_each_option_alone():
    base = _with_negatives(initialize_weights(_spec(constraints=(), dale_ratio=0.5), 1))
    eff = effective_weights({**base, "dale_rectify": 1.0})
    np.testing.assert_array_equal(eff["W_in"], np.maximum(base["W_in"], 0))
    eff = effective_weights({**base, "dale_signed_in": 1.0})
    np.testing.assert_array_equal(eff["W_in"], base["W_in"])
    np.testing.assert_array_equal(eff["W_rec"], np.abs(base["W_rec"]) * np.diag(base["Dale_rec"]))
    eff = effective_weights({**base, "dale_signed_out": 1.0})
    np.testing.assert_array_equal(eff["W_out"], base["W_out"] * np.diag(base["Dale_out"]))
    # without Dale the options change nothing
    off = {**base, "dale_ratio": np.nan, "dale_rectify": 1.0, "dale_signed_in": 1.0}
    np.testing.assert_array_equal(effective_weights(off)["W_rec"], base["W_rec"])


def test_random_placement_draws_each_unit_from_the_generator():
    dale = Dale(0.75, placement="random")
    a = apply_constraints([dale], 2, 4000, 1, rng=np.random.default_rng(5))
    b = apply_constraints([dale], 2, 4000, 1, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.dale_signs, b.dale_signs)
    frac_inh = float(np.mean(a.dale_signs < 0))
    assert abs(frac_inh - 0.25) < 4 * math.sqrt(0.25 * 0.75 / 4000)
    assert np.any(a.dale_signs[:3000] < 0), "not the 'first' layout"
    np.testing.assert_array_equal(a.cell_types == "I", a.dale_signs < 0)


def test_som_units_are_spikernns_first_inhibitory_units():
    cons = [Dale(0.5, readout="all", placement="random"), InhibitorySubtype("som", count=2),
            CellTypeRule("I", "som"), CellTypeRule("som", "som")]
    s = apply_constraints(cons, 1, 20, 1, rng=np.random.default_rng(2))
    inh = np.flatnonzero(s.dale_signs < 0)
    som = np.flatnonzero(s.cell_types == "som")
    np.testing.assert_array_equal(som, inh[:2])
    expected = np.ones((20, 20))  # spikeRNN's som_mask: SOM rows get nothing from I units
    for i in som:
        expected[i, inh] = 0
    np.testing.assert_array_equal(s.rec_connectivity, expected)


def test_dale_serialises_only_non_default_options():
    assert Dale(0.8).to_dict() == {"type": "dale", "ratio": 0.8}
    d = SPIKERNN_DALE.to_dict()
    assert d == {"type": "dale", "ratio": 0.5, "inputs": "signed", "readout": "all",
                 "rectify": "relu"}
    assert constraint_from_dict(d) == SPIKERNN_DALE
    assert constraint_from_dict({"type": "dale", "ratio": 0.8}) == Dale(0.8)


@pytest.mark.parametrize("kw, err, match", [
    ({"inputs": "negative"}, ValueError, "inputs must be one of"),
    ({"readout": 1}, TypeError, "readout must be one of"),
    ({"rectify": "softplus"}, ValueError, "rectify must be one of"),
    ({"placement": "last"}, ValueError, "placement must be one of"),
])
def test_bad_dale_options_name_the_argument(kw, err, match):
    with pytest.raises(err, match=match):
        Dale(0.5, **kw)


def test_random_placement_that_silences_the_readout_is_refused():
    with pytest.raises(ValueError, match="drew no excitatory unit"):
        apply_constraints([Dale(0.01, placement="random")], 1, 3, 1, rng=0)
    s = apply_constraints([Dale(0.01, readout="all", placement="random")], 1, 3, 1, rng=0)
    assert np.all(s.dale_signs < 0)


def test_bad_option_values_in_weights_are_refused():
    w = initialize_weights(_spec(), 0)
    with pytest.raises(ValueError, match="dale_rectify must be 0 or 1"):
        validate_weights({**w, "dale_rectify": 2.0})
    with pytest.raises(ValueError, match="dale_signed_in"):
        effective_weights({**w, "dale_signed_in": np.ones(3)})
    with pytest.raises(ValueError, match="no PsychRNN equivalent"):
        write_psychrnn_weights("unused", w)


# ------------------------------------------------------------------ noise, spec, files
def test_noise_conventions_in_the_simulator():
    spec = _spec(train_tau=True, tau_range=(20.0, 300.0), rec_noise=0.3)
    w = initialize_weights(spec, 0)
    w["tau_raw"] = np.linspace(-2, 2, N_REC)
    rng = np.random.default_rng(1)
    x, xi = rng.standard_normal((2, 5, N_IN)), rng.standard_normal((2, 5, N_REC))
    quiet, _ = Simulator(spec, w).run_trials(x)
    s_psy = Simulator(spec, w)
    s_fix = Simulator(spec.replace(noise_convention="fixed"), w)
    _, st_psy = s_psy.run_trials(x, rec_noise=0.3, noise=xi)
    _, st_fix = s_fix.run_trials(x, rec_noise=0.3, noise=xi)
    _, st_quiet = s_fix.run_trials(x)
    np.testing.assert_allclose(st_fix[:, 0] - st_quiet[:, 0], 0.3 * xi[:, 0], atol=1e-12)
    np.testing.assert_allclose(st_psy[:, 0] - st_quiet[:, 0],
                               np.sqrt(2 * s_psy.alpha) * 0.3 * xi[:, 0], atol=1e-12)
    assert quiet.shape == (2, 5, N_OUT)


def test_noise_convention_is_checked_and_serialised(tmp_path):
    with pytest.raises(ValueError, match="noise_convention must be one of"):
        ModelSpec(noise_convention="spikernn")
    with pytest.raises(TypeError, match="noise_convention"):
        ModelSpec(noise_convention=None)
    spec = _spec(noise_convention="fixed", rec_noise=0.1, initializer="spikernn",
                 initializer_params={"w_dist": "gamma", "P_rec": 0.5})
    assert ModelSpec.from_json(spec.to_json()) == spec
    w = initialize_weights(spec, 3)
    path = save_weights(tmp_path / "opts", w, spec=spec)
    loaded, loaded_spec = load_weights(path)
    assert loaded_spec == spec and loaded_spec.noise_convention == "fixed"
    for key in ("dale_rectify", "dale_signed_in", "dale_signed_out"):
        assert float(loaded[key]) == 1.0
    # a spec JSON written before the field existed reads as PsychRNN's convention
    d = spec.to_dict()
    del d["noise_convention"]
    assert ModelSpec.from_dict(d).noise_convention == "psychrnn"


# ------------------------------------------------------------------ spikernn initialiser
@pytest.mark.parametrize("dale", [True, False])
def test_spikernn_gaussian_statistics(dale):
    N, p, gain = 400, 0.2, 1.5
    spec = ModelSpec(N_rec=N, N_in=2, N_out=1, dt=5.0, tau=50.0, initializer="spikernn",
                     initializer_params={"P_rec": p, "gain": gain},
                     constraints=(Dale(0.8, inputs="signed", readout="all", rectify="relu",
                                       placement="random"),) if dale else ())
    w = initialize_weights(spec, 11)
    W = w["W_rec"].astype(np.float64)
    nz = W[W != 0]
    assert abs(nz.size / W.size - p) < 4 * math.sqrt(p * (1 - p) / W.size)
    std = gain / math.sqrt(N * p)
    if dale:  # |N(0, std)|: mean std * sqrt(2 / pi), and no E/I balancing
        assert np.all(nz > 0)
        assert abs(nz.mean() / (std * math.sqrt(2 / math.pi)) - 1) < 0.03
    else:
        assert abs(nz.std() / std - 1) < 0.03 and abs(nz.mean()) < 4 * std / math.sqrt(nz.size)
    assert abs(np.std(w["W_in"]) - 1) < 0.1
    assert abs(np.std(w["W_out"]) - 0.01) < 0.003
    assert not np.any(w["b_rec"]) and not np.any(w["b_out"])


def test_spikernn_gamma_statistics_and_errors():
    N = 300
    spec = ModelSpec(N_rec=N, N_in=1, N_out=1, dt=5.0, tau=50.0, initializer="spikernn",
                     initializer_params={"w_dist": "gamma", "P_rec": 0.5})
    nz = initialize_weights(spec, 4)["W_rec"].astype(np.float64)
    nz = nz[nz != 0]
    assert abs(nz.mean() / (2 * 0.003) - 1) < 0.03  # Gamma(2, 0.003): mean 0.006
    assert abs(nz.var() / (2 * 0.003**2) - 1) < 0.1
    with pytest.raises(ValueError, match="w_dist must be one of"):
        get_initializer("spikernn", w_dist="uniform")
    with pytest.raises(ValueError, match="P_rec"):
        get_initializer("spikernn", P_rec=0.0)
    with pytest.raises(ValueError, match="architecture 'rnn' only"):
        initialize_weights(ModelSpec(N_rec=4, N_in=1, N_out=1, dt=1.0, tau=10.0,
                                     architecture="gru", initializer="spikernn"), 0)


def test_spikernn_initialiser_draws_from_the_generator_only():
    spec = _spec(initializer="spikernn")
    a, b = initialize_weights(spec, 9), initialize_weights(spec, 9)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["W_rec"], initialize_weights(spec, 10)["W_rec"])


# ------------------------------------------------------------------ backends vs Simulator
def _backend(name: str) -> type:
    try:
        cls = get_backend(name)
    except (ValueError, LookupError, ImportError) as exc:
        pytest.skip(f"backend {name!r} not installed: {exc}")
    if not cls.is_available()[0]:
        pytest.skip(f"backend {name!r} unavailable")
    return cls


def _option_spec(dtype: str) -> ModelSpec:
    return _spec(constraints=(SPIKERNN_DALE, InhibitorySubtype("som", count=1),
                              CellTypeRule("I", "som"), CellTypeRule("som", "som")),
                 train_tau=True, tau_range=(20.0, 300.0), rec_noise=0.2,
                 noise_convention="fixed", transfer_function="sigmoid", dtype=dtype,
                 L1_rec=0.01, L2_in=0.02, L2_out=0.03)


@pytest.mark.parametrize("backend", ["torch", "tensorflow", "jax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_backend_forward_matches_simulator_with_every_option(backend, dtype):
    cls = _backend(backend)
    spec = _option_spec(dtype)
    w = _with_negatives(initialize_weights(spec, 0), 3)
    w["tau_raw"] = np.linspace(-1.5, 1.5, N_REC)
    rng = np.random.default_rng(4)
    x, xi = rng.standard_normal((3, 7, N_IN)), rng.standard_normal((3, 7, N_REC))
    out, states = cls(spec, w, seed=0).forward(x.astype(dtype), xi.astype(dtype))
    ref_out, ref_states = Simulator(spec, w).run_trials(x, rec_noise=0.2, noise=xi)
    tol = 1e-5 if dtype == "float32" else 1e-10
    assert np.max(np.abs(out - ref_out)) < tol and np.max(np.abs(states - ref_states)) < tol


@pytest.mark.parametrize("backend", ["torch", "tensorflow", "jax"])
def test_backend_gradients_with_every_option(backend):
    cls = _backend(backend)
    spec = _option_spec("float64")
    w = _with_negatives(initialize_weights(spec, 0), 5)
    w["W_rec"][np.abs(w["W_rec"]) < 1e-3] = 0.5  # stay off relu's kink for the differences
    rng = np.random.default_rng(6)
    x, xi = rng.standard_normal((2, 5, N_IN)), rng.standard_normal((2, 5, N_REC))
    y, mask = rng.uniform(size=(2, 5, N_OUT)), np.ones((2, 5, N_OUT))
    impl = cls(spec, w, seed=0)
    if not hasattr(impl, "loss_and_gradients"):
        pytest.skip("no gradients exposed")
    value, grads = impl.loss_and_gradients(x, y, mask, xi)
    np.testing.assert_allclose(value, reference_objective(spec, w, x, y, mask, xi), rtol=1e-10)
    for key in ("W_in", "W_rec", "W_out", "tau_raw"):
        fd = central_differences(spec, w, key, x, y, mask, xi)
        np.testing.assert_allclose(grads[key], fd, rtol=1e-6, atol=1e-9, err_msg=key)
    negative = (w["W_rec"] < 0) & (w["rec_connectivity"] > 0)
    assert negative.any() and not np.any(grads["W_rec"][negative])  # relu: no gradient
