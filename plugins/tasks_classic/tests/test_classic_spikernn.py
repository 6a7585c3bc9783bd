"""The three tasks that follow spikeRNN (Kim, Li & Sejnowski 2019): timing, labels, scoring.

The step numbers below are spikeRNN's (``rate/main.py`` settings, ``rate/model.py`` task
functions; 5 ms per step).
"""

from __future__ import annotations

import numpy as np
import pytest
from psychcore_tasks_classic import SPIKERNN_TASKS, SpikeRNNGoNoGo, SpikeRNNMante, SpikeRNNXOR

import psychcore
from psychcore.testing import check_task


def steps(task, start_ms: float, end_ms: float = np.inf) -> np.ndarray:
    """Boolean vector of the task's steps with ``start_ms <= t < end_ms``."""
    return (task.time >= start_ms) & (task.time < end_ms)


def noise_free(task, N: int, seed: int = 0):
    """A vectorised batch with the noise off: ``(params, x, y, mask)``."""
    rng = np.random.default_rng(seed)
    params = {k: np.asarray(v) for k, v in task.generate_batch_params(0, N, rng).items()}
    if "stim_noise" in params:
        params["stim_noise"] = np.zeros_like(params["stim_noise"])
    return (params, *task.batch_function(task.time, params, rng))


def per_step(task, params: dict, N: int):
    """The same trials built step by step: ``(x, y, mask)`` stacked."""
    trials = [task.generate_trial({k: v[i].item() for k, v in params.items()}) for i in range(N)]
    return tuple(np.stack(a) for a in zip(*trials, strict=True))


# ------------------------------------------------------------------------- defaults, plugin
@pytest.mark.parametrize(
    ("cls", "N_in", "n_steps"),
    [(SpikeRNNGoNoGo, 1, 200), (SpikeRNNXOR, 2, 300), (SpikeRNNMante, 4, 500)],
)
def test_defaults_are_spikernns(cls, N_in: int, n_steps: int) -> None:
    task = cls(seed=0)
    assert (task.dt, task.N_steps, task.N_in, task.N_out, task.N_batch) == (
        5.0, n_steps, N_in, 1, 1
    )
    assert task.N_steps * task.dt == task.T
    assert "spikeRNN" in cls.description and len(cls.description) <= 100
    assert "2019" in cls.__doc__


def test_registered_under_their_names() -> None:
    psychcore.plugins.reload_plugins()
    for cls in SPIKERNN_TASKS:
        assert psychcore.get_task(cls.__name__) is cls


@pytest.mark.parametrize("cls", SPIKERNN_TASKS)
@pytest.mark.parametrize("dt", [5, 7])
def test_conformance_suite(cls, dt: float) -> None:
    """At spikeRNN's settings and a dt that divides no period (test_classic_conformance runs
    the suite at dt = 10 too)."""
    T = cls.spikernn_T + 3 if dt == 7 else cls.spikernn_T
    check_task(cls(dt=dt, T=T, N_batch=16, seed=1))


# ----------------------------------------------------------------------------------- timing
@pytest.mark.parametrize("dt", [5.0, 1.0, 10.0])
def test_gonogo_timing(dt: float) -> None:
    task = SpikeRNNGoNoGo(dt=dt, N_batch=40, seed=0)
    params, x, y, mask = noise_free(task, 40)
    pulse, respond = steps(task, 250, 375), steps(task, 375)
    if dt == 5.0:  # spikeRNN's steps: u[50:75] = 1, z[75:] = 1
        assert np.flatnonzero(pulse).tolist() == list(range(50, 75))
        assert np.flatnonzero(respond).tolist() == list(range(75, 200))
    go = params["go"].astype(bool)
    assert 0 < go.sum() < 40
    assert (x[go][:, pulse] == 1).all() and (x[go][:, ~pulse] == 0).all()
    assert (y[go][:, respond] == 1).all() and (y[go][:, ~respond] == 0).all()
    assert (x[~go] == 0).all() and (y[~go] == 0).all()
    assert (mask == 1).all()
    for a, b in zip(per_step(task, params, 40), (x, y, mask), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dt", [5.0, 1.0, 10.0])
def test_xor_timing_and_labels(dt: float) -> None:
    task = SpikeRNNXOR(dt=dt, N_batch=40, seed=0)
    params, x, y, mask = noise_free(task, 40)
    first, second, target = steps(task, 250, 500), steps(task, 550, 800), steps(task, 850, 1350)
    if dt == 5.0:  # u[0, 50:100], u[1, 110:160], z[170:270]; T = 300 steps
        assert task.N_steps == 300
        assert np.flatnonzero(first).tolist() == list(range(50, 100))
        assert np.flatnonzero(second).tolist() == list(range(110, 160))
        assert np.flatnonzero(target).tolist() == list(range(170, 270))
    for i in range(40):
        s1, s2, label = params["sign_1"][i], params["sign_2"][i], params["label"][i]
        assert s1 in (-1, 1) and s2 in (-1, 1)
        assert label == (1 if s1 == s2 else -1)  # 'same' -> +1, 'diff' -> -1
        assert (x[i, first, 0] == s1).all() and (x[i, ~first, 0] == 0).all()
        assert (x[i, second, 1] == s2).all() and (x[i, ~second, 1] == 0).all()
        assert (y[i, target, 0] == label).all() and (y[i, ~target, 0] == 0).all()
    assert len(set(zip(params["sign_1"], params["sign_2"], strict=True))) == 4
    assert (mask == 1).all()
    for a, b in zip(per_step(task, params, 40), (x, y, mask), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dt", [5.0, 1.0, 10.0])
def test_mante_timing_and_labels(dt: float) -> None:
    task = SpikeRNNMante(dt=dt, N_batch=40, seed=0)
    params, x, y, mask = noise_free(task, 40)
    sensory, target = steps(task, 250, 1250), steps(task, 1250)
    if dt == 5.0:  # u[0:2, 50:250]; context rows for all 500 steps; z[250:]
        assert task.N_steps == 500
        assert np.flatnonzero(sensory).tolist() == list(range(50, 250))
        assert np.flatnonzero(target).tolist() == list(range(250, 500))
    for i in range(40):
        context, motion, color = (params[k][i] for k in ("context", "motion_sign", "color_sign"))
        label = motion if context == 0 else color
        assert params["label"][i] == label
        assert (x[i, sensory, 0] == 0.5 * motion).all() and (x[i, sensory, 1] == 0.5 * color).all()
        assert (x[i, ~sensory, :2] == 0).all()
        assert (x[i, :, 2 + context] == 1).all() and (x[i, :, 3 - context] == 0).all()
        assert (y[i, target, 0] == label).all() and (y[i, ~target, 0] == 0).all()
    assert set(params["context"].tolist()) == {0, 1}
    assert (mask == 1).all()
    for a, b in zip(per_step(task, params, 40), (x, y, mask), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dt", [5.0, 10.0])
@pytest.mark.parametrize("vectorized", [True, False], ids=["vectorised", "per-step"])
def test_mante_noise_is_spikernns_at_5_ms_and_scaled_with_dt(dt: float, vectorized: bool) -> None:
    """spikeRNN: randn() + 0.5 * sign per 5 ms step; sd sqrt(5 / dt) at another dt."""
    N = 200 if vectorized else 20
    task = SpikeRNNMante(dt=dt, N_batch=N, seed=3)
    x, _, _, trial_params = task.get_trial_batch(vectorized=vectorized)
    sensory = steps(task, 250, 1250)
    means = 0.5 * np.array([[p["motion_sign"], p["color_sign"]] for p in trial_params])
    residual = x[:, sensory, :2] - means[:, None, :]
    assert residual.std() == pytest.approx(np.sqrt(5.0 / dt), rel=0.05)
    assert abs(residual.mean()) < 0.05
    assert (x[:, ~sensory, :2] == 0).all()
    assert set(np.unique(x[:, :, 2:])) == {0.0, 1.0}


@pytest.mark.parametrize("cls", SPIKERNN_TASKS)
def test_both_paths_give_the_same_trials_for_one_seed(cls) -> None:
    """Parameters are drawn in the same order by both paths; without input noise (Go/NoGo,
    XOR) the whole batch is the same."""
    task = cls(N_batch=12, seed=0)
    vec = task.get_trial_batch(np.random.default_rng(9), vectorized=True)
    step = task.get_trial_batch(np.random.default_rng(9), vectorized=False)
    assert list(vec[3]) == list(step[3])
    for a, b in zip(vec[1:3], step[1:3], strict=True):
        np.testing.assert_array_equal(a, b)
    if cls is not SpikeRNNMante:
        np.testing.assert_array_equal(vec[0], step[0])


@pytest.mark.parametrize("cls", SPIKERNN_TASKS)
def test_labels_are_drawn_with_probability_one_half(cls) -> None:
    trial_params = cls(N_batch=2000, seed=0).get_trial_batch()[3]
    key = "go" if cls is SpikeRNNGoNoGo else "label"
    fraction = np.mean([p[key] > 0 for p in trial_params])
    assert 0.45 < fraction < 0.55


# --------------------------------------------------------------------------------- accuracy
def gonogo_batch(N: int = 40, **kwargs):
    task = SpikeRNNGoNoGo(N_batch=N, seed=0, **kwargs)
    _, y, mask, trial_params = task.get_trial_batch()
    go = np.array([p["go"] for p in trial_params], dtype=bool)
    return task, y, mask, go


def test_gonogo_accuracy_perfect_and_wrong() -> None:
    task, y, mask, go = gonogo_batch()
    assert task.accuracy_function(y, y, mask) == 1.0
    assert task.accuracy_function(y, 1.0 - y, mask) == 0.0
    assert task.accuracy_function(y, np.zeros_like(y), mask) == pytest.approx(1 - go.mean())
    assert task.accuracy_function(y, np.ones_like(y), mask) == pytest.approx(go.mean())


def test_gonogo_accuracy_thresholds() -> None:
    """Go: max(o[75:]) > 0.7; NoGo: max(|o[75:]|) < 0.3 (strict, as spikeRNN)."""
    task, y, mask, go = gonogo_batch()

    def score(level: float, step: int = 120) -> float:
        out = np.zeros(y.shape)  # float64: 0.7 exactly
        out[:, step, 0] = level
        return task.accuracy_function(y, out, mask)

    assert score(0.7) == 0.0  # not above 0.7: Go fails; not below 0.3: NoGo fails
    assert score(0.7001) == pytest.approx(go.mean())
    assert score(0.3) == 0.0
    assert score(0.2999) == pytest.approx(1 - go.mean())
    assert score(-0.2999) == pytest.approx(1 - go.mean())
    out = np.full(y.shape, 0.29)
    out[go] = 0.0
    out[go, 75:, 0] = 0.71
    assert task.accuracy_function(y, out, mask) == 1.0
    out[~go, 150, 0] = -0.3  # NoGo scores the absolute value
    assert task.accuracy_function(y, out, mask) == pytest.approx(go.mean())
    assert score(5.0, step=74) == pytest.approx(1 - go.mean())  # before step 75: not scored
    assert score(5.0, step=75) == pytest.approx(go.mean())


def test_gonogo_thresholds_are_arguments() -> None:
    task, y, mask, go = gonogo_batch(go_threshold=0.9, nogo_threshold=0.5)
    half = np.full_like(y, 0.45)
    assert task.accuracy_function(y, half, mask) == pytest.approx(1 - go.mean())
    assert task.accuracy_function(y, np.full_like(y, 0.85), mask) == 0.0
    assert task.accuracy_function(y, np.where(y > 0, 0.95, 0.0), mask) == 1.0


@pytest.mark.parametrize(
    ("cls", "onset_step", "n_steps"), [(SpikeRNNXOR, 200, 300), (SpikeRNNMante, 300, 500)]
)
def test_signed_accuracy_thresholds_and_window(cls, onset_step: int, n_steps: int) -> None:
    """+1 trials: max(o[window]) > 0.7; -1 trials: min(o[window]) < -0.7; XOR scores from
    step 200, Mante its last 200 steps."""
    task = cls(N_batch=60, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    label = np.array([p["label"] for p in trial_params])
    assert set(label.tolist()) == {-1, 1}
    assert task.accuracy_function(y, y, mask) == 1.0
    assert task.accuracy_function(y, -y, mask) == 0.0
    assert task.accuracy_function(y, np.zeros_like(y), mask) == 0.0

    def score(level: float, step: int) -> float:
        out = np.zeros(y.shape)  # float64: 0.7 exactly
        out[:, step, 0] = level * label
        return task.accuracy_function(y, out, mask)

    assert score(0.7001, onset_step) == 1.0
    assert score(0.7, onset_step) == 0.0
    assert score(0.7001, n_steps - 1) == 1.0  # to the end of the trial
    assert score(5.0, onset_step - 1) == 0.0  # before the window
    out = np.full_like(y, 0.9)  # a positive output only: right on +1 trials only
    assert task.accuracy_function(y, out, mask) == pytest.approx(np.mean(label > 0))


def test_signed_threshold_is_an_argument() -> None:
    task = SpikeRNNXOR(N_batch=20, threshold=0.2, seed=0)
    _, y, mask, _ = task.get_trial_batch()
    assert task.accuracy_function(y, 0.25 * y, mask) == 1.0
    assert task.accuracy_function(y, 0.15 * y, mask) == 0.0


@pytest.mark.parametrize("cls", SPIKERNN_TASKS)
def test_accuracy_skips_masked_steps_and_validates(cls) -> None:
    task = cls(N_batch=40, seed=0)
    _, y, mask, trial_params = task.get_trial_batch()
    partial = mask.copy()
    partial[:, -1] = 0.0  # the last step is not scored any more
    if cls is SpikeRNNGoNoGo:  # a response at the last step only: wrong on NoGo trials
        out = y.copy()
        out[:, -1, 0] = 50.0
        assert task.accuracy_function(y, out, mask) == pytest.approx(
            np.mean([p["go"] for p in trial_params])
        )
    else:  # the right sign at the last step only: right on every trial
        out = np.zeros_like(y)
        out[:, -1, 0] = 50.0 * np.array([p["label"] for p in trial_params])
        assert task.accuracy_function(y, out, mask) == 1.0
    assert task.accuracy_function(y, out, partial) == (1.0 if cls is SpikeRNNGoNoGo else 0.0)
    partial[:4] = 0.0  # trials without a scored step are left out
    wrong = -y
    wrong[4:] = y[4:]
    assert task.accuracy_function(y, wrong, partial) == 1.0
    with pytest.raises(ValueError, match="0 everywhere in the scored window"):
        task.accuracy_function(y, y, np.zeros_like(mask))
    with pytest.raises(ValueError, match="same shape"):
        task.accuracy_function(y, y[:, :-1], mask)
    with pytest.raises(ValueError, match="N_batch, N_steps, N_out"):
        task.accuracy_function(y[0], y[0], mask[0])
    with pytest.raises(ValueError, match=f"\\(N_batch, {task.N_steps}, 1\\)"):
        task.accuracy_function(y[:, :-1], y[:, :-1], mask[:, :-1])


@pytest.mark.parametrize("cls", [SpikeRNNXOR, SpikeRNNMante])
def test_signed_accuracy_needs_a_label(cls) -> None:
    task = cls(N_batch=4, seed=0)
    _, y, mask, _ = task.get_trial_batch()
    y[2] = 0.0
    with pytest.raises(ValueError, match="trial 2 sums to 0"):
        task.accuracy_function(y, y, mask)


def test_a_nan_output_is_wrong() -> None:
    task = SpikeRNNXOR(N_batch=10, seed=0)
    _, y, mask, _ = task.get_trial_batch()
    out = y.copy()
    out[:3, 250, 0] = np.nan
    out[:3, 200:270, 0] = np.nan
    assert task.accuracy_function(y, out, mask) == pytest.approx(0.7)


# ----------------------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "match"),
    [
        (SpikeRNNGoNoGo, {"T": 370}, ValueError, "T must be at least 375 ms"),
        (SpikeRNNGoNoGo, {"T": 380, "dt": 10}, ValueError, "a step at or after 375 ms"),
        (SpikeRNNXOR, {"T": 1300}, ValueError, "T must be at least 1350 ms"),
        (SpikeRNNMante, {"T": 1500}, ValueError, "a step at or after 1500 ms"),
        (SpikeRNNGoNoGo, {"go_threshold": -0.1}, ValueError, "go_threshold must be"),
        (SpikeRNNGoNoGo, {"nogo_threshold": True}, TypeError, "nogo_threshold must be"),
        (SpikeRNNXOR, {"threshold": float("nan")}, ValueError, "threshold must be"),
        (SpikeRNNMante, {"stim_noise": -1.0}, ValueError, "stim_noise must be"),
        (SpikeRNNMante, {"dt": 0}, ValueError, "dt"),
    ],
)
def test_constructor_validation(cls, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        cls(**kwargs)


def test_longer_trials_keep_the_timing() -> None:
    task = SpikeRNNMante(T=3000, N_batch=4, stim_noise=0.0, seed=0)
    _, x, y, _ = noise_free(task, 4)
    assert task.N_steps == 600 and (y[:, 250:, 0] != 0).all() and (y[:, :250] == 0).all()
    assert task.accuracy_function(y, y, np.ones_like(y)) == 1.0
    assert task.get_task_params()["stim_noise"] == 0.0


# ------------------------------------------------------------------------- training smoke
@pytest.mark.parametrize(
    ("cls", "spec"),
    [(SpikeRNNGoNoGo, {"dale_ratio": 0.8}), (SpikeRNNXOR, {})],
    ids=["gonogo-dale", "xor"],
)
def test_a_torch_network_learns_the_task(cls, spec: dict) -> None:
    """dt=20, tau=100, N_batch=64, N_rec=50, Adam 1e-2, cutoff 0.95, budget 100 batches;
    measured: Go/NoGo (Dale) 10 batches, XOR (no Dale) 20 batches, accuracy 1.0 on 256 fresh
    trials. (XOR with dale_ratio=0.8 stayed at output 0 for 1600 batches.)"""
    pytest.importorskip("torch")
    if "torch" not in psychcore.backends():
        pytest.skip("the torch backend plugin is not installed")
    from psychcore import Model, ModelSpec

    task = cls(dt=20, tau=100, N_batch=64, seed=0)
    model = Model(task, ModelSpec(N_rec=50, **spec), backend="torch", seed=0)
    model.train(task, training_iters=100 * 64, learning_rate=1e-2, performance_cutoff=0.95,
                verbosity=False)
    x, y, mask, _ = cls(dt=20, tau=100, N_batch=256, seed=123).get_trial_batch()
    outputs, _ = model.test(x)
    assert task.accuracy_function(y, outputs, mask) >= 0.9
