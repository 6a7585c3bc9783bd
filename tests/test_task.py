"""The Task base class: PsychRNN's contract, the vectorised path, seeding and validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import psychcore
from psychcore import Task
from psychcore.testing import check_task, parametrize_with_checks

DATA = Path(__file__).parent / "data"


def romo_class() -> type[Task]:
    return psychcore.get_task(f"{DATA / 'psychrnn_style_task.py'}:Romo")


class Ramp(Task):
    """Vectorised only: a ramp input whose slope is the trial parameter."""

    def __init__(self, N_batch=8, T=500, seed=None):
        super().__init__(1, 1, 10, 100, T, N_batch, seed=seed)

    def generate_batch_params(self, batch, N, rng):
        return {"slope": rng.uniform(0.5, 1.5, N), "stim_noise": np.full(N, 0.1)}

    def batch_function(self, t, params, rng):
        x = params["slope"][:, None, None] * t[None, :, None] / self.T
        x = x + params["stim_noise"][:, None, None] * rng.standard_normal(x.shape)
        y = np.broadcast_to(params["slope"][:, None, None], x.shape)
        mask = np.broadcast_to((t > self.T / 2)[None, :, None], x.shape)
        return x, y, mask


class Bad(Task):
    """Returns whatever `out` says, to exercise validation."""

    def __init__(self, out, T=50):
        super().__init__(2, 1, 10, 100, T, 3)
        self.out = out

    def generate_trial_params(self, batch, trial):
        return {}

    def trial_function(self, t, params):
        return self.out(t)


def test_psychrnn_style_file_shapes_dtypes_and_seed():
    Romo = romo_class()
    task = Romo(dt=10, tau=100, T=2000, N_batch=16)
    assert (task.alpha, task.N_steps) == (0.1, 200)
    x, y, mask, trial_params = task.get_trial_batch(rng=0)
    assert x.shape == (16, 200, 2) and y.shape == (16, 200, 2) and mask.shape == (16, 200, 2)
    assert x.dtype == y.dtype == mask.dtype == np.float32
    assert trial_params.dtype == object and set(trial_params[0]) == {"f1", "f2", "onset",
                                                                      "stim_noise"}
    again = task.get_trial_batch(rng=0)
    for a, b in zip((x, y, mask), again[:3], strict=True):
        assert a.tobytes() == b.tobytes()
    other = task.get_trial_batch(rng=1)
    assert other[0].tobytes() != x.tobytes()
    # the legacy np.random draws are seeded from psychcore's generator and restored after
    np.random.seed(5)
    expected = np.random.random()
    np.random.seed(5)
    task.get_trial_batch(rng=3)
    assert np.random.random() == expected
    # semantics survive: the target is the channel of the larger frequency
    for i, p in enumerate(trial_params):
        decided = mask[i, :, 0] > 0
        assert y[i, decided, int(p["f1"] > p["f2"])].min() == 1.0


def test_psychrnn_style_task_passes_conformance():
    check_task(romo_class()(dt=10, tau=100, T=1200, N_batch=4))


@parametrize_with_checks([Ramp(), Ramp(N_batch=1, T=30)])
def test_vectorised_task_conformance(check):
    check()


def test_vectorised_trial_params_and_seed():
    x, y, mask, params = Ramp(seed=3).get_trial_batch()
    x2, *_ = Ramp(seed=3).get_trial_batch()
    assert x.tobytes() == x2.tobytes()
    np.testing.assert_allclose(y[:, 0, 0], [p["slope"] for p in params], rtol=1e-6)
    assert mask[:, :25].sum() == 0 and mask[:, 26:].min() == 1
    with pytest.raises(ValueError, match="Ramp has no per-step trial_function"):
        Ramp().get_trial_batch(vectorized=False)


def test_batch_counter_continues_and_params_are_copies():
    task = Ramp()
    seen = []
    task.generate_batch_params = lambda b, N, rng: (seen.append(b),
                                                    Ramp.generate_batch_params(task, b, N, rng))[1]
    task.get_trial_batch()
    task.get_trial_batch()
    gen = task.batch_generator()
    next(gen)
    assert seen == [0, 1, 2]
    params = task.get_task_params()
    params["N_batch"] = 99
    assert task.N_batch == 8 and task.get_task_params()["N_batch"] == 8


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((2, 2, 10, 100, 5, 8), ValueError, "T must be at least dt.*T=5.0 and dt=10.0"),
        ((2, 2, 10, 100, 100, 0), ValueError, "N_batch must be a positive int; received 0"),
        ((2.0, 2, 10, 100, 100, 8), TypeError,
         r"N_in must be a positive int; received 2.0 \(float\)"),
        ((2, 2, -1, 100, 100, 8), ValueError, "dt must be a finite number > 0; received -1.0"),
        ((2, 2, 10, "100", 100, 8), TypeError,
         r"tau must be a finite number > 0; received '100' \(str\)"),
    ],
)
def test_constructor_validation(args, exc, match):
    with pytest.raises(exc, match=match):
        Romo = romo_class()
        Task.__init__(Romo.__new__(Romo), *args)


def test_trial_function_shape_errors_name_task_step_and_shape():
    ok_y, ok_m = np.zeros(1), np.ones(1)
    with pytest.raises(ValueError, match=r"Bad.trial_function returned x_t of shape \(3,\) at "
                                         r"step 0 \(t=0\); expected \(N_in,\) = \(2,\)"):
        Bad(lambda t: (np.zeros(3), ok_y, ok_m)).get_trial_batch()
    with pytest.raises(ValueError, match=r"y_t of shape \(2,\) at step 0.*\(N_out,\) = \(1,\)"):
        Bad(lambda t: (np.zeros(2), np.zeros(2), ok_m)).get_trial_batch()
    with pytest.raises(ValueError, match="x_t of dtype <U1 at step 0"):
        Bad(lambda t: (np.array(["a", "b"]), ok_y, ok_m)).get_trial_batch()
    with pytest.raises(ValueError, match="must return \\(x_t, y_t, mask_t\\)"):
        Bad(lambda t: np.zeros(2)).get_trial_batch()
    nan_late = Bad(lambda t: (np.zeros(2), np.full(1, np.nan if t >= 30 else 0.0), ok_m))
    with pytest.raises(ValueError, match=r"Bad produced a non-finite value in y of shape "
                                         r"\(3, 5, 1\) at trial 0, step 3 \(t=30\)"):
        nan_late.get_trial_batch()


def test_batch_function_shape_error():
    class Short(Ramp):
        def batch_function(self, t, params, rng):
            x, y, mask = super().batch_function(t, params, rng)
            return x[:, :-1], y, mask

    with pytest.raises(ValueError, match=r"Short.batch_function returned x of shape \(8, 49, 1\);"
                                         r" expected \(N_batch, N_steps, N_in\) = \(8, 50, 1\)"):
        Short().get_trial_batch()


def test_seed_type_errors():
    with pytest.raises(TypeError, match="seed must be None, an int"):
        Ramp(seed="zero")
    with pytest.raises(ValueError, match="seed must be a non-negative integer; received -1"):
        Ramp(seed=-1)
