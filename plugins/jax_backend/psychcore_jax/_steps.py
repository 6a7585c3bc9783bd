"""The backend's compiled functions: forward pass, gradients, training step.

:func:`compiled` returns the jitted functions for one network structure, loss,
regularisation, optimiser and clipping bound, cached by those (so backends built alike — a
sweep's, repro's, the tests' — share XLA's compilations). The structure's arrays are
arguments (``consts``, :func:`psychcore_jax._network.constants`). Each
exists once per noise mode (``"none"``, ``"draw"``: standard normals drawn inside from the
threefry key, ``"given"``), so the mode is fixed at compile time. Inputs are batch-major as the
user gave them; the scan runs time-major.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from psychcore.backend import regularization

from ._losses import task_loss
from ._network import Structure, noise_shape, rates, run

Array = Any
MODES = ("none", "draw", "given")


def _time_major(a: Array) -> Array:
    return jnp.swapaxes(a, 0, 1)


def objective_key(spec: Any) -> tuple[Any, ...]:
    """What the objective depends on besides the structure: the loss and the regularisers."""
    return (spec.loss, *(float(getattr(spec, f"{k}_{p}")) for k in ("L1", "L2")
                         for p in ("in", "rec", "out")),
            float(spec.L2_firing_rate), spec.custom_regularization)


class _Key:
    """A cache key carrying the spec and optimiser it was made from (compared by ``key``)."""

    def __init__(self, key: tuple[Any, ...], spec: Any, optimizer: Any) -> None:
        self.key, self.spec, self.optimizer = key, spec, optimizer

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self.key == other.key


def compiled(spec: Any, net: Structure, optimizer: Any,
             clip: float | None) -> dict[str, Callable[..., Any]]:
    """The jitted functions for this network, optimiser and bound (cached; see the module
    docstring)."""
    if optimizer is None:
        return _compiled(_Key((net, objective_key(spec), None, None), spec, None))
    return _compiled(_Key((net, objective_key(spec), optimizer.key, clip), spec, optimizer))


@functools.lru_cache(maxsize=64)
def _compiled(key: _Key) -> dict[str, Callable[..., Any]]:
    net, objective, _, clip = key.key
    if key.optimizer is None:
        return {name: jax.jit(fn) for name, fn in make_functions(key.spec, net, None,
                                                                  None).items()}
    # the forward pass and gradients do not depend on the optimiser: the optimiser-free
    # entry's, so configure_optimizer never compiles them again
    fns = dict(_compiled(_Key((net, objective, None, None), key.spec, None)))
    fns.update({name: jax.jit(fn)
                for name, fn in make_functions(key.spec, net, key.optimizer, clip).items()
                if name.startswith("step_")})
    return fns


def make_functions(spec: Any, net: Structure, optimizer: Any,
                   clip: float | None) -> dict[str, Callable[..., Any]]:
    """The uncompiled functions of one network (see the module docstring).

    Returns:
        ``forward_<mode>(params, consts, key, x, noise) -> (outputs, states, key)``,
        ``outputs_<mode>(params, consts, key, x, noise) -> (outputs, key)`` (no states),
        ``gradients_<mode>(train, frozen, consts, key, x, y, mask, noise) -> (value, grads,
        key)`` and, with an optimiser, ``step_<mode>(train, frozen, consts, fixed_values,
        opt_state, key, hyper, x, y, mask, noise) -> (train, opt_state, key, value)``.
    """

    def noise_for(mode: str, key: Array, x: Array, noise: Array | None) -> tuple[Any, Array]:
        """The standard normals of the loop (``noise_shape``), and the key to keep."""
        shape = noise_shape(net, x.shape[1], x.shape[0])
        if mode == "none":
            return None, key
        if mode == "given":  # (N_batch, N_steps, N_rec) as the user gave them
            order = (1, 2, 0) if net.architecture == "rnn" else (1, 0, 2)
            return jnp.transpose(noise, order), key
        key, sub = jax.random.split(jax.random.wrap_key_data(key, impl="threefry2x32"))
        xi = jax.random.normal(sub, shape, dtype=x.dtype)
        return xi, jax.random.key_data(key)

    # the states only feed the rate regularisers: without them the loop does not keep them
    needs_states = bool(spec.L2_firing_rate) or spec.custom_regularization is not None

    def objective(train: dict[str, Array], frozen: dict[str, Array], consts: dict[str, Any],
                  x: Array, y: Array, mask: Array, xi: Array | None) -> Array:
        params = {**frozen, **train}
        outputs, states, eff = run(params, net, consts, _time_major(x), xi,
                                   keep_states=needs_states)
        value = task_loss(spec.loss, _time_major(outputs), y, mask)
        reg = regularization(
            spec, eff, rates(states, net) if needs_states else None, mean=jnp.mean,
            absolute=jnp.abs,
            custom_args=lambda: ({**consts["structure"], **params}, _time_major(states)),
            convert=lambda c: jnp.asarray(c, dtype=x.dtype).reshape(()))
        return value if reg is None else value + reg

    fns: dict[str, Callable[..., Any]] = {}
    for mode in MODES:
        def forward(params: dict[str, Array], consts: dict[str, Any], key: Array, x: Array,
                    noise: Array | None, mode: str = mode) -> tuple[Array, Array, Array]:
            xi, key = noise_for(mode, key, x, noise)
            outputs, states, _ = run(params, net, consts, _time_major(x), xi)
            return _time_major(outputs), _time_major(states), key

        def outputs(params: dict[str, Array], consts: dict[str, Any], key: Array, x: Array,
                    noise: Array | None, mode: str = mode) -> tuple[Array, Array]:
            xi, key = noise_for(mode, key, x, noise)
            out, _, _ = run(params, net, consts, _time_major(x), xi, keep_states=False)
            return _time_major(out), key

        def gradients(train: dict[str, Array], frozen: dict[str, Array], consts: dict[str, Any],
                      key: Array, x: Array, y: Array, mask: Array, noise: Array | None,
                      mode: str = mode) -> tuple[Array, dict[str, Array], Array]:
            xi, key = noise_for(mode, key, x, noise)
            value, grads = jax.value_and_grad(objective)(train, frozen, consts, x, y, mask, xi)
            return value, grads, key

        fns[f"forward_{mode}"] = forward
        fns[f"outputs_{mode}"] = outputs
        fns[f"gradients_{mode}"] = gradients
        if optimizer is None:
            continue

        def step(train: dict[str, Array], frozen: dict[str, Array], consts: dict[str, Any],
                 fixed_values: dict[str, Array], opt_state: Any, key: Array, hyper: Array,
                 x: Array, y: Array, mask: Array, noise: Array | None,
                 mode: str = mode) -> tuple[dict[str, Array], Any, Array, Array]:
            xi, key = noise_for(mode, key, x, noise)
            value, grads = jax.value_and_grad(objective)(train, frozen, consts, x, y, mask, xi)
            for k, fixed in consts["fixed"].items():
                grads[k] = jnp.where(fixed, jnp.zeros_like(grads[k]), grads[k])
            if clip is not None:
                norm = jnp.sqrt(sum(jnp.sum(g * g) for g in grads.values()))
                scale = clip / jnp.maximum(norm, clip)
                grads = {k: g * scale for k, g in grads.items()}
            updates, opt_state = optimizer.update(grads, opt_state, train, hyper)
            train = {k: p + updates[k] for k, p in train.items()}
            for k, fixed in consts["fixed"].items():  # momentum or weight decay may move them
                train[k] = jnp.where(fixed, fixed_values[k], train[k])
            return train, opt_state, key, value

        fns[f"step_{mode}"] = step
    return fns
