"""Keras optimisers: building one from a name, class, instance or factory; its state as NumPy."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

STATE_PREFIX = "optimizer/"
#: Epsilon of ``"adam"`` unless given: PsychRNN's ``tf.compat.v1.train.AdamOptimizer`` and
#: ``torch.optim.Adam`` use 1e-8 (Keras's own default is 1e-7).
ADAM_EPSILON = 1e-8
_NOT_STATE = ("learning_rate",)  # set by configure_optimizer, not carried over by a resume


def make_optimizer(tf: Any, optimizer: Any, learning_rate: float, **kwargs: Any) -> Any:
    """A fresh Keras optimiser.

    Args:
        tf: The ``tensorflow`` module.
        optimizer: A Keras name or class name (``"adam"``, ``"sgd"``, ``"rmsprop"``,
            ``"AdamW"`` ...) with Keras's defaults, except that ``"adam"`` has
            ``epsilon=1e-8`` unless given (PsychRNN's and PyTorch's value), an ``Optimizer``
            subclass (called with ``learning_rate`` and
            ``kwargs``), an ``Optimizer`` instance (used as a template: a fresh copy is made
            from its config, whose own learning rate wins), or a factory callable (called
            with ``learning_rate=`` and ``kwargs`` if it takes arguments, else with none).
        learning_rate: Step size for names, classes and factories.
        **kwargs: Further optimiser arguments (``momentum=0.9``, ``weight_decay=...``).

    Raises:
        ValueError: For an unknown name.
        TypeError: For anything that does not give a Keras optimiser.
    """
    base = tf.keras.optimizers.Optimizer
    if isinstance(optimizer, str):
        if optimizer.lower() == "adam":  # PsychRNN's (TF1 AdamOptimizer) and torch's epsilon
            kwargs.setdefault("epsilon", ADAM_EPSILON)
        try:
            opt = tf.keras.optimizers.get(
                {"class_name": optimizer, "config": {"learning_rate": learning_rate, **kwargs}}
            )
        except ValueError as exc:
            raise ValueError(
                f"optimizer {optimizer!r} is not a Keras optimiser name; use one of 'adam', "
                "'adamw', 'sgd', 'rmsprop', 'adagrad', 'adadelta', 'adamax', 'nadam', 'ftrl', "
                "'lion' (or a class name such as 'AdamW'), or pass a keras optimizer"
            ) from exc
    elif isinstance(optimizer, base):
        if kwargs:
            raise TypeError("optimizer keyword arguments cannot be combined with an instance")
        opt = type(optimizer).from_config(optimizer.get_config())
    elif isinstance(optimizer, type) and issubclass(optimizer, base):
        opt = optimizer(learning_rate=learning_rate, **kwargs)
    elif callable(optimizer):
        takes_args = bool(inspect.signature(optimizer).parameters)
        opt = optimizer(learning_rate=learning_rate, **kwargs) if takes_args else optimizer()
    else:
        raise TypeError(
            "optimizer must be a Keras optimiser name, class, instance or factory; received "
            f"{type(optimizer).__name__}"
        )
    if not isinstance(opt, base):
        raise TypeError(f"the optimizer factory returned {type(opt).__name__}, not a Keras "
                        "optimizer")
    return opt


def _named_variables(opt: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Optimiser variables by stable key: ``optimizer/<param>/<slot>`` for slots (e.g.
    ``optimizer/W_rec/momentum``), ``optimizer/<name>`` for the rest (``optimizer/iteration``).

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
        key = next((f"{STATE_PREFIX}{param}/{name[len(prefix):]}" for prefix, param in prefixes
                    if name.startswith(prefix)), STATE_PREFIX + name)
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
    given = {k: v for k, v in state.items() if k.startswith(STATE_PREFIX)}
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
