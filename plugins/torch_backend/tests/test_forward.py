"""Forward pass, losses and regularisation against the NumPy reference (Simulator)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from psychcore_torch import TorchBackend  # noqa: E402
from torch_helpers import ARCHITECTURES, bound, data, variants  # noqa: E402

from psychcore import Simulator, initialize_weights  # noqa: E402
from psychcore.equations import loss, regularization  # noqa: E402

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
    out, states = TorchBackend(spec, weights, seed=0).forward(d["x"])
    ref_out, ref_states = Simulator(spec, weights).run_trials(d["x"])
    assert out.dtype == np.dtype(dtype) and states.dtype == np.dtype(dtype)
    assert _max_diff(out, ref_out) < TOLERANCE[dtype]
    assert _max_diff(states, ref_states) < TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("transfer", ["relu", "tanh", "sigmoid", "softplus", "linear"])
def test_rate_rnn_transfer_functions_and_noise(transfer, dtype):
    spec = bound(transfer_function=transfer, rec_noise=0.2, dale_ratio=0.75, dtype=dtype)
    weights = initialize_weights(spec, 3)
    d = data(1)
    out, states = TorchBackend(spec, weights, seed=0).forward(d["x"], d["noise"])
    ref_out, ref_states = Simulator(spec, weights).run_trials(d["x"], rec_noise=0.2,
                                                              noise=d["noise"])
    assert _max_diff(out, ref_out) < TOLERANCE[dtype]
    assert _max_diff(states, ref_states) < TOLERANCE[dtype]


def test_drawn_noise_is_seeded_and_used():
    spec = bound(rec_noise=0.3)
    weights = initialize_weights(spec, 0)
    x = data(2)["x"]
    a, b = TorchBackend(spec, weights, seed=5), TorchBackend(spec, weights, seed=5)
    first = a.forward(x)[0]
    np.testing.assert_array_equal(first, b.forward(x)[0])
    assert not np.array_equal(first, a.forward(x)[0]), "draws must continue between calls"
    quiet = Simulator(spec, weights).run_trials(x)[0]
    assert _max_diff(first, quiet) > 1e-3, "the noise had no effect"


@pytest.mark.parametrize("n", [1, 4, 33])
def test_any_number_of_trials(n):
    spec = bound(architecture="gru")
    out, states = TorchBackend(spec, initialize_weights(spec, 0)).forward(data(3, n=n)["x"])
    assert out.shape == (n, 30, 2) and states.shape == (n, 30, 12)


def abs_loss(z, y, mask):
    """A user loss written so that it runs on NumPy arrays and torch tensors alike."""
    return abs(mask * (z - y)).mean()


def custom_reg(weights, states):
    """A user regulariser: works on NumPy arrays and torch tensors alike."""
    return 0.01 * (weights["W_rec"] ** 2).sum() + 0.1 * (states**2).mean()


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize(
    "kw",
    [
        {"loss": "mean_squared_error"},
        {"loss": "binary_cross_entropy"},
        {"loss": "cross_entropy"},
        {"loss": abs_loss},
        {"dale_ratio": 0.75, "L1_in": 0.1, "L2_in": 0.2, "L1_rec": 0.3, "L2_rec": 0.4,
         "L1_out": 0.5, "L2_out": 0.6, "L2_firing_rate": 0.7},
        {"custom_regularization": custom_reg, "L2_firing_rate": 0.1},
    ],
    ids=["mse", "bce", "ce", "callable", "l1_l2", "custom"],
)
def test_loss_matches_reference(kw, arch):
    spec = bound(architecture=arch, dtype="float64", **kw)
    weights = initialize_weights(spec, 4)
    d = data(5)
    value, _ = TorchBackend(spec, weights).loss_and_gradients(d["x"], d["y"], d["mask"])
    out, states = Simulator(spec, weights).run_trials(d["x"])
    expected = loss(spec.loss, out, d["y"], d["mask"]) + regularization(spec, weights, states)
    np.testing.assert_allclose(value, expected, rtol=1e-10)


def test_cross_entropy_with_empty_mask_is_zero():
    spec = bound(loss="cross_entropy", dtype="float64")
    d = data(6)
    value, grads = TorchBackend(spec, initialize_weights(spec, 0)).loss_and_gradients(
        d["x"], d["y"], np.zeros_like(d["mask"]))
    assert value == 0.0
    assert all(np.all(g == 0) for g in grads.values())
