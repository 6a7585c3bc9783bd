"""Rules of training that every backend applies the same way: arguments, clipping, seeds,
regularisation and the portable Adam state."""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any

import numpy as np

from .._rng import SeedLike, as_generator


def clip_norm(clip_grads: Any) -> float | None:
    """The global-norm bound of gradient clipping.

    ``True`` means 1.0 (PsychRNN's default), a positive finite number that bound, ``False``
    no clipping. With bound ``c`` and the global norm ``n`` of all trained parameters'
    gradients (after fixed entries are zeroed), every gradient is multiplied by
    ``min(1, c / n)`` — TensorFlow's ``clip_by_global_norm``, with no epsilon added.

    Raises:
        TypeError: For anything but a bool or a real number (None included).
        ValueError: For a number that is not positive and finite.
    """
    if isinstance(clip_grads, bool):
        return 1.0 if clip_grads else None
    if not isinstance(clip_grads, Real):
        raise TypeError(f"clip_grads must be True, False or a positive number; received "
                        f"{type(clip_grads).__name__}")
    value = float(clip_grads)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"clip_grads must be True, False or a positive number; received "
                         f"{clip_grads!r}")
    return value


def check_learning_rate(learning_rate: Any) -> float:
    """A non-negative, finite learning rate as a float (0 evaluates the loss through a
    training step without moving the weights; :class:`psychcore.TrainingOptions` asks for a
    positive one).

    Raises:
        TypeError: For anything but a real number.
        ValueError: For a negative number, NaN or infinity.
    """
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, Real):
        raise TypeError(f"learning_rate must be a non-negative number; received "
                        f"{type(learning_rate).__name__}")
    value = float(learning_rate)
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"learning_rate must be a non-negative number; received "
                         f"{learning_rate!r}")
    return value


def check_optimizer(optimizer: Any) -> str | Callable[..., Any]:
    """An optimiser argument as every backend accepts it: a name or a class/factory.

    Names are compared case-insensitively and returned lower-case. A class is built as its
    framework builds optimisers; any other callable is a factory called as
    ``factory(params, learning_rate, **kwargs)`` with the framework's trainable tensors (in
    the order of :data:`~psychcore.backend.PARAMETERS`). An optimiser *instance* is refused:
    it is already bound to other parameters or state.

    Raises:
        TypeError: For an instance or anything else that is neither a str nor callable.
        ValueError: For an empty name.
    """
    if isinstance(optimizer, str):
        if not optimizer.strip():
            raise ValueError("optimizer must be a non-empty name, e.g. 'adam'")
        return optimizer.strip().lower()
    if callable(optimizer):
        return optimizer
    raise TypeError(
        "optimizer must be a name ('adam', 'sgd', ...), an optimiser class or a factory "
        f"fn(params, learning_rate, **kwargs); received {type(optimizer).__name__} (an "
        "optimiser instance cannot be reused: it is bound to other parameters; pass a name, "
        "the backend's optimiser class or a factory instead)"
    )


def derive_seed(seed: SeedLike) -> int:
    """The integer that seeds a backend's own framework generator: one 63-bit draw from
    ``seed`` (an int, SeedSequence, Generator or None), so one seed determines everything."""
    return int(as_generator(seed).integers(0, 2**63 - 1))


def regularization(
    spec: Any,
    effective: dict[str, Any],
    rates: Any,
    *,
    mean: Callable[[Any], Any],
    absolute: Callable[[Any], Any],
    custom_args: Callable[[], tuple[Any, Any]] | None = None,
    convert: Callable[[Any], Any] | None = None,
) -> Any:
    """The regularisation term of ``docs/equations.md`` on any framework's tensors, or None.

    ``sum_x L1_x * mean(|W_x_eff|) + L2_x * mean(W_x_eff**2)`` for ``x`` in in/rec/out, plus
    ``L2_firing_rate * mean(rates**2)``, plus ``spec.custom_regularization(weights, states)``.
    Only ``+``, ``*`` and ``**`` are used on the tensors, besides ``mean`` and ``absolute``.

    Args:
        spec: The ModelSpec.
        effective: Effective ``W_in``, ``W_rec``, ``W_out`` tensors.
        rates: Firing rates (any layout: only their mean square is taken).
        mean: The framework's mean over all entries.
        absolute: The framework's elementwise absolute value.
        custom_args: Returns ``(weights, states)`` for ``custom_regularization``: the
            weights dict as tensors and the ``(N_batch, N_steps, N_rec)`` states (called only
            when the spec has one).
        convert: Applied to ``custom_regularization``'s result (e.g. a cast to the states'
            dtype); None keeps it as returned.
    """
    terms = []
    for part, key in (("in", "W_in"), ("rec", "W_rec"), ("out", "W_out")):
        l1, l2 = float(getattr(spec, f"L1_{part}")), float(getattr(spec, f"L2_{part}"))
        if l1:
            terms.append(l1 * mean(absolute(effective[key])))
        if l2:
            terms.append(l2 * mean(effective[key] ** 2))
    if spec.L2_firing_rate:
        terms.append(float(spec.L2_firing_rate) * mean(rates**2))
    if spec.custom_regularization is not None:
        if custom_args is None:
            raise ValueError("the spec has a custom_regularization but the backend passed no "
                             "weights and states for it")
        custom = spec.custom_regularization(*custom_args())
        terms.append(custom if convert is None else convert(custom))
    if not terms:
        return None
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def check_adam_state(
    state: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]]
) -> tuple[int, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Validate a portable Adam state against the trained parameters' shapes.

    The portable state of ``"adam"`` holds ``"step"``, the number of steps taken (an integer
    scalar), and for every trained parameter ``"m/<key>"`` and ``"v/<key>"``, its first and
    second moment estimates (the parameter's shape), ``<key>`` being the weights-dict key.
    Before the first step, ``step`` is 0 and the moments are zero.

    Args:
        state: The portable state.
        shapes: Shape of every trained parameter, by weights-dict key.

    Returns:
        ``(step, m, v)`` with ``m`` and ``v`` keyed by parameter.

    Raises:
        ValueError: For missing or unexpected keys, a wrong shape or a negative step.
        TypeError: If ``state`` is not a dict.
    """
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict of arrays; received {type(state).__name__}")
    expected = {"step", *(f"{s}/{k}" for k in shapes for s in ("m", "v"))}
    missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or extra:
        raise ValueError(f"the Adam state does not fit this network: missing {missing}, "
                         f"unexpected {extra}")
    step = np.asarray(state["step"])
    if step.shape != () or not np.issubdtype(step.dtype, np.number) or step < 0 \
            or step != np.floor(step):
        raise ValueError(f"state['step'] must be a non-negative integer scalar; received "
                         f"{state['step']!r}")
    moments: dict[str, dict[str, np.ndarray]] = {"m": {}, "v": {}}
    for slot, out in moments.items():
        for key, shape in shapes.items():
            value = np.asarray(state[f"{slot}/{key}"])
            if value.shape != tuple(shape):
                raise ValueError(f"state['{slot}/{key}'] has shape {value.shape}; expected "
                                 f"{tuple(shape)}")
            out[key] = value
    return int(step), moments["m"], moments["v"]


def portable_adam_state(
    step: int, m: dict[str, np.ndarray], v: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The portable form (see :func:`check_adam_state`) of Adam's step count and moments."""
    out = {"step": np.array(int(step), dtype=np.int64)}
    for key in m:
        out[f"m/{key}"] = np.array(m[key])
        out[f"v/{key}"] = np.array(v[key])
    return out
