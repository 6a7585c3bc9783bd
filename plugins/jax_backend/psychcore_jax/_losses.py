"""The built-in losses in JAX, as ``docs/equations.md`` defines them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from psychcore.backend import implementation

Array = Any


def _mean_squared_error(z: Array, y: Array, mask: Array) -> Array:
    return jnp.mean((mask * (z - y)) ** 2)


def _binary_cross_entropy(z: Array, y: Array, mask: Array) -> Array:
    # -(y log p + (1-y) log(1-p)) with p = sigmoid(z) is softplus(z) - y z: never log(0)
    return jnp.mean(mask * (jax.nn.softplus(z) - y * z))


def _cross_entropy(z: Array, y: Array, mask: Array) -> Array:
    per_step = -jnp.sum(y * jax.nn.log_softmax(z, axis=-1), axis=-1)
    m = jnp.max(mask, axis=-1)
    # an all-zero mask gives 0 / tiny = 0, as the reference's explicit special case
    return jnp.sum(m * per_step) / jnp.maximum(jnp.sum(m), jnp.finfo(z.dtype).tiny)


LOSSES: dict[str, Callable[[Array, Array, Array], Array]] = {
    "mean_squared_error": _mean_squared_error,
    "binary_cross_entropy": _binary_cross_entropy,
    "cross_entropy": _cross_entropy,
}


def task_loss(loss: str | Callable[..., Any], z: Array, y: Array, mask: Array) -> Array:
    """The loss of outputs ``z`` against targets ``y`` under ``mask`` (a scalar array).

    Args:
        loss: A loss name of the spec, or ``fn(outputs, y, mask)`` called (while tracing) with
            JAX arrays ``(N_batch, N_steps, N_out)``; it must return a scalar JAX array and use
            ``jax.numpy`` operations (NumPy functions cannot see traced values).
        z: Outputs.
        y: Targets.
        mask: Loss mask.

    Raises:
        TypeError: If a loss callable does not return a scalar JAX array.
    """
    if callable(loss):
        value = loss(z, y, mask)
        if not isinstance(value, jax.Array) or value.size != 1:
            raise TypeError(
                "a loss callable receives JAX arrays (outputs, y, mask) and must return a "
                f"scalar JAX array built with jax.numpy; {getattr(loss, '__name__', loss)!r} "
                f"returned {type(value).__name__}"
            )
        return value.reshape(())
    return implementation("loss", loss, LOSSES, "jax")(z, y, mask)
