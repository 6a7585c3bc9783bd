"""The Structure of a network: connectivity masks, Dale signs, fixed entries, cell types.

Constraints (``psychcore._constraints``) edit a :class:`Structure` in place;
:meth:`Structure.to_weights_entries` turns it into the structural entries of the weights
dictionary of docs/equations.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._checks import check_int

N_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
"""Number of gate blocks ``G`` per architecture (docs/equations.md)."""
DALE_DEFAULTS = {"inputs": "positive", "readout": "excitatory", "rectify": "abs"}
"""PsychRNN's Dale conventions: ``|W_in|``, readout from excitatory units by ``|W_out|``, and
``|W|`` as the rectification (docs/equations.md)."""


@dataclass
class Structure:
    """The masks of one network, edited in place by constraints.

    Args:
        N_in: Number of inputs.
        N_rec: Number of recurrent units.
        N_out: Number of outputs.

    Attributes:
        input_connectivity: ``(N_rec, N_in)`` float 0/1 mask (ones by default).
        rec_connectivity: ``(N_rec, N_rec)`` float 0/1 mask; row = receiving unit.
        output_connectivity: ``(N_out, N_rec)`` float 0/1 mask.
        dale_signs: ``None`` without Dale's principle, else ``(N_rec,)`` array of +1 / -1.
        dale_ratio: The ratio Dale's principle was applied with, or ``None``.
        fixed: Boolean masks of the entries that never train, keys ``"W_in"``, ``"W_rec"``,
            ``"W_out"``, each shaped like one gate block of the matrix.
        cell_types: ``(N_rec,)`` object array of labels: ``"unit"`` without Dale, ``"E"`` /
            ``"I"`` with it, or a subtype name given by :class:`InhibitorySubtype`.
        dale_options: How Dale's principle signs the weights (set by ``Dale``):
            ``{"inputs": "positive"|"signed", "readout": "excitatory"|"all",
            "rectify": "abs"|"relu"}``; empty means PsychRNN's defaults.
    """

    N_in: int
    N_rec: int
    N_out: int
    input_connectivity: np.ndarray = None  # type: ignore[assignment]
    rec_connectivity: np.ndarray = None  # type: ignore[assignment]
    output_connectivity: np.ndarray = None  # type: ignore[assignment]
    dale_signs: np.ndarray | None = None
    dale_ratio: float | None = None
    fixed: dict[str, np.ndarray] = field(default_factory=dict)
    cell_types: np.ndarray = None  # type: ignore[assignment]
    dale_options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.N_in = check_int(self.N_in, "N_in", "Structure")
        self.N_rec = check_int(self.N_rec, "N_rec", "Structure")
        self.N_out = check_int(self.N_out, "N_out", "Structure")
        for name, shape in self.shapes().items():
            key = {"W_in": "input", "W_rec": "rec", "W_out": "output"}[name] + "_connectivity"
            if getattr(self, key) is None:
                setattr(self, key, np.ones(shape))
            self.fixed.setdefault(name, np.zeros(shape, dtype=bool))
        if self.cell_types is None:
            self.cell_types = np.array(["unit"] * self.N_rec, dtype=object)

    def shapes(self) -> dict[str, tuple[int, int]]:
        """Shapes of one gate block of ``W_in``, ``W_rec``, ``W_out``."""
        return {
            "W_in": (self.N_rec, self.N_in),
            "W_rec": (self.N_rec, self.N_rec),
            "W_out": (self.N_out, self.N_rec),
        }

    def units(self, label: str) -> np.ndarray:
        """Boolean ``(N_rec,)`` selection of the units labelled ``label`` (``"*"``: all)."""
        if label == "*":
            return np.ones(self.N_rec, dtype=bool)
        return np.asarray(self.cell_types == label, dtype=bool)

    @property
    def excitatory(self) -> np.ndarray:
        """Boolean ``(N_rec,)``: units with Dale sign +1 (all ``False`` without Dale)."""
        if self.dale_signs is None:
            return np.zeros(self.N_rec, dtype=bool)
        return self.dale_signs > 0

    @property
    def inhibitory(self) -> np.ndarray:
        """Boolean ``(N_rec,)``: units with Dale sign -1 (all ``False`` without Dale)."""
        if self.dale_signs is None:
            return np.zeros(self.N_rec, dtype=bool)
        return self.dale_signs < 0

    def to_weights_entries(
        self, architecture: str = "rnn", dtype: Any = np.float64
    ) -> dict[str, np.ndarray]:
        """The structural entries of the weights dictionary of docs/equations.md.

        Args:
            architecture: ``"rnn"``, ``"lstm"`` or ``"gru"``; the fixed masks of ``W_in`` and
                ``W_rec`` are tiled over its ``G`` gate blocks (connectivity masks are not:
                they apply to every block alike).
            dtype: Floating dtype of the arrays.

        Returns:
            ``input_connectivity``, ``rec_connectivity``, ``output_connectivity``,
            ``Dale_rec`` (diagonal ±1, identity without Dale), ``Dale_out`` (diagonal 1 for
            excitatory, 0 for inhibitory units, identity without Dale), ``dale_ratio`` (0-d,
            NaN without Dale), ``W_in_fixed``, ``W_rec_fixed``, ``W_out_fixed`` (float 0/1).
            With Dale options other than the defaults (:attr:`dale_options`): ``Dale_out`` is
            the identity for ``readout="all"``, and the 0-d entries ``dale_rectify`` (1:
            relu), ``dale_signed_in`` and ``dale_signed_out`` (1: used signed) are added.
        """
        if architecture not in N_GATES:
            raise ValueError(
                f"Structure.to_weights_entries: architecture must be one of "
                f"{tuple(N_GATES)}; received {architecture!r}"
            )
        G = N_GATES[architecture]
        if self.dale_signs is None:
            dale_rec = np.eye(self.N_rec)
            dale_out = np.eye(self.N_rec)
            ratio = np.nan
        else:
            dale_rec = np.diag(self.dale_signs.astype(np.float64))
            dale_out = np.diag((self.dale_signs > 0).astype(np.float64))
            ratio = float(self.dale_ratio) if self.dale_ratio is not None else np.nan
        options = self.dale_options if self.dale_signs is not None else {}
        if options.get("readout") == "all":
            dale_out = np.eye(self.N_rec)
        out = {
            "input_connectivity": np.array(self.input_connectivity),
            "rec_connectivity": np.array(self.rec_connectivity),
            "output_connectivity": np.array(self.output_connectivity),
            "Dale_rec": dale_rec,
            "Dale_out": dale_out,
            "dale_ratio": np.array(ratio),
            "W_in_fixed": np.tile(self.fixed["W_in"], (G, 1)),
            "W_rec_fixed": np.tile(self.fixed["W_rec"], (G, 1)),
            "W_out_fixed": np.array(self.fixed["W_out"]),
        }
        if any(options.get(k, d) != d for k, d in DALE_DEFAULTS.items()):
            out["dale_rectify"] = np.array(float(options.get("rectify") == "relu"))
            out["dale_signed_in"] = np.array(float(options.get("inputs") == "signed"))
            out["dale_signed_out"] = np.array(float(options.get("readout") == "all"))
        return {k: np.asarray(v, dtype=dtype) for k, v in out.items()}
