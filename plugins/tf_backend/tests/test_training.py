"""Training through psychcore.Model: the hello world, curricula, files, several models."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tf_helpers import bound, data, lively_weights  # noqa: E402

import psychcore  # noqa: E402
from psychcore import Curriculum, Model, ModelSpec  # noqa: E402

HELLO = {"dt": 10, "tau": 100, "T": 2000, "N_batch": 128}


def _task(**kw):
    return psychcore.get_task("PerceptualDiscrimination")(**{**HELLO, **kw})


def test_hello_world_reaches_90_percent():
    task = _task()
    model = psychcore.Model(task, ModelSpec(N_rec=50, dale_ratio=0.8), backend="tensorflow",
                            seed=0)
    losses, training_time, initialization_time = model.train(
        task, training_iters=100_000, performance_cutoff=0.95, verbosity=False)
    assert model.epoch < 100_000 / 128, "the performance cutoff was never reached"
    assert len(losses) == model.epoch // 10 and losses[-1] < losses[0]
    assert training_time > 0 and initialization_time > 0
    x, y, mask, _ = task.get_trial_batch(rng=2024, N_batch=1024)
    outputs, states = model.test(x)
    assert outputs.shape == (1024, 200, 2) and states.shape == (1024, 200, 50)
    assert task.accuracy_function(y, outputs, mask) >= 0.9


def test_curriculum_advances_through_coherences():
    stages = [_task(T=1000, N_batch=64, coherence=c) for c in (0.7, 0.5, 0.3, 0.1)]
    curriculum = Curriculum(stages, thresholds=[0.9] * 4, metric_epoch=10)
    model = Model(stages[0], ModelSpec(N_rec=50, dale_ratio=0.8), backend="tensorflow",
                  seed=0)
    model.train(curriculum, training_iters=64 * 600, verbosity=False)
    assert curriculum.stop_training
    assert [h.stage for h in curriculum.history] == [0, 1, 2, 3]
    epochs = [h.epoch for h in curriculum.history]
    assert epochs == sorted(epochs) and epochs[-1] == model.epoch < 600
    assert all(h.metric >= 0.9 for h in curriculum.history)


def _small(seed=0, **kw):
    task = _task(T=300, N_batch=16, **kw)
    return task, Model(task, ModelSpec(N_rec=12, dale_ratio=0.8, rec_noise=0.05),
                       backend="tensorflow", seed=seed)


def test_save_load_round_trip(tmp_path):
    task, model = _small()
    model.train(task, training_iters=16 * 5, verbosity=False)
    model.save(tmp_path / "net")
    loaded = Model.load(tmp_path / "net", backend="tensorflow")
    x = task.get_trial_batch(rng=1)[0]
    noise = np.random.default_rng(2).standard_normal((16, 30, 12)).astype(np.float32)
    np.testing.assert_array_equal(loaded.test(x, noise)[0], model.test(x, noise)[0])
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(loaded.get_weights()[key], value, err_msg=key)


def test_second_train_call_continues_and_seeds_reproduce():
    task, a = _small()
    _, b = _small()
    la = a.train(task, training_iters=16 * 6, loss_epoch=1, verbosity=False)[0]
    la += a.train(task, training_iters=16 * 6, loss_epoch=1, verbosity=False)[0]
    lb = b.train(task, training_iters=16 * 12, loss_epoch=1, verbosity=False)[0]
    assert la == lb and a.epoch == 12
    _, c = _small(seed=1)
    assert c.train(task, training_iters=16 * 12, loss_epoch=1, verbosity=False)[0] != la


def test_two_models_side_by_side_match_models_trained_alone():
    task, alone_a = _small(seed=3)
    _, alone_b = _small(seed=4)
    ref_a = alone_a.train(task, training_iters=16 * 8, loss_epoch=1, verbosity=False)[0]
    ref_b = alone_b.train(task, training_iters=16 * 8, loss_epoch=1, verbosity=False)[0]
    _, a = _small(seed=3)
    _, b = _small(seed=4)
    got_a, got_b = [], []
    for _ in range(4):
        got_a += a.train(task, training_iters=32, loss_epoch=1, verbosity=False)[0]
        got_b += b.train(task, training_iters=32, loss_epoch=1, verbosity=False)[0]
    assert got_a == ref_a and got_b == ref_b


def test_models_are_garbage_collected():
    task, model = _small()
    model.train(task, training_iters=32, verbosity=False)
    model.test(task.get_trial_batch(rng=0)[0])
    ref = weakref.ref(model.backend)
    del model
    gc.collect()
    assert ref() is None, "the backend is still referenced after its model was deleted"


@pytest.mark.parametrize("optimizer", [
    "sgd", "rmsprop", "adamw", "Adagrad", tf.keras.optimizers.SGD,
    lambda params, learning_rate: tf.keras.optimizers.Adam(learning_rate, beta_1=0.8),
    lambda params, learning_rate: tf.keras.optimizers.Nadam(1e-3),
])
def test_any_keras_optimizer(backend_cls, optimizer):
    spec = bound(8, 3, 2)
    backend = backend_cls(spec, lively_weights(spec))
    backend.configure_optimizer(optimizer, 0.01, True)
    x, y, mask, _ = data(spec)
    losses = [backend.train_step(x, y, mask) for _ in range(15)]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("factory", [
    lambda learning_rate: tf.keras.optimizers.Adam(learning_rate, beta_1=0.8),
    lambda: tf.keras.optimizers.Nadam(1e-3),
])
def test_old_style_factories_still_work_with_a_warning(backend_cls, factory):
    spec = bound(8, 3, 2)
    backend = backend_cls(spec, lively_weights(spec))
    with pytest.warns(DeprecationWarning, match=r"fn\(params, learning_rate, \*\*kwargs\)"):
        backend.configure_optimizer(factory, 0.01, True)
    x, y, mask, _ = data(spec)
    losses = [backend.train_step(x, y, mask) for _ in range(15)]
    assert losses[-1] < losses[0]


def test_optimizer_keyword_arguments_and_instances_are_refused(backend_cls):
    spec = bound(8, 3, 2)
    backend = backend_cls(spec, lively_weights(spec))
    with pytest.raises(TypeError, match="received SGD.*pass a name, the backend's optimiser "
                                        "class or a factory"):
        backend.configure_optimizer(tf.keras.optimizers.SGD(0.1))
    backend.configure_optimizer("sgd", 0.1, True, momentum=0.9, nesterov=True)
    assert any(k.endswith("/momentum") for k in backend.get_training_state())


@pytest.mark.parametrize("clip", [True, 0.01, False])
def test_gradient_clipping_by_global_norm(backend_cls, clip):
    spec = bound(8, 3, 2, dtype="float64")
    w0 = lively_weights(spec)
    backend = backend_cls(spec, w0)
    x, y, mask, _ = data(spec)
    y = y + 50.0  # large gradients
    grads = backend.loss_and_gradients(x, y, mask)[1]
    norm = np.sqrt(sum((g**2).sum() for g in grads.values()))
    backend.configure_optimizer("sgd", 1.0, clip)
    backend.train_step(x, y, mask)
    w1 = backend.get_weights()
    moved = np.sqrt(sum(((w0[k] - w1[k]) ** 2).sum() for k in grads))
    limit = {True: 1.0, 0.01: 0.01, False: norm}[clip]
    assert norm > 1.0
    np.testing.assert_allclose(moved, limit, rtol=1e-9)


def test_float64_training(backend_cls):
    spec = bound(8, 3, 2, dtype="float64", architecture="gru")
    backend = backend_cls(spec, lively_weights(spec))
    x, y, mask, _ = data(spec)
    backend.configure_optimizer()
    backend.train_step(x, y, mask)
    assert all(v.dtype == np.float64 for v in backend.get_weights().values())
    assert backend.forward(x)[0].dtype == np.float64


def test_device_defaults_to_cpu_without_gpu(backend_cls):
    spec = bound(8, 3, 2)
    backend = backend_cls(spec, lively_weights(spec))
    expected = "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"
    assert backend.device == expected
    assert backend_cls(spec, lively_weights(spec), device="cpu").device == "/CPU:0"
    out = backend.forward(data(spec)[0])[0]
    assert isinstance(out, np.ndarray)


def test_compiled_once_per_shape(backend_cls):
    spec = bound(8, 3, 2, rec_noise=0.1)
    backend = backend_cls(spec, lively_weights(spec))
    x, y, mask, noise = data(spec, n=9)
    for n in (1, 5, 9):
        backend.forward(x[:n])  # any number of trials: one trace
    backend.configure_optimizer()
    for _ in range(3):
        backend.train_step(x, y, mask)
    backend.train_step(x, y, mask, noise)  # given noise: another signature
    counts = {key[:1] + key[-1:]: fn.experimental_get_tracing_count()
              for key, fn in backend._fns._cache.items()}
    assert counts == {("forward", "draw"): 1, ("train", "draw"): 1, ("train", "given"): 1}
