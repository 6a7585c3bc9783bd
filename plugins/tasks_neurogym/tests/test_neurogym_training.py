"""End to end with a backend, when one is installed beside NeuroGym (skipped otherwise)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("neurogym")
pytest.importorskip("psychcore_torch")
torch = pytest.importorskip("torch")

from neurogym_helpers import TUTORIAL_TIMING  # noqa: E402
from psychcore_tasks_neurogym import get_neurogym_task  # noqa: E402

import psychcore  # noqa: E402
from psychcore import ModelSpec  # noqa: E402


def test_cross_entropy_training_on_padded_trials_learns() -> None:
    torch.set_num_threads(1)  # a 64-unit network: threads only add overhead
    task = get_neurogym_task("DelayComparison-v0")(100, TUTORIAL_TIMING, N_batch=32, seed=0)
    spec = ModelSpec(N_rec=32, transfer_function="relu", loss="cross_entropy")
    model = psychcore.Model(task, spec, backend="torch", seed=0)
    losses, _, _ = model.train(task, training_iters=32 * 60, learning_rate=1e-2,
                               clip_grads=False, loss_epoch=10, verbosity=False)
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.5 * losses[0]
    x, y, mask, trial_params = task.get_trial_batch(np.random.default_rng(1))
    outputs, _ = model.test(x)
    assert outputs.shape == y.shape
    assert 0.0 <= task.accuracy_function(y, outputs, mask, trial_params) <= 1.0
