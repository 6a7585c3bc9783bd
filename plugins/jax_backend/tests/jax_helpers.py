"""Small networks and data shared by the JAX backend's tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from psychcore import ModelSpec
from psychcore.testing import constraint_variants

N_IN, N_OUT, N_REC = 3, 2, 12
TASK_PARAMS = {"N_in": N_IN, "N_out": N_OUT, "dt": 10.0, "tau": 50.0}
ARCHITECTURES = ("rnn", "lstm", "gru")


def bound(n_rec: int = N_REC, **kw: Any) -> ModelSpec:
    """A ModelSpec bound to the small test sizes."""
    return ModelSpec(N_rec=n_rec, **kw).bind(TASK_PARAMS)


def data(seed: int, n: int = 5, steps: int = 30, n_rec: int = N_REC) -> dict[str, np.ndarray]:
    """Random inputs, targets, mask and standard normals."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((n, steps, N_IN)),
        "y": rng.uniform(0.0, 1.0, (n, steps, N_OUT)),
        "mask": (rng.uniform(size=(n, steps, N_OUT)) > 0.3).astype(float),
        "noise": rng.standard_normal((n, steps, n_rec)),
    }


def variants(n_rec: int = N_REC, architecture: str = "rnn") -> dict[str, dict[str, Any]]:
    """ModelSpec keyword sets covering every constraint (``psychcore.testing``'s)."""
    return constraint_variants(n_rec, N_IN, N_OUT, architecture)
