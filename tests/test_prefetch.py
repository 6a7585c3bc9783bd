"""Drawing the next batch ahead (``TrainingOptions.prefetch``) changes nothing but the time:
the same batches in the same order, so the same losses and weights, the same generator state
and batch counter after a stop, an interrupt, a checkpoint and resume or a task's error, and the
same error. A worker process is started only when asked, or when ``"auto"`` finds the batches
slow; it is always stopped."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time

import numpy as np
import pytest
from numpy_backend import NumpyReadoutBackend
from psychcore_tasks_classic import PerceptualDiscrimination
from sign_task import Sign

import psychcore._prefetch as prefetch_module
from psychcore import Curriculum, Model, ModelSpec, Task, TrainingOptions, initialize_weights
from psychcore._rng import as_generator
from psychcore._training import train_loop

SPEC = ModelSpec(N_rec=16, rec_noise=0.05)
WORKERS = ["thread", "process"]


class LegacySign(Task):
    """Sign, written PsychRNN's way: per-step, drawing from ``np.random``, recording the
    thread and process that drew each batch."""

    def __init__(self, N_batch=8, level=1.0, seed=None, fail_at=None, exit_at=None):
        super().__init__(1, 2, 10, 50, 200, N_batch, seed=seed)
        self.level = level
        self.fail_at = fail_at
        self.exit_at = exit_at
        self.threads: list[str] = []

    def generate_trial_params(self, batch, trial):
        if trial == 0:
            self.threads.append(threading.current_thread().name)
        if batch == self.fail_at:
            raise ValueError(f"LegacySign: batch {batch} is broken")
        if batch == self.exit_at and multiprocessing.parent_process() is not None:
            os._exit(3)  # the worker process dies without a word
        return {"sign": np.random.choice([-1.0, 1.0]), "jitter": np.random.uniform(0, 0.1)}

    def trial_function(self, t, params):
        x = np.array([self.level * params["sign"] + params["jitter"]])
        y = np.array([params["sign"] > 0, params["sign"] < 0], dtype=float)
        return x, y, np.full(2, float(t >= 100))

    def accuracy_function(self, correct_output, test_output, output_mask):
        chosen = np.argmax((test_output * output_mask).mean(axis=1), axis=1)
        truth = np.argmax((correct_output * output_mask).mean(axis=1), axis=1)
        return float(np.mean(chosen == truth))



def _classic():
    return PerceptualDiscrimination(10, 100, 300, N_batch=8, seed=0)


def _curriculum():
    return Curriculum([LegacySign(level=2.0), LegacySign(level=0.5)], thresholds=[0.0, 2.0],
                      metric_epoch=3)


def _train(task_factory, prefetch, **kwargs):
    source = task_factory()
    task = source.current_task if isinstance(source, Curriculum) else source
    model = Model(task, SPEC, NumpyReadoutBackend, seed=3)
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


def _no_workers_left():
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("worker", WORKERS)
@pytest.mark.parametrize("factory, kwargs", [
    (_classic, {"training_iters": 8 * 8, "loss_epoch": 2}),
    (LegacySign, {"training_iters": 8 * 8, "loss_epoch": 2}),
    (_curriculum, {"training_iters": 8 * 10, "loss_epoch": 2, "validation_trials": 0}),
    (LegacySign, {"training_iters": 8 * 40, "loss_epoch": 3, "performance_cutoff": 0.0,
                  "validation_trials": 0}),
], ids=["classic", "per-step", "curriculum-psychrnn-way", "cutoff-psychrnn-way"])
def test_prefetch_gives_the_same_losses_weights_and_generator_state(factory, kwargs, worker):
    on, off = _train(factory, worker, **kwargs), _train(factory, False, **kwargs)
    _assert_same(on, off)
    assert on.last_result.prefetch == worker and off.last_result.prefetch is None
    if isinstance(on.source, Curriculum):
        assert on.source.stage == off.source.stage == 1
        assert on.source.history == off.source.history
    if "performance_cutoff" in kwargs:
        assert on.last_result.cutoff_epoch == off.last_result.cutoff_epoch == 3
    _no_workers_left()


def test_a_process_draws_every_batch_but_the_first_in_another_process():
    task = LegacySign()
    Model(task, SPEC, NumpyReadoutBackend, seed=1).train(
        task, training_iters=8 * 6, prefetch="process", verbosity=False)
    # the worker's copy of the task records its batches; the loop's copy only the first, but
    # its batch counter follows the worker's
    assert task.threads == [threading.main_thread().name] and task._batch_index == 6
    _no_workers_left()


def test_a_thread_draws_every_batch_but_the_first_in_another_thread():
    task = LegacySign()
    Model(task, SPEC, NumpyReadoutBackend, seed=1).train(
        task, training_iters=8 * 6, prefetch="thread", verbosity=False)
    main = threading.main_thread().name
    assert task.threads[0] == main and main not in task.threads[1:] and len(task.threads) == 6


class SlowSign(LegacySign):
    """LegacySign taking 50 ms a batch."""

    def generate_trial_params(self, batch, trial):
        if trial == 0:
            time.sleep(0.05)
        return super().generate_trial_params(batch, trial)


def test_auto_starts_a_process_for_slow_batches_only():
    fast = _train(Sign, "auto", training_iters=16 * 6)
    assert fast.last_result.prefetch is None  # vectorised: ~1 ms a batch, no process
    slow = _train(SlowSign, "auto", training_iters=8 * 5)
    expected = "process" if prefetch_module._usable_cpus() >= 2 else None
    assert slow.last_result.prefetch == expected
    _assert_same(slow, _train(SlowSign, False, training_iters=8 * 5))
    _no_workers_left()


def test_checkpoint_and_resume_with_a_process_match_a_run_without_prefetch(tmp_path):
    def curriculum():
        return Curriculum([LegacySign(level=lv) for lv in (2.0, 1.0)], thresholds=[0.0, 2.0],
                          metric_epoch=4)

    def train(model, cur, steps, **kwargs):
        model.train(cur, training_iters=8 * steps, learning_rate=0.02, loss_epoch=1,
                    verbosity=False, validation_trials=32, **kwargs)

    full_cur = curriculum()
    full = Model(LegacySign(), SPEC, backend=NumpyReadoutBackend, seed=1)
    train(full, full_cur, 14, prefetch=False)

    first_cur = curriculum()
    first = Model(LegacySign(), SPEC, backend=NumpyReadoutBackend, seed=1)
    train(first, first_cur, 9, checkpoint_path=str(tmp_path / "ck"), checkpoint_epoch=3,
          prefetch="process")
    assert first.last_result.prefetch == "process"
    cur = curriculum()
    resumed = Model.from_checkpoint(tmp_path / "ck", backend=NumpyReadoutBackend,
                                    curriculum=cur)
    assert resumed.epoch == 9
    train(resumed, cur, 14 - 9, checkpoint_path=str(tmp_path / "ck"), prefetch="process")
    assert resumed.epoch == full.epoch == 14
    np.testing.assert_array_equal(resumed.losses, full.losses)
    np.testing.assert_array_equal(resumed.get_weights()["W_out"], full.get_weights()["W_out"])
    assert resumed.batch_rng.bit_generator.state == full.batch_rng.bit_generator.state
    assert cur.state_dict() == full_cur.state_dict()
    _no_workers_left()


class EditingCallback:
    """Changes the task's level after step 4 (seen by the next batch without prefetching)."""

    def __init__(self, task):
        self.task = task

    def __call__(self, status):
        if status.epoch == 4:
            self.task.level = 3.0


def test_a_callback_changing_the_task_is_seen_by_the_next_batch_with_a_process():
    models = []
    for prefetch in ("process", False):
        task = LegacySign()
        model = Model(task, SPEC, NumpyReadoutBackend, seed=2)
        model.train(task, training_iters=8 * 7, verbosity=False, prefetch=prefetch,
                    callback=EditingCallback(task))
        models.append(model)
    _assert_same(*models)


def _bare(task, seed=0):
    bound = SPEC.bind(task.get_task_params())
    init_rng, batch_rng, backend_rng = as_generator(seed).spawn(3)
    backend = NumpyReadoutBackend(bound, initialize_weights(bound, init_rng), seed=backend_rng)
    backend.configure_optimizer("adam", 1e-3, True)
    return backend, batch_rng


@pytest.mark.parametrize("worker", WORKERS)
def test_a_task_error_while_drawing_ahead_is_raised_as_without_prefetch(worker):
    seen = []
    for prefetch in (worker, False):
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
    _no_workers_left()


def test_a_dead_worker_process_is_a_clear_error_not_a_hang():
    task = LegacySign(exit_at=4)
    backend, rng = _bare(task)
    with pytest.raises(RuntimeError, match="worker process drawing batches of task LegacySign "
                       r"ended unexpectedly \(exit code 3\).*prefetch=False"):
        train_loop(backend, task, TrainingOptions(training_iters=8 * 10, prefetch="process",
                                                  verbosity=False), rng=rng)
    _no_workers_left()


class _InterruptAt(NumpyReadoutBackend):
    """Raises KeyboardInterrupt in the step of the ``interrupt_at``-th call."""

    interrupt_at = 0

    def train_step(self, x, y, mask, noise=None):
        type(self).calls += 1
        if type(self).calls == self.interrupt_at:
            raise KeyboardInterrupt
        return super().train_step(x, y, mask, noise)


@pytest.mark.parametrize("worker, at", [("thread", 1), ("thread", 5), ("process", 5)])
def test_an_interrupt_during_a_step_drops_the_batch_drawn_ahead(worker, at):
    seen = []
    for prefetch in (worker, False):
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
    _no_workers_left()


class Unpicklable(LegacySign):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transform = lambda v: v  # a lambda cannot be pickled


def test_a_task_that_cannot_be_pickled_is_drawn_ahead_in_a_thread_logged_once(caplog):
    prefetch_module._warned.discard("Unpicklable")
    with caplog.at_level(logging.WARNING, logger="psychcore"):
        on = _train(Unpicklable, "process", training_iters=8 * 5)
        again = _train(Unpicklable, "process", training_iters=8 * 5)
    assert on.last_result.prefetch == again.last_result.prefetch == "thread"
    messages = [r.getMessage() for r in caplog.records if "Unpicklable" in r.getMessage()]
    assert len(messages) == 1
    assert "in a thread, not a worker process: the task cannot be pickled" in messages[0]
    _assert_same(on, _train(Unpicklable, False, training_iters=8 * 5))


def test_prefetch_is_checked():
    with pytest.raises(ValueError, match="prefetch must be 'auto', 'process', 'thread', True "
                       "or False; received 'yes'"):
        TrainingOptions(prefetch="yes")
    with pytest.raises(TypeError, match="prefetch must be .*; received int 1"):
        TrainingOptions(prefetch=1)
    assert TrainingOptions().prefetch == "auto"
    assert TrainingOptions(prefetch=True).prefetch == "process"
    assert TrainingOptions.from_train_params({"prefetch": False}).prefetch is False


def test_main_guard_detection(tmp_path):
    import ast

    guarded = ast.parse('if __name__ == "__main__":\n    main()\n').body[0].test
    reversed_ = ast.parse("if '__main__' == __name__:\n    main()\n").body[0].test
    other = ast.parse('if __name__ == "x":\n    main()\n').body[0].test
    assert prefetch_module._is_main_test(guarded) and prefetch_module._is_main_test(reversed_)
    assert not prefetch_module._is_main_test(other)


SCRIPT = '''
import sys
sys.path.insert(0, {tests!r})
import numpy as np
from numpy_backend import NumpyReadoutBackend
from psychcore import Model, ModelSpec, Task


class ScriptTask(Task):
    def __init__(self):
        super().__init__(1, 1, 10, 50, 50, 4, seed=0)

    def generate_trial_params(self, batch, trial):
        return {{"level": np.random.uniform()}}

    def trial_function(self, t, params):
        return [params["level"]], [params["level"]], [1.0]


def train():
    print("TRAINING")
    task = ScriptTask()
    model = Model(task, ModelSpec(N_rec=8), NumpyReadoutBackend, seed=0)
    model.train(task, training_iters=4 * 4, prefetch="process", verbosity=False)
    print("WORKER", model.last_result.prefetch)


{call}
'''


@pytest.mark.parametrize("guarded, worker", [(True, "process"), (False, "thread")])
def test_a_task_class_of_the_main_script_needs_a_guarded_script_for_a_process(
        tmp_path, guarded, worker):
    import subprocess
    import sys
    from pathlib import Path

    call = 'if __name__ == "__main__":\n    train()\n' if guarded else "train()\n"
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent), call=call))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # the training code ran once: a worker process never runs an unguarded script again
    assert done.stdout.split() == ["TRAINING", "WORKER", worker]
    if not guarded:
        assert "ScriptTask ahead in a thread, not a worker process: its class is defined in " \
               "the main script" in done.stderr


class UnloadableInAWorker(LegacySign):
    """A task that pickles but cannot be loaded in another process."""

    def __setstate__(self, state):
        if multiprocessing.parent_process() is not None:
            raise ImportError("UnloadableInAWorker: not in a worker")
        self.__dict__.update(state)


class UnsendableParams(LegacySign):
    """Trial parameters holding a lambda: the batch cannot be pickled."""

    def generate_trial_params(self, batch, trial):
        return {**super().generate_trial_params(batch, trial), "f": lambda v: v}


@pytest.mark.parametrize("task_cls,steps,says", [
    (UnloadableInAWorker, 5, ("the worker process could not load the task",
                              "UnloadableInAWorker: not in a worker")),
    (UnsendableParams, 4, ("its batch cannot be sent back from the worker process",)),
], ids=["task-not-loadable", "batch-not-sendable"])
def test_what_the_worker_process_cannot_handle_falls_back_to_a_thread(caplog, task_cls, steps,
                                                                      says):
    prefetch_module._warned.discard(task_cls.__name__)
    with caplog.at_level(logging.WARNING, logger="psychcore"):
        on = _train(task_cls, "process", training_iters=8 * steps)
    assert on.last_result.prefetch == "thread"
    assert any(all(part in r.getMessage() for part in says) for r in caplog.records)
    _assert_same(on, _train(task_cls, False, training_iters=8 * steps))
    _no_workers_left()


def _train_in_a_daemon(queue):
    import psychcore._prefetch as module

    task = SlowSign()
    model = Model(task, SPEC, NumpyReadoutBackend, seed=3)
    model.train(task, training_iters=8 * 2, prefetch="process", verbosity=False)
    queue.put((model.last_result.prefetch, sorted(module._warned)))


def test_training_in_a_daemon_process_draws_ahead_in_a_thread():
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_train_in_a_daemon, args=(queue,), daemon=True)
    process.start()
    worker, warned = queue.get(timeout=60)
    process.join(10)
    assert worker == "thread" and warned == ["SlowSign"]
