"""Trial-aligned batches: seeding, padding, masks, labels, lengths, construction errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

neurogym = pytest.importorskip("neurogym")

from neurogym_helpers import TUTORIAL_TIMING, batch  # noqa: E402
from psychcore_tasks_neurogym import (  # noqa: E402
    LABEL_PAD,
    NeuroGymTask,
    UnsupportedEnvironmentError,
    get_neurogym_task,
    labels_from_targets,
)

import psychcore  # noqa: E402

#: Environments with extra state: a block schedule (ibl20), several sub-environments (yang19),
#: timing lambdas (IntervalDiscrimination), a plain one (DelayComparison).
STATEFUL = [
    "DelayComparison-v0",
    "IntervalDiscrimination-v0",
    "perceptualdecisionmaking.ibl20-v0",
    "yang19.dlydm1-v0",
]


def _same(a: tuple, b: tuple) -> bool:
    arrays = all(u.tobytes() == v.tobytes() for u, v in zip(a[:3], b[:3], strict=True))
    trials = [p["trial"] for p in a[3]] == [p["trial"] for p in b[3]]
    return arrays and trials


@pytest.mark.parametrize("env_id", STATEFUL)
def test_same_seed_gives_identical_batches(env_id: str) -> None:
    task = get_neurogym_task(env_id)(N_batch=16, seed=0)
    first = batch(task, 5)
    for _ in range(3):  # other batches in between change nothing
        task.get_trial_batch()
    assert _same(first, batch(task, 5))
    other = get_neurogym_task(env_id)(N_batch=16, seed=99)  # a second task object too
    assert _same(first, batch(other, 5))
    assert not _same(first, batch(task, 6))


def test_task_seed_reproduces_the_batch_sequence() -> None:
    def sequence(seed: int) -> list[bytes]:
        task = NeuroGymTask("GoNogo-v0", N_batch=8, seed=seed)
        return [task.get_trial_batch()[0].tobytes() for _ in range(3)]

    assert sequence(1) == sequence(1)
    assert sequence(1) != sequence(2)
    assert len(set(sequence(1))) == 3  # consecutive batches differ


def test_user_instance_is_left_alone() -> None:
    env = neurogym.make("DelayComparison-v0")
    state = env.unwrapped.rng.get_state()[1].copy()
    task = NeuroGymTask(env, N_batch=8, seed=0)
    task.get_trial_batch()
    assert np.array_equal(env.unwrapped.rng.get_state()[1], state)
    assert task.env_id == "DelayComparison-v0"


@pytest.mark.parametrize(("env_id", "timing"), [("DelayComparison-v0", TUTORIAL_TIMING),
                                               ("yang19.dm1-v0", None), ("ReadySetGo-v0", None)])
def test_mask_is_zero_on_padded_steps(env_id: str, timing: dict | None) -> None:
    task = get_neurogym_task(env_id)(timing=timing, N_batch=32, seed=0)
    x, y, mask, trial_params = task.get_trial_batch()
    lengths = {p["n_steps"] for p in trial_params}
    assert len(lengths) > 1 and max(lengths) <= task.N_steps  # trials of several lengths
    for i, p in enumerate(trial_params):
        n = p["n_steps"]
        assert (mask[i, n:] == 0).all() and (x[i, n:] == 0).all() and (y[i, n:] == 0).all()
        assert (mask[i, :n] == 1).all()
        assert (p["label"][n:] == LABEL_PAD).all() and (p["label"][:n] >= 0).all()
        assert np.array_equal(x[i], p["ob"])


def test_mask_fixation_trains_the_responses_only() -> None:
    task = get_neurogym_task("DelayComparison-v0")(N_batch=32, mask_fixation=True, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    labels = task.labels(trial_params)
    respond = (labels != task.fixation_action) & (labels != LABEL_PAD)
    assert respond.any()
    assert np.array_equal(mask[..., 0] == 1, respond)
    for p in trial_params:  # DelayComparison responds in its decision period only
        start, end = p["periods"]["decision"]
        assert (p["decision_start"], p["decision_end"]) == (start, end)
        assert (p["label"][start:end] == p["trial"]["ground_truth"]).all()


def test_labels_match_the_one_hot_targets() -> None:
    task = get_neurogym_task("yang19.dm1-v0")(N_batch=16, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    labels = task.labels(trial_params)
    assert labels.shape == (16, task.N_steps) and labels.dtype == np.int64
    assert np.array_equal(labels, labels_from_targets(y, mask))
    onehot = (labels[..., None] == np.arange(task.N_out)).astype(np.float32)
    assert np.array_equal(onehot, y)
    assert np.array_equal(y.sum(axis=2), (labels != LABEL_PAD).astype(np.float32))


def test_continuous_targets_are_the_ground_truth() -> None:
    task = get_neurogym_task("ReachingDelayResponse-v0")(N_batch=8, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    assert not task.discrete and task.fixation_action is None
    for i, p in enumerate(trial_params):
        n = p["n_steps"]
        assert np.array_equal(y[i], p["target"]) and (y[i, n:] == 0).all()
        start, end = p["periods"]["decision"]
        assert np.allclose(y[i, start:end, 1], p["trial"]["ground_truth"])
    with pytest.raises(ValueError, match="continuous action space"):
        task.labels(trial_params)
    with pytest.raises(NotImplementedError, match="continuous action space"):
        NeuroGymTask("ReachingDelayResponse-v0", N_batch=2).accuracy_function(y, y, mask)
    with pytest.raises(ValueError, match="needs a fixation action"):
        NeuroGymTask("ReachingDelayResponse-v0", mask_fixation=True)


def test_n_steps_is_the_longest_trial_of_the_timing() -> None:
    task = NeuroGymTask("DelayComparison-v0", dt=100, timing=TUTORIAL_TIMING, N_batch=64,
                        seed=0)
    # fixation 500 + stimulus 500 + longest delay 3200 + stimulus 500 + decision 100
    assert task.max_trial_steps == task.N_steps == 48 and task.T == 4800
    assert task.env_kwargs == {"dt": 100, "timing": TUTORIAL_TIMING}
    delays = {p["periods"]["delay"][1] - p["periods"]["delay"][0]
              for p in task.get_trial_batch()[3]}
    assert delays == {2, 4, 8, 16, 32}
    fine = NeuroGymTask("DelayComparison-v0", dt=20, N_batch=4)
    assert fine.dt == 20 and fine.N_steps == 130  # the default timing, 2600 ms


@pytest.mark.parametrize(("env_id", "tight"), [
    ("OneTwoThreeGo-v0", True),  # periods the environment sets itself
    ("IntervalDiscrimination-v0", True),  # three uniform lambdas
    ("ReadySetGo-v0", True),
    ("PostDecisionWager-v0", False),  # truncated exponentials: their maximum is rare
])
def test_no_trial_outgrows_the_padding(env_id: str, tight: bool) -> None:
    """Periods drawn by lambdas or set by the environment itself are bounded too."""
    task = get_neurogym_task(env_id)(N_batch=500, seed=3)
    lengths = [p["n_steps"] for p in task.get_trial_batch()[3]]
    assert max(lengths) <= task.N_steps
    if tight:  # and the padding is not wasteful
        assert max(lengths) >= 0.8 * task.N_steps


def test_T_overrides_the_length() -> None:
    task = NeuroGymTask("GoNogo-v0", T=3000, N_batch=4, seed=0)
    assert task.N_steps == 30 and task.max_trial_steps == 15
    x, _, mask, _ = task.get_trial_batch()
    assert x.shape[1] == 30 and (mask[:, 15:] == 0).all()
    short = NeuroGymTask("DelayComparison-v0", timing=TUTORIAL_TIMING, T=2000, N_batch=64,
                         seed=0)
    with pytest.raises(ValueError, match="longer than N_steps=20"):
        short.get_trial_batch()


def test_per_step_path_builds_the_same_batch() -> None:
    task = get_neurogym_task("PerceptualDecisionMaking-v0")(N_batch=6, seed=0)
    fast = batch(task, 11)
    slow = batch(task, 11, vectorized=False)
    assert _same(fast, slow)


def test_trial_params_hold_neurogym_trial_info() -> None:
    task = get_neurogym_task("DelayComparison-v0")(N_batch=8, seed=0)
    x, _, _, trial_params = task.get_trial_batch()
    for i, p in enumerate(trial_params):
        assert set(p) >= {"trial", "n_steps", "periods", "decision_start", "decision_end",
                          "ob", "label"}
        assert p["trial"]["ground_truth"] in (1, 2)
        assert {"v1", "v2"} <= set(p["trial"])
        start, end = p["periods"]["stimulus1"]
        assert (x[i, :start, 0] == 1).all()  # the fixation input is on before the stimulus


def test_tasks_pickle_and_copy() -> None:
    task = get_neurogym_task("yang19.go-v0")(N_batch=4, seed=0)
    clone = pickle.loads(pickle.dumps(task))
    assert type(clone) is type(task)
    assert _same(batch(task, 1), batch(clone, 1))


@pytest.mark.parametrize(
    ("env_id", "match"),
    [
        ("Bandit-v0", "builds no observations"),
        ("EconomicDecisionMaking-v0", "defines no ground truth"),
        ("perceptualdecisionmaking.roitman02-v0", "wrapper ReactionTime"),
        ("Reaching1D-v0", "not an action of its action space"),
    ],
)
def test_unsupported_environments_say_why(env_id: str, match: str) -> None:
    with pytest.raises(UnsupportedEnvironmentError, match=match):
        NeuroGymTask(env_id)
    with pytest.raises(ValueError, match="is not supported"):
        get_neurogym_task(env_id)
    assert f"neurogym:{env_id}" not in psychcore.tasks()


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("NoSuchTask-v0",), {}, ValueError, "unknown NeuroGym environment"),
        ((3,), {}, TypeError, "env must be a NeuroGym environment id"),
        (("GoNogo-v0",), {"mask_fixation": 1}, TypeError, "mask_fixation must be a bool"),
        (("GoNogo-v0",), {"fixation_action": 5}, ValueError, r"fixation_action must lie in"),
        (("GoNogo-v0",), {"fixation_action": 1.0}, TypeError, "fixation_action"),
        (("GoNogo-v0",), {"N_batch": 0}, ValueError, "N_batch"),
        (("GoNogo-v0",), {"no_such_argument": 1}, TypeError, "no_such_argument"),
        (("GoNogo-v0",), {"timing": [1, 2]}, TypeError, "timing must be a dict"),
        (("AnnubesEnv-v0",), {}, TypeError, "catch_prob"),
    ],
)
def test_construction_errors(args: tuple, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        NeuroGymTask(*args, **kwargs)


def test_an_instance_takes_no_environment_arguments() -> None:
    with pytest.raises(TypeError, match="pass them when you build the instance"):
        NeuroGymTask(neurogym.make("GoNogo-v0"), dt=50)


def test_env_kwargs_reach_the_environment() -> None:
    task = NeuroGymTask("DelayComparison-v0", vpairs=[(34, 10)], N_batch=16, seed=0)
    pairs = {p["trial"]["vpair"] for p in task.get_trial_batch()[3]}
    assert pairs == {(34, 10)}
    same = NeuroGymTask("DelayComparison-v0", env_kwargs={"vpairs": [(34, 10)]}, N_batch=16,
                        seed=0)
    assert _same(batch(task, 0), batch(same, 0))
