"""NumPy reference of the equations in ``docs/equations.md``.

Every backend reproduces these functions and is tested against them, so they favour clarity
and exactness over speed. Conventions:

- A weights dict holds PsychRNN's key names (see the table in ``docs/equations.md``).
  Missing connectivity masks mean "all ones"; a missing ``dale_ratio`` (or ``None``/NaN) means
  Dale's principle is off, and missing ``Dale_rec``/``Dale_out`` mean identity. The Dale
  options ``dale_rectify``, ``dale_signed_in``, ``dale_signed_out`` (0-d, 0 or 1) default to 0:
  ``|W|`` on all three matrices, PsychRNN's convention (:func:`dale_rectifiers`).
- Gated architectures stack their gate blocks along the rows of ``W_in``, ``W_rec`` and
  ``b_rec`` (``G`` blocks of ``N_rec`` rows, see :func:`gate_count`); masks and Dale signs are
  applied to every block alike.
- Effective weights keep NumPy's promoted dtype of their inputs; losses and regularisation
  are computed in float64 and returned as Python floats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._structure import N_GATES

ArrayFn = Callable[[np.ndarray], np.ndarray]


# ------------------------------------------------------------------ transfer functions
def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function without overflow: only ``exp(-|x|)`` is ever evaluated."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _linear(x: np.ndarray) -> np.ndarray:
    return np.asarray(x)


TRANSFER_FUNCTIONS: dict[str, ArrayFn] = {
    "relu": _relu,
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "softplus": _softplus,
    "linear": _linear,
}
"""Transfer (activation) functions by name; each maps an array elementwise."""


def get_transfer_function(name: str | ArrayFn) -> ArrayFn:
    """Return the transfer function called ``name`` (a callable is returned as is).

    Raises:
        ValueError: If ``name`` is not a key of :data:`TRANSFER_FUNCTIONS`.
    """
    if callable(name):
        return name
    if name not in TRANSFER_FUNCTIONS:
        raise ValueError(
            f"transfer_function must be one of {sorted(TRANSFER_FUNCTIONS)} or a callable; "
            f"received {name!r}"
        )
    return TRANSFER_FUNCTIONS[name]


def gate_count(architecture: str) -> int:
    """Number of gate blocks ``G``: 1 for ``"rnn"``, 4 for ``"lstm"``, 3 for ``"gru"``.

    Raises:
        ValueError: For an unknown architecture.
    """
    if architecture not in N_GATES:
        raise ValueError(f"architecture must be one of {list(N_GATES)}; received "
                         f"{architecture!r}")
    return N_GATES[architecture]


# ------------------------------------------------------------------ effective weights
def _matrix(weights: Mapping[str, Any], key: str) -> np.ndarray:
    if key not in weights:
        raise ValueError(f"weights has no '{key}'")
    arr = np.asarray(weights[key])
    if arr.ndim != 2:
        raise ValueError(f"weights['{key}'] must be a 2-D matrix; received shape {arr.shape}")
    return arr


def _optional(weights: Mapping[str, Any], key: str, shape: tuple[int, ...]) -> np.ndarray | None:
    if weights.get(key) is None:
        return None
    arr = np.asarray(weights[key])
    if arr.shape != shape:
        raise ValueError(f"weights['{key}'] has shape {arr.shape}; expected {shape}")
    return arr


def _dale_signs(weights: Mapping[str, Any], key: str, n: int) -> np.ndarray | None:
    """Diagonal of ``Dale_rec``/``Dale_out`` (``None`` when absent), checked to be diagonal."""
    D = _optional(weights, key, (n, n))
    if D is None:
        return None
    d = np.diagonal(D)
    if np.count_nonzero(D - np.diag(d)):
        raise ValueError(f"weights['{key}'] must be a diagonal matrix; it has off-diagonal entries")
    return d


def _n_rec(weights: Mapping[str, Any]) -> int | None:
    if weights.get("W_rec") is not None:
        return int(np.shape(weights["W_rec"])[-1])
    return None


def _blocks(W: np.ndarray, key: str, n_rec: int) -> int:
    """Number of gate blocks stacked in the rows of ``W`` (checks divisibility)."""
    if W.shape[0] == 0 or W.shape[0] % n_rec:
        raise ValueError(
            f"weights['{key}'] has shape {W.shape}; expected (G*N_rec, ...) with N_rec = {n_rec} "
            "and G the number of gate blocks"
        )
    return W.shape[0] // n_rec


def _tiled_mask(C: np.ndarray | None, G: int) -> np.ndarray | None:
    return None if C is None else np.tile(C, (G, 1))


def dale_enabled(weights: Mapping[str, Any]) -> bool:
    """Whether Dale's principle is on: ``weights["dale_ratio"]`` exists and is finite."""
    ratio = weights.get("dale_ratio")
    if ratio is None:
        return False
    ratio = np.asarray(ratio)
    if ratio.size != 1:
        raise ValueError(f"weights['dale_ratio'] must be a scalar; received shape {ratio.shape}")
    return bool(np.isfinite(ratio.reshape(())))


DALE_OPTION_KEYS = ("dale_rectify", "dale_signed_in", "dale_signed_out")
"""Optional 0-d entries (0 or 1) that say how Dale's principle makes the weights signed."""


def _flag(weights: Mapping[str, Any], key: str) -> bool:
    value = weights.get(key)
    if value is None:
        return False
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "biuf" or float(arr.reshape(())) not in (0.0, 1.0):
        raise ValueError(f"weights['{key}'] must be a scalar 0 or 1; received "
                         f"{arr.tolist() if arr.size < 5 else f'shape {arr.shape}'}")
    return bool(float(arr.reshape(())))


def dale_rectifiers(weights: Mapping[str, Any]) -> dict[str, str | None]:
    """How each matrix is made non-negative before masks and Dale signs: ``"abs"``,
    ``"relu"`` or ``None`` (used as it is), by ``"W_in"``, ``"W_rec"``, ``"W_out"``.

    Without Dale's principle all three are ``None``. With it, the rectifier ``g`` is
    ``"relu"`` when ``weights["dale_rectify"]`` is 1 and ``"abs"`` when it is 0 or absent;
    ``W_rec`` always gets ``g``, ``W_in`` gets it unless ``dale_signed_in`` is 1, ``W_out``
    unless ``dale_signed_out`` is 1 (absent means 0, so files written before these keys
    existed keep PsychRNN's ``|W|`` on all three).

    Raises:
        ValueError: If one of :data:`DALE_OPTION_KEYS` is not a scalar 0 or 1.
    """
    flags = {key: _flag(weights, key) for key in DALE_OPTION_KEYS}
    if not dale_enabled(weights):
        return {"W_in": None, "W_rec": None, "W_out": None}
    g = "relu" if flags["dale_rectify"] else "abs"
    return {"W_in": None if flags["dale_signed_in"] else g, "W_rec": g,
            "W_out": None if flags["dale_signed_out"] else g}


def _rectified(W: np.ndarray, how: str | None) -> np.ndarray:
    if how is None:
        return W.copy()
    return np.abs(W) if how == "abs" else np.maximum(W, 0.0)


def get_effective_W_in(weights: Mapping[str, Any]) -> np.ndarray:
    """``W_in * C_in`` (``g(W_in) * C_in`` with Dale, see :func:`dale_rectifiers`), the mask
    tiled over gate blocks."""
    W = _matrix(weights, "W_in")
    n_rec = _n_rec(weights)
    C = weights.get("input_connectivity")
    if n_rec is None and C is not None:
        n_rec = int(np.shape(C)[0])
    G = 1 if n_rec is None else _blocks(W, "W_in", n_rec)
    C = _optional(weights, "input_connectivity", (W.shape[0] // G, W.shape[1]))
    eff = _rectified(W, dale_rectifiers(weights)["W_in"])
    C = _tiled_mask(C, G)
    return eff * C if C is not None else eff.copy()


def get_effective_W_rec(weights: Mapping[str, Any]) -> np.ndarray:
    """``W_rec * C_rec``; with Dale ``(g(W_rec) * C_rec) @ D_rec``, done as a column scaling
    (``g``: ``abs`` or ``relu``, :func:`dale_rectifiers`)."""
    W = _matrix(weights, "W_rec")
    n_rec = W.shape[1]
    G = _blocks(W, "W_rec", n_rec)
    C = _tiled_mask(_optional(weights, "rec_connectivity", (n_rec, n_rec)), G)
    if not dale_enabled(weights):
        return W * C if C is not None else W.copy()
    eff = _rectified(W, dale_rectifiers(weights)["W_rec"])
    eff = eff if C is None else eff * C
    d = _dale_signs(weights, "Dale_rec", n_rec)
    return eff if d is None else eff * d[np.newaxis, :]


def get_effective_W_out(weights: Mapping[str, Any]) -> np.ndarray:
    """``W_out * C_out``; with Dale ``(g(W_out) * C_out) @ D_out``, done as a column scaling
    (``g`` is the identity with ``dale_signed_out``, :func:`dale_rectifiers`)."""
    W = _matrix(weights, "W_out")
    C = _optional(weights, "output_connectivity", W.shape)
    if not dale_enabled(weights):
        return W * C if C is not None else W.copy()
    eff = _rectified(W, dale_rectifiers(weights)["W_out"])
    eff = eff if C is None else eff * C
    d = _dale_signs(weights, "Dale_out", W.shape[1])
    return eff if d is None else eff * d[np.newaxis, :]


def effective_weights(weights: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The three effective matrices: ``{"W_in": ..., "W_rec": ..., "W_out": ...}``."""
    return {
        "W_in": get_effective_W_in(weights),
        "W_rec": get_effective_W_rec(weights),
        "W_out": get_effective_W_out(weights),
    }


# ------------------------------------------------------------------ time constants
def unit_alpha(
    weights: Mapping[str, Any],
    dt: float,
    tau: float,
    tau_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Per-unit ``alpha = dt / tau`` as a float64 vector of length ``N_rec``.

    Without ``weights["tau_raw"]`` every unit has ``dt / tau``. With it (trainable time
    constants), ``tau_unit = tau_min + (tau_max - tau_min) * sigmoid(tau_raw)`` and
    ``alpha = dt / tau_unit``; ``tau`` is then unused.

    Raises:
        ValueError: If ``tau_raw`` is present without ``tau_range``, or has the wrong shape.
    """
    n_rec = _n_rec(weights)
    if n_rec is None:
        raise ValueError("weights has no 'W_rec' (needed for N_rec)")
    if weights.get("tau_raw") is None:
        return np.full(n_rec, float(dt) / float(tau))
    tau_raw = np.asarray(weights["tau_raw"], dtype=np.float64)
    if tau_raw.shape != (n_rec,):
        raise ValueError(
            f"weights['tau_raw'] has shape {tau_raw.shape}; expected (N_rec,) = ({n_rec},)"
        )
    if tau_range is None:
        raise ValueError("weights has 'tau_raw' (trainable time constants) but tau_range is None")
    tau_min, tau_max = (float(v) for v in tau_range)
    return float(dt) / (tau_min + (tau_max - tau_min) * _sigmoid(tau_raw))


# ------------------------------------------------------------------ losses
def _mean_squared_error(z: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    return float(np.sum((mask * (z - y)) ** 2) / z.size)


def _binary_cross_entropy(z: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    # -(y log p + (1-y) log(1-p)) with p = sigmoid(z) equals softplus(z) - y*z exactly.
    return float(np.sum(mask * (np.logaddexp(0.0, z) - y * z)) / z.size)


def _cross_entropy(z: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    log_p = z - np.logaddexp.reduce(z, axis=-1, keepdims=True)
    per_step = -np.sum(y * log_p, axis=-1)
    m = np.max(mask, axis=-1)
    total = float(np.sum(m))
    return float(np.sum(m * per_step) / total) if total != 0.0 else 0.0


LOSS_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "mean_squared_error": _mean_squared_error,
    "binary_cross_entropy": _binary_cross_entropy,
    "cross_entropy": _cross_entropy,
}
"""Built-in losses by name, each ``fn(outputs, y, mask) -> float`` (see :func:`loss`)."""


def loss(
    name_or_callable: str | Callable[..., Any],
    outputs: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
) -> float:
    """Loss of ``outputs`` against targets ``y`` under ``mask`` (all ``(N_batch, N_steps, N_out)``).

    With ``N = N_batch * N_steps * N_out``:

    - ``"mean_squared_error"``: ``sum((mask * (z - y))**2) / N``;
    - ``"binary_cross_entropy"``: ``sum(mask * -(y log p + (1-y) log(1-p))) / N`` with
      ``p = sigmoid(z)``, computed from the logits ``z`` so it never takes ``log(0)``;
    - ``"cross_entropy"``: softmax over channels, ``sum m_t * -sum_c y_c log p_c / sum m_t``
      with ``m_t`` the mask's maximum over channels (0.0 when the mask is all zero).

    A callable is called as ``fn(outputs, y, mask)`` with the float64 arrays.

    Raises:
        ValueError: On an unknown name or arrays of different or non-3-D shapes.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in (outputs, y, mask)]
    shapes = [a.shape for a in arrays]
    if arrays[0].ndim != 3 or len(set(shapes)) != 1:
        raise ValueError(
            "loss: outputs, y and mask must share one shape (N_batch, N_steps, N_out); "
            f"received {shapes[0]}, {shapes[1]} and {shapes[2]}"
        )
    if callable(name_or_callable):
        return float(name_or_callable(*arrays))
    if name_or_callable not in LOSS_FUNCTIONS:
        raise ValueError(
            f"loss must be one of {list(LOSS_FUNCTIONS)} or a callable; "
            f"received {name_or_callable!r}"
        )
    return LOSS_FUNCTIONS[name_or_callable](*arrays)


# ------------------------------------------------------------------ regularisation
def regularization(spec: Any, weights: Mapping[str, Any], states: np.ndarray) -> float:
    """Regularisation term added to the loss (means, as in PsychRNN).

    ``sum_x L1_x * mean(|W_x_eff|) + L2_x * mean(W_x_eff**2)`` for ``x`` in in/rec/out, plus
    ``L2_firing_rate * mean(r**2)`` with ``r = f(states)`` for ``"rnn"`` and ``r = states``
    (``h``) for gated architectures, plus ``spec.custom_regularization(weights, states)`` when
    set (called with the dict and array given here). Terms with a zero coefficient are skipped.

    Args:
        spec: A ``ModelSpec`` (only its attributes are read).
        weights: Weights dict (raw; effective weights are derived here).
        states: ``(N_batch, N_steps, N_rec)`` states from a forward pass.

    Raises:
        ValueError: If ``states`` does not have shape ``(N_batch, N_steps, N_rec)``.
    """
    states = np.asarray(states)
    n_rec = _n_rec(weights)
    if states.ndim != 3 or states.shape[-1] != n_rec:
        raise ValueError(
            f"regularization: states must have shape (N_batch, N_steps, N_rec) with N_rec = "
            f"{n_rec}; received {states.shape}"
        )
    getters = {"in": get_effective_W_in, "rec": get_effective_W_rec, "out": get_effective_W_out}
    total = 0.0
    for part, getter in getters.items():
        l1 = float(getattr(spec, f"L1_{part}", 0.0) or 0.0)
        l2 = float(getattr(spec, f"L2_{part}", 0.0) or 0.0)
        if l1 == 0.0 and l2 == 0.0:
            continue
        W = np.asarray(getter(weights), dtype=np.float64)
        if l1 != 0.0:
            total += l1 * float(np.mean(np.abs(W)))
        if l2 != 0.0:
            total += l2 * float(np.mean(W**2))
    l2_rate = float(getattr(spec, "L2_firing_rate", 0.0) or 0.0)
    if l2_rate != 0.0:
        rates = states.astype(np.float64, copy=False)
        if spec.architecture == "rnn":
            rates = get_transfer_function(spec.transfer_function)(rates)
        total += l2_rate * float(np.mean(rates**2))
    custom = getattr(spec, "custom_regularization", None)
    if custom is not None:
        total += float(custom(weights, states))
    return total
