"""The network in TensorFlow: variables, effective weights and the time loop.

Everything follows ``docs/equations.md``. What does not depend on the recurrence is computed
once per batch outside the time loop (the input projection and bias for every step, the noise
increments, Dale's principle as a column scaling of ``|W|``, the per-unit ``alpha`` folded
into the recurrent matrix), the per-step inputs are split once before the loop, and the output
layer is one matrix product over all steps after it. Rate RNN step, with ``A = alpha``::

    x_t = (1 - A) x_{t-1} + f(x_{t-1}) @ (W_rec_eff^T A) + (A (W_in_eff u_t + b_rec) + noise_t)

The loop itself is one of (see :data:`LOOPS`):

- ``"unrolled"``: a Python loop traced into the graph, one set of ops per step (fastest per
  step for short trials, but tracing and graph optimisation grow with the number of steps);
- ``"while"``: ``tf.while_loop`` over steps (constant trace time, more per-step overhead);
- ``"chunked"``: ``tf.while_loop`` over chunks of :data:`CHUNK` steps, each chunk unrolled
  (trace time of a short trial, per-step speed close to ``"unrolled"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from psychcore.backend import (
    PARAMETERS,
    dale_on,
    fixed_entries,
    implementation,
    multipliers,
    noise_scale,
    rectifiers,
    structure_of,
)
from psychcore.backend import trains as _trains

#: Loop implementations (see the module docstring).
LOOPS = ("unrolled", "while", "chunked")
#: Steps per unrolled chunk of the ``"chunked"`` loop.
CHUNK = 10

Step = Callable[[tuple, Any], tuple[tuple, Any]]


class Network:
    """TensorFlow variables of one network and its differentiable forward pass.

    Args:
        tf: The ``tensorflow`` module.
        spec: A bound ModelSpec.
        weights: Complete, checked weights in the spec's dtype (``psychcore.backend``).

    Attributes:
        params: Raw parameters, ``tf.Variable`` each, trainable as the spec says.
        multipliers: The kit's constant factor of each effective matrix (masks times Dale
            signs) as a constant tensor, or None for all ones.
        masks: Per matrix with fixed entries, ``free_*`` (1 - fixed mask) and
            ``fixed_value_*`` (the values to keep), as non-trainable variables.
        dale: Whether Dale's principle is on (a Python bool: it selects traced code).
        fixed: Names of the matrices with fixed entries (Python-level, selects traced code).
    """

    def __init__(self, tf: Any, spec: Any, weights: dict[str, np.ndarray]) -> None:
        self.tf = tf
        self.spec = spec
        self.dtype = tf.as_dtype(spec.dtype)
        self.np_dtype = np.dtype(spec.dtype)
        self.params: dict[str, Any] = {
            key: tf.Variable(weights[key], trainable=_trains(spec, key), name=key)
            for key in PARAMETERS if key in weights
        }
        self.masks: dict[str, Any] = {}
        self.structure: dict[str, np.ndarray] = {}
        self.load_structure(weights)

    # ------------------------------------------------------------------ state
    def load_structure(self, weights: dict[str, np.ndarray]) -> None:
        """Take the structural entries of complete ``weights``. Functions traced before must
        be retraced: Dale's principle, the masks and the fixed matrices are traced in."""
        tf = self.tf
        self.structure = structure_of(weights)
        self.dale = dale_on(self.structure)
        self.rectifiers = rectifiers(self.structure)
        self.multipliers = {k: None if m is None else tf.constant(m)
                            for k, m in multipliers(self.spec, self.structure).items()}
        fixed = fixed_entries(self.spec, self.structure)
        for key, mask in fixed.items():
            self.masks[f"free_{key}"] = tf.Variable((~mask).astype(self.np_dtype),
                                                    trainable=False, name=f"free_{key}")
            self.masks[f"fixed_value_{key}"] = tf.Variable(self.params[key].numpy(),
                                                           trainable=False,
                                                           name=f"fixed_value_{key}")
        self.fixed = tuple(fixed)

    def snapshot_fixed(self) -> None:
        """Record the current values of fixed entries (after weights were set)."""
        for key in self.fixed:
            self.masks[f"fixed_value_{key}"].assign(self.params[key])

    @property
    def trainable(self) -> dict[str, Any]:
        """The trainable variables by key, in a stable order."""
        return {k: v for k, v in self.params.items() if v.trainable}

    # ------------------------------------------------------------------ equations
    def effective(self) -> dict[str, Any]:
        """Effective ``W_in``, ``W_rec``, ``W_out`` (docs/equations.md), as tensors."""
        out = {}
        for key, m in self.multipliers.items():
            W, g = self.params[key], self.rectifiers[key]
            if g is not None:
                W = self.tf.abs(W) if g == "abs" else self.tf.nn.relu(W)
            out[key] = W if m is None else W * m
        return out

    def alpha(self) -> Any:
        """``dt / tau`` (a Python float) or the per-unit vector with trainable time constants."""
        spec = self.spec
        if "tau_raw" not in self.params:
            return float(spec.dt) / float(spec.tau)
        lo, hi = spec.tau_range
        return spec.dt / (lo + (hi - lo) * self.tf.sigmoid(self.params["tau_raw"]))

    def rates(self, states: Any) -> Any:
        """Firing rates: ``f(x)`` for the rate RNN, the states themselves otherwise."""
        if self.spec.architecture != "rnn":
            return states
        return transfer(self.tf, self.spec.transfer_function)(states)

    # ------------------------------------------------------------------ forward
    def forward(self, x: Any, xi: Any | None, loop: str) -> tuple[Any, Any, Any, dict[str, Any]]:
        """Run the network on a batch.

        Args:
            x: ``(B, T, N_in)`` inputs.
            xi: ``(T, B, N_rec)`` standard normals for the recurrent noise, or None.
            loop: The loop implementation, one of :data:`LOOPS`.

        Returns:
            ``(outputs, states, rates, effective_weights)`` with outputs ``(B, T, N_out)``
            and states, rates ``(B, T, N_rec)``.
        """
        tf = self.tf
        eff = self.effective()
        p = self.params
        n_steps = x.shape[1]
        batch = tf.shape(x)[0]
        x_tm = tf.transpose(x, (1, 0, 2))  # time-major, the (small) input is cheap to move
        drive = tf.tensordot(x_tm, eff["W_in"], [[2], [1]]) + p["b_rec"]  # (T, B, G*N)
        W_rec_T = tf.transpose(eff["W_rec"])
        init = tf.broadcast_to(p["init_state"], tf.stack([batch, self.spec.N_rec]))
        arch = self.spec.architecture
        if arch == "rnn":
            alpha = self.alpha()
            inputs = alpha * drive
            if xi is not None:
                sqrt = math.sqrt if isinstance(alpha, float) else tf.sqrt
                inputs = inputs + noise_scale(self.spec, alpha, sqrt) * xi
            step = _rnn_step(transfer(tf, self.spec.transfer_function), 1.0 - alpha,
                             W_rec_T * alpha)
            carry: tuple = (init,)
            inputs = (inputs,)
        elif arch == "lstm":
            init_c = tf.broadcast_to(p["init_cell"], tf.stack([batch, self.spec.N_rec]))
            step, carry, inputs = _lstm_step(tf, W_rec_T), (init, init_c), (drive,)
        else:
            n = self.spec.N_rec
            step, carry = _gru_step(tf, W_rec_T, n), (init,)
            inputs = (drive[..., : 2 * n], drive[..., 2 * n:])
        states_tm = run_loop(tf, loop, step, carry, inputs, n_steps)  # (T, B, N)
        states = tf.transpose(states_tm, (1, 0, 2))
        rates = self.rates(states)
        outputs = tf.tensordot(rates, eff["W_out"], [[2], [1]]) + p["b_out"]
        return outputs, states, rates, eff


# ---------------------------------------------------------------------- step functions
def transfer(tf: Any, name: str) -> Callable[[Any], Any]:
    """The transfer function ``name`` (``psychcore.backend.NAMES``) in TensorFlow."""
    fns = {"relu": tf.nn.relu, "tanh": tf.tanh, "sigmoid": tf.sigmoid,
           "softplus": tf.nn.softplus, "linear": tf.identity}
    return implementation("transfer_function", name, fns, "tensorflow")


def _rnn_step(f: Callable, decay: Any, W_T: Any) -> Step:
    def step(carry: tuple, inp: tuple) -> tuple[tuple, Any]:
        x = decay * carry[0] + f(carry[0]) @ W_T + inp[0]
        return (x,), x
    return step


def _lstm_step(tf: Any, W_T: Any) -> Step:
    def step(carry: tuple, inp: tuple) -> tuple[tuple, Any]:
        h, c = carry
        i, f, g, o = tf.split(inp[0] + h @ W_T, 4, axis=1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
        return (h, c), h
    return step


def _gru_step(tf: Any, W_T: Any, n: int) -> Step:
    def step(carry: tuple, inp: tuple) -> tuple[tuple, Any]:
        (h,), (a_rz, a_n) = carry, inp
        b_rz, b_n = tf.split(h @ W_T, [2 * n, n], axis=1)
        r, z = tf.split(tf.sigmoid(a_rz + b_rz), 2, axis=1)
        h = (1.0 - z) * tf.tanh(a_n + r * b_n) + z * h
        return (h,), h
    return step


# ---------------------------------------------------------------------- loops
def run_loop(tf: Any, loop: str, step: Step, carry: tuple, inputs: tuple, n_steps: int) -> Any:
    """Apply ``step`` over the leading (time) axis of ``inputs``; returns stacked outputs."""
    if loop == "unrolled":
        return _unrolled(tf, step, carry, inputs, 0, n_steps)
    if loop == "while":
        return _while(tf, step, carry, inputs, n_steps, 1)
    if loop == "chunked":
        if n_steps <= 2 * CHUNK:
            return _unrolled(tf, step, carry, inputs, 0, n_steps)
        return _while(tf, step, carry, inputs, n_steps, CHUNK)
    raise ValueError(f"loop must be one of {LOOPS}; received {loop!r}")


def _unrolled(tf: Any, step: Step, carry: tuple, inputs: tuple, start: int,
              stop: int) -> Any:
    per_step = [tf.unstack(a[start:stop]) for a in inputs]  # split once, never index in loop
    outs = []
    for t in range(stop - start):
        carry, out = step(carry, tuple(a[t] for a in per_step))
        outs.append(out)
    return tf.stack(outs)


def _while(tf: Any, step: Step, carry: tuple, inputs: tuple, n_steps: int, k: int) -> Any:
    """``tf.while_loop`` over chunks of ``k`` steps (the remainder is unrolled after it)."""
    n_chunks, rest = divmod(n_steps, k)
    body_steps = n_chunks * k
    arrays = [
        tf.TensorArray(a.dtype, size=n_chunks, element_shape=a.shape[1:] if k == 1 else None)
        .unstack(a[:body_steps] if k == 1 else tf.reshape(
            a[:body_steps], tf.concat([[n_chunks, k], tf.shape(a)[1:]], 0)))
        for a in inputs
    ]
    out_ta = tf.TensorArray(carry[0].dtype, size=n_chunks)

    def body(i: Any, carry: tuple, out_ta: Any) -> tuple:
        chunk = [ta.read(i) for ta in arrays]
        if k == 1:
            carry, out = step(carry, tuple(chunk))
            return i + 1, carry, out_ta.write(i, out)
        per_step = [tf.unstack(c, num=k) for c in chunk]
        outs = []
        for t in range(k):
            carry, out = step(carry, tuple(a[t] for a in per_step))
            outs.append(out)
        return i + 1, carry, out_ta.write(i, tf.stack(outs))

    _, carry, out_ta = tf.while_loop(
        lambda i, *_: i < n_chunks, body, (tf.constant(0), carry, out_ta),
        maximum_iterations=n_chunks,
    )
    stacked = out_ta.stack()
    if k > 1:
        stacked = tf.reshape(stacked, tf.concat([[body_steps], tf.shape(stacked)[2:]], 0))
    if rest:
        tail = _unrolled(tf, step, carry, inputs, body_steps, n_steps)
        stacked = tf.concat([stacked, tail], 0)
    return stacked
