"""spikeRNN's saved networks imported with ``spikernn_to_psychcore``: the forward pass matches
spikeRNN's own outputs on the Simulator and on every installed backend, without rewriting.

The fixtures and how their reference outputs were made: tests/data/spikernn/README.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")

from psychcore import Simulator, get_backend, load_weights, save_weights  # noqa: E402
from psychcore.spiking import (  # noqa: E402
    RateNetwork,
    rate_forward,
    spikernn_constraints,
    spikernn_to_psychcore,
)

DATA = Path(__file__).parent / "data" / "spikernn"
NETWORKS = ("gonogo_som", "gonogo_nosom")
BACKENDS = ("torch", "tensorflow", "jax")


def _backend(name: str) -> type:
    try:
        cls = get_backend(name)
    except (ValueError, LookupError, ImportError) as exc:
        pytest.skip(f"backend {name!r} not installed: {exc}")
    ok, why = cls.is_available()
    if not ok:
        pytest.skip(f"backend {name!r} unavailable: {why}")
    return cls


def _trial(name: str, trial: str, weights: dict) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Weights with spikeRNN's x_0, inputs, noise draws and outputs of one reference trial."""
    ref = np.load(DATA / f"{name}_reference.npz")
    draws = np.random.default_rng(int(ref[f"rate_{trial}_seed"])).standard_normal(
        (200, 100)).astype(np.float32)
    w = dict(weights)
    w["init_state"] = (draws[0] / np.float32(100))[np.newaxis]  # spikeRNN's x_0 = randn / 100
    x = ref[f"rate_{trial}_u"][:, :199].T[np.newaxis].astype(np.float64)
    return w, x, draws[1:][np.newaxis], ref[f"rate_{trial}_outputs"]


@pytest.fixture(scope="module", params=NETWORKS)
def imported(request):
    return request.param, *spikernn_to_psychcore(DATA / f"{request.param}.mat")


def test_import_describes_the_saved_network(imported):
    name, spec, w = imported
    assert spec.noise_convention == "fixed" and spec.rec_noise == 0.1
    assert spec.transfer_function == "sigmoid" and spec.dt == 5.0
    assert spec.tau_range == (20.0, 100.0) and spec.train_tau and not spec.W_in_train
    assert float(w["dale_rectify"]) == float(w["dale_signed_in"]) == 1.0
    assert float(w["dale_signed_out"]) == 1.0
    np.testing.assert_array_equal(w["Dale_out"], np.eye(100))
    assert np.any(w["W_rec"] < 0), "the fixture should exercise relu against abs"
    som = name == "gonogo_som"
    assert (np.count_nonzero(w["rec_connectivity"] == 0) > 0) == som
    assert len(spec.constraints) == (4 if som else 1)


@pytest.mark.parametrize("trial", ["go", "nogo"])
def test_simulator_matches_spikernn(imported, trial):
    name, spec, weights = imported
    w, x, noise, expected = _trial(name, trial, weights)
    out, _ = Simulator(spec, w).run_trials(x, rec_noise=spec.rec_noise,
                                           noise=noise.astype(np.float64))
    assert np.max(np.abs(out[0, :, 0] - expected)) < 1e-5


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_match_spikernn(imported, backend):
    cls = _backend(backend)
    name, spec, weights = imported
    for trial in ("go", "nogo"):
        w, x, noise, expected = _trial(name, trial, weights)
        out, _ = cls(spec, w, seed=0).forward(x.astype(np.float32), noise)
        assert out.dtype == np.float32
        assert np.max(np.abs(out[0, :, 0] - expected)) < 1e-5, (backend, trial)


def test_spiking_description_and_rate_forward_agree(imported):
    name, spec, weights = imported
    w, x, noise, expected = _trial(name, "go", weights)
    net = RateNetwork.from_weights(spec, w)
    assert net.rectify == "relu"
    direct = RateNetwork.from_spikernn(DATA / f"{name}.mat")
    np.testing.assert_allclose(net.recurrent_weights(), direct.recurrent_weights(), atol=1e-7)
    out, _ = rate_forward(net, x, x0=w["init_state"][0], noise=0.1 * noise.astype(np.float64))
    assert np.max(np.abs(out[0, :, 0] - expected)) < 1e-5


def test_saved_and_loaded_import_runs_the_same(imported, tmp_path):
    name, spec, weights = imported
    w, x, noise, _ = _trial(name, "nogo", weights)
    path = save_weights(tmp_path / "net", w, spec=spec)
    loaded, loaded_spec = load_weights(path)
    assert loaded_spec == spec
    for key in ("dale_rectify", "dale_signed_in", "dale_signed_out"):
        assert float(loaded[key]) == 1.0
    before, _ = Simulator(spec, w).run_trials(x, rec_noise=0.1, noise=noise.astype(float))
    after = Simulator.from_file(path).run_trials(x, rec_noise=0.1, noise=noise.astype(float))[0]
    np.testing.assert_array_equal(before, after)


def test_without_the_options_the_outputs_differ(imported):
    """The options matter: PsychRNN's conventions on the same arrays give other outputs."""
    name, spec, weights = imported
    w, x, noise, expected = _trial(name, "go", weights)
    plain = {k: v for k, v in w.items() if k not in ("dale_rectify", "dale_signed_out")}
    out, _ = Simulator(spec, plain).run_trials(x, rec_noise=0.1, noise=noise.astype(float))
    assert np.max(np.abs(out[0, :, 0] - expected)) > 1e-3
    scaled = spec.replace(noise_convention="psychrnn")
    out, _ = Simulator(scaled, w).run_trials(x, rec_noise=0.1, noise=noise.astype(float))
    assert np.max(np.abs(out[0, :, 0] - expected)) > 1e-3


def test_import_errors_name_the_problem(tmp_path):
    import scipy.io

    with pytest.raises(FileNotFoundError, match="does not exist"):
        spikernn_to_psychcore(tmp_path / "missing.mat")
    with pytest.raises(TypeError, match="path must be"):
        spikernn_to_psychcore(3)
    with pytest.raises(TypeError, match="apply_dale"):
        spikernn_to_psychcore(DATA / "gonogo_som.mat", apply_dale="yes")
    scipy.io.savemat(tmp_path / "other.mat", {"w": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="not a spikeRNN model file.*lacks"):
        spikernn_to_psychcore(tmp_path / "other.mat")
    data = scipy.io.loadmat(DATA / "gonogo_nosom.mat")
    data = {k: v for k, v in data.items() if not k.startswith("__")}
    scipy.io.savemat(tmp_path / "softplus.mat", {**data, "activation": "softplus"})
    with pytest.raises(ValueError, match="activation 'softplus'"):
        spikernn_to_psychcore(tmp_path / "softplus.mat")
    scipy.io.savemat(tmp_path / "bad_m.mat", {**data, "m": np.ones((100, 100))})
    with pytest.raises(ValueError, match="'m' must be a diagonal"):
        spikernn_to_psychcore(tmp_path / "bad_m.mat")


def test_apply_dale_false_reads_the_raw_weights():
    spec, w = spikernn_to_psychcore(DATA / "gonogo_nosom.mat", apply_dale=False)
    assert np.isnan(float(w["dale_ratio"])) and "dale_rectify" not in w
    assert spec.constraints == ()


def test_spikernn_constraints_checks_its_arguments():
    assert len(spikernn_constraints(0.2, 0)) == 1
    with pytest.raises(ValueError, match="P_inh"):
        spikernn_constraints(1.0)
    with pytest.raises(ValueError, match="som_N"):
        spikernn_constraints(0.2, -1)
    with pytest.raises(TypeError, match="som_N"):
        spikernn_constraints(0.2, 1.5)
