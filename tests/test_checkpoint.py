"""Checkpoints with a curriculum: exact resume, and files written before state_dict existed."""

from __future__ import annotations

import json

import numpy as np
from numpy_backend import NumpyReadoutBackend
from sign_task import Sign

from psychcore import Curriculum, Model, ModelSpec
from psychcore._checkpoint import Checkpoint

SPEC = ModelSpec(N_rec=20, dale_ratio=0.8, rec_noise=0.05)


def curriculum():
    return Curriculum([Sign(level=lv) for lv in (1.0, 0.3, 0.1)], thresholds=[0.9] * 3,
                      metric_epoch=4)


def train(model, cur, steps, **kwargs):
    model.train(cur, training_iters=16 * steps, learning_rate=0.02, loss_epoch=1,
                verbosity=False, validation_trials=128, **kwargs)


def test_curriculum_run_resumes_exactly_from_its_checkpoint(tmp_path):
    full_cur = curriculum()
    full = Model(Sign(), SPEC, backend=NumpyReadoutBackend, seed=1)
    train(full, full_cur, 60)
    assert full_cur.stop_training and full.epoch < 60  # passes its stages at 8, 12 and 52

    first_cur = curriculum()
    first = Model(Sign(), SPEC, backend=NumpyReadoutBackend, seed=1)
    train(first, first_cur, 27, checkpoint_path=str(tmp_path / "ck"), checkpoint_epoch=6)
    saved = json.loads((tmp_path / "ck.json").read_text())["curriculum"]
    assert set(saved) == {"stage", "stop_training", "metric_values", "history"}

    cur = curriculum()
    resumed = Model.from_checkpoint(tmp_path / "ck", backend=NumpyReadoutBackend,
                                    curriculum=cur)
    assert resumed.epoch == 24 and cur.state_dict() == saved and cur.stage == 2
    train(resumed, cur, 60 - 24, checkpoint_path=str(tmp_path / "ck"))
    assert resumed.epoch == full.epoch
    np.testing.assert_array_equal(resumed.losses, full.losses)
    np.testing.assert_array_equal(resumed.get_weights()["W_out"], full.get_weights()["W_out"])
    assert cur.state_dict() == full_cur.state_dict()


def test_a_checkpoint_in_the_earlier_layout_still_loads(tmp_path):
    model = Model(Sign(), SPEC, backend=NumpyReadoutBackend, seed=0)
    train(model, Sign(), 4)
    # exactly what Model.save_checkpoint wrote before curricula saved their own state
    Checkpoint(
        weights=model.get_weights(), training_state=model.backend.get_training_state(),
        spec_json=model.spec.to_json(), epoch=4, losses=model.losses,
        loss_epochs=model.loss_epochs, batch_rng_state=model.batch_rng.bit_generator.state,
        optimizer={"optimizer": "adam", "learning_rate": 0.05, "clip_grads": True},
        curriculum={"stage": 1, "stop_training": False, "metric_values": [[1.0, 0]],
                    "history": [(3, 0, 1.0)]},
    ).save(tmp_path / "old")
    cur = curriculum()
    resumed = Model.from_checkpoint(tmp_path / "old", backend=NumpyReadoutBackend,
                                    curriculum=cur)
    assert resumed.epoch == 4 and resumed.losses == model.losses
    assert cur.stage == 1 and cur.history[0].epoch == 3 and cur.metric_values == [[1.0, 0]]
