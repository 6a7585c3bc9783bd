"""Every PsychRNN line of docs/migrating-from-psychrnn.md either works or fails with a message
that says what to write instead."""

from __future__ import annotations

import numpy as np
import pytest
from numpy_backend import NumpyReadoutBackend
from sign_task import Sign

import psychcore
from psychcore import BasicSimulator, Curriculum, Model, ModelSpec, Simulator


@pytest.fixture
def task():
    return Sign(N_batch=8, seed=0)


@pytest.fixture
def model(task):
    return Model(task, ModelSpec(N_rec=10, rec_noise=0.1), backend=NumpyReadoutBackend, seed=0)


def test_destruct_releases_the_backend(model):
    backend = model.backend
    model.destruct()
    assert model.backend is not backend
    with pytest.raises(RuntimeError, match="this model was destructed"):
        model.test(np.zeros((1, 5, 1)))


def test_train_curric_trains_the_curriculum_of_train_params(task, model):
    curriculum = Curriculum([task, Sign(N_batch=8, level=0.5, seed=1)], metric_epoch=2)
    losses, _, _ = model.train_curric({"curriculum": curriculum, "training_iters": 32,
                                       "loss_epoch": 1})
    assert len(losses) == 4 and model.epoch == 4
    with pytest.raises(ValueError, match=r"train_curric\(train_params\) needs "
                                         r"train_params\['curriculum'\].*or write "
                                         r"model.train\(curriculum, train_params\)"):
        model.train_curric({"training_iters": 32})


def test_train_params_curriculum_key_works_as_in_psychrnn(task, model):
    curriculum = Curriculum([task], metric_epoch=2)
    losses, _, _ = model.train(task, {"curriculum": curriculum, "training_iters": 16,
                                      "loss_epoch": 1})
    assert len(losses) == 2


def test_basic_simulator_of_a_model_uses_its_weights_and_noise(task, model):
    x = task.get_trial_batch(rng=0)[0]
    sim = BasicSimulator(rnn_model=model)
    assert isinstance(sim, Simulator) and sim.rec_noise == 0.1
    noise = np.random.default_rng(2).standard_normal((8, x.shape[1], 10))
    out, states = sim.run_trials(x, noise=noise)
    ref_out, ref_states = model.test(x, noise)
    np.testing.assert_allclose(out, ref_out, atol=1e-5)
    np.testing.assert_allclose(states, ref_states, atol=1e-5)
    quiet = BasicSimulator(rnn_model=model, params={"rec_noise": 0.0})
    assert quiet.run_trials(x)[0].tobytes() == quiet.run_trials(x)[0].tobytes()
    with pytest.raises(TypeError, match="rnn_model must be a psychcore Model; received dict"):
        BasicSimulator(rnn_model={"W_rec": 1})


def test_basic_simulator_from_weights_or_a_file_with_params(task, model, tmp_path):
    x = task.get_trial_batch(rng=0)[0]
    weights = model.get_weights()
    expected = Simulator(model.spec, weights).run_trials(x)[0]
    psychrnn_params = {"dt": 10, "tau": 50, "rec_noise": 0.0}
    from_dict = BasicSimulator(weights=weights, params=psychrnn_params)
    np.testing.assert_allclose(from_dict.run_trials(x)[0], expected, atol=1e-12)
    by_alpha = BasicSimulator(weights=weights, params={"alpha": 0.2})
    np.testing.assert_allclose(by_alpha.run_trials(x)[0], expected, atol=1e-12)
    path = psychcore.write_psychrnn_weights(tmp_path / "psychrnn", weights)
    from_file = BasicSimulator(weights_path=path, params=psychrnn_params)
    np.testing.assert_allclose(from_file.run_trials(x)[0], expected, atol=1e-12)
    tanh = BasicSimulator(weights=weights, params=psychrnn_params, transfer_function=np.tanh)
    assert not np.allclose(tanh.run_trials(x)[0], expected)
    with pytest.raises(ValueError, match=r"params must give dt and tau \(or alpha\) when no "
                                         r"rnn_model is passed"):
        BasicSimulator(weights=weights)
    with pytest.raises(ValueError, match="needs rnn_model=, weights_path= or weights="):
        BasicSimulator(params=psychrnn_params)


def test_a_tf1_optimizer_object_is_refused_with_what_to_write(task, model):
    class AdamOptimizer:  # what tf.compat.v1.train.AdamOptimizer(0.001) is to psychcore
        pass

    with pytest.raises(TypeError, match=r"optimizer must be a name \('adam', 'sgd', \.\.\.\).*"
                                        r"received AdamOptimizer"):
        model.train(task, {"optimizer": AdamOptimizer(), "training_iters": 8})
    losses, _, _ = model.train(task, {"optimizer": "adam", "learning_rate": 0.001,
                                      "training_iters": 8, "loss_epoch": 1})
    assert len(losses) == 1


class Loud(Sign):
    """Targets of 50: gradients far above norm 1."""

    def batch_function(self, t, params, rng):
        x, y, mask = super().batch_function(t, params, rng)
        return x, 50 * y, mask


def test_clip_grads_clips_the_global_norm_not_each_tensor():
    """PsychRNN's clip_grads=True clipped each gradient tensor to norm 1; psychcore clips
    their global norm to 1 (the total step of plain SGD with rate 1 is 1)."""
    task = Loud(N_batch=8, seed=0)
    model = Model(task, ModelSpec(N_rec=10, dtype="float64"), backend=NumpyReadoutBackend,
                  seed=0)
    before = model.get_weights()
    model.train(task, {"optimizer": "sgd", "learning_rate": 1.0, "clip_grads": True,
                       "training_iters": 8})
    after = model.get_weights()
    moved = np.sqrt(sum(((after[k] - before[k]) ** 2).sum() for k in ("W_out", "b_out")))
    assert moved == pytest.approx(1.0, rel=1e-9)


def test_classic_tasks_take_psychrnns_arguments():
    PerceptualDiscrimination = psychcore.get_task("PerceptualDiscrimination")
    task = PerceptualDiscrimination(10, 100, 2000, 64)  # positional, as in PsychRNN
    assert (task.dt, task.tau, task.T, task.N_batch, task.N_steps) == (10, 100, 2000, 64, 200)
    code = PerceptualDiscrimination(10, 100, 2000, 64,
                                    coherences=PerceptualDiscrimination.PSYCHRNN_CODE_COHERENCES)
    drawn = {round(p["coherence"], 6) for p in code.get_trial_batch(rng=0)[3]}
    assert drawn <= {0.1, 0.3, 0.5, 0.7}


def test_fixed_weights_in_train_params_says_where_they_went(task, model):
    with pytest.raises(ValueError, match=r"fixed weights are part of the network; use "
                                         r"ModelSpec\(constraints=\[FixedWeights"):
        model.train(task, {"fixed_weights": {"W_rec": np.ones((10, 10))}})
