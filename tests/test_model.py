"""Model and the core training loop, driven through the NumPy test-double backend."""

from __future__ import annotations

import numpy as np
import pytest
from numpy_backend import NumpyReadoutBackend
from sign_task import Sign

from psychcore import Curriculum, Model, ModelSpec, Task
from psychcore.testing import parametrize_with_checks

SPEC = ModelSpec(N_rec=20, dale_ratio=0.8)


def make(seed=0, spec=SPEC, task=None):
    return Model(task or Sign(), spec, backend=NumpyReadoutBackend, seed=seed)


@parametrize_with_checks([NumpyReadoutBackend])
def test_test_double_passes_backend_conformance(check):
    check()


def test_train_returns_psychrnn_triple_and_learns():
    model = make()
    task = Sign()
    losses, training_time, init_time = model.train(
        task, training_iters=16 * 60, learning_rate=0.05, loss_epoch=1, verbosity=False)
    assert len(losses) == 60 and model.epoch == 60
    assert training_time > 0 and init_time > 0
    assert losses[-1] < 0.5 * losses[0]
    x, y, mask, _ = task.get_trial_batch(rng=123)
    outputs, states = model.test(x)
    assert outputs.shape == (16, 30, 2) and states.shape == (16, 30, 20)
    assert task.accuracy_function(y, outputs, mask) >= 0.9


def test_training_iters_counts_trials():
    model = make()
    losses, _, _ = model.train(Sign(N_batch=16), training_iters=100, loss_epoch=1,
                               verbosity=False)
    assert len(losses) == 7  # ceil(100 / 16)


def test_second_call_continues():
    a, b = make(), make()
    la1, _, _ = a.train(Sign(), training_iters=16 * 10, loss_epoch=1, verbosity=False)
    la2, _, _ = a.train(Sign(), training_iters=16 * 10, loss_epoch=1, verbosity=False)
    lb, _, _ = b.train(Sign(), training_iters=16 * 20, loss_epoch=1, verbosity=False)
    assert a.epoch == 20
    np.testing.assert_array_equal(la1 + la2, lb)


def test_same_seed_same_run_other_seed_differs():
    runs = []
    for seed in (0, 0, 1):
        model = make(seed)
        losses, _, _ = model.train(Sign(), training_iters=160, loss_epoch=1, verbosity=False)
        runs.append((losses, model.get_weights()["W_out"]))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


def test_curriculum_advances_and_stops():
    stages = [Sign(level=lv) for lv in (1.0, 0.5, 0.25)]
    cur = Curriculum(stages, thresholds=[0.8, 0.8, 0.8], metric_epoch=5)
    model = make()
    model.train(cur, training_iters=16 * 400, learning_rate=0.05, verbosity=False)
    assert cur.stop_training
    assert [h[1] for h in cur.history] == [0, 1, 2]  # the stages passed
    assert model.epoch < 400 and model.epoch % 5 == 0


def test_performance_cutoff_stops_early():
    model = make()
    model.train(Sign(), training_iters=16 * 500, learning_rate=0.05, loss_epoch=5,
                performance_cutoff=0.95, verbosity=False)
    assert model.epoch < 500 and model.epoch % 5 == 0


def test_save_load_and_no_overwrite(tmp_path):
    model = make()
    model.train(Sign(), training_iters=160, verbosity=False,
                save_weights_path=str(tmp_path / "final"))
    x = Sign().get_trial_batch(rng=1)[0]
    loaded = Model.load(tmp_path / "final", backend=NumpyReadoutBackend)
    np.testing.assert_array_equal(loaded.test(x)[0], model.test(x)[0])
    with pytest.raises(FileExistsError, match="never overwrites"):
        model.save(tmp_path / "final")
    with pytest.raises(FileExistsError, match="final.npz already exists"):
        model.train(Sign(), training_iters=16, verbosity=False,
                    save_weights_path=str(tmp_path / "final"))


def test_training_weight_snapshots(tmp_path):
    model = make()
    model.train(Sign(), training_iters=16 * 25, save_training_weights_epoch=10,
                training_weights_path=str(tmp_path / "snap_"), verbosity=False)
    assert sorted(p.name for p in tmp_path.glob("snap_*.npz")) == ["snap_10.npz", "snap_20.npz"]


def test_checkpoint_resume_gives_identical_losses(tmp_path):
    ck = tmp_path / "ck"
    full = make(spec=ModelSpec(N_rec=20, rec_noise=0.05))
    full.train(Sign(), training_iters=16 * 20, loss_epoch=1, verbosity=False)
    first = make(spec=ModelSpec(N_rec=20, rec_noise=0.05))
    first.train(Sign(), training_iters=16 * 12, loss_epoch=1, checkpoint_path=str(ck),
                checkpoint_epoch=5, verbosity=False)
    # the process "dies" after epoch 12; the last checkpoint is from epoch 10
    resumed = Model.from_checkpoint(ck, backend=NumpyReadoutBackend)
    assert resumed.epoch == 10
    resumed.train(Sign(), training_iters=16 * 10, loss_epoch=1, checkpoint_path=str(ck),
                  checkpoint_epoch=5, verbosity=False)
    np.testing.assert_array_equal(resumed.losses, full.losses)
    np.testing.assert_array_equal(resumed.get_weights()["W_out"], full.get_weights()["W_out"])
    with pytest.raises(FileExistsError, match="resume it with Model.from_checkpoint"):
        make().train(Sign(), training_iters=16, checkpoint_path=str(ck), verbosity=False)


def test_ctrl_c_stops_cleanly_after_saving(tmp_path):
    def interrupt(status):
        if status.epoch == 3:
            raise KeyboardInterrupt

    model = make()
    with pytest.warns(RuntimeWarning, match="interrupted at epoch 3"):
        model.train(Sign(), training_iters=16 * 50, callback=interrupt, verbosity=False,
                    checkpoint_path=str(tmp_path / "ck"),
                    save_weights_path=str(tmp_path / "w"))
    assert model.interrupted and model.epoch == 3
    assert (tmp_path / "ck.npz").exists() and (tmp_path / "w.npz").exists()


def test_psychrnn_train_params_and_params_dict():
    task = Sign()
    params = task.get_task_params()
    params.update({"N_rec": 10, "dale_ratio": 0.8, "name": "m"})
    model = Model(params, backend=NumpyReadoutBackend, seed=0)
    assert model.spec.N_rec == 10 and model.spec.dale_ratio == 0.8
    losses, _, _ = model.train(task, {"training_iters": 64, "loss_epoch": 2, "verbosity": False})
    assert len(losses) == 2
    with pytest.raises(ValueError, match="unknown train_params key 'iters'"):
        model.train(task, {"iters": 64})
    with pytest.raises(ValueError, match="training_iters must be a positive int; received 0"):
        model.train(task, training_iters=0)


def test_bad_inputs():
    model = make()
    with pytest.raises(ValueError, match=r"x must have shape \(N_trials, N_steps, N_in=1\); "
                                         r"received \(2, 5, 3\)"):
        model.test(np.zeros((2, 5, 3)))

    class Wide(Sign):
        def __init__(self):
            Task.__init__(self, 3, 2, 10, 50, 300, 8)

    with pytest.raises(ValueError, match="N_in=3, N_out=2 but the model was built for N_in=1"):
        model.train(Wide(), training_iters=8, verbosity=False)
    with pytest.raises(TypeError, match="needs a psychcore Task or Curriculum"):
        model.train("Sign", training_iters=8)
    with pytest.raises(TypeError, match="spec must be a ModelSpec"):
        Model(Sign(), {"N_rec": 3}, backend=NumpyReadoutBackend)


def test_backend_and_optimizer_options_reach_the_backend():
    seen = {}

    class Recording(NumpyReadoutBackend):
        def __init__(self, spec, weights, *, seed=None, device=None, flavour="plain"):
            super().__init__(spec, weights, seed=seed, device=device)
            seen["flavour"] = flavour

        def configure_optimizer(self, optimizer="adam", learning_rate=1e-3, clip_grads=True,
                                **kwargs):
            seen["optimizer_kwargs"] = kwargs
            super().configure_optimizer(optimizer, learning_rate, clip_grads)

    model = Model(Sign(), SPEC, backend=Recording, seed=0, backend_options={"flavour": "x"})
    model.train(Sign(), training_iters=16, verbosity=False, optimizer_options={"beta": 0.5})
    assert seen == {"flavour": "x", "optimizer_kwargs": {"beta": 0.5}}


def test_checkpoint_is_one_file_and_files_are_not_private(tmp_path):
    import stat

    model = make()
    model.train(Sign(), training_iters=16 * 5, checkpoint_path=str(tmp_path / "ck"),
                checkpoint_epoch=5, verbosity=False)
    (tmp_path / "ck.json").unlink()  # the JSON is a readable copy, never read back
    resumed = Model.from_checkpoint(tmp_path / "ck", backend=NumpyReadoutBackend)
    assert resumed.epoch == 5
    mode = stat.S_IMODE((tmp_path / "ck.npz").stat().st_mode)
    assert mode & stat.S_IRGRP and mode & stat.S_IROTH


def test_resume_keeps_optimizer_state_with_tuple_options(tmp_path):
    opts = {"betas": (0.9, 0.99)}
    full = make()
    full.train(Sign(), training_iters=16 * 10, loss_epoch=1, verbosity=False,
               optimizer_options=opts)
    part = make()
    part.train(Sign(), training_iters=16 * 5, loss_epoch=1, verbosity=False,
               optimizer_options=opts, checkpoint_path=str(tmp_path / "ck"), checkpoint_epoch=5)
    resumed = Model.from_checkpoint(tmp_path / "ck", backend=NumpyReadoutBackend)
    resumed.train(Sign(), training_iters=16 * 5, loss_epoch=1, verbosity=False,
                  optimizer_options=opts, checkpoint_path=str(tmp_path / "ck"))
    np.testing.assert_array_equal(resumed.losses, full.losses)


class InterruptedStep(NumpyReadoutBackend):
    """Raises KeyboardInterrupt from inside its ``stop_at``-th train_step, before stepping."""

    stop_at = 8

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0

    def train_step(self, x, y, mask, noise=None):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return super().train_step(x, y, mask, noise)


class InterruptedDraw(Sign):
    """Raises KeyboardInterrupt right after drawing its ``stop_at``-th batch."""

    stop_at = 8

    def __init__(self):
        super().__init__()
        self.calls = 0

    def get_trial_batch(self, rng=None, **kwargs):
        batch = super().get_trial_batch(rng, **kwargs)
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return batch


@pytest.mark.parametrize("where", ["train_step", "batch draw"])
def test_interrupt_inside_a_step_resumes_exactly(tmp_path, where):
    spec = ModelSpec(N_rec=20, dale_ratio=0.8, rec_noise=0.05)
    full = Model(Sign(), spec, backend=NumpyReadoutBackend, seed=0)
    full.train(Sign(), training_iters=16 * 20, loss_epoch=1, verbosity=False)

    ck = tmp_path / "ck"
    backend, task = ((InterruptedStep, Sign()) if where == "train_step"
                     else (NumpyReadoutBackend, InterruptedDraw()))
    part = Model(Sign(), spec, backend=backend, seed=0)
    with pytest.warns(RuntimeWarning, match="interrupted at epoch 7;"):
        losses, _, _ = part.train(task, training_iters=16 * 20, loss_epoch=1, verbosity=False,
                                  checkpoint_path=str(ck), checkpoint_epoch=5)
    # the 8th step never finished: it is not counted, and the checkpoint is from before it
    assert part.interrupted and part.epoch == 7 and len(losses) == 7
    assert part.loss_epochs == list(range(1, 8))
    resumed = Model.from_checkpoint(ck, backend=NumpyReadoutBackend)
    assert resumed.epoch == 7 and resumed.losses == full.losses[:7]
    resumed.train(Sign(), training_iters=16 * 13, loss_epoch=1, verbosity=False,
                  checkpoint_path=str(ck), checkpoint_epoch=5)
    assert resumed.epoch == 20 and resumed.loss_epochs == full.loss_epochs
    np.testing.assert_array_equal(resumed.losses, full.losses)
    final, expected = resumed.get_weights(), full.get_weights()
    for key in expected:
        np.testing.assert_array_equal(final[key], expected[key], err_msg=key)
    # the interrupted model itself continues exactly too (its generator was rewound)
    part.train(Sign(), training_iters=16 * 13, loss_epoch=1, verbosity=False)
    np.testing.assert_array_equal(part.losses, full.losses)


def test_default_backend_is_left_to_the_registry(monkeypatch, tmp_path):
    import psychcore._model as model_module

    asked = []

    def get_backend(name):
        asked.append(name)
        return NumpyReadoutBackend

    monkeypatch.setattr(model_module, "get_backend", get_backend)
    model = Model(Sign(), SPEC, seed=0)
    assert asked == [None] and model.backend_class is NumpyReadoutBackend
    model.save(tmp_path / "w")
    assert Model.load(tmp_path / "w").backend_class is NumpyReadoutBackend
    model.save_checkpoint(tmp_path / "ck")
    assert Model.from_checkpoint(tmp_path / "ck").backend_class is NumpyReadoutBackend
    assert asked == [None, None, None]
