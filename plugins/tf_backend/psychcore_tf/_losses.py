"""The built-in losses of ``docs/equations.md`` on TensorFlow tensors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psychcore.backend import implementation

LossFn = Callable[[Any, Any, Any], Any]


def _mean_squared_error(tf: Any) -> LossFn:
    def fn(z: Any, y: Any, mask: Any) -> Any:
        return tf.reduce_sum(tf.square(mask * (z - y))) / tf.cast(tf.size(z), z.dtype)
    return fn


def _binary_cross_entropy(tf: Any) -> LossFn:
    def fn(z: Any, y: Any, mask: Any) -> Any:
        # -(y log p + (1-y) log(1-p)) with p = sigmoid(z) is softplus(z) - y z, stable.
        per = tf.nn.softplus(z) - y * z
        return tf.reduce_sum(mask * per) / tf.cast(tf.size(z), z.dtype)
    return fn


def _cross_entropy(tf: Any) -> LossFn:
    def fn(z: Any, y: Any, mask: Any) -> Any:
        per_step = -tf.reduce_sum(y * tf.nn.log_softmax(z, axis=-1), axis=-1)
        m = tf.reduce_max(mask, axis=-1)
        return tf.math.divide_no_nan(tf.reduce_sum(m * per_step), tf.reduce_sum(m))
    return fn


_LOSSES = {
    "mean_squared_error": _mean_squared_error,
    "binary_cross_entropy": _binary_cross_entropy,
    "cross_entropy": _cross_entropy,
}


def loss_function(tf: Any, loss: str | LossFn) -> LossFn:
    """The spec's loss as ``fn(outputs, y, mask) -> scalar tensor``.

    A callable (``ModelSpec(loss=fn)``) is called with the three TensorFlow tensors, so it
    must use TensorFlow operations (or plain arithmetic operators).

    Raises:
        ValueError: For an unknown loss name.
    """
    if callable(loss):
        return loss
    return implementation("loss", loss, _LOSSES, "tensorflow")(tf)
