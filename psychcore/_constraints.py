"""Composable structural constraints: connectivity masks, Dale's principle, cell types.

A :class:`Structure` holds the masks of one network (connectivity, Dale signs, fixed entries,
cell-type labels). Constraints edit it in place, one after the other; the order matters
(for instance :class:`InhibitorySubtype` needs :class:`Dale` before it, and a
:class:`CellTypeRule` only sees the labels that exist when it runs).

:func:`psychcore._init.build_structure` applies a :class:`~psychcore.ModelSpec`'s constraints
in a fixed order (masks, Dale, ``spec.constraints``, no autapses; see there). This module knows
nothing of specs: a spec validates its constraints, so it sits above them.

Every constraint serialises with ``to_dict()`` (a ``"type"`` key plus its arguments) and is
rebuilt with :func:`constraint_from_dict` through the :data:`CONSTRAINTS` registry.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from ._checks import (
    as_bool_mask,
    as_mask,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_shape,
    describe,
    mask_to_json,
)
from ._rng import as_generator
from ._structure import N_GATES, Structure

__all__ = [
    "CONSTRAINTS", "N_GATES", "CellTypeRule", "ConnectivityMask", "Constraint", "Dale",
    "FixedWeights", "InhibitorySubtype", "NoAutapses", "SparseConnectivity", "Structure",
    "apply_constraints", "constraint_from_dict", "register_constraint",
]

_RESERVED_LABELS = ("E", "I", "unit", "*")


class Constraint(abc.ABC):
    """Base class of the structural constraints.

    Subclasses set ``type_name``, implement :meth:`apply` and :meth:`params`, and are
    registered with :func:`register_constraint`. Equality and hashing go through
    :meth:`to_dict`, so two constraints with the same arguments are equal.
    """

    type_name: ClassVar[str] = ""

    @abc.abstractmethod
    def apply(self, structure: Structure, rng: np.random.Generator) -> None:
        """Edit ``structure`` in place; random draws come from ``rng`` only."""

    @abc.abstractmethod
    def params(self) -> dict[str, Any]:
        """The constructor arguments, JSON-ready (arrays as nested lists)."""

    def check(self, N_in: int | None, N_rec: int, N_out: int | None) -> None:  # noqa: B027
        """Static checks against the sizes known so far (``None``: not known yet).

        Called by ``ModelSpec`` at construction so that errors surface early; the default
        checks nothing.
        """

    def to_dict(self) -> dict[str, Any]:
        """``{"type": type_name, **params()}``, JSON-serialisable."""
        return {"type": self.type_name, **self.params()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Constraint:
        """Rebuild from :meth:`to_dict` output (``"type"`` already removed or present)."""
        kwargs = {k: v for k, v in d.items() if k != "type"}
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise TypeError(f"{cls.__name__}.from_dict: {exc}") from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Constraint):
            return NotImplemented
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k}={'<array>' if isinstance(v, list) else repr(v)}" for k, v in self.params().items()
        )
        return f"{type(self).__name__}({args})"


CONSTRAINTS: dict[str, type[Constraint]] = {}
"""Registry of constraint classes by ``type_name`` (used by :func:`constraint_from_dict`)."""


def register_constraint(cls: type[Constraint]) -> type[Constraint]:
    """Register a :class:`Constraint` subclass under its ``type_name`` (usable as decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Constraint)) or not cls.type_name:
        raise TypeError(
            "register_constraint: expected a Constraint subclass with a type_name; "
            f"received {describe(cls)}"
        )
    CONSTRAINTS[cls.type_name] = cls
    return cls


def constraint_from_dict(d: dict[str, Any]) -> Constraint:
    """Rebuild a constraint from its ``to_dict()`` output.

    Raises:
        TypeError: If ``d`` is not a dict.
        ValueError: If its ``"type"`` is missing or not registered.
    """
    if not isinstance(d, dict):
        raise TypeError(f"constraint_from_dict: expected a dict; received {describe(d)}")
    kind = d.get("type")
    if kind not in CONSTRAINTS:
        raise ValueError(
            f"constraint_from_dict: 'type' must be one of {sorted(CONSTRAINTS)}; "
            f"received {kind!r}"
        )
    return CONSTRAINTS[kind].from_dict(d)


def _mask_list(arr: np.ndarray | None) -> Any:
    if arr is None:
        return None
    if arr.ndim == 0:
        return bool(arr)
    return mask_to_json(arr)


def _check_shape(owner: str, name: str, arr: np.ndarray, shape: tuple[int, int]) -> None:
    if arr.shape != shape:
        raise ValueError(f"{owner}: {name} must have shape {shape}; received shape {arr.shape}")


@register_constraint
class ConnectivityMask(Constraint):
    """Multiply the connectivity masks by fixed 0/1 masks.

    Args:
        input: ``(N_rec, N_in)`` mask or ``None``.
        rec: ``(N_rec, N_rec)`` mask or ``None``; row = receiving unit, column = sender.
        output: ``(N_out, N_rec)`` mask or ``None``.
    """

    type_name = "connectivity_mask"
    _SLOTS = (("input", "W_in"), ("rec", "W_rec"), ("output", "W_out"))

    def __init__(self, input: Any = None, rec: Any = None, output: Any = None) -> None:
        owner = "ConnectivityMask"
        self.input = None if input is None else as_mask(input, "input", owner)
        self.rec = None if rec is None else as_mask(rec, "rec", owner)
        self.output = None if output is None else as_mask(output, "output", owner)

    def params(self) -> dict[str, Any]:
        return {"input": _mask_list(self.input), "rec": _mask_list(self.rec),
                "output": _mask_list(self.output)}

    def check(self, N_in: int | None, N_rec: int, N_out: int | None) -> None:
        expected = {"input": (N_rec, N_in), "rec": (N_rec, N_rec), "output": (N_out, N_rec)}
        for name, shape in expected.items():
            arr = getattr(self, name)
            if arr is not None:
                check_shape(arr, shape, name, "ConnectivityMask")

    def apply(self, structure: Structure, rng: np.random.Generator) -> None:
        shapes = structure.shapes()
        for name, key in self._SLOTS:
            arr = getattr(self, name)
            if arr is None:
                continue
            _check_shape("ConnectivityMask", name, arr, shapes[key])
            attr = f"{name}_connectivity"
            setattr(structure, attr, getattr(structure, attr) * arr)


@register_constraint
class NoAutapses(Constraint):
    """Remove every self-connection (zero diagonal of ``rec_connectivity``)."""

    type_name = "no_autapses"

    def params(self) -> dict[str, Any]:
        return {}

    def apply(self, structure: Structure, rng: np.random.Generator) -> None:
        structure.rec_connectivity = structure.rec_connectivity.copy()
        np.fill_diagonal(structure.rec_connectivity, 0.0)


@register_constraint
class Dale(Constraint):
    """Dale's principle: every unit is excitatory or inhibitory.

    By default PsychRNN's layout: the first ``round(ratio * N_rec)`` units are excitatory, the
    rest inhibitory (PsychRNN truncates with ``int()`` where psychcore rounds), every matrix
    is used as ``|W|``, and inhibitory units do not reach the output (``Dale_out`` is 0 for
    them). The options express other conventions, such as spikeRNN's (Kim et al. 2019)
    ``Dale(1 - P_inh, inputs="signed", readout="all", rectify="relu", placement="random")``.

    Labels the units ``"E"`` / ``"I"``.

    Args:
        ratio: Fraction of excitatory units, ``0 < ratio <= 1`` (with ``placement="random"``
            the probability of each unit to be excitatory).
        inputs: ``"positive"`` (``|W_in|``, PsychRNN) or ``"signed"`` (``W_in`` as it is:
            Dale's principle constrains the recurrent weights only; fix the inputs with
            ``W_in_train=False`` where they should not train).
        readout: ``"excitatory"`` (``|W_out|`` from excitatory units only, PsychRNN) or
            ``"all"`` (signed ``W_out`` from every unit).
        rectify: How a sign-constrained matrix is made non-negative: ``"abs"`` (a weight
            pushed below zero flips back, PsychRNN) or ``"relu"`` (it stays 0, spikeRNN).
        placement: ``"first"`` (the first units are excitatory) or ``"random"`` (each unit is
            inhibitory with probability ``1 - ratio``, drawn from the generator, as
            spikeRNN's ``P_inh``).

    Raises:
        ValueError: At :meth:`apply`, if Dale's principle is already applied or if the
            output would be silent (no excitatory unit with ``readout="excitatory"``).
    """

    type_name = "dale"
    OPTIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        "inputs": ("positive", "signed"),
        "readout": ("excitatory", "all"),
        "rectify": ("abs", "relu"),
        "placement": ("first", "random"),
    }

    def __init__(self, ratio: float, inputs: str = "positive", readout: str = "excitatory",
                 rectify: str = "abs", placement: str = "first") -> None:
        self.ratio = check_float(ratio, "ratio", "Dale", low=0.0, high=1.0, low_open=True)
        given = {"inputs": inputs, "readout": readout, "rectify": rectify,
                 "placement": placement}
        self.options = {k: check_choice(v, k, "Dale", self.OPTIONS[k]) for k, v in given.items()}
        self.inputs, self.readout = self.options["inputs"], self.options["readout"]
        self.rectify, self.placement = self.options["rectify"], self.options["placement"]

    def params(self) -> dict[str, Any]:
        # options equal to the defaults are left out, so PsychRNN-style specs serialise as
        # they always did
        return {"ratio": self.ratio, **{k: v for k, v in self.options.items()
                                        if v != self.OPTIONS[k][0]}}

    def check(self, N_in: int | None, N_rec: int, N_out: int | None) -> None:
        if self.options["placement"] == "first" and self.options["readout"] == "excitatory" \
                and round(self.ratio * N_rec) == 0:
            raise ValueError(
                f"Dale: ratio={self.ratio} gives round({self.ratio} * {N_rec}) = 0 excitatory "
                "units, so every unit would be inhibitory and the output silent; "
                "raise the ratio or N_rec"
            )

    def apply(self, structure: Structure, rng: np.random.Generator) -> None:
        if structure.dale_signs is not None:
            raise ValueError(
                "Dale: Dale's principle is already applied to this structure "
                "(give dale_ratio or one Dale constraint, not both)"
            )
        self.check(structure.N_in, structure.N_rec, structure.N_out)
        if self.options["placement"] == "random":
            signs = np.where(rng.random(structure.N_rec) < 1.0 - self.ratio, -1.0, 1.0)
            if self.options["readout"] == "excitatory" and not np.any(signs > 0):
                raise ValueError(
                    f"Dale: placement='random' with ratio={self.ratio} drew no excitatory "
                    f"unit among {structure.N_rec}, and readout='excitatory' would silence "
                    "the output; raise the ratio or N_rec, or use readout='all'"
                )
        else:
            signs = -np.ones(structure.N_rec)
            signs[:round(self.ratio * structure.N_rec)] = 1.0
        structure.dale_signs = signs
        structure.dale_ratio = self.ratio
        structure.dale_options = {k: v for k, v in self.options.items() if k != "placement"}
        structure.cell_types = np.where(signs > 0, "E", "I").astype(object)


@register_constraint
class FixedWeights(Constraint):
    """Mark entries of ``W_in``, ``W_rec``, ``W_out`` that never train.

    Args:
        W_in: Boolean (or 0/1) mask shaped like one gate block of the matrix (``True`` =
            fixed), a scalar bool for the whole matrix, or ``None``. Several ``FixedWeights``
            combine with a logical or.
        W_rec: As ``W_in``, for ``W_rec``.
        W_out: As ``W_in``, for ``W_out``.
    """

    type_name = "fixed_weights"

    def __init__(self, W_in: Any = None, W_rec: Any = None, W_out: Any = None) -> None:
        self.masks = {
            k: None if v is None else as_bool_mask(v, k, "FixedWeights")
            for k, v in (("W_in", W_in), ("W_rec", W_rec), ("W_out", W_out))
        }

    def params(self) -> dict[str, Any]:
        return {k: _mask_list(v) for k, v in self.masks.items()}

    def check(self, N_in: int | None, N_rec: int, N_out: int | None) -> None:
        expected = {"W_in": (N_rec, N_in), "W_rec": (N_rec, N_rec), "W_out": (N_out, N_rec)}
        for key, arr in self.masks.items():
            if arr is not None and arr.ndim:
                check_shape(arr, expected[key], key, "FixedWeights")

    def apply(self, structure: Structure, rng: np.random.Generator) -> None:
        for key, shape in structure.shapes().items():
            arr = self.masks[key]
            if arr is None:
                continue
            if arr.ndim:
                _check_shape("FixedWeights", key, arr, shape)
            structure.fixed[key] = structure.fixed[key] | arr


@register_constraint
class SparseConnectivity(Constraint):
    """Random sparse connectivity: each connection exists with a given probability.

    The masks are drawn from the generator passed to :meth:`apply` (input, then recurrent,
    then output; a probability of 1 draws nothing) and multiply the existing masks, so the
    sparsity persists through training.

    Args:
        p_rec: Connection probability of the recurrent layer, ``0 < p <= 1``.
        p_in: Connection probability of the input layer.
        p_out: Connection probability of the output layer.
    """

    type_name = "sparse_connectivity"

    def __init__(self, p_rec: float, p_in: float = 1.0, p_out: float = 1.0) -> None:
        kw = {"low": 0.0, "high": 1.0, "low_open": True}
        self.p_rec = check_float(p_rec, "p_rec", "SparseConnectivity", **kw)
        self.p_in = check_float(p_in, "p_in", "SparseConnectivity", **kw)
        self.p_out = check_float(p_out, "p_out", "SparseConnectivity", **kw)

    def params(self) -> dict[str, Any]:
        return {"p_rec": self.p_rec, "p_in": self.p_in, "p_out": self.p_out}

    def apply(self, structure: Structure, rng: np.random.Generator) -> None:
        shapes = structure.shapes()
        for p, attr, key in (
            (self.p_in, "input_connectivity", "W_in"),
            (self.p_rec, "rec_connectivity", "W_rec"),
            (self.p_out, "output_connectivity", "W_out"),
        ):
            if p < 1.0:
                drawn = (rng.random(shapes[key]) < p).astype(np.float64)
                setattr(structure, attr, getattr(structure, attr) * drawn)


@register_constraint
class InhibitorySubtype(Constraint):
    """Relabel some inhibitory units as a named subtype (e.g. ``"som"``, ``"pv"``).

    Only units still labelled ``"I"`` are candidates, so several subtypes can be carved out
    one after the other. Relabelled units keep their inhibitory Dale sign but are no longer
    labelled ``"I"``.

    Args:
        name: The new label (not ``"E"``, ``"I"``, ``"unit"`` or ``"*"``).
        fraction: Fraction of all inhibitory units to relabel, ``0 < fraction <= 1``
            (rounded to the nearest count).
        count: Number of units to relabel; give exactly one of ``fraction`` and ``count``.
        random: If ``True`` the units are drawn from the generator, otherwise the first
            candidates in index order are taken.

    Raises:
        ValueError: At :meth:`apply`, without Dale's principle, or when there are not
            enough candidates or the fraction selects no unit.
    """

    type_name = "inhibitory_subtype"

    def __init__(
        self,
        name: str,
        fraction: float | None = None,
        count: int | None = None,
        random: bool = False,
    ) -> None:
        owner = "InhibitorySubtype"
        if not isinstance(name, str) or not name:
            raise TypeError(f"{owner}: name must be a non-empty str; received {describe(name)}")
        if name in _RESERVED_LABELS:
            raise ValueError(
                f"{owner}: name must not be one of {_RESERVED_LABELS}; received {name!r}"
            )
        if (fraction is None) == (count is None):
            raise ValueError(
                f"{owner}: give exactly one of fraction and count; received "
                f"fraction={fraction!r}, count={count!r}"
            )
        self.name = name
        self.fraction = (
            None
            if fraction is None
            else check_float(fraction, "fraction", owner, low=0.0, high=1.0, low_open=True)
        )
        self.count = None if count is None else check_int(count, "count", owner)
        self.random = check_bool(random, "random", owner)

    def params(self) -> dict[str, Any]:
        return {"name": self.name, "fraction": self.fraction, "count": self.count,
                "random": self.random}

    def apply(self, structure: Structure, rng: np.random.Generator) -> None:
        owner = f"InhibitorySubtype({self.name!r})"
        if structure.dale_signs is None:
            raise ValueError(
                f"{owner}: requires Dale's principle; set dale_ratio or put a Dale "
                "constraint before it"
            )
        candidates = np.flatnonzero(structure.units("I"))
        n_inh = int(structure.inhibitory.sum())
        n = self.count if self.count is not None else round(self.fraction * n_inh)
        if n == 0:
            raise ValueError(
                f"{owner}: fraction={self.fraction} of {n_inh} inhibitory units selects no unit"
            )
        if n > candidates.size:
            raise ValueError(
                f"{owner}: needs {n} inhibitory units still labelled 'I'; only "
                f"{candidates.size} are left"
            )
        chosen = np.sort(rng.choice(candidates, n, replace=False)) if self.random else (
            candidates[:n]
        )
        types = structure.cell_types.copy()
        types[chosen] = self.name
        structure.cell_types = types


@register_constraint
class CellTypeRule(Constraint):
    """Forbid (or re-allow) recurrent connections from units of type ``pre`` to ``post``.

    ``allowed=False`` zeroes ``rec_connectivity[post, pre]``; ``allowed=True`` sets that
    block to 1 again (restoring connections removed by earlier constraints) but never
    creates a self-connection. ``"*"`` selects every unit.

    Args:
        pre: Label of the sending units (``"E"``, ``"I"``, a subtype, ``"unit"``, ``"*"``).
        post: Label of the receiving units.
        allowed: Whether the connections exist.

    Raises:
        ValueError: At :meth:`apply`, if a label matches no unit (the message lists the
            labels present).
    """

    type_name = "cell_type_rule"

    def __init__(self, pre: str, post: str, allowed: bool = False) -> None:
        for name, value in (("pre", pre), ("post", post)):
            if not isinstance(value, str) or not value:
                raise TypeError(
                    f"CellTypeRule: {name} must be a non-empty str; received {describe(value)}"
                )
        self.pre = pre
        self.post = post
        self.allowed = check_bool(allowed, "allowed", "CellTypeRule")

    def params(self) -> dict[str, Any]:
        return {"pre": self.pre, "post": self.post, "allowed": self.allowed}

    def apply(self, structure: Structure, rng: np.random.Generator) -> None:
        sel = {}
        for name, label in (("pre", self.pre), ("post", self.post)):
            sel[name] = structure.units(label)
            if not sel[name].any():
                present = sorted(set(structure.cell_types.tolist()))
                raise ValueError(
                    f"CellTypeRule: {name}={label!r} matches no unit; labels present: {present}"
                )
        block = np.outer(sel["post"], sel["pre"])
        conn = structure.rec_connectivity.copy()
        if self.allowed:
            np.fill_diagonal(block, False)
            conn[block] = 1.0
        else:
            conn[block] = 0.0
        structure.rec_connectivity = conn


def apply_constraints(
    constraints: Iterable[Constraint],
    N_in: int,
    N_rec: int,
    N_out: int,
    rng: np.random.Generator | int | None = None,
) -> Structure:
    """Apply ``constraints`` in order to a fresh all-ones :class:`Structure`."""
    rng = as_generator(rng, name="rng")
    structure = Structure(N_in=N_in, N_rec=N_rec, N_out=N_out)
    for constraint in constraints:
        if not isinstance(constraint, Constraint):
            raise TypeError(
                f"apply_constraints: expected Constraint objects; received {describe(constraint)}"
            )
        constraint.apply(structure, rng)
    return structure
