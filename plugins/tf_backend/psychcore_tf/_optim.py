"""Keras optimisers: building one from a name, class or factory; its state as NumPy."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np

#: Epsilon of ``"adam"`` unless given: PsychRNN's ``tf.compat.v1.train.AdamOptimizer`` and
#: ``torch.optim.Adam`` use 1e-8 (Keras's own default is 1e-7).
ADAM_EPSILON = 1e-8
_NOT_STATE = ("learning_rate",)  # set by configure_optimizer, not carried over by a resume


def make_optimizer(tf: Any, optimizer: Any, params: list[Any], learning_rate: float,
                   **kwargs: Any) -> Any:
    """A fresh Keras optimiser.

    Args:
        tf: The ``tensorflow`` module.
        optimizer: A lower-case Keras name (``"adam"``, ``"sgd"``, ``"rmsprop"``, ``"adamw"``
            ...) with Keras's defaults, except that ``"adam"`` has ``epsilon=1e-8`` unless
            given (PsychRNN's and PyTorch's value); an ``Optimizer`` subclass (called with
            ``learning_rate`` and ``kwargs``); or a factory ``fn(params, learning_rate,
            **kwargs)`` (the backend kit's contract: ``params`` are the trainable variables).
        params: The trainable variables, in the kit's order.
        learning_rate: Step size.
        **kwargs: Further optimiser arguments (``momentum=0.9``, ``weight_decay=...``).

    Raises:
        ValueError: For an unknown name.
        TypeError: For a factory that does not return a Keras optimiser.
    """
    base = tf.keras.optimizers.Optimizer
    if isinstance(optimizer, str):
        if optimizer == "adam":  # PsychRNN's (TF1 AdamOptimizer) and torch's epsilon
            kwargs.setdefault("epsilon", ADAM_EPSILON)
        try:
            opt = tf.keras.optimizers.get(
                {"class_name": optimizer, "config": {"learning_rate": learning_rate, **kwargs}}
            )
        except ValueError as exc:
            raise ValueError(
                f"optimizer {optimizer!r} is not a Keras optimiser name; use one of 'adam', "
                "'adamw', 'sgd', 'rmsprop', 'adagrad', 'adadelta', 'adamax', 'nadam', 'ftrl', "
                "'lion', or pass a keras optimizer class or a factory"
            ) from exc
    elif isinstance(optimizer, type) and issubclass(optimizer, base):
        opt = optimizer(learning_rate=learning_rate, **kwargs)
    else:
        opt = _call_factory(optimizer, params, learning_rate, kwargs)
    if not isinstance(opt, base):
        raise TypeError(f"the optimizer factory returned {type(opt).__name__}, not a Keras "
                        "optimizer")
    return opt


def _call_factory(factory: Any, params: list[Any], learning_rate: float,
                  kwargs: dict[str, Any]) -> Any:
    """Call a factory as the kit's contract says, ``factory(params, learning_rate, **kwargs)``.

    Factories written for psychcore 0.1's TensorFlow backend, ``fn(learning_rate=...,
    **kwargs)`` or ``fn()``, still work with a DeprecationWarning.
    """
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin without a signature: call it as the contract says
        return factory(params, learning_rate, **kwargs)
    try:
        signature.bind(params, learning_rate, **kwargs)
    except TypeError:
        for args, call in (({"learning_rate": learning_rate, **kwargs},
                            lambda: factory(learning_rate=learning_rate, **kwargs)),
                           ({}, factory)):
            try:
                signature.bind(**args)
            except TypeError:
                continue
            warnings.warn(
                "an optimizer factory fn(learning_rate) is deprecated; write "
                "fn(params, learning_rate, **kwargs), the same for every backend",
                DeprecationWarning, stacklevel=5)
            return call()
        raise
    return factory(params, learning_rate, **kwargs)


def _named_variables(opt: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Optimiser variables by stable key: ``<param>/<slot>`` for slots (e.g.
    ``W_rec/momentum``), ``<name>`` for the rest (``iteration``); the backend kit adds the
    prefix ``optimizer/``.

    Keras names a slot ``<sanitised variable name>_<slot>``; the parameter is found by that
    prefix (longest first, so no parameter shadows another).
    """
    prefixes = sorted(
        ((str(v.name).replace("/", "_").replace(":", "_") + "_", k) for k, v in params.items()),
        key=lambda item: -len(item[0]),
    )
    out: dict[str, Any] = {}
    for var in opt.variables:
        name = str(var.name).split(":")[0]
        if name in _NOT_STATE:
            continue
        key = next((f"{param}/{name[len(prefix):]}" for prefix, param in prefixes
                    if name.startswith(prefix)), name)
        if key in out:
            raise ValueError(f"two optimiser variables are both named {key!r}")
        out[key] = var
    return out


def optimizer_state(opt: Any, params: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every optimiser variable but the learning rate (slots and the iteration counter).

    Args:
        opt: A built Keras optimiser.
        params: The model variables it was built with, by weights-dict key.
    """
    return {key: np.array(var.numpy()) for key, var in _named_variables(opt, params).items()}


def set_optimizer_state(opt: Any, params: dict[str, Any], state: dict[str, np.ndarray]) -> None:
    """Assign what :func:`optimizer_state` returned to a built optimiser of the same kind.

    Raises:
        ValueError: If keys are missing or unexpected, or a shape differs.
    """
    named = _named_variables(opt, params)
    given = dict(state)
    missing, extra = sorted(set(named) - set(given)), sorted(set(given) - set(named))
    if missing or extra:
        raise ValueError(
            f"the optimiser state does not fit {type(opt).__name__}: missing {missing}, "
            f"unexpected {extra} (was it saved with another optimiser?)"
        )
    for key, var in named.items():
        value = np.asarray(given[key])
        if value.shape != tuple(var.shape):
            raise ValueError(f"optimiser state {key}: expected shape {tuple(var.shape)}, "
                             f"received {value.shape}")
        var.assign(value.astype(np.dtype(getattr(var.dtype, "as_numpy_dtype", var.dtype))))
