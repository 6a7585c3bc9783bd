"""Constants and helpers shared by the NeuroGym plugin's tests."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Small batches keep the conformance run short.
N_BATCH = 4

#: The tutorial's DelayComparison-v0 settings ("response" is no period of that environment).
TUTORIAL_TIMING: dict[str, Any] = {
    "delay": ("choice", [200, 400, 800, 1600, 3200]),
    "response": ("constant", 500),
}


def batch(task: Any, seed: int, **kw: Any) -> tuple[np.ndarray, ...]:
    """``task.get_trial_batch`` from a fresh generator seeded with ``seed``."""
    return task.get_trial_batch(np.random.default_rng(seed), **kw)
