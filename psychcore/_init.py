"""From a :class:`~psychcore.ModelSpec` to its initial weights: :func:`initialize_weights`.

Two steps, both drawing from one ``numpy.random.Generator``: :func:`build_structure` applies the
spec's constraints to a fresh :class:`~psychcore._structure.Structure` (order below), then the
spec's initialiser (:mod:`psychcore._initializers`, which documents what every initialiser
draws) fills the trainable arrays; ``tau_raw`` is added for trainable time constants.

The constraints of a spec, in the order :func:`build_structure` applies them:

1. an all-ones structure (every connection exists, no Dale, nothing fixed, every unit
   labelled ``"unit"``);
2. ``ConnectivityMask(spec.input_connectivity, spec.rec_connectivity,
   spec.output_connectivity)`` when any of them is given;
3. ``Dale(spec.dale_ratio)`` when ``dale_ratio`` is not ``None``;
4. ``spec.constraints``, in the order given;
5. ``NoAutapses()`` when ``spec.autapses`` is ``False`` (last, so nothing re-creates a
   self-connection).

This module sits above :mod:`psychcore._spec` (it reads a spec), which sits above the
constraints and the initialisers (a spec validates them).
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_int, describe
from ._constraints import (
    ConnectivityMask,
    Constraint,
    Dale,
    NoAutapses,
    Structure,
    apply_constraints,
)
from ._initializers import get_initializer
from ._rng import as_generator
from ._spec import ModelSpec


def spec_constraints(spec: ModelSpec) -> tuple[Constraint, ...]:
    """The constraints of ``spec`` in the order :func:`build_structure` applies them (module
    docstring)."""
    out: list[Constraint] = []
    masks = (spec.input_connectivity, spec.rec_connectivity, spec.output_connectivity)
    if any(m is not None for m in masks):
        out.append(ConnectivityMask(*masks))
    if spec.dale_ratio is not None:
        out.append(Dale(spec.dale_ratio))
    out.extend(spec.constraints)
    if not spec.autapses:
        out.append(NoAutapses())
    return tuple(out)


def build_structure(
    spec: ModelSpec, N_in: int, N_out: int, rng: np.random.Generator | int | None
) -> Structure:
    """Compose the structure of ``spec`` for the given input and output sizes.

    The order is the one in the module docstring (masks, Dale, ``spec.constraints``, no
    autapses). Random constraints draw from ``rng`` only.

    Raises:
        TypeError: If ``spec`` is not a ModelSpec.
        ValueError: If ``N_in`` or ``N_out`` is not a positive int.
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"build_structure: spec must be a ModelSpec; received {describe(spec)}")
    N_in = check_int(N_in, "N_in", "build_structure")
    N_out = check_int(N_out, "N_out", "build_structure")
    return apply_constraints(spec_constraints(spec), N_in, spec.N_rec, N_out, rng)


def tau_raw_for(tau: float, tau_range: tuple[float, float], N_rec: int) -> np.ndarray:
    """``tau_raw`` such that ``tau_min + (tau_max - tau_min) * sigmoid(tau_raw) == tau``.

    Raises:
        ValueError: If ``tau`` is not strictly inside ``tau_range``.
    """
    lo, hi = tau_range
    if not lo < tau < hi:
        raise ValueError(
            f"tau_raw_for: tau must lie strictly inside tau_range {tuple(tau_range)} so the "
            f"trainable time constants can start at it; received tau={tau}"
        )
    frac = (tau - lo) / (hi - lo)
    return np.full(N_rec, math.log(frac / (1.0 - frac)))


def _size(spec_value: int | None, given: int | None, name: str) -> int:
    if given is not None:
        given = check_int(given, name, "initialize_weights")
        if spec_value is not None and spec_value != given:
            raise ValueError(
                f"initialize_weights: {name}={given} conflicts with the spec's {name}="
                f"{spec_value}"
            )
        return given
    if spec_value is None:
        raise ValueError(
            f"initialize_weights: {name} is unknown: bind the spec to a task "
            f"(spec.bind(task)) or pass {name}=..."
        )
    return spec_value


def initialize_weights(
    spec: ModelSpec,
    rng: np.random.Generator | int | None,
    N_in: int | None = None,
    N_out: int | None = None,
) -> dict[str, np.ndarray]:
    """Build the complete weights dictionary of docs/equations.md for ``spec``.

    Args:
        spec: The model spec (bound, or give ``N_in`` / ``N_out``).
        rng: Generator (or seed) for every draw.
        N_in: Number of inputs when the spec is not bound.
        N_out: Number of outputs when the spec is not bound.

    Returns:
        Arrays of dtype ``spec.dtype``: the trainable arrays of the initialiser, the
        structural entries of :meth:`Structure.to_weights_entries` and, with
        ``spec.train_tau``, ``tau_raw``.

    Raises:
        ValueError: If a size is unknown or conflicts with the spec, or ``train_tau`` is on
            but ``tau`` is unknown or outside ``tau_range``.
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"initialize_weights: spec must be a ModelSpec; received {describe(spec)}")
    N_in = _size(spec.N_in, N_in, "N_in")
    N_out = _size(spec.N_out, N_out, "N_out")
    rng = as_generator(rng, name="rng")
    structure = build_structure(spec, N_in, N_out, rng)
    initializer = get_initializer(spec.initializer, **spec.initializer_params)
    weights = initializer.initialize(structure, rng, spec.architecture)
    weights.update(structure.to_weights_entries(spec.architecture))
    if spec.train_tau:
        if spec.tau is None:
            raise ValueError(
                "initialize_weights: train_tau=True needs the task's tau: bind the spec first"
            )
        tau_range = spec.tau_range or (spec.dt, 10.0 * spec.tau)
        weights["tau_raw"] = tau_raw_for(spec.tau, tau_range, spec.N_rec)
    return {k: np.asarray(v, dtype=spec.dtype) for k, v in weights.items()}
