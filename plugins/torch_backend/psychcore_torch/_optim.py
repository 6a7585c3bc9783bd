"""Optimisers: resolving names, classes and factories; exporting their state as NumPy.

The state export flattens ``optimizer.state_dict()["state"]`` into NumPy arrays under keys
``<parameter>/<slot>`` (e.g. ``W_rec/exp_avg``, ``W_rec/step``; the backend kit adds the
prefix ``optimizer/``),
with suffixes for what is not a tensor: ``#number`` (a Python number, 0-d array), ``#none``
(an empty array) and ``#list`` (the length; the items follow as ``<key>/<i>``). Hyper-parameters
are not exported: they come from ``configure_optimizer``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

_UNUSABLE = {"sparseadam": "it needs sparse gradients"}


def optimizer_classes() -> dict[str, type]:
    """Optimiser classes by lower-case name: ``torch.optim``'s, with ``"adam"`` PsychRNN's.

    ``"adam"`` is :func:`psychrnn_adam` (the update TensorFlow, Keras and so PsychRNN compute,
    which the TensorFlow backend uses too); ``torch.optim.Adam`` stays available as
    ``"torch_adam"`` or by passing the class.
    """
    import inspect

    import torch

    classes = {
        name.lower(): cls
        for name, cls in vars(torch.optim).items()
        if inspect.isclass(cls)
        and issubclass(cls, torch.optim.Optimizer)
        and cls is not torch.optim.Optimizer
        and name.lower() not in _UNUSABLE
    }
    classes["torch_adam"] = classes["adam"]
    classes["adam"] = psychrnn_adam()
    return classes


_PSYCHRNN_ADAM: type | None = None


def psychrnn_adam() -> type:
    """Adam exactly as TensorFlow 1 (PsychRNN), Keras and the TensorFlow backend compute it.

    ``m += (g - m)(1 - b1)``, ``v += (g*g - v)(1 - b2)``,
    ``p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``, with ``eps = 1e-8``, and
    the learning rate and the betas of the bias correction rounded to float32, as Keras holds
    them. It differs from ``torch.optim.Adam``
    only in where ``eps`` enters (a relative 1e-5 early in training), which is enough to make
    two backends drift apart; with this update they take the same steps.
    """
    global _PSYCHRNN_ADAM
    if _PSYCHRNN_ADAM is not None:
        return _PSYCHRNN_ADAM
    import torch

    class Adam(torch.optim.Optimizer):
        """PsychRNN's (TensorFlow's) Adam; see :func:`psychrnn_adam`."""

        def __init__(self, params: Any, lr: float = 1e-3, betas: Sequence[float] = (0.9, 0.999),
                     eps: float = 1e-8) -> None:
            super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})

        @torch.no_grad()
        def step(self, closure: Callable | None = None) -> Any:
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                b1, b2 = group["betas"]
                B1, B2 = float(np.float32(b1)), float(np.float32(b2))
                lr = float(np.float32(group["lr"]))
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["step"] = torch.zeros((), dtype=torch.float64)
                        state["exp_avg"] = torch.zeros_like(p)
                        state["exp_avg_sq"] = torch.zeros_like(p)
                    state["step"] += 1
                    t = int(state["step"])
                    m, v, g = state["exp_avg"], state["exp_avg_sq"], p.grad
                    m.add_((g - m) * (1.0 - b1))
                    v.add_((g * g - v) * (1.0 - b2))
                    alpha = lr * math.sqrt(1.0 - B2**t) / (1.0 - B1**t)
                    p.sub_(m * alpha / (v.sqrt() + group["eps"]))
            return loss

    _PSYCHRNN_ADAM = Adam
    return Adam


def clip_global_norm_(params: Sequence[torch.Tensor], clip: float) -> None:
    """Scale the gradients by ``min(1, clip / global_norm)`` in place, as TensorFlow does.

    (``torch.nn.utils.clip_grad_norm_`` divides by ``norm + 1e-6``, a relative 1e-6 that keeps
    the two backends from agreeing to float64 precision.)
    """
    import torch

    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    norm = torch.sqrt(sum((g * g).sum() for g in grads))
    scale = clip / torch.clamp(norm, min=clip)
    for g in grads:
        g.mul_(scale)


def make_optimizer(
    optimizer: Any, params: Sequence[torch.Tensor], learning_rate: float, **kwargs: Any
) -> torch.optim.Optimizer:
    """Build an optimiser over ``params``.

    Args:
        optimizer: A case-insensitive ``torch.optim`` class name, an ``Optimizer`` subclass,
            or a factory ``fn(params, lr, **kwargs) -> Optimizer``.
        params: The tensors to optimise.
        learning_rate: The step size.
        **kwargs: Passed on to the class or factory.

    Raises:
        ValueError: For an unknown name (the message lists the valid ones).
        TypeError: For anything else that is not a class or factory of optimisers.
    """
    import torch

    params = list(params)
    if isinstance(optimizer, str):
        key = optimizer.lower()
        if key in _UNUSABLE:
            raise ValueError(f"optimizer {optimizer!r} cannot train these networks: "
                             f"{_UNUSABLE[key]}")
        classes = optimizer_classes()
        if key not in classes:
            raise ValueError(
                f"unknown optimizer {optimizer!r}; valid names (case-insensitive): "
                f"{', '.join(sorted(classes))}"
            )
        return classes[key](params, lr=learning_rate, **kwargs)
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return optimizer(params, lr=learning_rate, **kwargs)
    if callable(optimizer):
        built = optimizer(params, learning_rate, **kwargs)
        if not isinstance(built, torch.optim.Optimizer):
            raise TypeError(
                "an optimizer factory must return a torch.optim.Optimizer; "
                f"{getattr(optimizer, '__name__', optimizer)!r} returned {type(built).__name__}"
            )
        return built
    raise TypeError(
        "optimizer must be a name, a torch.optim.Optimizer subclass or a factory "
        f"fn(params, lr); received {type(optimizer).__name__}"
    )


# ---------------------------------------------------------------------- state export
def _encode(key: str, value: Any, out: dict[str, np.ndarray]) -> None:
    import torch

    if isinstance(value, torch.Tensor):
        out[key] = value.detach().cpu().numpy().copy()
    elif value is None:
        out[key + "#none"] = np.zeros(0, dtype=np.uint8)
    elif isinstance(value, bool | int | float | np.number):
        out[key + "#number"] = np.array(value)
    elif isinstance(value, list | tuple):
        out[key + "#list"] = np.array(len(value))
        for i, item in enumerate(value):
            _encode(f"{key}/{i}", item, out)
    else:
        raise TypeError(f"cannot export optimiser state {key!r} of type {type(value).__name__}")


def _decode(key: str, flat: dict[str, np.ndarray]) -> Any:
    import torch

    if key in flat:
        return torch.from_numpy(np.array(flat[key]))
    if key + "#none" in flat:
        return None
    if key + "#number" in flat:
        return np.asarray(flat[key + "#number"]).item()
    if key + "#list" in flat:
        return [_decode(f"{key}/{i}", flat) for i in range(int(flat[key + "#list"]))]
    raise KeyError(key)


def export_state(opt: torch.optim.Optimizer, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The optimiser's slots and counters as NumPy arrays (keys in the module docstring).

    Args:
        opt: The optimiser; its parameters are, in order, those called ``names``.
        names: Parameter names.
    """
    out: dict[str, np.ndarray] = {}
    for index, slots in opt.state_dict()["state"].items():
        for slot, value in slots.items():
            _encode(f"{names[index]}/{slot}", value, out)
    return out


def import_state(
    opt: torch.optim.Optimizer, names: Sequence[str], state: dict[str, np.ndarray]
) -> None:
    """Load what :func:`export_state` returned into ``opt`` (built over the same parameters).

    Raises:
        ValueError: If the state holds slots of parameters that ``opt`` does not optimise.
    """
    flat = dict(state)
    slots: dict[str, set[str]] = {}
    for key in flat:
        name, _, rest = key.partition("/")
        slots.setdefault(name, set()).add(rest.split("/")[0].split("#")[0])
    unknown = sorted(set(slots) - set(names))
    if unknown:
        raise ValueError(
            f"the training state has optimiser slots of {unknown}, which this optimiser does "
            f"not train (it trains {list(names)}); were the trainable flags changed?"
        )
    sd = opt.state_dict()
    sd["state"] = {
        names.index(name): {slot: _decode(f"{name}/{slot}", flat) for slot in sorted(s)}
        for name, s in slots.items()
    }
    opt.load_state_dict(sd)


def step_fn(opt: torch.optim.Optimizer) -> Callable[[Callable[[], Any]], Any]:
    """How to step ``opt`` with a closure that computes loss and gradients.

    LBFGS evaluates the closure itself (possibly several times) and returns the first loss;
    every other optimiser gets the gradients from one call before its step.
    """
    import torch

    if isinstance(opt, torch.optim.LBFGS):
        return opt.step

    def step(closure: Callable[[], Any]) -> Any:
        loss = closure()
        opt.step()
        return loss

    return step
