"""Connectivity: weight-matrix plots (E red, I blue, masked blank) and the eigenvalue spectrum."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._checks import describe
from .._equations import dale_enabled, effective_weights
from . import _validate as v

MATRICES = ("W_in", "W_rec", "W_out")
_GATE_NAMES = {4: "i, f, g, o", 3: "r, z, n"}


def _absent(weights: Mapping[str, Any], key: str, shape: tuple[int, ...]) -> np.ndarray:
    """Where a connection of the effective matrix ``key`` does not exist (mask 0, or Dale_out 0)."""
    conn = {"W_in": "input_connectivity", "W_rec": "rec_connectivity",
            "W_out": "output_connectivity"}[key]
    absent = np.zeros(shape, dtype=bool)
    mask = weights.get(conn)
    if mask is not None:
        mask = np.asarray(mask)
        reps = shape[0] // mask.shape[0] if mask.shape[0] else 1
        absent |= np.tile(mask, (reps, 1)) == 0
    if key == "W_out" and dale_enabled(weights) and weights.get("Dale_out") is not None:
        absent |= (np.diagonal(np.asarray(weights["Dale_out"])) == 0)[np.newaxis, :]
    return absent


def unit_types(weights: Mapping[str, Any]) -> np.ndarray:
    """Type of each recurrent unit: ``+1`` excitatory, ``-1`` inhibitory, ``0`` without Dale.

    Args:
        weights: Weights dict (``Dale_rec``'s diagonal gives the types when Dale's principle
            is on; ``dale_ratio`` says whether it is).

    Raises:
        TypeError: If ``weights`` is not a mapping.
        ValueError: If it has no ``W_rec``.
    """
    v.weights_mapping(weights, "unit_types")
    n = np.shape(weights["W_rec"])[-1]
    if not dale_enabled(weights) or weights.get("Dale_rec") is None:
        return np.zeros(n, dtype=np.int64)
    return np.sign(np.diagonal(np.asarray(weights["Dale_rec"]))).astype(np.int64)


def eigenvalue_spectrum(weights: Mapping[str, Any]) -> np.ndarray:
    """Eigenvalues of the effective recurrent matrix ``W_rec_eff`` (docs/equations.md).

    Args:
        weights: Weights dict of a rate RNN (square ``W_rec``).

    Returns:
        Complex array of ``N_rec`` eigenvalues, by decreasing modulus.

    Raises:
        TypeError: If ``weights`` is not a mapping.
        ValueError: If ``W_rec`` is missing or not square (gated architectures stack gate
            blocks; their spectrum is not defined here).
    """
    owner = "eigenvalue_spectrum"
    v.weights_mapping(weights, owner)
    W = v.array(weights["W_rec"], "weights['W_rec']", owner, ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"{owner}: weights['W_rec'] must be square (N_rec, N_rec) (a rate RNN); "
                         f"received shape {W.shape}")
    from .._equations import get_effective_W_rec

    eig = np.linalg.eigvals(np.asarray(get_effective_W_rec(weights), dtype=np.float64))
    return eig[np.argsort(-np.abs(eig), kind="stable")]


def plot_weights(
    weights: Mapping[str, Any],
    matrices: Sequence[str] = MATRICES,
    *,
    fig: Any = None,
    cmap: str = "bwr",
) -> Any:
    """Plot the effective weight matrices: positive red, negative blue, absent blank.

    With Dale's principle an excitatory unit's outgoing weights (its column of ``W_rec`` and
    ``W_out``) are never negative and an inhibitory unit's never positive, so excitatory
    units' connections show red and inhibitory units' blue (the paper's Figure 4). Entries
    that do not exist (connectivity mask 0, or an inhibitory unit's output under Dale) are
    NaN and drawn blank (white); an existing weight of exactly 0 is white too.
    Each matrix has its own symmetric colour scale (``+- max |W|``: a colour bar for
    ``W_rec``, the bound in the title of the others). Rows are
    receiving units, columns sending units; ``W_in`` sits left of ``W_rec`` (same rows) and
    ``W_out`` below it (same columns). With Dale, a thin line marks the E/I boundary; for
    gated architectures black lines separate the stacked gate blocks of ``W_in`` and ``W_rec``.

    Args:
        weights: Weights dict (docs/equations.md).
        matrices: Which of ``"W_in"``, ``"W_rec"``, ``"W_out"`` to draw.
        fig: A matplotlib Figure to draw into (it should be empty); a new one when ``None``.
        cmap: Diverging colormap name (red for positive).

    Returns:
        The matplotlib Figure.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On unknown matrix names or weights that do not fit together.
    """
    owner = "plot_weights"
    v.weights_mapping(weights, owner, ("W_in", "W_rec", "W_out"))
    if isinstance(matrices, str) or not isinstance(matrices, Sequence) or not matrices:
        raise TypeError(f"{owner}: matrices must be a non-empty sequence of names from "
                        f"{MATRICES}; received {describe(matrices)}")
    for name in matrices:
        v.choice(name, "matrices[i]", owner, MATRICES)
    eff = effective_weights(weights)
    shown: dict[str, np.ndarray] = {}
    for name in matrices:
        m = np.array(eff[name], dtype=np.float64)
        m[_absent(weights, name, m.shape)] = np.nan
        shown[name] = m
    plt = v.pyplot()
    n_in = eff["W_in"].shape[1]
    n_rec_rows, n_rec = eff["W_rec"].shape
    n_out = eff["W_out"].shape[0]
    has_in, has_rec, has_out = ("W_in" in shown), ("W_rec" in shown), ("W_out" in shown)
    left = max(n_in, 0.1 * n_rec, 2) if has_in else 0
    top = n_rec_rows if (has_in or has_rec) else 0
    bottom = max(n_out, 0.1 * n_rec, 2) if has_out else 0
    right = n_rec if (has_rec or has_out) else 0
    if fig is None:
        scale = 6.0 / max(left + right, top + bottom)
        fig = plt.figure(figsize=(max(3.0, (left + right) * scale + 2.2),
                                  max(2.5, (top + bottom) * scale + 1.0)), layout="constrained")
    elif not hasattr(fig, "add_gridspec"):
        raise TypeError(f"{owner}: fig must be a matplotlib Figure or None; received "
                        f"{describe(fig)}")
    widths = [w for w in (left, right) if w]
    heights = [h for h in (top, bottom) if h]
    grid = fig.add_gridspec(len(heights), len(widths), width_ratios=widths,
                            height_ratios=heights)
    col_rec = 1 if left and right else 0
    places = {"W_in": (0, 0), "W_rec": (0, col_rec),
              "W_out": (1 if top and bottom else 0, col_rec)}
    types = unit_types(weights)
    for name, m in shown.items():
        r, c = places[name]
        ax = fig.add_subplot(grid[r, c])
        lim = float(np.nanmax(np.abs(m))) if np.any(np.isfinite(m)) else 1.0
        lim = lim if lim > 0 else 1.0
        colormap = plt.get_cmap(cmap).with_extremes(bad="white")
        im = ax.imshow(np.ma.masked_invalid(m), cmap=colormap, vmin=-lim, vmax=lim,
                       interpolation="nearest", aspect="auto")
        if name == "W_rec":
            fig.colorbar(im, ax=ax, shrink=0.8, pad=0.02)
            ax.set_title(f"{name} (effective)", fontsize=9)
        else:  # small matrices: the scale goes in the title, a colour bar would not fit
            ax.set_title(f"{name}\n|w| <= {lim:.2g}", fontsize=8)
        ax.tick_params(labelsize=7)
        n_e = int(np.sum(types > 0))
        if np.any(types < 0) and name in ("W_rec", "W_out"):
            ax.axvline(n_e - 0.5, color="0.3", lw=0.6)
        if np.any(types < 0) and name in ("W_rec", "W_in"):
            for k in range(n_rec_rows // n_rec):
                ax.axhline(k * n_rec + n_e - 0.5, color="0.3", lw=0.6)
        gates = n_rec_rows // n_rec
        to_unit = "to unit"
        if gates > 1 and name in ("W_rec", "W_in"):  # gated: mark the stacked gate blocks
            for k in range(1, gates):
                ax.axhline(k * n_rec - 0.5, color="black", lw=1.0)
            to_unit += f" (gate blocks {_GATE_NAMES.get(gates, '')})"
        for size, set_ticks in ((m.shape[1], ax.set_xticks), (m.shape[0], ax.set_yticks)):
            if size <= 8:  # few rows/columns: one tick each, never fractional ticks
                set_ticks(range(size))
        ax.set_xlabel({"W_in": "input", "W_rec": "from unit", "W_out": "from unit"}[name],
                      fontsize=8)
        ax.set_ylabel({"W_in": to_unit, "W_rec": to_unit, "W_out": "output"}[name],
                      fontsize=8)
    if np.any(types < 0):
        fig.suptitle(f"Dale: {int(np.sum(types > 0))} E (red), {int(np.sum(types < 0))} I "
                     "(blue); blank = no connection", fontsize=9)
    else:
        fig.suptitle("red > 0, blue < 0; blank = no connection", fontsize=9)
    return fig


def plot_spectrum(
    weights_or_eigenvalues: Mapping[str, Any] | Any,
    *,
    ax: Any = None,
    color: str = "black",
    label: str | None = None,
) -> Any:
    """Eigenvalues of ``W_rec_eff`` in the complex plane with the unit circle.

    Args:
        weights_or_eigenvalues: A weights dict (its :func:`eigenvalue_spectrum` is drawn) or
            a 1-D array of (complex) eigenvalues.
        ax: Axes to draw into; a new figure when ``None``.
        color: Marker colour.
        label: Legend label.

    Returns:
        The matplotlib Figure.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On weights whose spectrum is not defined or a non-1-D array.
    """
    owner = "plot_spectrum"
    if isinstance(weights_or_eigenvalues, Mapping):
        eig = eigenvalue_spectrum(weights_or_eigenvalues)
    else:
        eig = v.array(weights_or_eigenvalues, "weights_or_eigenvalues", owner, ndim=1,
                      dtype=np.complex128, expected="a weights dict or 1-D eigenvalues")
    ax = v.axes(ax, owner, figsize=(4.0, 4.0))
    theta = np.linspace(0.0, 2.0 * np.pi, 400)
    ax.plot(np.cos(theta), np.sin(theta), color="0.6", lw=1, ls="--", label="unit circle")
    radius = float(np.max(np.abs(eig))) if eig.size else 0.0
    ax.plot(eig.real, eig.imag, "o", ms=3.5, color=color, alpha=0.8,
            label=label or f"eigenvalues (radius {radius:.3g})")
    ax.axhline(0, color="0.85", lw=0.6)
    ax.axvline(0, color="0.85", lw=0.6)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set(xlabel="Re λ", ylabel="Im λ", title="spectrum of W_rec (effective)")
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    return ax.figure
