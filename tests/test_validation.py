"""Cutoffs and curriculum stages decide on a fixed validation set, not on one noisy batch."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from numpy_backend import NumpyReadoutBackend
from sign_task import Sign

from psychcore import Curriculum, Model, ModelSpec, TrainingOptions, train_run

SPEC = ModelSpec(N_rec=20, dale_ratio=0.8, rec_noise=0.05)


class Recorder:
    """A PsychRNN performance_measure that records the batches it is asked to judge."""

    def __init__(self, value: float = 0.0) -> None:
        self.batches: list[np.ndarray] = []
        self.value = value

    def __call__(self, x, y, mask, output, epoch, losses, verbosity):
        self.batches.append(np.array(x))
        return self.value


def model(seed=0, spec=SPEC):
    return Model(Sign(), spec, backend=NumpyReadoutBackend, seed=seed)


def test_the_cutoff_decides_on_one_fixed_set_of_the_given_size():
    measure = Recorder()
    model().train(Sign(), training_iters=16 * 30, loss_epoch=5, verbosity=False,
                  performance_cutoff=0.99, performance_measure=measure, validation_trials=300)
    assert len(measure.batches) == 6
    assert all(b.shape[0] == 300 for b in measure.batches)
    assert all(np.array_equal(b, measure.batches[0]) for b in measure.batches)


def test_validation_draws_leave_the_training_batches_and_noise_alone():
    # the validation sets have their own recurrent noise: judging a noisy network draws
    # neither batches nor noise from training's generators
    plain, judged = model(), model()
    plain.train(Sign(), training_iters=16 * 20, loss_epoch=5, verbosity=False)
    judged.train(Sign(), training_iters=16 * 20, loss_epoch=5, verbosity=False,
                 performance_cutoff=0.999, performance_measure=Recorder())
    assert plain.losses == judged.losses
    assert plain.batch_rng.bit_generator.state == judged.batch_rng.bit_generator.state


def test_the_same_weights_are_judged_the_same_every_time():
    values = []

    def measure(x, y, mask, output, epoch, losses, verbosity):
        values.append(float(np.abs(output).sum()))
        return 0.0

    frozen = model()
    frozen.train(Sign(), training_iters=16 * 10, loss_epoch=5, verbosity=False,
                 learning_rate=1e-12, performance_cutoff=0.999, performance_measure=measure)
    assert len(values) == 2 and values[0] == pytest.approx(values[1], rel=1e-9)


def test_zero_keeps_psychrnns_fresh_training_batches():
    measure, other = Recorder(), model()
    m = model()
    m.train(Sign(), training_iters=16 * 20, loss_epoch=5, verbosity=False,
            performance_cutoff=0.999, performance_measure=measure, validation_trials=0)
    assert [b.shape[0] for b in measure.batches] == [16] * 4
    assert not np.array_equal(measure.batches[0], measure.batches[1]) or not np.array_equal(
        measure.batches[1], measure.batches[2])
    # PsychRNN's way draws the test batches from the training stream: the runs differ
    other.train(Sign(), training_iters=16 * 20, loss_epoch=5, verbosity=False)
    assert m.batch_rng.bit_generator.state != other.batch_rng.bit_generator.state


def test_each_seed_has_its_own_validation_set_and_a_resume_keeps_it(tmp_path):
    first, again, other = Recorder(), Recorder(), Recorder()
    kw = dict(loss_epoch=5, verbosity=False, performance_cutoff=0.999, validation_trials=64)
    m = model(seed=3)
    m.train(Sign(), training_iters=16 * 10, performance_measure=first,
            checkpoint_path=str(tmp_path / "ck"), checkpoint_epoch=5, **kw)
    resumed = Model.from_checkpoint(tmp_path / "ck", backend=NumpyReadoutBackend)
    assert resumed.validation_seed == m.validation_seed
    resumed.train(Sign(), training_iters=16 * 5, performance_measure=again,
                  checkpoint_path=str(tmp_path / "ck"), **kw)
    np.testing.assert_array_equal(again.batches[0], first.batches[0])
    model(seed=4).train(Sign(), training_iters=16 * 5, performance_measure=other, **kw)
    assert not np.array_equal(other.batches[0], first.batches[0])


def test_each_curriculum_stage_has_its_own_set():
    seen: list[tuple[int, np.ndarray]] = []

    def metric(params, x, y, mask, output, epoch, losses, verbosity):
        seen.append((params["stage"], np.array(x)))
        return epoch >= 8 * (params["stage"] + 1), 0.0

    cur = Curriculum([Sign(level=1.0), Sign(level=0.2)], metric=metric, metric_epoch=4,
                     accuracies=[lambda *a: 0.0] * 2)
    model().train(cur, training_iters=16 * 20, loss_epoch=4, verbosity=False,
                  validation_trials=32)
    stage0 = [x for s, x in seen if s == 0]
    stage1 = [x for s, x in seen if s == 1]
    assert len(stage0) == 2 and len(stage1) == 2 and stage0[0].shape[0] == 32
    assert np.array_equal(stage0[0], stage0[1]) and np.array_equal(stage1[0], stage1[1])
    assert np.allclose(np.abs(stage1[0]), 0.2) and np.allclose(np.abs(stage0[0]), 1.0)


@pytest.mark.parametrize("value, error, message", [
    (-1, ValueError, "validation_trials must be a non-negative int"),
    (True, ValueError, "validation_trials must be a non-negative int"),
    (2.5, ValueError, "validation_trials must be a non-negative int"),
])
def test_bad_validation_sizes_are_refused(value, error, message):
    with pytest.raises(error, match=message):
        TrainingOptions(validation_trials=value)


def test_a_nan_cutoff_is_refused():
    with pytest.raises(ValueError, match="performance_cutoff must be a finite number; "
                                         "received nan"):
        TrainingOptions(performance_cutoff=float("nan"))


def test_a_run_records_the_accuracy_it_decided_on(tmp_path):
    result = train_run(Sign(), SPEC, tmp_path / "run", backend=NumpyReadoutBackend, seed=2,
                       training_iters=16 * 200, loss_epoch=5, learning_rate=0.05,
                       performance_cutoff=0.9, validation_trials=256, progress=False)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    with (tmp_path / "run" / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert info["cutoff_reached"] is not None and result.model.last_result.cutoff_reached
    stop = info["cutoff_reached"]["epoch"]
    assert int(rows[-1]["epoch"]) == stop
    assert float(rows[-1]["accuracy"]) == pytest.approx(result.model.last_result.performance)
    assert float(rows[-1]["accuracy"]) >= 0.9 and all(float(r["accuracy"]) < 0.9
                                                      for r in rows[:-1])
