"""TrainingOptions and the training loop on its own, without Model (NumPy test double)."""

from __future__ import annotations

import ast
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from numpy_backend import NumpyReadoutBackend
from sign_task import Sign

import psychcore
from psychcore import Curriculum, Model, ModelSpec, TrainingOptions, initialize_weights
from psychcore._rng import as_generator
from psychcore._training import LoopHooks, LoopState, train_loop

SPEC = ModelSpec(N_rec=20, dale_ratio=0.8, rec_noise=0.05)


def bare(seed=0, spec=SPEC, learning_rate=1e-3):
    """What Model(Sign(), spec, seed=seed) builds: a backend and its batch generator."""
    bound = spec.bind(Sign().get_task_params())
    init_rng, batch_rng, backend_rng = as_generator(seed).spawn(3)
    backend = NumpyReadoutBackend(bound, initialize_weights(bound, init_rng), seed=backend_rng)
    backend.configure_optimizer("adam", learning_rate, True)
    return backend, batch_rng


# ------------------------------------------------------------------ TrainingOptions
def test_options_defaults_are_psychrnns_and_frozen():
    opts = TrainingOptions()
    assert (opts.training_iters, opts.learning_rate, opts.loss_epoch, opts.verbosity,
            opts.save_training_weights_epoch, opts.optimizer, opts.clip_grads,
            opts.checkpoint_epoch) == (50000, 1e-3, 10, True, 100, "adam", True, 100)
    assert psychcore.TrainingOptions is TrainingOptions
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.training_iters = 5
    given = {"betas": [0.9, 0.99]}
    opts = TrainingOptions(optimizer_options=given)
    given["eps"] = 1.0
    assert dict(opts.optimizer_options) == {"betas": [0.9, 0.99]}
    with pytest.raises(TypeError):
        opts.optimizer_options["eps"] = 1.0
    assert opts.optimizer_config() == {"optimizer": "adam", "learning_rate": 1e-3,
                                       "clip_grads": True, "betas": [0.9, 0.99]}


def test_explicit_arguments_win_over_train_params_which_win_over_defaults():
    opts = TrainingOptions.from_train_params(
        {"training_iters": 64, "loss_epoch": 2, "learning_rate": 0.5},
        learning_rate=0.01, loss_epoch=None, checkpoint_epoch=7)
    assert (opts.training_iters, opts.loss_epoch, opts.learning_rate,
            opts.checkpoint_epoch, opts.save_training_weights_epoch) == (64, 2, 0.01, 7, 100)
    assert TrainingOptions.from_train_params() == TrainingOptions()


@pytest.mark.parametrize("kwargs, error, message", [
    ({"training_iters": 0}, ValueError, "training_iters must be a positive int; received 0"),
    ({"loss_epoch": True}, ValueError, "loss_epoch must be a positive int; received True"),
    ({"checkpoint_epoch": 2.0}, ValueError, "checkpoint_epoch must be a positive int"),
    ({"save_training_weights_epoch": -1}, ValueError, "save_training_weights_epoch must be"),
    ({"learning_rate": -1}, ValueError, "learning_rate must be a positive number; received -1"),
    ({"learning_rate": math.nan}, ValueError, "learning_rate must be a positive number"),
    ({"performance_cutoff": "0.9"}, TypeError, "performance_cutoff must be a number; "
                                               "received str"),
    ({"performance_measure": 3}, TypeError, "performance_measure must be callable"),
    ({"callback": "print"}, TypeError, "callback must be callable; received str"),
    ({"curriculum": [Sign()]}, TypeError, "curriculum must be a Curriculum; received list"),
])
def test_options_refuse_bad_values_naming_them(kwargs, error, message):
    with pytest.raises(error, match=message):
        TrainingOptions(**kwargs)
    with pytest.raises(error, match=message):  # the same through PsychRNN's dict
        TrainingOptions.from_train_params(kwargs)


def test_from_train_params_refuses_what_psychrnn_users_might_pass():
    with pytest.raises(TypeError, match="train_params must be a dict .* received list"):
        TrainingOptions.from_train_params([("training_iters", 5)])
    with pytest.raises(ValueError, match="unknown train_params key 'iters'; valid keys: "
                                         "training_iters, learning_rate"):
        TrainingOptions.from_train_params({"iters": 5})
    with pytest.raises(ValueError, match=r"train_params\['fixed_weights'\] is not a training "
                                         "option"):
        TrainingOptions.from_train_params({"fixed_weights": {}})
    with pytest.raises(TypeError, match="unknown training option.* iters"):
        TrainingOptions.from_train_params(None, iters=5)


# ------------------------------------------------------------------ the loop
def test_loop_without_model_gives_models_numbers():
    model = Model(Sign(), SPEC, backend=NumpyReadoutBackend, seed=4)
    model.train(Sign(), training_iters=16 * 12, loss_epoch=3, verbosity=False)
    backend, rng = bare(seed=4)
    result = train_loop(backend, Sign(), TrainingOptions(training_iters=16 * 12, loss_epoch=3,
                                                         verbosity=False), rng=rng)
    assert (result.steps, result.epoch, result.loss_epochs) == (12, 12, (3, 6, 9, 12))
    assert list(result.losses) == model.losses and not result.interrupted
    assert not result.cutoff_reached and result.performance is None
    np.testing.assert_array_equal(backend.get_weights()["W_out"], model.get_weights()["W_out"])


def test_loop_calls_hooks_when_asked_and_continues_epochs():
    backend, rng = bare()
    seen = {"snap": [], "ck": [], "progress": []}
    hooks = LoopHooks(snapshot=seen["snap"].append,
                      checkpoint=lambda path, st: seen["ck"].append((path, st)),
                      progress=lambda st: seen["progress"].append((st.epoch, st.done_steps)))
    opts = TrainingOptions(training_iters=16 * 10, loss_epoch=2, verbosity=False,
                           training_weights_path="snap_", save_training_weights_epoch=4,
                           checkpoint_path="ck", checkpoint_epoch=5)
    result = train_loop(backend, Sign(), opts, rng=rng, start_epoch=20, hooks=hooks)
    assert result.epoch == 30 and result.steps == 10
    assert seen["snap"] == ["snap_24", "snap_28"]
    assert [(p, st.epoch) for p, st in seen["ck"]] == [("ck", 25), ("ck", 30)]
    state = seen["ck"][-1][1]
    assert isinstance(state, LoopState) and state.loss_epochs == tuple(range(22, 31, 2))
    assert state.batch_rng_state == rng.bit_generator.state
    assert seen["progress"] == [(20 + i, i) for i in range(1, 11)]
    with pytest.raises(ValueError, match="no snapshot hook"):
        train_loop(backend, Sign(), opts, rng=rng)
    with pytest.raises(ValueError, match="no checkpoint hook"):
        train_loop(backend, Sign(), opts, rng=rng, hooks=LoopHooks(snapshot=print))


def test_loop_reports_the_cutoff_and_stops_there():
    backend, rng = bare(learning_rate=0.05)
    reached = []
    opts = TrainingOptions(training_iters=16 * 500, loss_epoch=5, performance_cutoff=0.95,
                           verbosity=False)
    result = train_loop(backend, Sign(), opts, rng=rng,
                        hooks=LoopHooks(cutoff_reached=lambda e, p: reached.append((e, p))))
    assert result.cutoff_reached and result.epoch < 500 and result.epoch % 5 == 0
    assert (result.cutoff_epoch, result.cutoff_trials) == (result.epoch, result.epoch * 16)
    assert reached == [(result.epoch, result.performance)] and result.performance >= 0.95


def test_loop_reports_stages_and_curriculum_end():
    backend, rng = bare(learning_rate=0.05)
    cur = Curriculum([Sign(level=lv) for lv in (1.0, 0.5)], thresholds=[0.8, 0.8],
                     metric_epoch=5)
    passed = []
    result = train_loop(backend, cur, TrainingOptions(training_iters=16 * 400, verbosity=False),
                        rng=rng, hooks=LoopHooks(stage_passed=passed.append))
    assert result.curriculum_done and cur.stop_training and result.epoch < 400
    assert passed == cur.history and [t.stage for t in passed] == [0, 1]
    assert not result.cutoff_reached


def test_error_in_a_step_hands_over_what_was_done():
    class NaNAt3(NumpyReadoutBackend):
        def train_step(self, x, y, mask, noise=None):
            loss = super().train_step(x, y, mask, noise)
            return math.nan if self.t == 3 else loss

    model = Model(Sign(), SPEC, backend=NaNAt3, seed=0)
    with pytest.raises(FloatingPointError, match="the loss became nan at epoch 3"):
        model.train(Sign(), training_iters=16 * 10, loss_epoch=1, verbosity=False)
    assert model.epoch == 3 and model.loss_epochs == [1, 2]
    assert model.last_result is not None and not model.last_result.interrupted


def test_the_loop_module_does_not_import_model():
    tree = ast.parse(Path(psychcore._training.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for a in node.names}
    assert "_model" not in imported and not any("_model" in m for m in imported if m)
