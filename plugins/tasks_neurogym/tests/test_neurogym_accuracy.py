"""accuracy_function: NeuroGym's correct trial, the choice in the decision period."""

from __future__ import annotations

import numpy as np
import pytest

neurogym = pytest.importorskip("neurogym")

from neurogym_helpers import TUTORIAL_TIMING  # noqa: E402
from psychcore_tasks_neurogym import (  # noqa: E402
    NeuroGymTask,
    get_neurogym_task,
    registered_classes,
)

DISCRETE = [cls for cls in registered_classes() if cls.accuracy_function
            is NeuroGymTask.accuracy_function]


def _onehot(actions: np.ndarray, n: int) -> np.ndarray:
    return (actions[..., None] == np.arange(n)).astype(np.float32)


@pytest.mark.parametrize("cls", DISCRETE, ids=lambda c: c.neurogym_id)
def test_ground_truth_scores_one(cls: type) -> None:
    task = cls(N_batch=16, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    assert task.accuracy_function(y, y, mask) == 1.0
    assert task.accuracy_function(y, y, mask, trial_params) == 1.0


@pytest.mark.parametrize("env_id", ["DelayComparison-v0", "PerceptualDecisionMaking-v0"])
def test_the_other_choice_scores_zero(env_id: str) -> None:
    task = get_neurogym_task(env_id)(N_batch=32, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    labels = task.labels(trial_params)
    swapped = np.where(labels == 1, 2, np.where(labels == 2, 1, labels))  # choices 1 <-> 2
    wrong = _onehot(swapped, task.N_out)
    assert task.accuracy_function(y, wrong, mask) == 0.0
    assert task.accuracy_function(y, wrong, mask, trial_params) == 0.0
    fixate = _onehot(np.zeros_like(labels), task.N_out)  # never answering is wrong too
    assert task.accuracy_function(y, fixate, mask, trial_params) == 0.0


def test_the_first_choice_counts() -> None:
    """An early wrong choice in the decision period ends the trial, as in NeuroGym."""
    task = get_neurogym_task("yang19.go-v0")(N_batch=16, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    labels = task.labels(trial_params)
    out = labels.copy()
    late_fix = labels.copy()
    for i, p in enumerate(trial_params):
        start, end = p["decision_start"], p["decision_end"]
        assert end - start >= 2
        gt = labels[i, start]
        out[i, start] = 1 + gt % 16  # another direction first, the right one after
        late_fix[i, start] = 0  # fixating for a step, then the right direction
    assert task.accuracy_function(y, _onehot(out, task.N_out), mask, trial_params) == 0.0
    assert task.accuracy_function(y, _onehot(late_fix, task.N_out), mask, trial_params) == 1.0


def test_no_go_trials_are_correct_when_withheld() -> None:
    task = get_neurogym_task("GoNogo-v0")(N_batch=64, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    go = np.array([p["trial"]["ground_truth"] == 1 for p in trial_params])
    assert 0 < go.sum() < 64
    fixate = np.zeros_like(y)
    fixate[..., 0] = 1
    go_always = np.zeros_like(y)
    go_always[..., 1] = 1
    assert task.accuracy_function(y, fixate, mask, trial_params) == pytest.approx(1 - go.mean())
    assert task.accuracy_function(y, go_always, mask, trial_params) == pytest.approx(go.mean())
    assert task.accuracy_function(y, fixate, mask) == pytest.approx(1 - go.mean())


def test_without_fixation_the_last_step_is_the_choice() -> None:
    task = get_neurogym_task("ToneDetection-v0")(N_batch=16, seed=0)
    assert task.fixation_action is None
    _, y, mask, trial_params = task.get_trial_batch()
    labels = task.labels(trial_params)
    out = np.where(labels >= 0, (labels + 1) % 4, 0)  # wrong everywhere ...
    n = trial_params[0]["n_steps"]
    out[:, n - 1] = labels[:, n - 1]  # ... except at the last step
    assert task.accuracy_function(y, _onehot(out, 4), mask) == 1.0
    assert task.accuracy_function(y, _onehot(out, 4), mask, trial_params) == 1.0


def test_masked_fixation_infers_the_same_decision() -> None:
    task = get_neurogym_task("DelayComparison-v0")(100, TUTORIAL_TIMING, N_batch=32,
                                                    mask_fixation=True, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    rng = np.random.default_rng(0)
    out = rng.standard_normal(y.shape)
    assert task.accuracy_function(y, out, mask) == task.accuracy_function(y, out, mask,
                                                                         trial_params)


def test_bad_shapes_are_refused() -> None:
    task = get_neurogym_task("GoNogo-v0")(N_batch=4, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    with pytest.raises(ValueError, match="share a shape"):
        task.accuracy_function(y, y[:, :-1], mask)
    with pytest.raises(ValueError, match="trial_params has 3 trials"):
        task.accuracy_function(y, y, mask, trial_params[:3])


def _neurogym_scores(env_id: str, n_trials: int, seed: int) -> tuple[list, list]:
    """Step NeuroGym's own environment with noisy actions; return the trials and its scores.

    Each trial is ``(gt, n_steps, decision window, actions)``; the score is NeuroGym's
    ``info["performance"]`` at the end of the trial.
    """
    env = neurogym.make(env_id).unwrapped
    env.seed(seed)
    rng = np.random.default_rng(seed)
    trials, scores = [], []
    env.new_trial()
    env.t = env.t_ind = 0
    for _ in range(n_trials):
        gt = np.asarray(env.gt).copy()
        n = gt.shape[0]
        start, end = env.start_ind["decision"], env.end_ind["decision"]
        # mostly the ground truth, with random slips (early answers, wrong choices, misses)
        actions = np.where(rng.random(n) < 0.7, gt, rng.integers(0, env.action_space.n, n))
        for step in range(n):
            _, _, _, _, info = env.step(int(actions[step]))
            if info["new_trial"]:
                break
        trials.append((gt, n, (start, end), actions))
        scores.append(bool(info["performance"] == 1))
    return trials, scores


@pytest.mark.parametrize("env_id", ["PerceptualDecisionMaking-v0", "DelayComparison-v0",
                                    "ContextDecisionMaking-v0", "MultiSensoryIntegration-v0"])
def test_agrees_with_neurogyms_own_scoring(env_id: str) -> None:
    task = get_neurogym_task(env_id)(N_batch=4, seed=0)
    trials, scores = _neurogym_scores(env_id, 300, seed=1)
    S, C = max(t[1] for t in trials), task.N_out
    y = np.zeros((len(trials), S, C), np.float32)
    out = np.zeros_like(y)
    mask = np.zeros_like(y)
    params = []
    for i, (gt, n, (start, end), actions) in enumerate(trials):
        y[i, :n] = _onehot(gt, C)
        out[i, :n] = _onehot(actions, C)
        mask[i, :n] = 1
        params.append({"n_steps": n, "decision_start": start, "decision_end": end})
    ours = task.trial_correct(y, out, mask, params)
    assert 0.2 < np.mean(scores) < 0.95  # both kinds of trial occur
    assert ours.tolist() == scores
    assert task.trial_correct(y, out, mask).tolist() == scores  # inferred decision period
