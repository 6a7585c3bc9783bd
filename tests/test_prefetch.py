"""Drawing the next batch in a background thread (``TrainingOptions.prefetch``) changes nothing
but the time: the same batches in the same order, so the same losses and weights, the same
generator state after a stop, an interrupt or a task's error, and the same error."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from numpy_backend import NumpyReadoutBackend
from sign_task import Sign

from psychcore import Curriculum, Model, ModelSpec, Task, TrainingOptions, initialize_weights
from psychcore._rng import as_generator
from psychcore._training import train_loop

SPEC = ModelSpec(N_rec=16, rec_noise=0.05)


class LegacySign(Task):
    """Sign, written PsychRNN's way: per-step, drawing from ``np.random``, recording its
    thread."""

    def __init__(self, N_batch=8, level=1.0, seed=None, fail_at=None):
        super().__init__(1, 2, 10, 50, 200, N_batch, seed=seed)
        self.level = level
        self.fail_at = fail_at
        self.threads: list[str] = []

    def generate_trial_params(self, batch, trial):
        if trial == 0:
            self.threads.append(threading.current_thread().name)
        if batch == self.fail_at:
            raise ValueError(f"LegacySign: batch {batch} is broken")
        return {"sign": np.random.choice([-1.0, 1.0]), "jitter": np.random.uniform(0, 0.1)}

    def trial_function(self, t, params):
        x = np.array([self.level * params["sign"] + params["jitter"]])
        y = np.array([params["sign"] > 0, params["sign"] < 0], dtype=float)
        return x, y, np.full(2, float(t >= 100))

    def accuracy_function(self, correct_output, test_output, output_mask):
        chosen = np.argmax((test_output * output_mask).mean(axis=1), axis=1)
        truth = np.argmax((correct_output * output_mask).mean(axis=1), axis=1)
        return float(np.mean(chosen == truth))


def _train(task_factory, prefetch, backend="torch", **kwargs):
    source = task_factory()
    task = source.current_task if isinstance(source, Curriculum) else source
    model = Model(task, SPEC, backend, seed=3)
    model.train(source, prefetch=prefetch, verbosity=False, **kwargs)
    model.source = source
    return model


def _assert_same(a: Model, b: Model) -> None:
    assert a.losses == b.losses and a.loss_epochs == b.loss_epochs and a.epoch == b.epoch
    assert a.batch_rng.bit_generator.state == b.batch_rng.bit_generator.state
    wa, wb = a.get_weights(), b.get_weights()
    assert wa.keys() == wb.keys()
    for key in wa:
        np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)


def _curriculum():
    return Curriculum([LegacySign(level=2.0), LegacySign(level=0.5)], thresholds=[0.0, 2.0],
                      metric_epoch=3)


@pytest.mark.parametrize("factory, kwargs", [
    (Sign, {"training_iters": 16 * 12, "loss_epoch": 2}),
    (LegacySign, {"training_iters": 8 * 12, "loss_epoch": 2}),
    (_curriculum, {"training_iters": 8 * 14, "loss_epoch": 2, "validation_trials": 0}),
    (LegacySign, {"training_iters": 8 * 40, "loss_epoch": 3, "performance_cutoff": 0.0}),
    (LegacySign, {"training_iters": 8 * 40, "loss_epoch": 3, "performance_cutoff": 0.0,
                  "validation_trials": 0}),
], ids=["vectorised", "per-step", "curriculum", "cutoff", "cutoff-psychrnn-way"])
def test_prefetch_gives_the_same_losses_weights_and_generator_state(factory, kwargs):
    on, off = _train(factory, True, **kwargs), _train(factory, False, **kwargs)
    _assert_same(on, off)
    if isinstance(on.source, Curriculum):
        assert on.source.stage == off.source.stage == 1
    if "performance_cutoff" in kwargs:
        assert on.last_result.cutoff_epoch == off.last_result.cutoff_epoch == 3


def test_the_next_batch_is_drawn_in_another_thread_only_with_prefetch():
    task_on, task_off = LegacySign(), LegacySign()
    for task, prefetch in ((task_on, True), (task_off, False)):
        Model(task, SPEC, "torch", seed=1).train(task, training_iters=8 * 6, prefetch=prefetch,
                                                 verbosity=False)
    main = threading.main_thread().name
    assert task_on.threads[0] == main and set(task_on.threads[1:]) != {main}
    assert len(task_on.threads) == len(task_off.threads) == 6
    assert set(task_off.threads) == {main}


def _bare(task, seed=0):
    bound = SPEC.bind(task.get_task_params())
    init_rng, batch_rng, backend_rng = as_generator(seed).spawn(3)
    backend = NumpyReadoutBackend(bound, initialize_weights(bound, init_rng), seed=backend_rng)
    backend.configure_optimizer("adam", 1e-3, True)
    return backend, batch_rng


def test_a_task_error_while_drawing_ahead_is_raised_as_without_prefetch():
    seen = []
    for prefetch in (True, False):
        task = LegacySign(fail_at=4)
        backend, rng = _bare(task)
        with pytest.raises(ValueError, match="LegacySign: batch 4 is broken") as info:
            train_loop(backend, task, TrainingOptions(training_iters=8 * 10, prefetch=prefetch,
                                                      verbosity=False), rng=rng)
        seen.append((str(info.value), rng.bit_generator.state, task._batch_index,
                     backend.get_weights()["W_out"].copy()))
    (msg_a, state_a, index_a, w_a), (msg_b, state_b, index_b, w_b) = seen
    assert msg_a == msg_b and state_a == state_b and index_a == index_b == 4
    np.testing.assert_array_equal(w_a, w_b)


class _InterruptAt(NumpyReadoutBackend):
    """Raises KeyboardInterrupt in the step of the ``interrupt_at``-th call."""

    interrupt_at = 0

    def train_step(self, x, y, mask, noise=None):
        type(self).calls += 1
        if type(self).calls == self.interrupt_at:
            raise KeyboardInterrupt
        return super().train_step(x, y, mask, noise)


@pytest.mark.parametrize("at", [1, 3, 5])
def test_an_interrupt_during_a_step_drops_the_batch_drawn_ahead(at):
    seen = []
    for prefetch in (True, False):
        task = LegacySign()
        backend, rng = _bare(task)
        backend.__class__ = _InterruptAt
        _InterruptAt.calls, _InterruptAt.interrupt_at = 0, at
        with pytest.warns(RuntimeWarning, match="interrupted"):
            result = train_loop(backend, task, TrainingOptions(
                training_iters=8 * 10, prefetch=prefetch, verbosity=False), rng=rng)
        assert result.interrupted and result.epoch == at - 1
        seen.append((rng.bit_generator.state, task._batch_index))
    assert seen[0] == seen[1]


def test_prefetch_must_be_a_bool():
    with pytest.raises(TypeError, match="prefetch must be True or False; received str"):
        TrainingOptions(prefetch="yes")
    assert TrainingOptions().prefetch is True
    assert TrainingOptions.from_train_params({"prefetch": False}).prefetch is False
