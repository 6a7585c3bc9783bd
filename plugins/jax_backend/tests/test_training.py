"""Training real tasks through ``psychcore.Model`` on JAX: accuracy, curricula, determinism,
files. Budgets and thresholds are the torch backend's (``plugins/torch_backend/tests/
test_training.py`` documents them); the epochs JAX needed are noted beside each."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax")

import psychcore  # noqa: E402
from psychcore import Curriculum, ModelSpec, Simulator, load_weights  # noqa: E402

CLASSIC = {
    "PerceptualDiscrimination": ({"T": 1000}, 400, 0.85),
    "DelayedDiscrimination": ({"T": 1000, "onset_time": 100, "stim_duration_1": 200,
                               "delay_duration": 200, "stim_duration_2": 200,
                               "decision_duration": 300}, 300, 0.90),
    "MatchToCategory": ({"T": 1000}, 300, 0.90),
    "GoNoGo": ({"T": 1000, "onset_time": 100, "stim_duration": 200, "delay_duration": 300,
                "response_duration": 400}, 300, 0.95),
    "ContextDependentIntegration": ({"T": 1000, "onset_time": 100, "stim_duration": 400,
                                     "delay_duration": 100, "decision_duration": 400}, 400,
                                    0.85),
}


def _accuracy(model, task_cls, n=256, seed=12345, **kw):
    task = task_cls(N_batch=n, seed=seed, **kw)
    x, y, mask, _ = task.get_trial_batch()
    out, _ = model.test(x)
    return task.accuracy_function(y, out, mask)


def _pd(**kw):
    return psychcore.get_task("PerceptualDiscrimination")(**kw)


def test_hello_world_reaches_90_percent():
    task = _pd(dt=10, tau=100, T=2000, N_batch=128)
    model = psychcore.Model(task, ModelSpec(N_rec=50, dale_ratio=0.8), backend="jax", seed=0)
    model.train(task, training_iters=400 * 128, performance_cutoff=0.9, verbosity=False)
    assert model.epoch < 400, "did not reach the cutoff within the budget"
    x, y, mask, _ = task.get_trial_batch(np.random.default_rng(123))
    outputs, states = model.test(x)
    assert outputs.shape == (128, 200, 2) and states.shape == (128, 200, 50)
    assert task.accuracy_function(y, outputs, mask) >= 0.9


@pytest.mark.parametrize("name", list(CLASSIC))
def test_classic_task_reaches_documented_accuracy(name):
    kw, budget, threshold = CLASSIC[name]
    task_cls = psychcore.get_task(name)
    task = task_cls(dt=20, tau=100, N_batch=64, **kw)
    model = psychcore.Model(task, ModelSpec(N_rec=50, dale_ratio=0.8), backend="jax", seed=0)
    model.train(task, training_iters=budget * 64, learning_rate=1e-2, performance_cutoff=0.95,
                verbosity=False)
    assert _accuracy(model, task_cls, dt=20, tau=100, **kw) >= threshold


@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_gated_architectures_learn(arch):
    kw = {"dt": 20, "tau": 100, "T": 1000}
    task = _pd(N_batch=64, **kw)
    model = psychcore.Model(task, ModelSpec(N_rec=32, architecture=arch), backend="jax", seed=0)
    model.train(task, training_iters=300 * 64, learning_rate=1e-2, performance_cutoff=0.9,
                verbosity=False)
    assert model.epoch < 300
    # the cutoff is judged on a 512-trial validation set; on 256 fresh trials the stopped
    # networks scored 0.895 (lstm) and 0.9+ (gru) here: the torch table's threshold 0.85
    assert _accuracy(model, type(task), **kw) >= 0.85


def test_curriculum_advances_and_recompiles_once_per_stage(caplog):
    coherences = (0.7, 0.5, 0.3)
    # each stage a different trial length: every stage compiles its own training step once
    tasks = [_pd(dt=20, tau=100, T=T, N_batch=64, coherence=c)
             for c, T in zip(coherences, (1000, 1100, 1200), strict=True)]
    curriculum = Curriculum(tasks, thresholds=[0.9] * 3, metric_epoch=10)
    # N_rec=48: a network no other test compiles (compilations are shared in the process)
    model = psychcore.Model(tasks[0], ModelSpec(N_rec=48, dale_ratio=0.8), backend="jax",
                            seed=0)
    with caplog.at_level("INFO", logger="psychcore_jax"):
        model.train(curriculum, training_iters=600 * 64, learning_rate=1e-2, verbosity=False)
    assert curriculum.stop_training, f"stopped at stage {curriculum.stage}"
    assert [h.stage for h in curriculum.history] == [0, 1, 2]
    compiled = [r.getMessage() for r in caplog.records if "training step" in r.getMessage()]
    assert [m.split("N_steps=")[1].split(" ")[0] for m in compiled] == ["50", "55", "60"]
    assert all("N_batch=64" in m for m in compiled)


def _small(seed=0, **spec_kw):
    task = _pd(dt=20, tau=100, T=600, N_batch=16)
    spec = ModelSpec(N_rec=16, dale_ratio=0.8, rec_noise=0.05, **spec_kw)
    return task, psychcore.Model(task, spec, backend="jax", seed=seed)


def test_same_seed_gives_bit_identical_runs():
    losses = []
    for seed in (3, 3, 4):
        task, model = _small(seed=seed)
        model.train(task, training_iters=30 * 16, loss_epoch=1, verbosity=False)
        losses.append(model.losses)
    assert losses[0] == losses[1] and losses[0] != losses[2]


def test_float64_training_next_to_float32():
    task = _pd(dt=20, tau=100, T=600, N_batch=16)
    m64 = psychcore.Model(task, ModelSpec(N_rec=16, dtype="float64"), backend="jax", seed=0)
    m64.train(task, training_iters=20 * 16, loss_epoch=5, verbosity=False)
    assert all(v.dtype == np.float64 for v in m64.get_weights().values())
    x = task.get_trial_batch()[0]
    out, _ = m64.test(x)
    assert out.dtype == np.float64
    assert np.max(np.abs(out - m64.simulator().run_trials(x)[0])) < 1e-10
    # a float32 network in the same process (64-bit mode now on) stays float32
    _, m32 = _small(seed=1)
    m32.train(task, training_iters=5 * 16, verbosity=False)
    out32, states32 = m32.test(x)
    assert out32.dtype == np.float32 and states32.dtype == np.float32
    assert all(v.dtype == np.float32 for v in m32.get_weights().values())


def test_save_and_load(tmp_path):
    task, model = _small(seed=5)
    model.train(task, training_iters=10 * 16, verbosity=False)
    path = model.save(tmp_path / "hello_world_weights")
    loaded = psychcore.Model.load(tmp_path / "hello_world_weights", backend="jax")
    x = task.get_trial_batch(np.random.default_rng(0))[0]
    noise = np.random.default_rng(1).standard_normal((16, 30, 16))
    out, states = model.test(x, noise)
    np.testing.assert_array_equal(out, loaded.test(x, noise)[0])
    weights, spec = load_weights(path)
    ref_out, ref_states = Simulator(spec, weights).run_trials(x, rec_noise=spec.rec_noise,
                                                              noise=noise)
    assert np.max(np.abs(out - ref_out)) < 1e-5
    assert np.max(np.abs(states - ref_states)) < 1e-5
