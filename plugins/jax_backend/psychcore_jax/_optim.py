"""Optimisers: PsychRNN's Adam and optax's optimisers by name, classes and factories, and
their state as NumPy arrays.

Every optimiser is an :class:`Optimizer`: ``init(params) -> state`` and
``update(grads, state, params, hyper) -> (updates, state)``, pure functions traced into the
backend's compiled training step. ``hyper`` is a number computed on the host before each step
(Adam's bias-corrected step size, in double precision as PyTorch's backend computes it); optax
optimisers ignore it.

The state export flattens the state's pytree into ``<path>`` keys (``m/W_rec``, ``v/W_rec``,
``step`` for ``"adam"``; optax's own field names for the others, e.g. ``0/trace/W_rec``);
hyper-parameters are not exported: they come from ``configure_optimizer``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Array = Any

#: optax functions that take ``learning_rate`` first but are not plain optimisers here.
_EXCLUDED = {"lbfgs": "its update needs the objective function",
             "scale_by_learning_rate": "it is a building block, not an optimiser",
             "scale_by_rprop": "it is a building block, not an optimiser"}


def _optax_functions() -> dict[str, Callable[..., Any]]:
    import optax

    out = {}
    for name in dir(optax):
        fn = getattr(optax, name)
        if name.startswith("_") or name in _EXCLUDED or not inspect.isfunction(fn):
            continue
        params = list(inspect.signature(fn).parameters)
        if params[:1] == ["learning_rate"]:
            out[name] = fn
    return out


def optimizer_names() -> list[str]:
    """Every optimiser name the backend accepts: ``"adam"`` (PsychRNN's update, exactly as the
    torch and TensorFlow backends compute it), ``"optax_adam"`` (optax's own) and each optax
    optimiser that takes a learning rate (``"sgd"``, ``"adamw"``, ``"rmsprop"``, ...)."""
    return sorted({"adam", "optax_adam", *_optax_functions()})


@dataclass(frozen=True)
class Optimizer:
    """A pure optimiser (see the module docstring)."""

    init: Callable[[dict[str, Array]], Any]
    update: Callable[[dict[str, Array], Any, dict[str, Array], Array], tuple[Any, Any]]
    host_hyper: Callable[[int], float]
    key: Any
    portable_adam: bool = False


def psychrnn_adam(learning_rate: float, b1: float = 0.9, b2: float = 0.999,
                  eps: float = 1e-8) -> Optimizer:
    """Adam exactly as TensorFlow 1 (PsychRNN), Keras and psychcore's other backends compute it.

    ``m += (g - m)(1 - b1)``, ``v += (g*g - v)(1 - b2)``,
    ``p -= alpha_t * m / (sqrt(v) + eps)`` with
    ``alpha_t = lr * sqrt(1 - B2^t) / (1 - B1^t)`` computed on the host in double precision
    from the learning rate and betas rounded to float32 (as Keras holds them). optax's
    ``adam`` puts ``eps`` elsewhere, which makes two backends drift apart; it stays available
    as ``"optax_adam"``.
    """
    B1, B2 = float(np.float32(b1)), float(np.float32(b2))
    lr = float(np.float32(learning_rate))

    def init(params: dict[str, Array]) -> dict[str, Any]:
        # NumPy zeros, put on the device by the caller: jnp.zeros_like would compile a small
        # XLA program per shape in every new process (about 0.3 s before the first step)
        return {"step": np.zeros((), np.int32),
                "m": {k: np.zeros(p.shape, p.dtype) for k, p in params.items()},
                "v": {k: np.zeros(p.shape, p.dtype) for k, p in params.items()}}

    def update(grads: dict[str, Array], state: dict[str, Any], params: dict[str, Array],
               hyper: Array) -> tuple[dict[str, Array], dict[str, Any]]:
        m = {k: state["m"][k] + (g - state["m"][k]) * (1.0 - b1) for k, g in grads.items()}
        v = {k: state["v"][k] + (g * g - state["v"][k]) * (1.0 - b2) for k, g in grads.items()}
        updates = {k: -(m[k] * hyper.astype(m[k].dtype)) / (jnp.sqrt(v[k]) + eps) for k in m}
        return updates, {"step": state["step"] + 1, "m": m, "v": v}

    def host_hyper(step: int) -> float:  # the step about to be taken is number step + 1
        t = step + 1
        return lr * math.sqrt(1.0 - B2**t) / (1.0 - B1**t)

    # the learning rate enters through host_hyper only: one compilation serves every rate
    return Optimizer(init, update, host_hyper, ("adam", b1, b2, eps), portable_adam=True)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _from_optax(tx: Any, key: Any) -> Optimizer:
    import optax

    if not isinstance(tx, optax.GradientTransformation):
        raise TypeError(f"an optimiser factory must return an optax.GradientTransformation; "
                        f"it returned {type(tx).__name__}")

    def update(grads: dict[str, Array], state: Any, params: dict[str, Array],
               hyper: Array) -> tuple[Any, Any]:
        return tx.update(grads, state, params)

    # a key that cannot be compared (a factory, unhashable arguments) is the object itself:
    # such an optimiser compiles its own functions
    return Optimizer(tx.init, update, lambda step: 0.0, key if _hashable(key) else tx)


def make_optimizer(optimizer: str | Callable[..., Any], params: dict[str, Array],
                   learning_rate: float, **kwargs: Any) -> Optimizer:
    """The :class:`Optimizer` for a name, an optax-style function or a factory.

    Args:
        optimizer: A lower-case name (:func:`optimizer_names`); an optax-style function whose
            first parameter is ``learning_rate`` (``optax.adamw``), called as
            ``fn(learning_rate, **kwargs)``; or a factory ``fn(params, learning_rate,
            **kwargs)`` (``params``: the trained parameters by weights-dict key). Both must
            return an ``optax.GradientTransformation``.
        params: The trained parameters.
        learning_rate: The learning rate.
        **kwargs: The optimiser's other arguments.

    Raises:
        ValueError: For an unknown name (listing the known ones).
        TypeError: For arguments the optimiser does not take, or a factory that returns
            something else.
    """
    if isinstance(optimizer, str):
        if optimizer == "adam":
            try:
                return psychrnn_adam(learning_rate, **kwargs)
            except TypeError as exc:
                raise TypeError(f"optimizer 'adam': {exc}; it takes b1, b2 and eps") from None
        functions = _optax_functions()
        functions["optax_adam"] = functions["adam"]
        if optimizer not in functions:
            raise ValueError(f"unknown optimizer {optimizer!r}; the jax backend knows "
                             f"{optimizer_names()}")
        fn = functions[optimizer]
        try:
            tx = fn(learning_rate, **kwargs)
        except TypeError as exc:
            raise TypeError(f"optimizer {optimizer!r}: {exc}") from None
        return _from_optax(tx, ("optax", optimizer, learning_rate,
                                tuple(sorted(kwargs.items()))))
    try:
        first = next(iter(inspect.signature(optimizer).parameters), None)
    except (TypeError, ValueError):
        first = None
    if first == "learning_rate":
        tx = optimizer(learning_rate, **kwargs)
        return _from_optax(tx, ("optax-fn", optimizer, learning_rate,
                                tuple(sorted(kwargs.items()))))
    tx = optimizer(params, learning_rate, **kwargs)
    return _from_optax(tx, tx)


def _key(path: tuple[Any, ...]) -> str:
    parts = []
    for entry in path:
        for attr in ("key", "name", "idx"):
            if hasattr(entry, attr):
                parts.append(str(getattr(entry, attr)))
                break
        else:
            parts.append(str(entry))
    return "/".join(parts)


def export_state(state: Any) -> dict[str, np.ndarray]:
    """The optimiser state's leaves as NumPy copies, keyed by their path in the pytree."""
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    return {_key(path): np.array(leaf) for path, leaf in leaves}


def import_state(template: Any, arrays: dict[str, np.ndarray], put: Callable[[Any], Any]) -> Any:
    """``template`` (a fresh state of the same optimiser) with its leaves replaced by
    ``arrays`` (from :func:`export_state`).

    Raises:
        ValueError: For missing or unexpected keys or a shape that differs, naming them.
    """
    paths, treedef = jax.tree_util.tree_flatten_with_path(template)
    keys = [_key(p) for p, _ in paths]
    missing, extra = sorted(set(keys) - set(arrays)), sorted(set(arrays) - set(keys))
    if missing or extra:
        raise ValueError(f"the optimiser state does not fit this optimiser: missing "
                         f"{missing}, unexpected {extra}")
    leaves = []
    for key, (_, leaf) in zip(keys, paths, strict=True):
        value = np.asarray(arrays[key])
        if value.shape != np.shape(leaf):
            raise ValueError(f"optimizer state {key!r} has shape {value.shape}; expected "
                             f"{np.shape(leaf)}")
        leaves.append(put(value.astype(np.asarray(leaf).dtype)))
    return jax.tree_util.tree_unflatten(treedef, leaves)
