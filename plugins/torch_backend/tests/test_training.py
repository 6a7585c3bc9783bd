"""Training real tasks through ``psychcore.Model``: accuracy, determinism, curricula, files.

Accuracy budgets. Seed 0 throughout. Each threshold is checked on a fresh, separately seeded
test batch, after training stops at ``performance_cutoff`` (measured by the training loop on
its own batches every 10 epochs) or at the epoch budget; one epoch is one batch.

- Hello world, the README settings: PerceptualDiscrimination dt=10, tau=100, T=2000,
  N_batch=128; ModelSpec(N_rec=50, dale_ratio=0.8); Adam 1e-3; performance_cutoff=0.9.
  Budget 400 epochs; measured 240 epochs (~8-20 s here, depending on the machine's load).
  Threshold 0.9 on a seeded batch of 128 (measured 0.92).
- The classic tasks: dt=20, tau=100, T=1000, N_batch=64; ModelSpec(N_rec=50,
  dale_ratio=0.8); Adam 1e-2; performance_cutoff=0.95; threshold on 256 trials:

  =============================  ====================================  ======  =========  ====
  task                           periods (ms)                          budget  measured   >=
  =============================  ====================================  ======  =========  ====
  PerceptualDiscrimination       drawn per trial                       400     200, 0.91  0.85
  DelayedDiscrimination          fore 100, stim 200, delay 200,        300     140, 1.00  0.90
                                 stim 200, decision 300
  MatchToCategory                scale with T                          300     40, 0.97   0.90
  GoNoGo                         fore 100, stim 200, delay 300,        300     40, 1.00   0.95
                                 response 400
  ContextDependentIntegration    fore 100, stim 400, delay 100,        400     400, 0.90  0.85
                                 decision 400
  =============================  ====================================  ======  =========  ====

  ("measured": epochs trained and accuracy on the test batch; 0.5-8 s each, single-threaded.)
- LSTM and GRU (N_rec=32, no Dale) on PerceptualDiscrimination with the same settings: budget
  300 epochs, threshold 0.85 (measured 60 and 40 epochs, 0.92 and 0.89).
- Curriculum: coherence 0.7, 0.5, 0.3, 0.1, thresholds 0.9, budget 600 epochs.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

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
    model = psychcore.Model(task, ModelSpec(N_rec=50, dale_ratio=0.8), backend="torch", seed=0)
    losses, training_time, initialization_time = model.train(
        task, training_iters=400 * 128, performance_cutoff=0.9, verbosity=False)
    assert model.epoch < 400, "did not reach the cutoff within the budget"
    assert len(losses) == model.epoch // 10 and training_time > 0 and initialization_time > 0
    x, y, mask, _ = task.get_trial_batch(np.random.default_rng(123))
    outputs, states = model.test(x)
    assert outputs.shape == (128, 200, 2) and states.shape == (128, 200, 50)
    # the cutoff stops training as soon as one batch reaches 0.9, so the network is then
    # right at ~0.9 (0.89-0.95 measured on other batches of 512 trials)
    assert task.accuracy_function(y, outputs, mask) >= 0.9


def test_every_classic_task_is_covered():
    assert set(psychcore.tasks()) >= set(CLASSIC)


@pytest.mark.parametrize("name", list(CLASSIC))
def test_classic_task_reaches_documented_accuracy(name):
    kw, budget, threshold = CLASSIC[name]
    task_cls = psychcore.get_task(name)
    task = task_cls(dt=20, tau=100, N_batch=64, **kw)
    model = psychcore.Model(task, ModelSpec(N_rec=50, dale_ratio=0.8), backend="torch", seed=0)
    model.train(task, training_iters=budget * 64, learning_rate=1e-2, performance_cutoff=0.95,
                verbosity=False)
    assert _accuracy(model, task_cls, dt=20, tau=100, **kw) >= threshold


def _small(seed=0, **spec_kw):
    task = _pd(dt=20, tau=100, T=600, N_batch=16)
    spec = ModelSpec(N_rec=16, dale_ratio=0.8, rec_noise=0.05, **spec_kw)
    return task, psychcore.Model(task, spec, backend="torch", seed=seed)


def _assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert wa.keys() == wb.keys()
    for key in wa:
        np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)


def test_same_seed_gives_bit_identical_runs():
    runs = []
    for _ in range(2):
        task, model = _small(seed=3)
        model.train(task, training_iters=30 * 16, loss_epoch=1, verbosity=False)
        runs.append(model)
    assert runs[0].losses == runs[1].losses
    _assert_same_weights(*runs)
    task, other = _small(seed=4)
    other.train(task, training_iters=30 * 16, loss_epoch=1, verbosity=False)
    assert other.losses != runs[0].losses


def test_models_side_by_side_do_not_interfere():
    alone = []
    for seed in (1, 2):
        task, model = _small(seed=seed)
        for _ in range(4):
            model.train(task, training_iters=5 * 16, loss_epoch=1, verbosity=False)
        alone.append(model)
    task, a = _small(seed=1)
    _, b = _small(seed=2)
    x = task.get_trial_batch(np.random.default_rng(0))[0]
    for _ in range(4):  # interleaved; each train() continues weights and optimiser state
        a.train(task, training_iters=5 * 16, loss_epoch=1, verbosity=False)
        b.test(x)  # draws recurrent noise from b's generator only
        b.train(task, training_iters=5 * 16, loss_epoch=1, verbosity=False)
    assert a.losses == alone[0].losses
    _assert_same_weights(a, alone[0])
    assert b.losses != alone[1].losses, "b's extra noise draws must change b's run"


def test_float64_training():
    task = _pd(dt=20, tau=100, T=600, N_batch=16)
    model = psychcore.Model(task, ModelSpec(N_rec=16, dtype="float64"), backend="torch", seed=0)
    losses, _, _ = model.train(task, training_iters=20 * 16, loss_epoch=5, verbosity=False)
    assert len(losses) == 4
    assert all(v.dtype == np.float64 for v in model.get_weights().values())
    x = task.get_trial_batch()[0]
    out, _ = model.test(x)
    ref, _ = model.simulator().run_trials(x)
    assert out.dtype == np.float64 and np.max(np.abs(out - ref)) < 1e-10


def test_curriculum_advances_through_coherences():
    coherences = (0.7, 0.5, 0.3, 0.1)
    tasks = [_pd(dt=20, tau=100, T=1000, N_batch=64, coherence=c) for c in coherences]
    curriculum = Curriculum(tasks, thresholds=[0.9] * 4, metric_epoch=10)
    model = psychcore.Model(tasks[0], ModelSpec(N_rec=50, dale_ratio=0.8), backend="torch",
                            seed=0)
    model.train(curriculum, training_iters=600 * 64, learning_rate=1e-2, verbosity=False)
    assert curriculum.stop_training, f"stopped at stage {curriculum.stage}"
    assert [h.stage for h in curriculum.history] == [0, 1, 2, 3]
    epochs = [h.epoch for h in curriculum.history]
    assert epochs == sorted(epochs) and epochs[-1] == model.epoch
    assert all(h.metric >= 0.9 for h in curriculum.history)
    assert len(curriculum.metric_values) == model.epoch // 10


def test_save_and_load(tmp_path):
    task, model = _small(seed=5, architecture="rnn")
    model.train(task, training_iters=10 * 16, verbosity=False)
    path = model.save(tmp_path / "hello_world_weights")
    loaded = psychcore.Model.load(tmp_path / "hello_world_weights", backend="torch")
    _assert_same_weights(model, loaded)
    x = task.get_trial_batch(np.random.default_rng(0))[0]
    noise = np.random.default_rng(1).standard_normal((16, 30, 16))
    out, states = model.test(x, noise)
    out2, states2 = loaded.test(x, noise)
    np.testing.assert_array_equal(out, out2)
    np.testing.assert_array_equal(states, states2)
    weights, spec = load_weights(path)
    ref_out, ref_states = Simulator(spec, weights).run_trials(x, rec_noise=spec.rec_noise,
                                                              noise=noise)
    assert np.max(np.abs(out - ref_out)) < 1e-5
    assert np.max(np.abs(states - ref_states)) < 1e-5


@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_gated_architectures_learn(arch):
    kw = {"dt": 20, "tau": 100, "T": 1000}
    task = _pd(N_batch=64, **kw)
    model = psychcore.Model(task, ModelSpec(N_rec=32, architecture=arch), backend="torch",
                            seed=0)
    model.train(task, training_iters=300 * 64, learning_rate=1e-2, performance_cutoff=0.9,
                verbosity=False)
    assert model.epoch < 300  # measured: 30 (lstm) and 70 (gru) epochs
    # the cutoff is judged on a fixed 512-trial validation set, so a stop at 0.9 means 0.9 on
    # fresh trials too (measured: 0.933 and 0.935; with PsychRNN's one-batch decisions the same
    # networks stopped "at 0.95" with 0.92 and 0.89)
    assert _accuracy(model, type(task), **kw) >= 0.9
