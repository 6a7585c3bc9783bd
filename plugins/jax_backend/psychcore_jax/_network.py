"""The network's equations (``docs/equations.md``) as pure JAX functions.

Everything here is traced inside the backend's compiled functions: parameters arrive as a dict
of arrays (the raw parameters of the weights dict), the structure as a :class:`Structure` of
constants fixed when the functions are compiled. Time runs along the first axis inside
(``jax.lax.scan``); the backend transposes batch-major arrays once on the way in and out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from psychcore.backend import dale_on, implementation, multipliers, noise_scale, rectifiers

Array = Any
ArrayFn = Callable[[Array], Array]


def _linear(x: Array) -> Array:
    return x


def transfer_function(name: str) -> ArrayFn:
    """The JAX version of the transfer function called ``name`` (``ModelSpec`` names).

    Raises:
        ValueError: For an unknown name.
    """
    functions: dict[str, ArrayFn] = {
        "relu": jax.nn.relu,
        "tanh": jnp.tanh,
        "sigmoid": jax.nn.sigmoid,
        "softplus": jax.nn.softplus,
        "linear": _linear,
    }
    return implementation("transfer_function", name, functions, "jax")


@dataclass(frozen=True)
class Structure:
    """What a network's compiled functions are specialised on (hashable: the cache key).

    The structure's arrays (masks times Dale signs, fixed-entry masks) are not part of it:
    they are arguments of the compiled functions (:func:`constants`), so networks that differ
    only in their masks' values share one compilation.

    Attributes:
        architecture: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        n_rec: ``N_rec``.
        dale: Whether Dale's principle is on.
        rectify: ``g`` of ``W_in``, ``W_rec``, ``W_out`` (``"abs"``, ``"relu"`` or None,
            ``psychcore.backend.rectifiers``).
        noise_convention: The spec's ``noise_convention``.
        transfer_function: The spec's transfer-function name.
        dt: Time step; ``tau`` and ``tau_range`` give ``alpha`` (rate RNN).
        tau: Single time constant.
        tau_range: ``(lo, hi)`` of trainable time constants, or None.
        rec_noise: Recurrent noise amplitude.
    """

    architecture: str
    n_rec: int
    dale: bool
    rectify: tuple[str | None, str | None, str | None]
    noise_convention: str
    transfer_function: str
    dt: float
    tau: float
    tau_range: tuple[float, float] | None
    rec_noise: float

    @classmethod
    def of(cls, spec: Any, structure: dict[str, np.ndarray]) -> Structure:
        """The structure of ``spec`` with the structural entries ``structure``."""
        return cls(
            architecture=spec.architecture,
            n_rec=int(spec.N_rec),
            dale=dale_on(structure),
            rectify=tuple(rectifiers(structure)[k] for k in ("W_in", "W_rec", "W_out")),
            noise_convention=getattr(spec, "noise_convention", "psychrnn"),
            transfer_function=spec.transfer_function,
            dt=float(spec.dt),
            tau=float(spec.tau),
            tau_range=None if spec.tau_range is None else tuple(map(float, spec.tau_range)),
            rec_noise=float(spec.rec_noise),
        )

    @property
    def f(self) -> ArrayFn:
        """The transfer function."""
        return transfer_function(self.transfer_function)


def constants(spec: Any, structure: dict[str, np.ndarray], fixed: dict[str, np.ndarray],
              put: Callable[[np.ndarray], Array]) -> dict[str, Any]:
    """The arrays the compiled functions take besides parameters and data.

    Returns:
        ``{"multipliers": {W_in|W_rec|W_out: M or None}, "fixed": {key: bool mask},
        "structure": the structural entries}`` as device arrays (None: a matrix of ones).
    """
    return {
        "multipliers": {k: None if m is None else put(m)
                        for k, m in multipliers(spec, structure).items()},
        "fixed": {k: put(np.asarray(m, dtype=bool)) for k, m in fixed.items()},
        "structure": {k: put(np.asarray(v)) for k, v in structure.items()},
    }


def effective(params: dict[str, Array], s: Structure,
              consts: dict[str, Any]) -> dict[str, Array]:
    """The effective ``W_in``, ``W_rec``, ``W_out``: ``g(W) * M``."""
    out = {}
    for key, g in zip(("W_in", "W_rec", "W_out"), s.rectify, strict=True):
        W = params[key]
        if g is not None:
            W = jnp.abs(W) if g == "abs" else jnp.maximum(W, 0.0)
        m = consts["multipliers"][key]
        out[key] = W if m is None else W * m
    return out


def alpha(params: dict[str, Array], s: Structure) -> float | Array:
    """``dt / tau``: a number, or per unit ``(N_rec,)`` with trainable time constants."""
    if "tau_raw" not in params:
        return s.dt / s.tau
    lo, hi = s.tau_range
    return s.dt / (lo + (hi - lo) * jax.nn.sigmoid(params["tau_raw"]))


def project(a: Array, W: Array) -> Array:
    """``a @ W.T`` over the last axis of ``a`` (any leading axes) as one 2-D product."""
    k = W.shape[1]
    return (a.reshape(-1, k) @ W.T).reshape(*a.shape[:-1], W.shape[0])


def rates(states: Array, s: Structure) -> Array:
    """Firing rates: ``f(states)`` for the rate RNN, the hidden states otherwise."""
    return s.f(states) if s.architecture == "rnn" else states


@jax.custom_vjp
def _product(W: Array, W_t: Array, r: Array) -> Array:
    """``W @ r``, whose gradient with respect to ``r`` is ``W_t @ g``.

    ``W_t`` is ``W.T`` made once before the loop. XLA differentiates ``W @ r`` into a product
    with the transposed operand, ``dot(W, g)`` contracting ``W``'s first axis, which its CPU
    backend does in a generic kernel about twice as slow per step as ``W_t @ g`` at
    ``N_rec=50`` (profiled on the project's 2-core CPU: 19.5 against 9.5 us a step).
    """
    return W @ r


def _product_fwd(W: Array, W_t: Array, r: Array) -> tuple[Array, tuple[Array, Array]]:
    return W @ r, (W_t, r)


def _product_bwd(res: tuple[Array, Array], g: Array) -> tuple[Array, Array, Array]:
    W_t, r = res
    dW = jax.lax.dot_general(g, r, (((1,), (1,)), ((), ())))  # g @ r.T
    return dW, jnp.zeros_like(W_t), W_t @ g


_product.defvjp(_product_fwd, _product_bwd)


def _rnn(params: dict[str, Array], s: Structure, eff: dict[str, Array], u: Array,
         xi: Array | None, keep_states: bool) -> tuple[Array, Array | None]:
    """The rate RNN's loop, unit-major, one block product per step.

    ``x_t = (1 - alpha) x_{t-1} + alpha (W_rec f(x_{t-1}) + W_in u_t + b_rec) + noise`` and
    ``z_t = W_out f(x_t) + b_out``. With units on the rows (the state is ``(N_rec, N_batch)``
    inside) every product is a matrix times a ``(units, N_batch)`` block, the layout XLA's
    CPU products do fastest (2.3x faster per step than ``(N_batch, units) @ W.T`` at
    ``N_rec=50``). Step ``t`` makes the three products as one,
    ``[[alpha W_rec, alpha W_in], [W_out, 0]] @ [f(x_{t-1}); u_t]``: the top rows drive
    ``x_t``, the bottom rows are the readout ``z_{t-1}`` of the previous state (the last
    state's readout follows the loop). The gradient is then two products a step instead of
    five: at the hello world's size the gradient takes 0.72-0.75x the time it takes with
    three products a step (``benchmarks/bench_jax_layout.py`` compares the layouts).

    Args:
        u: Inputs ``(N_steps, N_in, N_batch)``.
        xi: Standard normals ``(N_steps, N_rec, N_batch)`` or None.
        keep_states: Whether to return the states.

    Returns:
        ``(outputs (N_steps, N_out, N_batch), states (N_steps, N_rec, N_batch) or None)``.
    """
    n, dtype = s.n_rec, u.dtype
    a = alpha(params, s)
    per_unit = not isinstance(a, float)
    rows = a[:, None] if per_unit else a  # alpha scales the rows of W_in, W_rec and b_rec
    w_rec = rows * eff["W_rec"]
    w_in = rows * eff["W_in"]
    w_out = eff["W_out"]
    block = jnp.concatenate([
        jnp.concatenate([w_rec, w_in], axis=1),
        jnp.concatenate([w_out, jnp.zeros((w_out.shape[0], w_in.shape[1]), dtype)], axis=1)],
        axis=0).astype(dtype)
    bias = (a * params["b_rec"]).reshape(n, 1)
    decay = jnp.asarray(1.0 - rows, dtype=dtype)
    b_out = params["b_out"].reshape(-1, 1)
    # the transposes for the gradients, made once (see _product)
    block_t = jax.lax.stop_gradient(block.T)
    w_out_t = jax.lax.stop_gradient(w_out.T)
    noisy = xi is not None and s.rec_noise > 0
    scale = jnp.asarray(noise_scale(s, rows, jnp.sqrt if per_unit else math.sqrt), dtype=dtype)
    f = s.f
    x0 = jnp.broadcast_to(params["init_state"].reshape(n, 1), (n, u.shape[2])).astype(dtype)

    def step(x: Array, inp: tuple[Array, Array | None]) -> tuple[Array, tuple[Any, Array]]:
        u_t, xi_t = inp
        p = _product(block, block_t, jnp.concatenate([f(x), u_t], axis=0))
        z_prev = p[n:] + b_out
        x = decay * x + p[:n] + bias
        if noisy:
            x = x + scale * xi_t
        return x, (x if keep_states else None, z_prev)

    x_last, (states, z) = jax.lax.scan(step, x0, (u, xi if noisy else None))
    z_last = _product(w_out, w_out_t, f(x_last)) + b_out
    outputs = jnp.concatenate([z[1:], z_last[None]], axis=0)
    return outputs, states


def run(params: dict[str, Array], s: Structure, consts: dict[str, Any], u: Array,
        xi: Array | None, keep_states: bool = True
        ) -> tuple[Array, Array | None, dict[str, Array]]:
    """Forward pass on time-major arrays.

    Args:
        params: Every raw parameter of the weights dict.
        s: The network's structure.
        consts: Its arrays (:func:`constants`).
        u: Inputs ``(N_steps, N_batch, N_in)``.
        xi: Standard normals or None (no recurrent noise): ``(N_steps, N_rec, N_batch)``
            for the rate RNN (its loop is unit-major, :func:`noise_shape`).
        keep_states: Whether to return the states (a training step without rate
            regularisers does not need them).

    Returns:
        ``(outputs, states, effective)``: ``(N_steps, N_batch, N_out)``,
        ``(N_steps, N_batch, N_rec)`` (None without ``keep_states``) and the effective
        weights.
    """
    eff = effective(params, s, consts)
    n_batch, n = u.shape[1], s.n_rec
    if s.architecture == "rnn":
        outputs, states = _rnn(params, s, eff, jnp.swapaxes(u, 1, 2), xi, keep_states)
        return (jnp.swapaxes(outputs, 1, 2),
                None if states is None else jnp.swapaxes(states, 1, 2), eff)
    h0 = jnp.broadcast_to(params["init_state"].reshape(1, n), (n_batch, n))
    if s.architecture == "lstm":
        drive = project(u, eff["W_in"]) + params["b_rec"]
        w_rec_t = eff["W_rec"].T
        c0 = jnp.broadcast_to(params["init_cell"].reshape(1, n), (n_batch, n))

        def step(carry: tuple[Array, Array], d_t: Array) -> tuple[tuple[Array, Array], Array]:
            h, c = carry
            z = d_t + h @ w_rec_t
            i, fg, g, o = (z[:, k * n:(k + 1) * n] for k in range(4))
            c = jax.nn.sigmoid(fg) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        _, states = jax.lax.scan(step, (h0, c0), drive)
    else:
        drive = project(u, eff["W_in"]) + params["b_rec"]
        w_rec_t = eff["W_rec"].T

        def step(h: Array, d_t: Array) -> tuple[Array, Array]:
            b = h @ w_rec_t
            rz = jax.nn.sigmoid(d_t[:, :2 * n] + b[:, :2 * n])
            cand = jnp.tanh(d_t[:, 2 * n:] + rz[:, :n] * b[:, 2 * n:])
            h = cand + rz[:, n:] * (h - cand)
            return h, h

        _, states = jax.lax.scan(step, h0, drive)
    outputs = project(rates(states, s), eff["W_out"]) + params["b_out"]
    return outputs, states, eff


def noise_shape(s: Structure, n_steps: int, n_batch: int) -> tuple[int, int, int]:
    """The shape of the standard normals :func:`run` takes: ``(N_steps, N_rec, N_batch)``
    for the rate RNN's unit-major loop, ``(N_steps, N_batch, N_rec)`` otherwise."""
    if s.architecture == "rnn":
        return n_steps, s.n_rec, n_batch
    return n_steps, n_batch, s.n_rec
