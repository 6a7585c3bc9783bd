"""A rate network described for conversion to spikes: :class:`RateNetwork`.

The description holds what both the rate network and its LIF version need (docs/spiking.md):
raw recurrent weights and how the rate network makes them sign-constrained (Dale signs,
masks, rectification), signed input and output weights, output bias, per-unit time constants
in seconds and the rate network's step ``dt`` in seconds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _equations as eq
from .._checks import check_float
from ._spikernn_file import SPIKERNN_STEP_S, read_spikernn_mat

OWNER = "RateNetwork"
RECTIFICATIONS = ("relu", "abs", "none")


def _array(value: Any, name: str, ndim: int) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{OWNER}: {name} must be a numeric array; received "
                        f"{type(value).__name__}") from None
    if arr.ndim != ndim:
        raise ValueError(f"{OWNER}: {name} must be {ndim}-D; received shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{OWNER}: {name} has non-finite entries")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class RateNetwork:
    """A sigmoid rate network to simulate as rates or convert to LIF spiking units.

    Rate dynamics (psychcore's step convention, docs/equations.md), ``r = sigmoid(x)``::

        x_t = (1 - a) * x_{t-1} + a * (W_rec_eff r_{t-1} + w_in u_t + b_rec) + noise_t
        z_t = w_out r_t + b_out,      a = dt / tau (per unit)

    with ``W_rec_eff = rectify(w_rec) * signs[None, :] * rec_mask``.

    Attributes:
        w_in: ``(N, N_in)`` input weights as applied (signed).
        w_rec: ``(N, N)`` raw recurrent weights; row = receiving unit.
        rec_signs: ``(N,)`` +1 excitatory / -1 inhibitory per sending unit, or ``None``
            (no Dale's law: ``w_rec`` is used as is).
        rec_mask: ``(N, N)`` multiplicative mask (connectivity, SOM targets) or ``None``.
        rectify: How the rate network makes raw weights non-negative before the signs:
            ``"relu"`` (spikeRNN), ``"abs"`` (psychcore, PsychRNN) or ``"none"``.
        w_out: ``(N_out, N)`` readout weights as applied (signed).
        b_out: ``(N_out,)`` output bias.
        tau: ``(N,)`` time constants in seconds (the LIF synaptic decay times).
        dt: The rate network's time step in seconds.
        b_rec: ``(N,)`` recurrent bias (zeros for spikeRNN networks).
    """

    w_in: np.ndarray
    w_rec: np.ndarray
    rec_signs: np.ndarray | None
    rec_mask: np.ndarray | None
    rectify: str
    w_out: np.ndarray
    b_out: np.ndarray
    tau: np.ndarray
    dt: float
    b_rec: np.ndarray | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        w_rec = _array(self.w_rec, "w_rec", 2)
        N = w_rec.shape[0]
        if w_rec.shape != (N, N):
            raise ValueError(f"{OWNER}: w_rec must be square (N, N); received {w_rec.shape}")
        set_(self, "w_rec", w_rec)
        w_in = _array(self.w_in, "w_in", 2)
        if w_in.shape[0] != N:
            raise ValueError(f"{OWNER}: w_in must have shape (N, N_in) with N = {N}; "
                             f"received {w_in.shape}")
        set_(self, "w_in", w_in)
        w_out = _array(self.w_out, "w_out", 2)
        if w_out.shape[1] != N:
            raise ValueError(f"{OWNER}: w_out must have shape (N_out, N) with N = {N}; "
                             f"received {w_out.shape}")
        set_(self, "w_out", w_out)
        b_out = _array(self.b_out, "b_out", 1)
        if b_out.shape != (w_out.shape[0],):
            raise ValueError(f"{OWNER}: b_out must have shape (N_out,) = ({w_out.shape[0]},); "
                             f"received {b_out.shape}")
        set_(self, "b_out", b_out)
        b_rec = np.zeros(N) if self.b_rec is None else self.b_rec
        b_rec = _array(b_rec, "b_rec", 1)
        if b_rec.shape != (N,):
            raise ValueError(f"{OWNER}: b_rec must have shape (N,) = ({N},); "
                             f"received {b_rec.shape}")
        set_(self, "b_rec", b_rec)
        tau = _array(np.broadcast_to(self.tau, (N,)) if np.ndim(self.tau) == 0 else self.tau,
                     "tau", 1)
        if tau.shape != (N,) or np.any(tau <= 0):
            raise ValueError(f"{OWNER}: tau must be positive, a scalar or of shape (N,) = "
                             f"({N},); received shape {tau.shape}")
        set_(self, "tau", tau)
        set_(self, "dt", check_float(self.dt, "dt", OWNER, low=0.0, low_open=True))
        if self.rec_signs is not None:
            signs = _array(self.rec_signs, "rec_signs", 1)
            if signs.shape != (N,) or not np.all(np.abs(signs) == 1):
                raise ValueError(f"{OWNER}: rec_signs must be +1/-1 of shape (N,) = ({N},)")
            set_(self, "rec_signs", signs)
        if self.rec_mask is not None:
            mask = _array(self.rec_mask, "rec_mask", 2)
            if mask.shape != (N, N):
                raise ValueError(f"{OWNER}: rec_mask must have shape (N, N) = ({N}, {N}); "
                                 f"received {mask.shape}")
            set_(self, "rec_mask", mask)
        if self.rectify not in RECTIFICATIONS:
            raise ValueError(f"{OWNER}: rectify must be one of {RECTIFICATIONS}; "
                             f"received {self.rectify!r}")

    # ------------------------------------------------------------------ properties
    @property
    def N(self) -> int:
        """Number of recurrent units."""
        return int(self.w_rec.shape[0])

    @property
    def N_in(self) -> int:
        """Number of input channels."""
        return int(self.w_in.shape[1])

    @property
    def N_out(self) -> int:
        """Number of output channels."""
        return int(self.w_out.shape[0])

    @property
    def excitatory(self) -> np.ndarray:
        """Boolean ``(N,)``: True for excitatory units (all True without Dale's law)."""
        if self.rec_signs is None:
            return np.ones(self.N, dtype=bool)
        return self.rec_signs > 0

    def recurrent_weights(self, *, rectified: bool = True) -> np.ndarray:
        """Signed recurrent weights ``rectify(w_rec) * signs * mask`` (``(N, N)``).

        With ``rectified=False`` the raw weights take the rectification's place, which is
        what spikeRNN's LIF conversion uses (``w @ m * som_m`` on the raw ``w``).
        """
        w = self.w_rec
        if rectified and self.rec_signs is not None:
            w = np.maximum(w, 0.0) if self.rectify == "relu" else (
                np.abs(w) if self.rectify == "abs" else w)
        if self.rec_signs is not None:
            w = w * self.rec_signs[np.newaxis, :]
        if self.rec_mask is not None:
            w = w * self.rec_mask
        return w

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_spikernn(cls, path: str | os.PathLike[str]) -> RateNetwork:
        """Read the ``.mat`` file spikeRNN's training script (``rate/main.py``) saves.

        Uses ``w`` (raw trained recurrent weights), ``m`` (diagonal Dale signs), ``som_m``
        (SOM mask), ``w_in``, ``w_out``, ``b_out``, ``inh`` and the time constants: with two
        ``taus`` ``[min, max]`` (in 5 ms steps) ``tau = (sigmoid(taus_gaus) * (max - min) +
        min) * 5 / 1000`` seconds, as spikeRNN's LIF conversion computes it; with one, that
        value for every unit. Rectification is spikeRNN's relu with Dale's law on.

        Raises:
            ImportError: If SciPy (the ``psychcore[spiking]`` extra) is not installed.
            TypeError: If ``path`` is not a str or os.PathLike.
            FileNotFoundError: If ``path`` does not exist.
            ValueError: If the file is not a readable ``.mat`` file, lacks one of spikeRNN's
                variables or has wrong shapes.
        """
        data = read_spikernn_mat(path, "RateNetwork.from_spikernn")

        def get(key: str) -> np.ndarray:
            return np.asarray(data[key], dtype=np.float64)

        N = int(get("N").item())
        m = get("m")
        if m.shape != (N, N) or np.count_nonzero(m - np.diag(np.diagonal(m))):
            raise ValueError(f"from_spikernn: 'm' must be a diagonal ({N}, {N}) matrix")
        signs = np.diagonal(m).copy()
        apply_dale = bool(np.any(signs < 0))
        w_in = get("w_in").reshape(N, -1)
        w_out = get("w_out").reshape(-1, N)
        taus = get("taus").ravel()
        if taus.size > 1:
            gaus = get("taus_gaus").ravel()
            tau = (1.0 / (1 + np.exp(-gaus)) * (taus[1] - taus[0]) + taus[0]) * 5 / 1000
        else:
            tau = np.full(N, taus[0] * 5 / 1000)
        return cls(
            w_in=w_in,
            w_rec=get("w"),
            rec_signs=signs,
            rec_mask=get("som_m"),
            rectify="relu" if apply_dale else "none",
            w_out=w_out,
            b_out=get("b_out").reshape(w_out.shape[0]),
            tau=tau,
            dt=SPIKERNN_STEP_S,
        )

    @classmethod
    def from_weights(cls, spec: Any, weights: Mapping[str, Any]) -> RateNetwork:
        """Describe a psychcore ``"rnn"`` network (``ModelSpec`` and weights dict).

        The transfer function must be ``"sigmoid"``. Effective input and output weights and
        masks follow docs/equations.md (``|W| * C`` with Dale's law, or as the Dale options
        say); the recurrent weights stay raw with their rectification (``"abs"``, or
        ``"relu"`` with ``dale_rectify``), the ``Dale_rec`` signs and ``rec_connectivity``.
        Time constants: ``spec.tau`` for every unit, or per unit from ``tau_raw`` and
        ``spec.tau_range``; ``spec.dt`` and ``tau`` are in ms and stored in seconds.

        Raises:
            ValueError: If the spec is not a sigmoid ``"rnn"``, or the weights are invalid.
        """
        if getattr(spec, "architecture", None) != "rnn":
            raise ValueError("from_weights: spec must describe an 'rnn' network; received "
                             f"architecture {getattr(spec, 'architecture', None)!r}")
        if spec.transfer_function != "sigmoid":
            raise ValueError("from_weights: the LIF conversion needs sigmoid units; spec has "
                             f"transfer_function {spec.transfer_function!r}")
        if not isinstance(weights, Mapping):
            raise TypeError("from_weights: weights must be a mapping of arrays; received "
                            f"{type(weights).__name__}")
        if spec.dt is None or spec.tau is None:
            raise ValueError("from_weights: spec.dt and spec.tau must be set")
        W = eq._matrix(weights, "W_rec")
        N = W.shape[1]
        dale = eq.dale_enabled(weights)
        signs = eq._dale_signs(weights, "Dale_rec", N) if dale else None
        if dale and signs is None:
            signs = np.ones(N)
        C = eq._optional(weights, "rec_connectivity", (N, N))
        alpha = eq.unit_alpha(weights, spec.dt, spec.tau,
                              getattr(spec, "tau_range", None))
        b_out = weights.get("b_out")
        return cls(
            w_in=eq.get_effective_W_in(weights),
            w_rec=W,
            rec_signs=signs,
            rec_mask=C,
            rectify=eq.dale_rectifiers(weights)["W_rec"] or "none",
            w_out=eq.get_effective_W_out(weights),
            b_out=np.zeros(np.shape(weights["W_out"])[0]) if b_out is None else b_out,
            tau=float(spec.dt) / alpha / 1000.0,
            dt=float(spec.dt) / 1000.0,
            b_rec=weights.get("b_rec"),
        )


def check_inputs(network: RateNetwork, x: Any, name: str = "x") -> np.ndarray:
    """``x`` as a float64 ``(N_batch, N_steps, N_in)`` array (a 2-D ``x`` is one trial)."""
    if not isinstance(network, RateNetwork):
        raise TypeError(f"network must be a RateNetwork; received {type(network).__name__}")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a numeric array; received {type(x).__name__}") from None
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    if arr.ndim != 3 or arr.shape[2] != network.N_in or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape (N_batch, N_steps, N_in) with N_in = "
                         f"{network.N_in}; received shape {np.shape(x)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite entries")
    return arr


def rate_forward(
    network: RateNetwork,
    x: Any,
    *,
    x0: Any = None,
    noise: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate the rate network (float64) as in :class:`RateNetwork`'s docstring.

    Args:
        network: The network.
        x: Inputs ``(N_batch, N_steps, N_in)`` (or one trial ``(N_steps, N_in)``).
        x0: Initial state ``x_{-1}``, ``(N,)`` or ``(N_batch, N)``; zeros by default.
        noise: Additive term of each step, ``(N_batch, N_steps, N)`` or ``(N_steps, N)``
            (spikeRNN adds ``randn / 10``); none by default.

    Returns:
        ``(outputs, states)``: ``(N_batch, N_steps, N_out)`` and ``(N_batch, N_steps, N)``.
    """
    u = check_inputs(network, x)
    B, T, _ = u.shape
    N = network.N
    state = np.zeros((B, N))
    if x0 is not None:
        x0 = np.asarray(x0, dtype=np.float64)
        if x0.shape not in ((N,), (B, N)):
            raise ValueError(f"x0 must have shape ({N},) or ({B}, {N}); received {x0.shape}")
        state = state + x0
    if noise is not None:
        noise = np.asarray(noise, dtype=np.float64)
        if noise.shape not in ((T, N), (B, T, N)):
            raise ValueError(f"noise must have shape ({T}, {N}) or ({B}, {T}, {N}); "
                             f"received {noise.shape}")
        noise = np.broadcast_to(noise, (B, T, N))
    alpha = network.dt / network.tau
    W = network.recurrent_weights()
    drive = u @ network.w_in.T + network.b_rec
    states = np.empty((B, T, N))
    for t in range(T):
        r = eq._sigmoid(state)
        state = (1 - alpha) * state + alpha * (r @ W.T + drive[:, t])
        if noise is not None:
            state = state + noise[:, t]
        states[:, t] = state
    outputs = eq._sigmoid(states) @ network.w_out.T + network.b_out
    return outputs, states
