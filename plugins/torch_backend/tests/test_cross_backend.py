"""PyTorch and TensorFlow take the same Adam steps: float64 agreement to rounding error.

Over hundreds of steps, training on PerceptualDiscrimination amplifies rounding differences
(see ``psychcore repro``); step by step, the two implementations agree to ~1e-15.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

import psychcore  # noqa: E402
from psychcore import ModelSpec, initialize_weights  # noqa: E402


@pytest.mark.parametrize("kw", [{}, {"dale_ratio": 0.8, "autapses": False},
                                {"architecture": "lstm"}, {"architecture": "gru"}])
def test_five_adam_steps_agree_in_float64(kw):
    task = psychcore.get_task("PerceptualDiscrimination")(dt=20, tau=100, T=600, N_batch=16)
    spec = ModelSpec(N_rec=12, dtype="float64", **kw).bind(task)
    weights = initialize_weights(spec, 0)
    backends = [psychcore.get_backend(name)(spec, {k: v.copy() for k, v in weights.items()},
                                            seed=0) for name in ("torch", "tensorflow")]
    for b in backends:
        b.configure_optimizer("adam", 1e-2, True)
    rng = np.random.default_rng(1)
    for _ in range(5):
        x, y, mask, _ = task.get_trial_batch(rng)
        losses = [b.train_step(x, y, mask) for b in backends]
        np.testing.assert_allclose(losses[0], losses[1], rtol=1e-12)
    w_torch, w_tf = (b.get_weights() for b in backends)
    for key in ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state"):
        np.testing.assert_allclose(w_torch[key], w_tf[key], rtol=0, atol=1e-12, err_msg=key)
