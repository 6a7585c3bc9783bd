"""Small networks, data and spec variants shared by the PyTorch backend's tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from psychcore import (
    CellTypeRule,
    FixedWeights,
    InhibitorySubtype,
    ModelSpec,
    SparseConnectivity,
)

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


def _mask(shape: tuple[int, int], p: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).uniform(size=shape) < p).astype(float)


def variants(n_rec: int = N_REC, architecture: str = "rnn") -> dict[str, dict[str, Any]]:
    """ModelSpec keyword sets covering every constraint (t_connectivity is Simulator-only;
    trainable time constants exist for the rate RNN only)."""
    out = {
        "plain": {},
        "dale_masks_no_autapses": {
            "dale_ratio": 0.75,
            "autapses": False,
            "input_connectivity": _mask((n_rec, N_IN), 0.7, 1),
            "rec_connectivity": _mask((n_rec, n_rec), 0.6, 2),
            "output_connectivity": _mask((N_OUT, n_rec), 0.8, 3),
        },
        "sparse": {"constraints": (SparseConnectivity(p_rec=0.3, p_in=0.6, p_out=0.7),)},
        "fixed": {
            "W_in_train": False,
            "constraints": (FixedWeights(W_rec=_mask((n_rec, n_rec), 0.4, 4), W_out=True),),
        },
        "cell_types": {
            "dale_ratio": 0.5,
            "constraints": (
                InhibitorySubtype("pv", fraction=0.5),
                CellTypeRule("pv", "E", allowed=False),
                CellTypeRule("I", "I", allowed=False),
            ),
        },
        "trainable_tau": {"train_tau": True, "tau_range": (20.0, 200.0), "dale_ratio": 0.75},
    }
    if architecture != "rnn":
        del out["trainable_tau"]
    return out
