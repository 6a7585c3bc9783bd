"""Weights and batches as a backend receives them: checked once, in the spec's dtype.

Everything here is NumPy; a backend converts the results to tensors and never checks a shape
itself, so every backend refuses the same inputs with the same message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._equations import dale_enabled, dale_rectifiers
from .._weights import validate_weights
from ._tables import FIXABLE, PARAMETERS, STRUCTURE_KEYS, trains


def check_spec(spec: Any, architectures: tuple[str, ...], backend: str) -> None:
    """Refuse a spec that is not bound or asks for an architecture the backend lacks.

    Raises:
        ValueError: Naming what is wrong and how to fix it.
    """
    if not getattr(spec, "is_bound", False):
        raise ValueError(f"backend {backend!r} needs a bound ModelSpec: spec.bind(task)")
    if spec.architecture not in architectures:
        raise ValueError(f"backend {backend!r} cannot build architecture "
                         f"{spec.architecture!r}; it supports {list(architectures)}")


def prepare_weights(spec: Any, weights: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A complete, checked copy of ``weights`` for a bound ``spec``, in ``spec.dtype``.

    Completes the optional keys as :func:`psychcore.validate_weights` does and checks the sizes
    and the time-constant keys against the spec.

    Raises:
        TypeError: If ``weights`` is not a dict of numeric arrays.
        ValueError: If the weights do not fit the spec (naming the size or key).
    """
    if not isinstance(weights, Mapping):
        raise TypeError(f"weights must be a dict of arrays; received {type(weights).__name__}")
    w = validate_weights(dict(weights), spec.architecture)
    sizes = {"N_rec": w["W_rec"].shape[1], "N_in": w["W_in"].shape[1],
             "N_out": w["W_out"].shape[0]}
    for key, got in sizes.items():
        if getattr(spec, key) != got:
            raise ValueError(f"the weights have {key}={got}; the spec has "
                             f"{key}={getattr(spec, key)}")
    if spec.train_tau and "tau_raw" not in w:
        raise ValueError("spec.train_tau is True but the weights have no 'tau_raw' of shape "
                         f"(N_rec,) = ({spec.N_rec},)")
    if "tau_raw" in w and spec.tau_range is None:
        raise ValueError("the weights have 'tau_raw' (trainable time constants) but "
                         "spec.tau_range is None")
    dtype = np.dtype(spec.dtype)
    return {k: np.array(v, dtype=dtype) for k, v in w.items()}


def merge_weights(
    spec: Any, current: Mapping[str, np.ndarray], given: Mapping[str, Any]
) -> tuple[dict[str, np.ndarray], bool]:
    """What ``set_weights(given)`` leaves: ``current`` with the keys of ``given`` replaced.

    Any subset of keys may be given; each value must have the current shape after the
    normalisation of :func:`psychcore.validate_weights` (so ``init_state`` of shape
    ``(N_rec,)`` and ``dale_ratio=None`` are accepted, as everywhere else).

    Returns:
        ``(merged, structure_changed)``: the complete weights in ``spec.dtype``, and whether a
        structural entry (mask, Dale sign, fixed mask) changed.

    Raises:
        TypeError: If ``given`` is not a dict.
        ValueError: For an unknown key or a shape that differs (naming the key, the expected
            and the received shape), or values the weights format refuses.
    """
    if not isinstance(given, Mapping):
        raise TypeError(f"set_weights: expected a dict of arrays; received "
                        f"{type(given).__name__}")
    unknown = sorted(set(given) - set(current))
    if unknown:
        which = f"key {unknown[0]!r}" if len(unknown) == 1 else f"keys {unknown}"
        raise ValueError(f"set_weights: unknown {which}; this network has {list(current)}")
    for key, value in given.items():
        shape = np.shape(np.nan if value is None else value)
        expected = current[key].shape
        if shape != expected and not (key == "init_state" and (1, *shape) == expected):
            raise ValueError(f"set_weights: weights[{key!r}] has shape {shape}; expected "
                             f"{expected}")
    merged = prepare_weights(spec, {**current, **given})
    changed = any(not np.array_equal(merged[k], current[k], equal_nan=True)
                  for k in STRUCTURE_KEYS if k in current)
    return merged, changed


def structure_of(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The structural entries of a weights dict (copies)."""
    return {k: np.array(v) for k, v in weights.items() if k not in PARAMETERS}


def trainable_keys(spec: Any, weights: Mapping[str, Any]) -> list[str]:
    """The raw parameters of ``weights`` that train, in the order of :data:`PARAMETERS`."""
    return [k for k in PARAMETERS if k in weights and trains(spec, k)]


def multipliers(spec: Any, structure: Mapping[str, np.ndarray]) -> dict[str, np.ndarray | None]:
    """The constant factor of each effective matrix: ``W_eff = g(W) * M``.

    ``g`` is given by :func:`rectifiers` (``abs`` on all three matrices when Dale's principle
    is on without options, the identity without Dale);
    ``M`` is the connectivity mask (tiled over the gate blocks for ``W_in`` and ``W_rec``)
    times, with Dale, the column signs of ``Dale_rec`` / ``Dale_out``. This is exactly
    ``docs/equations.md``: the masks are 0/1 and the signs ±1 or 0. None stands for a matrix
    of ones (nothing to multiply).

    Returns:
        ``{"W_in": M_in, "W_rec": M_rec, "W_out": M_out}`` in ``spec.dtype`` (or None).
    """
    s, G = structure, spec.n_gates
    m_in = np.tile(s["input_connectivity"], (G, 1))
    m_rec = np.tile(s["rec_connectivity"], (G, 1))
    m_out = np.asarray(s["output_connectivity"])
    if dale_on(structure):
        m_rec = m_rec * np.diag(s["Dale_rec"])[None, :]
        m_out = m_out * np.diag(s["Dale_out"])[None, :]
    dtype = np.dtype(spec.dtype)
    return {key: None if np.all(m == 1) else np.asarray(m, dtype=dtype)
            for key, m in (("W_in", m_in), ("W_rec", m_rec), ("W_out", m_out))}


def rectifiers(structure: Mapping[str, Any]) -> dict[str, str | None]:
    """``g`` of each effective matrix ``W_eff = g(W) * M``: ``"abs"``, ``"relu"`` or None (the
    identity), by ``"W_in"``, ``"W_rec"``, ``"W_out"`` (docs/equations.md, Dale options)."""
    return dale_rectifiers(structure)


def noise_scale(spec: Any, alpha: Any, sqrt: Any, rec_noise: float | None = None) -> Any:
    """The factor of the standard normals ``xi`` added to the state each step.

    ``sqrt(2 * alpha) * rec_noise`` with ``spec.noise_convention == "psychrnn"`` and
    ``rec_noise`` with ``"fixed"`` (docs/equations.md).

    Args:
        spec: The ModelSpec (its ``noise_convention`` and ``rec_noise`` are read).
        alpha: ``dt / tau``: a number or a per-unit tensor.
        sqrt: The framework's square root (``math.sqrt`` for a number).
        rec_noise: The amplitude; ``spec.rec_noise`` when None.
    """
    level = float(spec.rec_noise if rec_noise is None else rec_noise)
    if getattr(spec, "noise_convention", "psychrnn") == "fixed":
        return level
    return sqrt(2.0 * alpha) * level


def dale_on(structure: Mapping[str, Any]) -> bool:
    """Whether Dale's principle is on: a finite ``dale_ratio`` (effective weights use |W|)."""
    return dale_enabled(structure)


def fixed_entries(spec: Any, structure: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Boolean masks of the entries that must never change, for matrices that train.

    Only matrices with at least one fixed entry and a True ``*_train`` flag are listed: their
    gradients are zeroed on those entries before clipping, and the entries are put back after
    each optimiser step (momentum or weight decay could still move them).
    """
    out = {}
    for key, fixed_key in FIXABLE.items():
        mask = np.asarray(structure[fixed_key]) != 0
        if mask.any() and trains(spec, key):
            out[key] = mask
    return out


@dataclass(frozen=True)
class Batch:
    """A checked batch in the spec's dtype, batch-major as the user gave it.

    Attributes:
        x: Inputs ``(N_trials, N_steps, N_in)``.
        y: Targets ``(N_trials, N_steps, N_out)`` or None (forward passes).
        mask: Loss mask, like ``y``.
        noise: Standard normals ``(N_trials, N_steps, N_rec)`` when ``noise_mode`` is
            ``"given"``, else None.
        noise_mode: ``"none"`` (no recurrent noise), ``"draw"`` (the backend draws standard
            normals from its own generator) or ``"given"``.
    """

    x: np.ndarray
    y: np.ndarray | None
    mask: np.ndarray | None
    noise: np.ndarray | None
    noise_mode: str

    @property
    def n_trials(self) -> int:
        """Number of trials."""
        return int(self.x.shape[0])

    @property
    def n_steps(self) -> int:
        """Number of time steps."""
        return int(self.x.shape[1])


def _array(value: Any, name: str, shape: tuple[int | None, ...], dtype: np.dtype) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; received dtype {arr.dtype}")
    fits = arr.ndim == len(shape) and all(
        want is None or want == got for want, got in zip(shape, arr.shape, strict=True))
    if not fits or 0 in arr.shape[:2]:
        labels = ("N_trials", "N_steps")
        label = ", ".join(labels[i] if s is None else str(s) for i, s in enumerate(shape))
        raise ValueError(f"{name} has shape {arr.shape}; expected ({label}) with at least one "
                         "trial and one step")
    out = np.ascontiguousarray(arr, dtype=dtype)
    bad = ~np.isfinite(out)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        kinds = ", ".join(f"{n} {label}" for n, label in (
            (int(np.isnan(out).sum()), "NaN"), (int(np.isinf(out).sum()), "infinite"),
        ) if n)
        converted = f" after conversion to {dtype}" if np.isfinite(arr).all() else ""
        raise ValueError(f"{name} has {kinds} entries{converted} (first at index {where}); "
                         f"{name} must be finite")
    return out


def _check_mask(mask: np.ndarray) -> None:
    negative = int(np.count_nonzero(mask < 0))
    if negative:
        raise ValueError(f"mask has {negative} negative entries (min {float(mask.min()):g}); a "
                         "loss mask weights each output and must be >= 0")


def check_batch(
    spec: Any,
    x: Any,
    y: Any = None,
    mask: Any = None,
    noise: Any = None,
) -> Batch:
    """Check a batch against a bound spec and convert it to ``spec.dtype``.

    Recurrent noise exists for the rate RNN only: ``noise`` given to a gated network is an
    error; with ``spec.rec_noise == 0`` the noise is checked and then ignored (it would be
    scaled by zero).

    A mask that is zero everywhere is accepted here (its loss is 0); tasks refuse one where
    batches are drawn for training (:func:`psychcore._task.check_training_batch`).

    Raises:
        TypeError: For non-numeric arrays.
        ValueError: For shapes that do not fit (naming the array, the expected and the
            received shape), NaN or infinite entries in any array (also values too large
            for ``spec.dtype``), negative mask entries, ``y`` without ``mask``, or noise for a
            gated network.
    """
    dtype = np.dtype(spec.dtype)
    x = _array(x, "x", (None, None, spec.N_in), dtype)
    if (y is None) != (mask is None):
        raise ValueError("y and mask go together: give both or neither")
    if y is not None:
        shape = (x.shape[0], x.shape[1], spec.N_out)
        y, mask = _array(y, "y", shape, dtype), _array(mask, "mask", shape, dtype)
        _check_mask(mask)
    if noise is not None:
        if spec.architecture != "rnn":
            raise ValueError("recurrent noise is defined for architecture 'rnn' only; this "
                             f"network is {spec.architecture!r}")
        noise = _array(noise, "noise", (x.shape[0], x.shape[1], spec.N_rec), dtype)
    if spec.rec_noise == 0 or spec.architecture != "rnn":
        return Batch(x, y, mask, None, "none")
    return Batch(x, y, mask, noise, "draw" if noise is None else "given")
