"""Building blocks for a backend's own, deeper tests: spec variants covering every constraint,
and gradients of the NumPy reference by central differences."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._constraints import (
    CellTypeRule,
    Dale,
    FixedWeights,
    InhibitorySubtype,
    SparseConnectivity,
)
from .._equations import loss as reference_loss
from .._equations import regularization as reference_regularization
from .._simulator import Simulator
from .._spec import ModelSpec


def _mask(shape: tuple[int, int], p: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).uniform(size=shape) < p).astype(float)


def constraint_variants(n_rec: int = 12, n_in: int = 3, n_out: int = 2,
                        architecture: str = "rnn") -> dict[str, dict[str, Any]]:
    """ModelSpec keyword sets, by name, that together cover every constraint: masks, no
    autapses and Dale's principle; sparse connectivity; fixed entries and a frozen matrix;
    cell-type rules; trainable time constants (rate RNN only); the Dale options that express
    spikeRNN's network (signed inputs, readout from every unit, relu rectification, SOM
    units; with, for the rate RNN, the ``"fixed"`` noise convention) and random E/I placement.

    Args:
        n_rec: ``N_rec`` of the spec the keywords are for.
        n_in: ``N_in``.
        n_out: ``N_out``.
        architecture: ``"rnn"``, ``"lstm"`` or ``"gru"``.
    """
    out = {
        "plain": {},
        "dale_masks_no_autapses": {
            "dale_ratio": 0.75,
            "autapses": False,
            "input_connectivity": _mask((n_rec, n_in), 0.7, 1),
            "rec_connectivity": _mask((n_rec, n_rec), 0.6, 2),
            "output_connectivity": _mask((n_out, n_rec), 0.8, 3),
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
        "dale_options": {
            "constraints": (
                Dale(0.5, inputs="signed", readout="all", rectify="relu"),
                InhibitorySubtype("som", count=1),
                CellTypeRule("I", "som", allowed=False),
                CellTypeRule("som", "som", allowed=False),
            ),
            "W_in_train": False,
        },
        "dale_random_placement": {
            "constraints": (Dale(0.6, readout="all", placement="random"),),
        },
    }
    if architecture == "rnn":
        out["dale_options"]["noise_convention"] = "fixed"
    if architecture != "rnn":
        del out["trainable_tau"]
    return out


def reference_objective(spec: ModelSpec, weights: dict[str, np.ndarray], x: np.ndarray,
                        y: np.ndarray, mask: np.ndarray, noise: np.ndarray | None = None) -> float:
    """The NumPy reference of what ``train_step`` minimises: loss plus regularisation."""
    out, states = Simulator(spec, weights).run_trials(x, rec_noise=spec.rec_noise, noise=noise)
    return reference_loss(spec.loss, out, y, mask) + reference_regularization(spec, weights,
                                                                              states)


def central_differences(spec: ModelSpec, weights: dict[str, np.ndarray], key: str,
                        x: np.ndarray, y: np.ndarray, mask: np.ndarray,
                        noise: np.ndarray | None = None, step: float = 1e-6) -> np.ndarray:
    """The gradient of :func:`reference_objective` with respect to ``weights[key]`` by central
    differences (use float64 specs and small networks: two Simulator runs per entry)."""
    grad = np.zeros_like(weights[key], dtype=np.float64)
    for idx in np.ndindex(grad.shape):
        values = []
        for sign in (1.0, -1.0):
            w = {k: np.array(v, dtype=np.float64) for k, v in weights.items()}
            w[key][idx] += sign * step
            values.append(reference_objective(spec, w, x, y, mask, noise))
        grad[idx] = (values[0] - values[1]) / (2 * step)
    return grad
