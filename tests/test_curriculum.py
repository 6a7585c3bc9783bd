"""Tests of psychcore._curriculum with a tiny real Task subclass."""

from __future__ import annotations

import re

import numpy as np
import pytest

from psychcore._curriculum import Curriculum, StageTransition, default_metric
from psychcore._task import Task


class Level(Task):
    """Hold a constant output ``level``; a trial is correct if the last output is within 0.1."""

    def __init__(self, level: float, T: float = 50.0) -> None:
        super().__init__(N_in=1, N_out=1, dt=10.0, tau=100.0, T=T, N_batch=4, seed=0)
        self.level = level

    def generate_batch_params(self, batch, N, rng):
        return {"level": np.full(N, self.level)}

    def batch_function(self, t, params, rng):
        shape = (len(params["level"]), len(t), 1)
        x = np.ones(shape)
        y = params["level"][:, None, None] * np.ones(shape)
        return x, y, np.ones(shape)

    def accuracy_function(self, correct_output, test_output, output_mask):
        return float(np.mean(np.abs(test_output[:, -1, 0] - correct_output[:, -1, 0]) < 0.1))


class NoAccuracy(Level):
    accuracy_function = Task.accuracy_function


def batch_with_accuracy(task: Level, accuracy: float):
    """A test batch and outputs where a fraction ``accuracy`` of the 4 trials is correct."""
    x, y, mask, _ = task.get_trial_batch()
    out = y.copy()
    n_wrong = int(round((1 - accuracy) * len(out)))
    out[:n_wrong, -1, 0] += 1.0
    return x, y, mask, out


def test_defaults():
    tasks = [Level(0.5), Level(1.0)]
    cur = Curriculum(tasks)
    assert cur.thresholds == [0.9, 0.9] and cur.metric is default_metric
    assert cur.metric_epoch == 10 and cur.output_file is None
    assert cur.accuracies == [tasks[0].accuracy_function, tasks[1].accuracy_function]
    assert cur.stage == 0 and not cur.stop_training and cur.metric_values == [] == cur.history
    assert cur.current_task is tasks[0]


def test_stages_advance_with_real_accuracy():
    tasks = [Level(0.5), Level(1.0, T=80.0)]
    cur = Curriculum(tasks, thresholds=[0.7, 1.0])
    x, y, mask, out = batch_with_accuracy(tasks[0], 0.5)
    assert cur.metric_test(x, y, mask, out, epoch=10, losses=[1.0]) is False
    assert cur.stage == 0 and cur.metric_values == [[0.5, 0]]
    x, y, mask, out = batch_with_accuracy(tasks[0], 0.75)  # 0.75 >= 0.7 passes
    assert cur.metric_test(x, y, mask, out, 20, [1.0, 0.5]) is True
    assert cur.stage == 1 and cur.current_task is tasks[1] and not cur.stop_training
    assert cur.history == [StageTransition(epoch=20, stage=0, metric=0.75)]
    batch = next(cur.get_generator_function())
    assert batch[0].shape == (4, 8, 1)  # the second task's N_steps
    x, y, mask, out = batch_with_accuracy(tasks[1], 0.75)  # below 1.0
    assert cur.metric_test(x, y, mask, out, 30, []) is False
    x, y, mask, out = batch_with_accuracy(tasks[1], 1.0)
    assert cur.metric_test(x, y, mask, out, 40, []) is True
    assert cur.stop_training and cur.stage == 2 and cur.current_task is tasks[1]
    assert cur.metric_values == [[0.5, 0], [0.75, 0], [0.75, 1], [1.0, 1]]
    assert [h.stage for h in cur.history] == [0, 1] and cur.history[1].epoch == 40
    with pytest.raises(RuntimeError, match="all 2 stages have passed"):
        cur.metric_test(x, y, mask, out, 50, [])


def test_custom_metric_and_accuracies():
    tasks = [Level(0.0), Level(1.0)]
    seen = []

    def metric(params, input_data, correct_output, output_mask, output, epoch, losses, verbosity):
        seen.append(params)
        return losses[-1] < 0.1, losses[-1]

    cur = Curriculum(tasks, metric=metric, metric_epoch=3)
    x, y, mask, out = batch_with_accuracy(tasks[0], 1.0)
    assert not cur.metric_test(x, y, mask, out, 3, [0.5])
    assert cur.metric_test(x, y, mask, out, 6, [0.5, 0.05])
    keys = {"stop_training", "stage", "metric_values", "tasks", "metric", "accuracies",
            "thresholds", "metric_epoch", "output_file"}
    assert set(seen[0]) == keys and seen[0]["metric_epoch"] == 3 and seen[1]["stage"] == 0
    assert cur.metric_values == [[0.5, 0], [0.05, 0]]

    always = Curriculum([NoAccuracy(0.0)], accuracies=[lambda c, o, m: 0.95])
    assert always.metric_test(x, y, mask, out, 1, [], verbosity=False) and always.stop_training


def test_default_metric_signature_and_verbosity(capsys):
    task = Level(0.5)
    cur = Curriculum([task], thresholds=[0.5])
    x, y, mask, out = batch_with_accuracy(task, 0.5)
    assert default_metric(cur.params, x, y, mask, out, 0, [], True) == (True, 0.5)
    assert "accuracy 0.5" in capsys.readouterr().out
    assert cur.metric_test(x, y, mask, out, 0, [], verbosity=True)
    assert "Curriculum complete" in capsys.readouterr().out


def test_output_file_written_reloadable_and_never_overwritten(tmp_path):
    tasks = [Level(0.5), Level(1.0)]
    cur = Curriculum(tasks, output_file=tmp_path / "curriculum")
    path = tmp_path / "curriculum.npz"
    assert cur.output_file == path and not path.exists()
    for epoch, (task, acc) in enumerate([(tasks[0], 0.5), (tasks[0], 1.0), (tasks[1], 0.25)]):
        cur.metric_test(*batch_with_accuracy(task, acc), epoch * 10, [])
    with np.load(path, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["metric_values"], [0.5, 1.0, 0.25])
        np.testing.assert_array_equal(data["stages"], [0, 0, 1])
        assert sorted(data.files) == ["metric_values", "stages"]
        assert data["stages"].dtype == np.int64
    with pytest.raises(FileExistsError, match=re.escape(str(path)) + " already exists"):
        Curriculum(tasks, output_file=str(path))
    with pytest.raises(FileExistsError, match="curriculum.npz already exists"):
        Curriculum(tasks, output_file=tmp_path / "curriculum")


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"tasks": []}, ValueError, r"tasks must be a non-empty list of Task; received \[\]"),
        ({"tasks": "abc"}, TypeError, "tasks must be a list; received str"),
        ({"tasks": [1]}, TypeError, r"tasks\[0\] must be a Task; received int"),
        ({"thresholds": [0.9, 0.8, 0.7]}, ValueError,
         r"thresholds must have one entry per task \(2\); received 3"),
        ({"thresholds": 0.9}, TypeError, "thresholds must be a list; received float"),
        ({"thresholds": [0.9, "x"]}, TypeError, r"thresholds\[1\] must be a number; received str"),
        ({"accuracies": [len]}, ValueError, r"accuracies must have one entry per task \(2\)"),
        ({"accuracies": [len, 3]}, TypeError, r"accuracies\[1\] must be callable; received int"),
        ({"metric": "accuracy"}, TypeError, "metric must be callable; received str"),
        ({"metric_epoch": 0}, ValueError, "metric_epoch must be a positive int; received 0"),
        ({"metric_epoch": 2.5}, TypeError, "metric_epoch must be a positive int; received float"),
        ({"output_file": 3}, TypeError, "output_file must be a path; received int"),
    ],
)
def test_validation(kwargs, error, pattern):
    args = {"tasks": [Level(0.5), Level(1.0)], **kwargs}
    with pytest.raises(error, match=pattern):
        Curriculum(**args)


def test_default_metric_needs_accuracy_functions():
    with pytest.raises(ValueError, match=r"tasks\[1\] \(NoAccuracy\) defines no accuracy_function"):
        Curriculum([Level(0.5), NoAccuracy(1.0)])


def test_metric_must_return_pair():
    task = Level(0.5)
    cur = Curriculum([task], metric=lambda *args: 0.5)
    with pytest.raises(TypeError, match=r"metric must return \(advance, value\); received 0.5"):
        cur.metric_test(*batch_with_accuracy(task, 1.0), 0, [])


def passed_one_of_two():
    tasks = [Level(0.5), Level(1.0)]
    cur = Curriculum(tasks, thresholds=[0.7, 1.0])
    for epoch, acc in ((10, 0.5), (20, 0.75), (30, 0.5)):
        cur.metric_test(*batch_with_accuracy(cur.current_task, acc), epoch, [])
    return cur


def test_state_dict_round_trips_through_json():
    import json

    cur = passed_one_of_two()
    state = cur.state_dict()
    assert state == {"stage": 1, "stop_training": False,
                     "metric_values": [[0.5, 0], [0.75, 0], [0.5, 1]],
                     "history": [[20, 0, 0.75]]}
    state["metric_values"].append([9.0, 0])  # a copy: the curriculum is untouched
    assert len(cur.metric_values) == 3
    other = Curriculum([Level(0.5), Level(1.0)], thresholds=[0.7, 1.0])
    other.load_state_dict(json.loads(json.dumps(cur.state_dict())))
    assert (other.stage, other.stop_training, other.metric_values, other.history) == (
        cur.stage, cur.stop_training, cur.metric_values, cur.history)
    assert isinstance(other.history[0], StageTransition) and other.current_task is other.tasks[1]
    # what checkpoints written before state_dict existed hold: the same keys and values
    old = json.loads(json.dumps({"stage": cur.stage, "stop_training": cur.stop_training,
                                 "metric_values": cur.metric_values, "history": cur.history}))
    other = Curriculum([Level(0.5), Level(1.0)])
    other.load_state_dict(old)
    assert other.state_dict() == cur.state_dict()


@pytest.mark.parametrize("change, pattern", [
    ({"stage": 3}, "stage must be an int from 0 to 2 (this curriculum has 2 tasks); received 3"),
    ({"stage": -1}, "stage must be an int from 0 to 2"),
    ({"stage": 1.0}, "stage must be an int"),
    ({"stop_training": True}, "stop_training must be False at stage 1 of 2; received True"),
    ({"metric_values": [[0.5]]}, "metric_values[0] must be 2 numbers; received [0.5]"),
    ({"metric_values": "x"}, "metric_values must be a list; received str"),
    ({"metric_values": [[0.5, 2]]}, "metric_values[0] names stage 2; this curriculum has "
                                    "stages 0 to 1"),
    ({"history": [[20, 0, 0.75], [30, 1, 1.0]]}, "history must hold one entry per passed "
                                                 "stage (1); received 2"),
    ({"history": [[20, "0", 0.75]]}, "history[0] must be 3 numbers"),
])
def test_load_state_dict_refuses_a_state_that_does_not_fit(change, pattern):
    cur = passed_one_of_two()
    state = {**cur.state_dict(), **change}
    fresh = Curriculum([Level(0.5), Level(1.0)])
    with pytest.raises(ValueError, match=re.escape(pattern)):
        fresh.load_state_dict(state)
    assert fresh.stage == 0 and fresh.metric_values == []  # nothing half-loaded
    with pytest.raises(ValueError, match="Curriculum state lacks history"):
        fresh.load_state_dict({k: v for k, v in state.items() if k != "history"})
    with pytest.raises(TypeError, match="must be a dict; received list"):
        fresh.load_state_dict([])
