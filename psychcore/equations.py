"""The reference equations in NumPy (``docs/equations.md``): what every backend computes.

Public names for backend authors and for researchers who want the numbers by hand: effective
weights, per-unit time constants, transfer functions, losses and regularisation. The
:class:`psychcore.Simulator` runs the dynamics with them.
"""

from __future__ import annotations

from ._equations import (
    LOSS_FUNCTIONS,
    TRANSFER_FUNCTIONS,
    effective_weights,
    gate_count,
    get_effective_W_in,
    get_effective_W_out,
    get_effective_W_rec,
    get_transfer_function,
    loss,
    regularization,
    unit_alpha,
)

__all__ = [
    "LOSS_FUNCTIONS",
    "TRANSFER_FUNCTIONS",
    "effective_weights",
    "gate_count",
    "get_effective_W_in",
    "get_effective_W_out",
    "get_effective_W_rec",
    "get_transfer_function",
    "loss",
    "regularization",
    "unit_alpha",
]
