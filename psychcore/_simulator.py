"""Simulator: the NumPy reference forward pass of the rate RNN, LSTM and GRU.

It implements ``docs/equations.md`` and is what every backend's forward pass is tested
against. Everything is computed in float64 whatever ``spec.dtype`` says (a reference should
not carry float32 rounding); the returned arrays are float64.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from numbers import Real
from typing import Any

import numpy as np

from ._checks import check_float
from ._equations import (
    TRANSFER_FUNCTIONS,
    effective_weights,
    gate_count,
    get_transfer_function,
    unit_alpha,
)
from ._rng import SeedLike, as_generator

_sig = TRANSFER_FUNCTIONS["sigmoid"]


def _numeric_array(value: Any, name: str, expected: str) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array of shape {expected}; received {type(value).__name__}"
        )
    if value.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; received dtype {value.dtype}")
    return value.astype(np.float64, copy=False)


class Simulator:
    """Run a network described by a ``ModelSpec`` and a weights dict, in NumPy.

    Args:
        spec: The network's ``ModelSpec`` (architecture, N_rec, transfer_function, tau_range
            and, once bound to a task, N_in, N_out, dt, tau are read from it).
        weights: Weights dict in the format of ``docs/equations.md``. It is copied to float64
            and validated; connectivity, Dale and ``tau_raw`` keys are optional.
        dt: Time step; ``spec.dt`` by default.
        tau: Unit time constant; ``spec.tau`` by default.
        seed: Seed or ``numpy.random.Generator`` for recurrent noise. Draws continue across
            calls and happen only when ``rec_noise > 0`` and no ``noise`` is passed.

    Attributes:
        weights: The validated float64 weights (read-only arrays).
        W_in_eff, W_rec_eff, W_out_eff: Effective weights (``psychcore.effective_weights``).
        alpha: Per-unit ``dt / tau`` (float64, shape ``(N_rec,)``).
        rng: The noise generator.

    Raises:
        ValueError: If dt/tau are unknown, a weight is missing or has the wrong shape.
        TypeError: If a weight is not numeric.
    """

    def __init__(
        self,
        spec: Any,
        weights: Mapping[str, Any],
        *,
        dt: float | None = None,
        tau: float | None = None,
        seed: SeedLike = None,
    ) -> None:
        self.spec = spec
        self.architecture: str = spec.architecture
        self.G = gate_count(self.architecture)
        dt = spec.dt if dt is None else dt
        tau = spec.tau if tau is None else tau
        if dt is None or tau is None:
            raise ValueError(
                "Simulator needs dt and tau: bind the spec to a task first "
                "(spec = spec.bind(task)) or pass dt=... and tau=..."
            )
        self.dt = check_float(dt, "dt", "Simulator", low=0.0, low_open=True)
        self.tau = check_float(tau, "tau", "Simulator", low=0.0, low_open=True)
        self.weights = self._checked_weights(weights)
        self.N_rec = int(spec.N_rec)
        self.N_in = self.weights["W_in"].shape[1]
        self.N_out = self.weights["W_out"].shape[0]
        eff = effective_weights(self.weights)
        self.W_in_eff, self.W_rec_eff, self.W_out_eff = eff["W_in"], eff["W_rec"], eff["W_out"]
        for arr in (self.W_in_eff, self.W_rec_eff, self.W_out_eff):
            arr.flags.writeable = False
        if getattr(spec, "train_tau", False) and "tau_raw" not in self.weights:
            raise ValueError(
                "spec.train_tau is True but weights has no 'tau_raw' of shape "
                f"(N_rec,) = ({self.N_rec},)"
            )
        self.alpha = unit_alpha(self.weights, self.dt, self.tau, getattr(spec, "tau_range", None))
        self.transfer_function = get_transfer_function(spec.transfer_function)
        self.noise_convention: str = getattr(spec, "noise_convention", "psychrnn")
        self.rng = as_generator(seed)

    # ------------------------------------------------------------------ construction
    def _checked_weights(self, weights: Mapping[str, Any]) -> dict[str, np.ndarray]:
        if not isinstance(weights, Mapping):
            raise TypeError(f"weights must be a dict of arrays; received {type(weights).__name__}")
        n_rec, G = int(self.spec.N_rec), self.G
        n_in = self.spec.N_in if self.spec.N_in is not None else _width(weights, "W_in", 1)
        n_out = self.spec.N_out if self.spec.N_out is not None else _width(weights, "W_out", 0)
        shapes = {
            "W_in": ((G * n_rec, n_in), "(G*N_rec, N_in)"),
            "W_rec": ((G * n_rec, n_rec), "(G*N_rec, N_rec)"),
            "W_out": ((n_out, n_rec), "(N_out, N_rec)"),
            "b_rec": ((G * n_rec,), "(G*N_rec,)"),
            "b_out": ((n_out,), "(N_out,)"),
            "init_state": ((1, n_rec), "(1, N_rec)"),
            "init_cell": ((1, n_rec), "(1, N_rec)"),
            "input_connectivity": ((n_rec, n_in), "(N_rec, N_in)"),
            "rec_connectivity": ((n_rec, n_rec), "(N_rec, N_rec)"),
            "output_connectivity": ((n_out, n_rec), "(N_out, N_rec)"),
            "Dale_rec": ((n_rec, n_rec), "(N_rec, N_rec)"),
            "Dale_out": ((n_rec, n_rec), "(N_rec, N_rec)"),
            "dale_ratio": ((), "()"),
            "tau_raw": ((n_rec,), "(N_rec,)"),
            "dale_rectify": ((), "()"),
            "dale_signed_in": ((), "()"),
            "dale_signed_out": ((), "()"),
        }
        for key in ("W_in", "W_rec", "W_out"):
            shapes[f"{key}_fixed"] = shapes[key]
        required = ["W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state"]
        if self.architecture == "lstm":
            required.append("init_cell")
        out: dict[str, np.ndarray] = {}
        for key, value in weights.items():
            if value is None:
                continue
            arr = np.asarray(value)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"weights['{key}'] must be numeric; received dtype {arr.dtype}")
            if key in shapes:
                expected, label = shapes[key]
                if key in ("dale_ratio", "dale_rectify", "dale_signed_in", "dale_signed_out"):
                    arr = arr.reshape(()) if arr.size == 1 else arr
                if arr.shape != expected:
                    raise ValueError(
                        f"weights['{key}'] has shape {arr.shape}; expected {label} = {expected} "
                        f"for architecture '{self.architecture}' (G={G}, N_rec={n_rec}, "
                        f"N_in={n_in}, N_out={n_out})"
                    )
            arr = np.array(arr, dtype=np.float64)
            if key != "dale_ratio" and not np.all(np.isfinite(arr)):
                raise ValueError(f"weights['{key}'] has {int(np.sum(~np.isfinite(arr)))} NaN or "
                                 f"infinite entries (of {arr.size}); weights must be finite")
            arr.flags.writeable = False
            out[key] = arr
        for key in required:
            if key not in out:
                raise ValueError(
                    f"weights has no '{key}'; expected shape {shapes[key][1]} = {shapes[key][0]}"
                )
        return out

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike,
        *,
        dt: float | None = None,
        tau: float | None = None,
        seed: SeedLike = None,
        spec: Any = None,
    ) -> Simulator:
        """Build a simulator from a weights file saved by psychcore or by PsychRNN.

        Args:
            path: The ``.npz`` file (its spec JSON beside it is used when present).
            dt: Time step, when the spec is not bound (e.g. a PsychRNN file).
            tau: Time constant, likewise.
            seed: Seed of the recurrent noise.
            spec: A ModelSpec to use instead of the saved one. Without either, a PsychRNN
                file is read as PsychRNN's default network: a ReLU rate RNN (or an LSTM/GRU
                when the shape of ``W_rec`` says so).
        """
        from ._weights import load_weights, spec_from_weights

        weights, saved = load_weights(path)
        spec = spec if spec is not None else saved
        if spec is None:
            spec = spec_from_weights(weights)
        return cls(spec, weights, dt=dt, tau=tau, seed=seed)

    # ------------------------------------------------------------------ checks
    def _check_x(self, x: Any) -> np.ndarray:
        x = _numeric_array(x, "x", f"(N_batch, N_steps, N_in={self.N_in})")
        if x.ndim != 3 or x.shape[2] != self.N_in or 0 in x.shape[:2]:
            raise ValueError(
                f"x has shape {x.shape}; expected (N_batch, N_steps, N_in) with "
                f"N_in = {self.N_in} and N_batch, N_steps >= 1"
            )
        if not np.all(np.isfinite(x)):
            raise ValueError(f"x has {int(np.sum(~np.isfinite(x)))} NaN or infinite entries; "
                             "inputs must be finite")
        return x

    def _check_t_connectivity(self, tc: Any, n_steps: int) -> np.ndarray | None:
        if tc is None:
            return None
        expected = (n_steps, self.N_rec, self.N_rec)
        tc = _numeric_array(tc, "t_connectivity", f"(N_steps, N_rec, N_rec) = {expected}")
        if tc.shape != expected:
            raise ValueError(
                f"t_connectivity has shape {tc.shape}; expected (N_steps, N_rec, N_rec) = "
                f"{expected}"
            )
        return tc

    def _noise_increments(
        self, rec_noise: float, noise: Any, shape: tuple[int, ...]
    ) -> np.ndarray | None:
        """``sqrt(2*alpha) * rec_noise * xi`` (``rec_noise * xi`` with the spec's
        ``noise_convention="fixed"``), xi from ``noise`` or the generator."""
        if isinstance(rec_noise, bool) or not isinstance(rec_noise, Real):
            raise TypeError(f"rec_noise must be a number; received {type(rec_noise).__name__}")
        if not math.isfinite(rec_noise) or rec_noise < 0:
            raise ValueError(
                f"rec_noise must be a non-negative finite number; received {rec_noise}"
            )
        if self.architecture != "rnn" and (rec_noise != 0 or noise is not None):
            raise ValueError(
                f"recurrent noise is defined for architecture 'rnn' only; this "
                f"simulator is '{self.architecture}'"
            )
        if noise is not None:
            xi = _numeric_array(noise, "noise", str(shape))
            if xi.shape != shape:
                raise ValueError(f"noise has shape {xi.shape}; expected {shape}")
        elif rec_noise > 0:
            xi = self.rng.standard_normal(shape)
        else:
            return None
        if self.noise_convention == "fixed":
            return float(rec_noise) * xi
        return np.sqrt(2.0 * self.alpha) * float(rec_noise) * xi

    def _rec_matrix_T(self, tc_t: np.ndarray | None) -> np.ndarray:
        """Transposed ``W_rec_eff`` (times ``tc_t`` on every gate block when given)."""
        if tc_t is None:
            return self.W_rec_eff.T
        n = self.N_rec
        return (self.W_rec_eff.reshape(self.G, n, n) * tc_t).reshape(self.G * n, n).T

    # ------------------------------------------------------------------ dynamics
    def _rnn_update(
        self,
        state: np.ndarray,
        drive: np.ndarray,
        W_rec_T: np.ndarray,
        increment: np.ndarray | None,
    ) -> np.ndarray:
        a = self.alpha
        new = (1.0 - a) * state + a * (self.transfer_function(state) @ W_rec_T + drive)
        return new if increment is None else new + increment

    def states_to_rates(self, states: np.ndarray) -> np.ndarray:
        """Firing rates: ``f(states)`` for ``"rnn"``, the states (``h``) themselves otherwise."""
        states = np.asarray(states, dtype=np.float64)
        return self.transfer_function(states) if self.architecture == "rnn" else states

    def _readout(self, states: np.ndarray) -> np.ndarray:
        return self.states_to_rates(states) @ self.W_out_eff.T + self.weights["b_out"]

    def rnn_step(
        self,
        state: np.ndarray,
        x_t: np.ndarray,
        t_connectivity: np.ndarray | None = None,
        *,
        rec_noise: float = 0.0,
        noise: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One Euler step of the rate RNN (``architecture="rnn"`` only).

        Args:
            state: ``(N_batch, N_rec)`` state ``x_{t-1}``.
            x_t: ``(N_batch, N_in)`` input ``u_t``.
            t_connectivity: Optional ``(N_rec, N_rec)`` multiplier of ``W_rec_eff``.
            rec_noise: Noise amplitude (see :meth:`run_trials`).
            noise: Optional ``(N_batch, N_rec)`` standard normals used instead of drawing.

        Returns:
            ``(output, new_state)``: ``z_t`` of shape ``(N_batch, N_out)`` and ``x_t``.
        """
        if self.architecture != "rnn":
            raise ValueError(
                f"rnn_step is the rate-RNN step; this simulator's architecture "
                f"is '{self.architecture}': use run_trials"
            )
        state = _numeric_array(state, "state", f"(N_batch, N_rec={self.N_rec})")
        x_t = _numeric_array(x_t, "x_t", f"(N_batch, N_in={self.N_in})")
        if state.ndim != 2 or state.shape[1] != self.N_rec:
            raise ValueError(
                f"state has shape {state.shape}; expected (N_batch, N_rec) with "
                f"N_rec = {self.N_rec}"
            )
        if x_t.shape != (state.shape[0], self.N_in):
            raise ValueError(
                f"x_t has shape {x_t.shape}; expected (N_batch, N_in) = "
                f"{(state.shape[0], self.N_in)}"
            )
        tc = None
        if t_connectivity is not None:
            expected = (self.N_rec, self.N_rec)
            tc = _numeric_array(t_connectivity, "t_connectivity", f"(N_rec, N_rec) = {expected}")
            if tc.shape != expected:
                raise ValueError(
                    f"t_connectivity has shape {tc.shape}; expected (N_rec, N_rec) "
                    f"= {expected} for one step"
                )
        increment = self._noise_increments(rec_noise, noise, state.shape)
        drive = x_t @ self.W_in_eff.T + self.weights["b_rec"]
        new_state = self._rnn_update(state, drive, self._rec_matrix_T(tc), increment)
        return self._readout(new_state), new_state

    def run_trials(
        self,
        x: np.ndarray,
        t_connectivity: np.ndarray | None = None,
        rec_noise: float = 0.0,
        noise: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run a batch of trials from the initial state.

        Args:
            x: Inputs of shape ``(N_batch, N_steps, N_in)``; any ``N_batch``.
            t_connectivity: Optional ``(N_steps, N_rec, N_rec)``; ``t_connectivity[t]``
                multiplies ``W_rec_eff`` elementwise at step ``t`` (every gate block alike).
            rec_noise: Recurrent noise amplitude (``"rnn"`` only); the state at step ``t``
                receives ``sqrt(2 * alpha) * rec_noise * xi_t`` (``rec_noise * xi_t`` with
                the spec's ``noise_convention="fixed"``). Default 0: deterministic
                (``spec.rec_noise`` is not applied implicitly).
            noise: Optional pre-drawn standard normals ``xi`` of shape
                ``(N_batch, N_steps, N_rec)``, used instead of drawing from ``self.rng``
                (scaled by ``rec_noise``, so they have no effect when it is 0). Drawing from
                the generator is equivalent to passing ``rng.standard_normal(that shape)``.

        Returns:
            ``(outputs, states)`` of shapes ``(N_batch, N_steps, N_out)`` and
            ``(N_batch, N_steps, N_rec)``: ``z_t`` and ``x_t`` (rnn) or ``h_t`` (lstm, gru).
        """
        x = self._check_x(x)
        n_batch, n_steps, _ = x.shape
        tc = self._check_t_connectivity(t_connectivity, n_steps)
        increments = self._noise_increments(rec_noise, noise, (n_batch, n_steps, self.N_rec))
        drive = x @ self.W_in_eff.T + self.weights["b_rec"]  # input projection, hoisted
        states = np.empty((n_batch, n_steps, self.N_rec))
        h = np.repeat(self.weights["init_state"], n_batch, axis=0)
        c = np.repeat(self.weights["init_cell"], n_batch, axis=0) if self.G == 4 else None
        W_T = self._rec_matrix_T(None)
        n = self.N_rec
        for t in range(n_steps):
            if tc is not None:
                W_T = self._rec_matrix_T(tc[t])
            if self.architecture == "rnn":
                inc = None if increments is None else increments[:, t]
                h = self._rnn_update(h, drive[:, t], W_T, inc)
            elif self.architecture == "lstm":
                a = drive[:, t] + h @ W_T
                i, f, g, o = (a[:, k * n : (k + 1) * n] for k in range(4))
                c = _sig(f) * c + _sig(i) * np.tanh(g)
                h = _sig(o) * np.tanh(c)
            else:  # gru
                a, b = drive[:, t], h @ W_T
                r = _sig(a[:, :n] + b[:, :n])
                z = _sig(a[:, n : 2 * n] + b[:, n : 2 * n])
                cand = np.tanh(a[:, 2 * n :] + r * b[:, 2 * n :])
                h = (1.0 - z) * cand + z * h
            states[:, t] = h
        return self._readout(states), states

    def __repr__(self) -> str:
        return (
            f"Simulator(architecture={self.architecture!r}, N_in={self.N_in}, "
            f"N_rec={self.N_rec}, N_out={self.N_out}, dt={self.dt:g}, tau={self.tau:g})"
        )


def _width(weights: Mapping[str, Any], key: str, axis: int) -> int:
    if weights.get(key) is None:
        raise ValueError(f"weights has no '{key}'")
    shape = np.shape(weights[key])
    if len(shape) != 2:
        raise ValueError(f"weights['{key}'] must be a 2-D matrix; received shape {shape}")
    return int(shape[axis])
