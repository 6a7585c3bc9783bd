"""The task conformance suite catches a deliberately broken task for every check, and reports
the checks that do not apply as skipped, never as passed.

Each broken task below is :class:`Choice` with one fault; the named check must fail on it, the
other checks must not (so the fault is what the check catches), and ``Choice`` itself passes
every check. A check no broken task can fail would pass vacuously.
"""

from __future__ import annotations

import unittest

import numpy as np
import pytest

from psychcore import Task
from psychcore.testing import (
    TASK_CHECKS,
    CheckReport,
    check_task,
    parametrize_with_checks,
    task_checks,
)
from psychcore.testing._task_checks import check_accuracy, check_paths_agree


class Choice(Task):
    """Report which of two inputs is on, with both paths (per-step and vectorised) and an
    accuracy, so that every check applies."""

    def __init__(self, N_batch: int = 8, seed: int = 0) -> None:
        super().__init__(2, 2, 10, 100, 200, N_batch, seed=seed)

    def generate_trial_params(self, batch: int, trial: int) -> dict:
        return {"side": int(self.rng.integers(2)), "stim_noise": 0.1}

    def trial_function(self, t: float, params: dict) -> tuple:
        onehot = np.eye(2)[params["side"]]
        x = onehot + params["stim_noise"] * self.rng.standard_normal(2)
        return x, onehot, np.full(2, float(t >= 100))

    def batch_function(self, t: np.ndarray, params: dict, rng: np.random.Generator) -> tuple:
        n = len(params["side"])
        onehot = np.eye(2)[params["side"]][:, None, :]
        x = onehot + params["stim_noise"][:, None, None] * rng.standard_normal((n, t.size, 2))
        y = np.broadcast_to(onehot, x.shape)
        mask = np.broadcast_to((t >= 100)[None, :, None], x.shape).astype(float)
        return x, y, mask

    def accuracy_function(self, correct_output, test_output, output_mask) -> float:
        chosen = np.argmax((test_output * output_mask).mean(axis=1), axis=1)
        truth = np.argmax((correct_output * output_mask).mean(axis=1), axis=1)
        return float(np.mean(chosen == truth))


class SharesItsDict(Choice):
    """PsychRNN's get_task_params: the task's own attributes, not a copy."""

    def get_task_params(self) -> dict:
        return vars(self)


class LacksAlpha(Choice):
    def get_task_params(self) -> dict:
        params = super().get_task_params()
        del params["alpha"]
        return params


class MaskAboveOne(Choice):
    def batch_function(self, t, params, rng):
        x, y, mask = super().batch_function(t, params, rng)
        return x, y, 2 * mask

    def trial_function(self, t, params):
        x, y, mask = super().trial_function(t, params)
        return x, y, 2 * mask


class IgnoresTheGenerator(Choice):
    """Draws its noise from fresh entropy instead of the generator it is given."""

    def batch_function(self, t, params, rng):
        return super().batch_function(t, params, np.random.default_rng())


class RestartsTheCounter(Choice):
    """PsychRNN's get_trial_batch: every call starts again at batch 0."""

    def get_trial_batch(self, rng=None, **kw):
        self._batch_index = 0
        return super().get_trial_batch(rng, **kw)


class PathsDisagree(Choice):
    """The per-step path's target starts 20 ms late."""

    def trial_function(self, t, params):
        x, y, mask = super().trial_function(t, params)
        return x, y * (t >= 20), mask


class NoiseScoresPerfect(Choice):
    def accuracy_function(self, correct_output, test_output, output_mask):
        return 1.0


class PercentNotFraction(Choice):
    def accuracy_function(self, correct_output, test_output, output_mask):
        return 100 * super().accuracy_function(correct_output, test_output, output_mask)


class TargetScoresBelowOne(Choice):
    def accuracy_function(self, correct_output, test_output, output_mask):
        return 0.9 * super().accuracy_function(correct_output, test_output, output_mask)


class ClampsNBatch(Choice):
    """Turns a bad N_batch into a valid one instead of refusing it."""

    def get_trial_batch(self, rng=None, *, N_batch=None, **kw):
        N_batch = None if N_batch is None else max(1, int(N_batch))
        return super().get_trial_batch(rng, N_batch=N_batch, **kw)


#: Every task check and the broken tasks it must catch.
BROKEN: dict[str, list[type[Task]]] = {
    "check_task_params": [SharesItsDict, LacksAlpha],
    "check_batch_shapes": [MaskAboveOne],
    "check_reproducible": [IgnoresTheGenerator],
    "check_batch_counter": [RestartsTheCounter],
    "check_paths_agree": [PathsDisagree],
    "check_accuracy": [NoiseScoresPerfect, PercentNotFraction, TargetScoresBelowOne],
    "check_bad_input": [ClampsNBatch],
}
CASES = [(name, cls) for name, classes in BROKEN.items() for cls in classes]


def test_every_check_has_a_broken_task():
    assert {c.__name__ for c in TASK_CHECKS} == set(BROKEN)


def test_the_unbroken_task_passes_every_check_and_skips_none():
    report = check_task(Choice())
    assert isinstance(report, CheckReport)
    assert report.passed == [c.__name__ for c in TASK_CHECKS]
    assert report.skipped == {} and report.failed == {}


@pytest.mark.parametrize(("check_name", "broken"), CASES,
                         ids=[f"{n}-{c.__name__}" for n, c in CASES])
def test_each_check_catches_its_broken_task(check_name, broken):
    checks = dict(task_checks(broken()))
    assert checks[check_name].skip_reason is None
    with pytest.raises(AssertionError):
        checks[check_name]()


@pytest.mark.parametrize(("check_name", "broken"), CASES,
                         ids=[f"{n}-{c.__name__}" for n, c in CASES])
def test_only_that_check_fails(check_name, broken):
    with pytest.raises(AssertionError) as info:
        check_task(broken())
    assert "fails 1 check(s)" in str(info.value)
    assert f"FAILED {check_name}: " in str(info.value)


class VectorisedOnly(Choice):
    trial_function = Task.trial_function
    accuracy_function = Task.accuracy_function


class PerStepOnly(Choice):
    batch_function = Task.batch_function


def test_checks_that_do_not_apply_are_reported_skipped_with_the_reason():
    paths = ("VectorisedOnly defines only the vectorised batch_function: there is no second "
             "path to compare")
    accuracy = "VectorisedOnly defines no accuracy_function (optional)"
    report = check_task(VectorisedOnly())
    assert report.skipped == {"check_paths_agree": paths, "check_accuracy": accuracy}
    assert "check_paths_agree" not in report.passed and len(report.passed) == 5
    assert f"skipped check_accuracy: {accuracy}" in str(report)
    assert "5 passed, 2 skipped, 0 failed" in str(report)
    assert check_task(PerStepOnly()).skipped == {"check_paths_agree": (
        "PerStepOnly defines only the per-step trial_function: there is no second path to "
        "compare")}


def test_a_check_that_does_not_apply_never_passes_when_called():
    task = VectorisedOnly()
    with pytest.raises(unittest.SkipTest, match="check_accuracy: VectorisedOnly defines no"):
        dict(task_checks(task))["check_accuracy"]()
    for check in (check_paths_agree, check_accuracy):  # called directly, too
        with pytest.raises(unittest.SkipTest, match=check.__name__):
            check(task)


def test_parametrize_marks_the_checks_that_do_not_apply_as_skipped():
    params = {p.id: p for p in parametrize_with_checks([VectorisedOnly(), Choice()]).args[1]}
    assert len(params) == 2 * len(TASK_CHECKS)
    (mark,) = params["VectorisedOnly-check_accuracy"].marks
    assert mark.name == "skip"
    assert mark.kwargs["reason"] == ("check_accuracy does not apply: VectorisedOnly defines no "
                                     "accuracy_function (optional)")
    assert params["VectorisedOnly-check_paths_agree"].marks[0].name == "skip"
    assert params["VectorisedOnly-check_batch_shapes"].marks == ()
    assert all(params[f"Choice-{c.__name__}"].marks == () for c in TASK_CHECKS)


def test_a_task_that_crashes_under_a_check_is_listed_as_failing_not_raised_raw():
    class Crashes(Choice):
        def get_task_params(self):
            raise KeyError("N_in")

    with pytest.raises(AssertionError, match=r"FAILED check_task_params: raised KeyError: "
                                             r"'N_in'"):
        check_task(Crashes())
