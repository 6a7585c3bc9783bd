"""Constraints survive 200 training steps on a real task, whatever the optimiser does."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import psychcore  # noqa: E402
from psychcore import FixedWeights, ModelSpec, effective_weights  # noqa: E402

N_REC, STEPS = 20, 200


def _task():
    return psychcore.get_task("PerceptualDiscrimination")(dt=20, tau=100, T=600, N_batch=16,
                                                          seed=0)


def _spec():
    rng = np.random.default_rng(0)
    return ModelSpec(
        N_rec=N_REC,
        dale_ratio=0.8,
        autapses=False,
        rec_connectivity=(rng.uniform(size=(N_REC, N_REC)) < 0.7).astype(float),
        output_connectivity=(rng.uniform(size=(2, N_REC)) < 0.8).astype(float),
        constraints=(FixedWeights(W_rec=rng.uniform(size=(N_REC, N_REC)) < 0.3,
                                  W_in=rng.uniform(size=(N_REC, 2)) < 0.5),),
        b_out_train=False,
        init_state_train=False,
        train_tau=True,
        rec_noise=0.05,
    )


def _assert_constraints(w, w0):
    eff = effective_weights(w)
    signs = np.diag(w["Dale_rec"])
    assert np.all(eff["W_rec"] * signs[None, :] >= 0), "a Dale sign flipped"
    assert np.all(eff["W_out"][:, signs < 0] == 0), "an inhibitory unit reaches the output"
    assert np.all(eff["W_rec"][w["rec_connectivity"] == 0] == 0), "a masked W_rec entry moved"
    assert np.all(np.diag(eff["W_rec"]) == 0), "an autapse appeared"
    assert np.all(eff["W_out"][w["output_connectivity"] == 0] == 0)
    for key in ("W_in", "W_rec"):
        fixed = w[f"{key}_fixed"] == 1
        np.testing.assert_array_equal(w[key][fixed], w0[key][fixed], err_msg=f"fixed {key}")
    for key in ("b_out", "init_state"):
        np.testing.assert_array_equal(w[key], w0[key], err_msg=f"untrainable {key}")


@pytest.mark.parametrize(
    "optimizer, kwargs",
    [("adam", {}), ("SGD", {"momentum": 0.9, "weight_decay": 0.1}),
     ("adamw", {"weight_decay": 1.0})],
)
def test_constraints_hold_for_200_steps(optimizer, kwargs):
    task = _task()
    model = psychcore.Model(task, _spec(), backend="torch", seed=0)
    backend = model.backend
    w0 = backend.get_weights()
    backend.configure_optimizer(optimizer, 0.05, True, **kwargs)
    rng = np.random.default_rng(1)
    for step in range(STEPS):
        x, y, mask, _ = task.get_trial_batch(rng)
        backend.train_step(x, y, mask)
        if step % 20 == 19:
            _assert_constraints(backend.get_weights(), w0)
    w = backend.get_weights()
    for key in ("W_in", "W_rec", "W_out", "b_rec", "tau_raw"):
        assert not np.array_equal(w[key], w0[key]), f"{key} did not train"
    free = w["W_rec_fixed"] == 0
    assert not np.array_equal(w["W_rec"][free], w0["W_rec"][free])


def test_model_train_keeps_constraints():
    task = _task()
    model = psychcore.Model(task, _spec(), backend="torch", seed=1)
    w0 = model.get_weights()
    model.train(task, training_iters=STEPS * task.N_batch, learning_rate=0.02, verbosity=False)
    assert model.epoch == STEPS
    _assert_constraints(model.get_weights(), w0)


def test_fixed_entries_get_no_gradient_and_clipping_bounds_the_step():
    task = _task()
    model = psychcore.Model(task, _spec(), backend="torch", seed=2)
    backend = model.backend
    x, y, mask, _ = task.get_trial_batch()
    before = backend.get_weights()
    backend.configure_optimizer("sgd", 1.0, 1e-3)
    backend.train_step(x, y, mask)
    after = backend.get_weights()
    moved = [after[k] - before[k] for k in backend.net.trainable()]
    assert np.sqrt(sum(float(np.sum(m.astype(np.float64) ** 2)) for m in moved)) <= 1.001e-3
    _, grads = backend.loss_and_gradients(x, y, mask)
    # without clipping, SGD moves free entries by -lr * grad and fixed entries not at all
    backend.configure_optimizer("sgd", 1e-2, False)
    start = backend.get_weights()
    backend.train_step(x, y, mask, noise=None)
    end = backend.get_weights()
    fixed = start["W_in_fixed"] == 1
    np.testing.assert_array_equal(end["W_in"][fixed], start["W_in"][fixed])
    assert np.any(end["W_in"][~fixed] != start["W_in"][~fixed])
    assert np.any(grads["W_in"][fixed] != 0), "the true gradient of fixed entries is not zero"
