"""Gradients against central differences of the NumPy reference loss (float64, tiny networks).

The backend's gradient is read off one plain SGD step with learning rate 1 and no clipping:
``grad = w_before - w_after``.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tf_helpers import bound, data, lively_weights  # noqa: E402

from psychcore import FixedWeights, Simulator  # noqa: E402
from psychcore.equations import loss, regularization  # noqa: E402

N_IN, N_REC, N_OUT = 2, 5, 2
EPS = 1e-6


def _reference_loss(spec, w, x, y, mask, noise) -> float:
    out, states = Simulator(spec, w).run_trials(x, rec_noise=spec.rec_noise, noise=noise)
    return loss(spec.loss, out, y, mask) + regularization(spec, w, states)


def _numeric_gradient(spec, w, key, x, y, mask, noise) -> np.ndarray:
    grad = np.zeros_like(w[key])
    for idx in np.ndindex(w[key].shape):
        values = []
        for sign in (1.0, -1.0):
            shifted = {k: v.copy() for k, v in w.items()}
            shifted[key][idx] += sign * EPS
            values.append(_reference_loss(spec, shifted, x, y, mask, noise))
        grad[idx] = (values[0] - values[1]) / (2 * EPS)
    return grad


def _spec(arch: str, loss_name: str):
    rng = np.random.default_rng(4)
    kw = {"dale_ratio": 0.6, "autapses": False,
          "rec_connectivity": rng.uniform(size=(N_REC, N_REC)) > 0.25,
          "output_connectivity": rng.uniform(size=(N_OUT, N_REC)) > 0.2,
          "constraints": (FixedWeights(W_in=rng.uniform(size=(N_REC, N_IN)) > 0.6),),
          "L1_rec": 0.01, "L2_out": 0.02, "L2_firing_rate": 0.03}
    if arch == "rnn":
        kw.update(train_tau=True, tau_range=(15.0, 300.0), rec_noise=0.1,
                  transfer_function="softplus")
    return bound(N_REC, N_IN, N_OUT, architecture=arch, dtype="float64", loss=loss_name, **kw)


@pytest.mark.parametrize(("arch", "loss_name"), [
    ("rnn", "mean_squared_error"), ("rnn", "binary_cross_entropy"), ("rnn", "cross_entropy"),
    ("lstm", "mean_squared_error"), ("gru", "mean_squared_error"),
])
def test_gradient_matches_finite_differences(backend_cls, arch, loss_name):
    spec = _spec(arch, loss_name)
    w = lively_weights(spec, seed=2)
    x, y, mask, noise = data(spec, n=3, steps=6, seed=1)
    noise = noise if arch == "rnn" else None
    backend = backend_cls(spec, w, seed=0)
    value, grads = backend.loss_and_gradients(x, y, mask, noise)
    np.testing.assert_allclose(value, _reference_loss(spec, w, x, y, mask, noise), rtol=1e-12)
    keys = ["W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state"]
    keys += ["tau_raw"] if arch == "rnn" else []
    keys += ["init_cell"] if arch == "lstm" else []
    assert sorted(grads) == sorted(keys)
    for key in keys:
        expected = _numeric_gradient(spec, w, key, x, y, mask, noise)
        assert np.abs(expected).max() > 0, key
        np.testing.assert_allclose(grads[key], expected, rtol=1e-5, atol=1e-8, err_msg=key)

    # one plain SGD step (learning rate 1, no clipping) moves by the gradient, fixed entries
    # excepted
    backend.configure_optimizer("sgd", 1.0, False)
    backend.train_step(x, y, mask, noise)
    after = backend.get_weights()
    fixed = w["W_in_fixed"] != 0
    assert fixed.any() and (~fixed).any()
    for key in keys:
        step = w[key] - after[key]
        expected = np.where(fixed, 0.0, grads[key]) if key == "W_in" else grads[key]
        np.testing.assert_allclose(step, expected, rtol=1e-9, atol=1e-12, err_msg=key)
    np.testing.assert_array_equal(after["W_in"][fixed], w["W_in"][fixed])
