"""Contract tests run on every classic task: shapes, seeding, both paths, accuracy, masks."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from psychcore_tasks_classic import (
    TASKS,
    ContextDependentIntegration,
    DelayedDiscrimination,
    GoNoGo,
    MatchToCategory,
    PerceptualDiscrimination,
)

from psychcore import Task

# Instances exercising non-default settings as well: odd sizes (an odd number of noise
# samples), a dt that does not divide T, fixed parameters, other ring sizes.
VARIANTS: list[tuple[str, Task]] = [
    ("pd-default", PerceptualDiscrimination(10, 100, 2000, 16, seed=1)),
    ("pd-fixed", PerceptualDiscrimination(7, 50, 1003, 5, coherence=0.3, direction=0, seed=1)),
    ("pd-coherence-set", PerceptualDiscrimination(10, 100, 2000, 16, coherences=(0.1, 0.7),
                                                  seed=1)),
    ("dd-default", DelayedDiscrimination(10, 100, 2000, 16, seed=1)),
    (
        "dd-custom",
        DelayedDiscrimination(7, 100, 1500, 5, 50, 200, 333, 150, 300, seed=1),
    ),
    ("mc-default", MatchToCategory(10, 100, 2000, 16, seed=1)),
    ("mc-7-3", MatchToCategory(7, 100, 1001, 5, N_in=7, N_out=3, seed=1)),
    ("gng-default", GoNoGo(10, 100, 2000, 16, seed=1)),
    ("gng-custom", GoNoGo(7, 100, 1200, 5, 0.3, 0, 100, 250, 500, seed=1)),
    ("cdi-default", ContextDependentIntegration(10, 100, 2000, 16, seed=1)),
    (
        "cdi-custom",
        ContextDependentIntegration(7, 100, 1500, 5, (-0.2, 0.1), 1, 0.3, 0, 500, 7, 300, seed=1),
    ),
]
VARIANT_IDS = [name for name, _ in VARIANTS]
VARIANT_TASKS = [task for _, task in VARIANTS]


def trial_dicts(params: dict[str, np.ndarray], N: int) -> list[dict]:
    """Per-trial dicts of Python scalars from a dict of per-trial arrays."""
    return [{k: v[i].item() for k, v in params.items()} for i in range(N)]


@pytest.fixture(params=TASKS, ids=lambda cls: cls.__name__)
def task(request: pytest.FixtureRequest) -> Task:
    return request.param(10, 100, 2000, 64, seed=0)


# ------------------------------------------------------------------------- class attributes
@pytest.mark.parametrize("cls", TASKS, ids=lambda cls: cls.__name__)
def test_description_and_docstring(cls: type[Task]) -> None:
    assert issubclass(cls, Task)
    assert isinstance(cls.description, str) and cls.description.strip()
    assert "\n" not in cls.description and len(cls.description) <= 100
    assert cls.__doc__ and any(
        year in cls.__doc__ for year in ("1992", "1999", "2006", "2007", "2013")
    )
    assert "generate_batch_params" in vars(cls) and "generate_trial_params" in vars(cls)
    assert "batch_function" in vars(cls) and "trial_function" in vars(cls)


@pytest.mark.parametrize("cls", TASKS, ids=lambda cls: cls.__name__)
def test_signature_starts_like_psychrnn_and_seed_is_keyword_only(cls: type[Task]) -> None:
    parameters = inspect.signature(cls).parameters
    assert list(parameters)[:4] == ["dt", "tau", "T", "N_batch"]
    assert parameters["seed"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["seed"].default is None


# ---------------------------------------------------------------------------- batch layout
@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_shapes_and_dtypes(task: Task, vectorized: bool) -> None:
    x, y, mask, trial_params = task.get_trial_batch(N_batch=6, vectorized=vectorized)
    assert x.shape == (6, task.N_steps, task.N_in)
    assert y.shape == mask.shape == (6, task.N_steps, task.N_out)
    assert x.dtype == y.dtype == mask.dtype == np.float32
    assert x.flags.c_contiguous and y.flags.c_contiguous and mask.flags.c_contiguous
    assert set(np.unique(mask)) <= {0.0, 1.0}
    assert trial_params.dtype == object and trial_params.shape == (6,)
    assert all(isinstance(p, dict) for p in trial_params)
    assert all(isinstance(p["stim_noise"], float) for p in trial_params)


def test_both_paths_give_the_same_parameter_keys_and_types(task: Task) -> None:
    *_, vec = task.get_trial_batch(np.random.default_rng(0), N_batch=3, vectorized=True)
    *_, step = task.get_trial_batch(np.random.default_rng(0), N_batch=3, vectorized=False)
    assert list(vec[0]) == list(step[0])
    for key in vec[0]:
        assert type(vec[0][key]) is type(step[0][key]), key


@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_mask_and_target_zero_outside_the_decision_period(
    task: Task, vectorized: bool, check_decision_mask
) -> None:
    _, y, mask, trial_params = task.get_trial_batch(N_batch=24, vectorized=vectorized)
    check_decision_mask(task, y, mask, trial_params)


# ----------------------------------------------------------------------------------- seeds
@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_same_seed_same_bytes_other_seed_differs(task: Task, vectorized: bool) -> None:
    def batch(seed: int) -> tuple[np.ndarray, ...]:
        return task.get_trial_batch(np.random.default_rng(seed), vectorized=vectorized)

    a, b, c = batch(11), batch(11), batch(12)
    for u, v in zip(a[:3], b[:3], strict=True):
        assert u.tobytes() == v.tobytes()
    assert a[0].tobytes() != c[0].tobytes()
    assert [p for p in a[3]] == [p for p in b[3]]


def test_task_seed_reproducible(task: Task) -> None:
    cls = type(task)
    a = cls(10, 100, 2000, 8, seed=5)
    b = cls(10, 100, 2000, 8, seed=5)
    c = cls(10, 100, 2000, 8, seed=6)
    for _ in range(2):  # consecutive batches too
        xa, xb, xc = a.get_trial_batch()[0], b.get_trial_batch()[0], c.get_trial_batch()[0]
        assert xa.tobytes() == xb.tobytes()
        assert xa.tobytes() != xc.tobytes()


@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_global_numpy_random_state_is_neither_used_nor_changed(
    task: Task, vectorized: bool
) -> None:
    np.random.seed(0)
    a = task.get_trial_batch(np.random.default_rng(1), vectorized=vectorized)[0]
    after = np.random.random()
    np.random.seed(99)
    b = task.get_trial_batch(np.random.default_rng(1), vectorized=vectorized)[0]
    assert a.tobytes() == b.tobytes()
    np.random.seed(0)
    assert np.random.random() == after


# --------------------------------------------------------------------- per-step == vectorised
@pytest.mark.parametrize("task", VARIANT_TASKS, ids=VARIANT_IDS)
def test_paths_agree_exactly_without_noise(task: Task, noise_free_trials) -> None:
    N = 5
    params, x, y, mask = noise_free_trials(task, N, seed=4)
    assert x.dtype == np.float32
    for i, p in enumerate(trial_dicts(params, N)):
        xs, ys, ms = task.generate_trial(p)
        np.testing.assert_array_equal(ys, y[i], err_msg=f"y, trial {i}")
        np.testing.assert_array_equal(ms, mask[i], err_msg=f"mask, trial {i}")
        np.testing.assert_array_equal(xs, x[i], err_msg=f"x, trial {i}")


@pytest.mark.parametrize("task", VARIANT_TASKS, ids=VARIANT_IDS)
def test_noise_free_inputs_are_deterministic(task: Task, noise_free_trials) -> None:
    _, x1, _, _ = noise_free_trials(task, 4, seed=8)
    params, _, _, _ = noise_free_trials(task, 4, seed=8)
    x2, _, _ = task.batch_function(task.time, params, np.random.default_rng(12345))
    assert x1.tobytes() == x2.tobytes()


@pytest.mark.parametrize("task", VARIANT_TASKS, ids=VARIANT_IDS)
def test_paths_agree_on_targets_with_noise(task: Task) -> None:
    """With noise on, y and mask still agree exactly; x agrees up to the noise."""
    rng = np.random.default_rng(2)
    params = {k: np.asarray(v) for k, v in task.generate_batch_params(0, 4, rng).items()}
    x, y, mask = task.batch_function(task.time, params, rng)
    scale = np.sqrt(2 * task.alpha) * params["stim_noise"].max()
    for i, p in enumerate(trial_dicts(params, 4)):
        xs, ys, ms = task.generate_trial(p)
        np.testing.assert_array_equal(ys, y[i])
        np.testing.assert_array_equal(ms, mask[i])
        assert np.abs(xs - x[i]).max() < 14 * scale + 1e-12


# -------------------------------------------------------------------------------- accuracy
def test_accuracy_on_target_constant_flipped_and_random(task: Task) -> None:
    _, y, mask, trial_params = task.get_trial_batch(N_batch=200)
    assert task.accuracy_function(y, y, mask) == 1.0
    random = np.random.default_rng(0).standard_normal(y.shape)
    assert 0.0 <= task.accuracy_function(y, random, mask) <= 1.0
    constant = np.zeros_like(y)
    if isinstance(task, GoNoGo):
        expected = np.mean([p["go"] == 0 for p in trial_params])
        flipped = 1.0 - y
    else:
        key = "category" if isinstance(task, MatchToCategory) else "choice"
        if isinstance(task, PerceptualDiscrimination):
            key = "direction"
        expected = np.mean([p[key] == 0 for p in trial_params])  # argmax of a tie is 0
        flipped = y[..., ::-1]
    accuracy = task.accuracy_function(y, constant, mask)
    assert isinstance(accuracy, float)
    assert accuracy == pytest.approx(expected)
    assert 0.35 < accuracy < 0.65
    assert task.accuracy_function(y, flipped, mask) == 0.0


def test_accuracy_validates_shapes(task: Task) -> None:
    _, y, mask, _ = task.get_trial_batch(N_batch=4)
    with pytest.raises(ValueError, match="same shape"):
        task.accuracy_function(y, y[:, :-1], mask)
    with pytest.raises(ValueError, match="N_batch, N_steps, N_out"):
        task.accuracy_function(y[0], y[0], mask[0])
    with pytest.raises(ValueError, match="0 everywhere"):
        task.accuracy_function(y, y, np.zeros_like(mask))


# ----------------------------------------------------------------------------------- noise
def test_input_noise_has_the_documented_scale(task: Task) -> None:
    """Residual of x around its noise-free value: mean 0, sd sqrt(2 dt / tau) * stim_noise."""
    rng = np.random.default_rng(3)
    params = {k: np.asarray(v) for k, v in task.generate_batch_params(0, 256, rng).items()}
    noisy, _, _ = task.batch_function(task.time, params, rng)
    expected = np.sqrt(2 * task.alpha) * params["stim_noise"][0]
    params["stim_noise"] = np.zeros_like(params["stim_noise"])
    clean, _, _ = task.batch_function(task.time, params, rng)
    residual = (noisy - clean)[..., :2].astype(np.float64)  # the noisy channels of every task
    assert abs(residual.mean()) < 0.02 * expected
    assert residual.std() == pytest.approx(expected, rel=0.02)


def test_per_step_noise_has_the_same_scale(task: Task) -> None:
    p = task.get_trial_batch(np.random.default_rng(0), N_batch=1)[3][0]
    clean = dict(p, stim_noise=0.0)
    x_clean = task.generate_trial(clean)[0]
    residual = np.concatenate([task.generate_trial(p)[0] - x_clean for _ in range(40)])[:, :2]
    expected = np.sqrt(2 * task.alpha) * p["stim_noise"]
    assert residual.std() == pytest.approx(expected, rel=0.05)


def test_task_params_report_the_configuration(task: Task) -> None:
    params = task.get_task_params()
    assert params["stim_noise"] == task.stim_noise
    assert params["N_in"] == task.N_in and params["N_steps"] == 200
