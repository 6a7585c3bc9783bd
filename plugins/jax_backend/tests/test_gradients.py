"""JAX's gradients against central differences of the NumPy reference objective (float64)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax")

from jax_helpers import ARCHITECTURES, bound, data, variants  # noqa: E402
from psychcore_jax import JaxBackend  # noqa: E402

from psychcore import initialize_weights  # noqa: E402
from psychcore.backend import PARAMETERS  # noqa: E402
from psychcore.testing import central_differences, reference_objective  # noqa: E402

N_REC, STEPS = 5, 6


def _check(spec, seed=0):
    weights = initialize_weights(spec, seed)
    d = data(seed, n=3, steps=STEPS, n_rec=N_REC)
    noise = d["noise"] if spec.rec_noise > 0 else None
    value, grads = JaxBackend(spec, weights).loss_and_gradients(d["x"], d["y"], d["mask"],
                                                                noise)
    np.testing.assert_allclose(
        value, reference_objective(spec, weights, d["x"], d["y"], d["mask"], noise),
        rtol=1e-12)
    assert set(grads) == {k for k in weights if k in PARAMETERS}
    for key, g in grads.items():
        fd = central_differences(spec, weights, key, d["x"], d["y"], d["mask"], noise)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9, err_msg=key)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_plain(arch):
    _check(bound(N_REC, architecture=arch, dtype="float64"))


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_dale_masks_tau_regularisation(arch):
    kw = dict(variants(N_REC)["dale_masks_no_autapses"])
    kw.update(L1_rec=0.01, L2_in=0.1, L2_out=0.05, L2_firing_rate=0.1)
    if arch == "rnn":
        kw.update(train_tau=True, tau_range=(20.0, 200.0), rec_noise=0.1,
                  transfer_function="softplus")
    _check(bound(N_REC, architecture=arch, dtype="float64", **kw), seed=1)


@pytest.mark.parametrize("loss_name", ["binary_cross_entropy", "cross_entropy"])
def test_other_losses(loss_name):
    _check(bound(N_REC, loss=loss_name, dtype="float64", transfer_function="tanh"), seed=2)
