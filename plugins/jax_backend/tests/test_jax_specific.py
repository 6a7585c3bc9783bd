"""What only this backend has: devices, compilation reuse and notes, optax optimisers."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

optax = pytest.importorskip("optax")

from jax_helpers import bound, data  # noqa: E402
from psychcore_jax import JaxBackend, optimizer_names  # noqa: E402

from psychcore import initialize_weights  # noqa: E402


@pytest.mark.parametrize("device, error, match", [
    ("tpu", ValueError, "not a device the jax backend knows"),
    ("cuda:7", ValueError, "JAX sees"),
    (3, TypeError, "device must be a string"),
])
def test_bad_devices_are_refused(device, error, match):
    spec = bound()
    with pytest.raises(error, match=match):
        JaxBackend(spec, initialize_weights(spec, 0), device=device)


def test_cpu_device_and_repr():
    spec = bound()
    backend = JaxBackend(spec, initialize_weights(spec, 0), device="CPU")
    assert backend.device == "cpu" and "device='cpu'" in repr(backend)


def test_new_shapes_compile_once_and_say_so(capsys):
    spec = bound(13)  # a structure no other test compiles
    backend = JaxBackend(spec, initialize_weights(spec, 0), verbose=True)
    backend.configure_optimizer("adam", 1e-3)
    for steps in (12, 12, 20, 12):
        d = data(0, n=4, steps=steps)
        backend.train_step(d["x"], d["y"], d["mask"])
    lines = [line for line in capsys.readouterr().err.splitlines() if "training step" in line]
    assert [line.split(" (")[0] for line in lines] == [
        "psychcore_jax: compiled the training step for N_batch=4, N_steps=12",
        "psychcore_jax: compiled the training step for N_batch=4, N_steps=20",
    ]


def test_verbose_must_be_a_bool():
    spec = bound()
    with pytest.raises(TypeError, match="verbose must be True or False"):
        JaxBackend(spec, initialize_weights(spec, 0), verbose="yes")


def test_optimizer_names_and_forms():
    names = optimizer_names()
    assert {"adam", "optax_adam", "sgd", "adamw", "rmsprop"} <= set(names)
    assert "lbfgs" not in names
    spec = bound()
    weights = initialize_weights(spec, 0)
    d = data(1)
    losses = {}
    for label, opt, kw in [("name", "adamw", {"weight_decay": 0.1}),
                           ("optax function", optax.adamw, {"weight_decay": 0.1}),
                           ("factory", lambda params, lr, **k: optax.adamw(lr, **k),
                            {"weight_decay": 0.1})]:
        backend = JaxBackend(spec, weights, seed=0)
        backend.configure_optimizer(opt, 1e-2, **kw)
        losses[label] = [backend.train_step(d["x"], d["y"], d["mask"]) for _ in range(3)]
    assert losses["name"] == losses["optax function"] == losses["factory"]
    backend = JaxBackend(spec, weights)
    with pytest.raises(TypeError, match="GradientTransformation"):
        backend.configure_optimizer(lambda params, lr: "not an optimiser")
    with pytest.raises(TypeError, match="'sgd'"):
        backend.configure_optimizer("sgd", 1e-2, no_such_argument=1)


def test_adam_is_the_other_backends_adam():
    """Two steps of "adam" by hand (PsychRNN's update) against the backend."""
    spec = bound(dtype="float64")
    weights = initialize_weights(spec, 2)
    d = data(2)
    backend = JaxBackend(spec, weights)
    backend.configure_optimizer("adam", 1e-2, clip_grads=False)
    w = {k: backend.get_weights()[k] for k in backend.trainable}
    m = {k: np.zeros_like(v) for k, v in w.items()}
    v = {k: np.zeros_like(x) for k, x in w.items()}
    for t in (1, 2):
        _, grads = backend.loss_and_gradients(d["x"], d["y"], d["mask"])
        backend.train_step(d["x"], d["y"], d["mask"])
        lr = float(np.float32(1e-2)) * np.sqrt(1 - float(np.float32(0.999))**t) / (
            1 - float(np.float32(0.9))**t)
        for k, g in grads.items():
            m[k] += (g - m[k]) * (1 - 0.9)
            v[k] += (g * g - v[k]) * (1 - 0.999)
            w[k] = w[k] - m[k] * lr / (np.sqrt(v[k]) + 1e-8)
    got = backend.get_weights()
    for k in w:
        np.testing.assert_allclose(got[k], w[k], rtol=1e-12, atol=1e-15, err_msg=k)


def test_backends_built_alike_share_compilations():
    spec = bound(dale_ratio=0.8)
    a = JaxBackend(spec, initialize_weights(spec, 0))
    b = JaxBackend(spec, initialize_weights(spec, 1))  # other masks' values, same structure
    assert a._fn is b._fn


STEP = """
import psychcore
from psychcore import ModelSpec
task = psychcore.get_task("PerceptualDiscrimination")(dt=20, tau=100, T=400, N_batch=8)
model = psychcore.Model(task, ModelSpec(N_rec=9), backend="jax", seed=0)
model.train(task, training_iters=16, verbosity=False)
"""


@pytest.mark.parametrize("setting, stored", [("cache", True), ("0", False)])
def test_compiled_steps_are_kept_on_disk_unless_switched_off(tmp_path, setting, stored):
    cache = tmp_path / "cache"
    env = {**os.environ, "PSYCHCORE_JAX_CACHE": str(cache) if setting == "cache" else setting,
           "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    subprocess.run([sys.executable, "-c", STEP], env=env, check=True, timeout=120,
                   capture_output=True)
    kept = list(cache.rglob("*")) if cache.exists() else []
    assert bool(kept) == stored
    assert not (tmp_path / "xdg").exists()  # never the default place when a setting is given


def test_results_are_writable_numpy_copies():
    spec = bound()
    backend = JaxBackend(spec, initialize_weights(spec, 0))
    out, states = backend.forward(data(0)["x"])
    out[0], states[0] = 1.0, 1.0  # a view of a JAX buffer would be read-only
    d = data(1)
    _, grads = backend.loss_and_gradients(d["x"], d["y"], d["mask"])
    grads["W_rec"][0] = 0.0
