"""Forward pass, losses and regularisation against the NumPy reference (Simulator)."""

from __future__ import annotations

import numpy as np
import pytest

jnp = pytest.importorskip("jax.numpy")

from jax_helpers import ARCHITECTURES, bound, data, variants  # noqa: E402
from psychcore_jax import JaxBackend  # noqa: E402

from psychcore import Simulator, initialize_weights  # noqa: E402
from psychcore.testing import reference_objective  # noqa: E402

TOLERANCE = {"float32": 1e-5, "float64": 1e-10}


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - b)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("arch, variant", [(a, v) for a in ARCHITECTURES for v in variants(
    architecture=a)])
def test_forward_matches_simulator(arch, variant, dtype):
    spec = bound(architecture=arch, dtype=dtype, **variants(architecture=arch)[variant])
    weights = initialize_weights(spec, 7)
    d = data(0)
    out, states = JaxBackend(spec, weights, seed=0).forward(d["x"])
    ref_out, ref_states = Simulator(spec, weights).run_trials(d["x"])
    assert out.dtype == np.dtype(dtype) and states.dtype == np.dtype(dtype)
    assert _max_diff(out, ref_out) < TOLERANCE[dtype]
    assert _max_diff(states, ref_states) < TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("transfer", ["relu", "tanh", "sigmoid", "softplus", "linear"])
def test_rate_rnn_transfer_functions_and_given_noise(transfer, dtype):
    spec = bound(transfer_function=transfer, rec_noise=0.2, dale_ratio=0.75, dtype=dtype)
    weights = initialize_weights(spec, 3)
    d = data(1)
    out, states = JaxBackend(spec, weights, seed=0).forward(d["x"], d["noise"])
    ref_out, ref_states = Simulator(spec, weights).run_trials(d["x"], rec_noise=0.2,
                                                              noise=d["noise"])
    assert _max_diff(out, ref_out) < TOLERANCE[dtype]
    assert _max_diff(states, ref_states) < TOLERANCE[dtype]


def test_drawn_noise_is_seeded_and_used():
    spec = bound(rec_noise=0.3)
    weights = initialize_weights(spec, 0)
    x = data(2)["x"]
    a, b = JaxBackend(spec, weights, seed=5), JaxBackend(spec, weights, seed=5)
    first = a.forward(x)[0]
    np.testing.assert_array_equal(first, b.forward(x)[0])
    assert not np.array_equal(first, a.forward(x)[0]), "draws must continue between calls"
    assert not np.array_equal(first, JaxBackend(spec, weights, seed=6).forward(x)[0])
    quiet = Simulator(spec, weights).run_trials(x)[0]
    assert _max_diff(first, quiet) > 1e-3, "the noise had no effect"


def abs_loss(z, y, mask):
    """A user loss written with jax.numpy (it sees traced JAX arrays)."""
    return jnp.mean(jnp.abs(mask * (z - y)))


def custom_reg(weights, states):
    """A user regulariser: works on NumPy arrays and JAX arrays alike."""
    return 0.01 * (weights["W_rec"] ** 2).sum() + 0.1 * (states**2).mean()


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("kw", [
    {"loss": "mean_squared_error", "L1_rec": 0.01, "L2_in": 0.1, "L2_out": 0.05,
     "L2_firing_rate": 0.1, "L1_out": 0.02, "L1_in": 0.03, "L2_rec": 0.04},
    {"loss": "binary_cross_entropy"},
    {"loss": "cross_entropy", "custom_regularization": custom_reg},
], ids=["mse-all-regularisers", "bce", "ce-custom-regulariser"])
def test_objective_matches_reference(arch, kw):
    spec = bound(architecture=arch, dtype="float64", dale_ratio=0.75, **kw)
    weights = initialize_weights(spec, 4)
    d = data(3)
    value, _ = JaxBackend(spec, weights).loss_and_gradients(d["x"], d["y"], d["mask"])
    expected = reference_objective(spec, weights, d["x"], d["y"], d["mask"])
    np.testing.assert_allclose(value, expected, rtol=1e-12)


def test_callable_loss_sees_jax_arrays():
    spec = bound(loss=abs_loss, dtype="float64")
    weights = initialize_weights(spec, 5)
    d = data(4)
    value, _ = JaxBackend(spec, weights).loss_and_gradients(d["x"], d["y"], d["mask"])
    out, _ = Simulator(spec, weights).run_trials(d["x"])
    np.testing.assert_allclose(value, np.mean(np.abs(d["mask"] * (out - d["y"]))), rtol=1e-12)


def test_callable_loss_returning_a_number_is_refused():
    spec = bound(loss=lambda z, y, mask: 1.0)
    backend = JaxBackend(spec, initialize_weights(spec, 0))
    d = data(5)
    with pytest.raises(TypeError, match="scalar JAX array"):
        backend.loss_and_gradients(d["x"], d["y"], d["mask"])
