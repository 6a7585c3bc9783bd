"""Losses and regularisation of ``docs/equations.md`` on TensorFlow tensors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    if loss not in _LOSSES:
        raise ValueError(f"loss must be one of {list(_LOSSES)} or a callable; received {loss!r}")
    return _LOSSES[loss](tf)


def regularization(tf: Any, spec: Any, eff: dict[str, Any], rates: Any,
                   weights: dict[str, Any], states: Any) -> Any:
    """The regularisation term (means, as PsychRNN), or ``None`` when the spec has none.

    ``L1_x * mean(|W_x_eff|) + L2_x * mean(W_x_eff**2)`` for ``x`` in in/rec/out,
    ``L2_firing_rate * mean(rates**2)``, and ``spec.custom_regularization(weights, states)``
    called with a dict of TensorFlow tensors (the raw parameters and structural entries of
    the weights dict) and the ``(B, T, N_rec)`` states tensor.
    """
    terms = []
    for part, key in (("in", "W_in"), ("rec", "W_rec"), ("out", "W_out")):
        l1, l2 = float(getattr(spec, f"L1_{part}")), float(getattr(spec, f"L2_{part}"))
        if l1:
            terms.append(l1 * tf.reduce_mean(tf.abs(eff[key])))
        if l2:
            terms.append(l2 * tf.reduce_mean(tf.square(eff[key])))
    if spec.L2_firing_rate:
        terms.append(float(spec.L2_firing_rate) * tf.reduce_mean(tf.square(rates)))
    if spec.custom_regularization is not None:
        custom = spec.custom_regularization(weights, states)
        terms.append(tf.cast(custom, states.dtype))
    return tf.add_n(terms) if terms else None
