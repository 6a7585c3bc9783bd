"""The tables every backend reads: which arrays train, which are structure, which names exist.

A backend maps each name to its framework's implementation with :func:`implementation`, so a
name the core adds later is reported as missing from that backend instead of failing deep
inside a training step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from .._spec import LOSSES, TRANSFER_FUNCTIONS

T = TypeVar("T")

#: Raw parameter key of the weights dict -> the ``ModelSpec`` flag that says whether it trains
#: (``init_cell`` follows ``init_state_train``, ``tau_raw`` follows ``train_tau``). The order is
#: the order of the trainable parameters everywhere (optimiser state, global norm).
PARAMETERS: dict[str, str] = {
    "W_in": "W_in_train",
    "W_rec": "W_rec_train",
    "W_out": "W_out_train",
    "b_rec": "b_rec_train",
    "b_out": "b_out_train",
    "init_state": "init_state_train",
    "init_cell": "init_state_train",
    "tau_raw": "train_tau",
}

#: Structural entries of the weights dict: masks, Dale signs and fixed-entry masks (constants).
STRUCTURE_KEYS: tuple[str, ...] = (
    "input_connectivity", "rec_connectivity", "output_connectivity", "Dale_rec", "Dale_out",
    "dale_ratio", "W_in_fixed", "W_rec_fixed", "W_out_fixed", "dale_rectify", "dale_signed_in",
    "dale_signed_out",
)

#: The matrices whose entries can be fixed, with the key of their 0/1 fixed mask.
FIXABLE: dict[str, str] = {"W_in": "W_in_fixed", "W_rec": "W_rec_fixed", "W_out": "W_out_fixed"}

#: Every name a backend must implement, by kind.
NAMES: dict[str, tuple[str, ...]] = {
    "transfer_function": TRANSFER_FUNCTIONS,
    "loss": LOSSES,
}


def trains(spec: Any, key: str) -> bool:
    """Whether the raw parameter ``key`` trains under ``spec``'s flags.

    Raises:
        KeyError: If ``key`` is not a raw parameter (see :data:`PARAMETERS`).
    """
    return bool(getattr(spec, PARAMETERS[key]))


def implementation(kind: str, name: str, table: Mapping[str, T], backend: str = "") -> T:
    """The framework implementation of the transfer function or loss ``name``.

    Args:
        kind: ``"transfer_function"`` or ``"loss"``.
        name: The name from the spec.
        table: The backend's implementations by name; it must cover every name of ``kind``
            in :data:`NAMES`.
        backend: The backend's name, for messages.

    Raises:
        NotImplementedError: If ``table`` lacks one of the core's names (a backend bug, named).
        ValueError: If ``name`` is not one of the core's names.
    """
    names = NAMES[kind]
    missing = [n for n in names if n not in table]
    if missing:
        raise NotImplementedError(
            f"backend {backend or '?'!r} does not implement the {kind}(s) {missing}"
        )
    if name not in names:
        raise ValueError(f"{kind} must be one of {list(names)}; received {name!r}")
    return table[name]
