"""PyTorch and TensorFlow take the same Adam steps: agreement to rounding error.

Over hundreds of free-running steps, training on PerceptualDiscrimination amplifies rounding
differences (see ``psychcore._repro``); step by step the two implementations agree to ~1e-15
in float64, and over 200 steps with restarts every ten (the reproducibility check's default)
to the documented tolerances.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

import psychcore  # noqa: E402
from psychcore import ModelSpec, check_reproducibility, initialize_weights  # noqa: E402
from psychcore.testing import REPRO_TOLERANCES as TOLERANCES  # noqa: E402


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


CONFIGS = {
    "rnn-dale-masks": {"dale_ratio": 0.8, "autapses": False,
                       "rec_connectivity": (np.random.default_rng(3).uniform(size=(50, 50))
                                            > 0.2).astype(float)},
    "lstm": {"architecture": "lstm"},
    "gru": {"architecture": "gru"},
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_200_adam_steps_agree_at_every_epoch(config, dtype):
    """The acceptance test of `psychcore repro`: both backends, 200 Adam steps, every
    recorded loss, every weight update and the final weights within the documented
    tolerances (float64: 1e-9)."""
    # the gated networks on trials of 100 steps (T=1000): the same check at half the cost
    T = 2000 if config.startswith("rnn") else 1000
    task = psychcore.get_task("PerceptualDiscrimination")(dt=10, tau=100, T=T, N_batch=32)
    spec = ModelSpec(N_rec=50, dtype=dtype, **CONFIGS[config])
    report = check_reproducibility(task, spec, ["torch", "tensorflow"], steps=200,
                                   loss_epoch=10, sensitivity=False, n_test=16)
    assert report.ok, report.format()
    tol = TOLERANCES[dtype]
    torch_run, tf_run = report.runs
    assert len(torch_run.losses) == 20
    np.testing.assert_allclose(tf_run.losses, torch_run.losses, rtol=tol["losses"])
    for key in ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state"):
        scale = np.max(np.abs(torch_run.weights[key]))
        np.testing.assert_allclose(tf_run.weights[key], torch_run.weights[key], rtol=0,
                                   atol=tol["weights"] * scale, err_msg=key)
    if dtype == "float64":
        assert max(tol.values()) == 1e-9
    # the network learned in those 200 steps, and the Dale signs held on both backends
    assert torch_run.losses[-1] < 0.7 * torch_run.losses[0]
    if config == "rnn-dale-masks":
        for run in report.runs:
            w = run.weights
            eff = psychcore.get_effective_W_rec(w)
            signs = np.diag(w["Dale_rec"])
            assert np.all(eff[:, signs > 0] >= 0) and np.all(eff[:, signs < 0] <= 0)
            assert np.all(eff[w["rec_connectivity"] == 0] == 0) and not np.any(np.diag(eff))


def test_free_running_float32_drifts_as_far_as_one_backend_alone():
    """Why restarts are the default: without them, 200 float32 steps on PerceptualDiscrimination
    drift apart, and about as far as one backend started 1 ulp away from itself."""
    task = psychcore.get_task("PerceptualDiscrimination")(dt=10, tau=100, T=2000, N_batch=64)
    report = check_reproducibility(task, ModelSpec(N_rec=50), ["torch", "tensorflow"],
                                   steps=200, sync_every=0, n_test=16)
    final = next(c for c in report.comparisons if c.what == "final weights")
    assert not final.ok and not report.input_mismatches
    assert report.sensitivity.weights > 0.1 * final.difference
