"""Optimiser and key state: export, import, and a run killed and resumed exactly."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("jax")

from jax_helpers import bound, data  # noqa: E402
from psychcore_jax import JaxBackend  # noqa: E402

import psychcore  # noqa: E402
from psychcore import ModelSpec, initialize_weights  # noqa: E402

TOTAL, KILL_AT, EVERY, N_BATCH = 40, 25, 10, 16

RUN = textwrap.dedent(
    """
    import os, signal, sys
    import psychcore
    from psychcore import ModelSpec

    def callback(status):
        if status.epoch == {kill_at}:
            os.kill(os.getpid(), signal.SIGKILL)

    task = psychcore.get_task("PerceptualDiscrimination")(dt=20, tau=100, T=600, N_batch={n})
    spec = ModelSpec(N_rec=16, dale_ratio=0.8, rec_noise=0.05)
    model = psychcore.Model(task, spec, backend="jax", seed=7)
    model.train(task, training_iters={total} * {n}, loss_epoch=1, checkpoint_path=sys.argv[1],
                checkpoint_epoch={every}, callback=callback, verbosity=False)
    """
)


def _train(model, task, epochs, path):
    model.train(task, training_iters=epochs * N_BATCH, loss_epoch=1, checkpoint_path=str(path),
                checkpoint_epoch=EVERY, verbosity=False)


def test_killed_run_resumes_with_identical_losses(tmp_path):
    task = psychcore.get_task("PerceptualDiscrimination")(dt=20, tau=100, T=600,
                                                          N_batch=N_BATCH)
    spec = ModelSpec(N_rec=16, dale_ratio=0.8, rec_noise=0.05)
    full = psychcore.Model(task, spec, backend="jax", seed=7)
    _train(full, task, TOTAL, tmp_path / "full")
    path = tmp_path / "killed"
    script = RUN.format(kill_at=KILL_AT, n=N_BATCH, total=TOTAL, every=EVERY)
    proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    resumed = psychcore.Model.from_checkpoint(path, backend="jax")
    assert resumed.epoch == KILL_AT // EVERY * EVERY
    _train(resumed, task, TOTAL - resumed.epoch, path)
    assert resumed.epoch == TOTAL
    np.testing.assert_array_equal(resumed.losses, full.losses)
    final, expected = resumed.get_weights(), full.get_weights()
    for key in expected:
        np.testing.assert_array_equal(final[key], expected[key], err_msg=key)


@pytest.mark.parametrize("optimizer, kwargs", [
    ("adam", {}), ("optax_adam", {}), ("adamw", {"weight_decay": 0.1}),
    ("sgd", {"momentum": 0.9}), ("rmsprop", {"momentum": 0.5}),
])
def test_training_state_round_trip(optimizer, kwargs):
    spec = bound(rec_noise=0.1, dale_ratio=0.75, train_tau=True, tau_range=(20.0, 200.0))
    weights = initialize_weights(spec, 0)
    batches = [data(i, n=4, steps=12) for i in range(6)]
    a = JaxBackend(spec, weights, seed=1)
    a.configure_optimizer(optimizer, 1e-2, True, **kwargs)
    for d in batches[:3]:
        a.train_step(d["x"], d["y"], d["mask"])
    state = a.get_training_state()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    b = JaxBackend(spec, initialize_weights(spec, 9), seed=2)
    b.set_weights(a.get_weights())
    b.configure_optimizer(optimizer, 1e-2, True, **kwargs)
    b.set_training_state(state)
    la = [a.train_step(d["x"], d["y"], d["mask"]) for d in batches[3:]]
    lb = [b.train_step(d["x"], d["y"], d["mask"]) for d in batches[3:]]
    assert la == lb and np.all(np.isfinite(la))
    wa, wb = a.get_weights(), b.get_weights()
    for key in wa:
        np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)


def test_training_state_names():
    spec = bound(W_out_train=False)
    backend = JaxBackend(spec, initialize_weights(spec, 0), seed=0)
    assert set(backend.get_training_state()) == {"rng/key"}
    backend.configure_optimizer("adam")
    d = data(0)
    backend.train_step(d["x"], d["y"], d["mask"])
    state = backend.get_training_state()
    trained = ("W_in", "W_rec", "b_rec", "b_out", "init_state")
    expected = {f"optimizer/{s}/{p}" for p in trained for s in ("m", "v")}
    assert set(state) == expected | {"optimizer/step", "rng/key"}
    assert state["rng/key"].dtype == np.uint32 and int(state["optimizer/step"]) == 1


def test_state_of_other_parameters_is_refused():
    spec = bound()
    a = JaxBackend(spec, initialize_weights(spec, 0))
    a.configure_optimizer("adam")
    d = data(0)
    a.train_step(d["x"], d["y"], d["mask"])
    frozen = bound(W_rec_train=False)
    b = JaxBackend(frozen, initialize_weights(frozen, 0))
    b.configure_optimizer("adam")
    with pytest.raises(ValueError, match="W_rec"):
        b.set_training_state(a.get_training_state())
    with pytest.raises(ValueError, match="rng/key"):
        b.set_training_state({"rng/key": np.zeros(3, np.uint32)})
