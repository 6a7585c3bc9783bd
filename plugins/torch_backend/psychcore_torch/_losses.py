"""The built-in losses in torch, as ``docs/equations.md`` defines them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from psychcore.backend import implementation

if TYPE_CHECKING:
    from torch import Tensor


def _mean_squared_error(z: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    return ((mask * (z - y)) ** 2).mean()


def _binary_cross_entropy(z: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    from torch.nn import functional

    # -(y log p + (1-y) log(1-p)) with p = sigmoid(z), from the logits: never log(0)
    return functional.binary_cross_entropy_with_logits(z, y, weight=mask, reduction="mean")


def _cross_entropy(z: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    import torch

    per_step = -(y * torch.log_softmax(z, dim=-1)).sum(dim=-1)
    m = mask.amax(dim=-1)
    # an all-zero mask gives 0 / tiny = 0, as the reference's explicit special case
    return (m * per_step).sum() / m.sum().clamp_min(torch.finfo(z.dtype).tiny)


LOSSES: dict[str, Callable[[Tensor, Tensor, Tensor], Tensor]] = {
    "mean_squared_error": _mean_squared_error,
    "binary_cross_entropy": _binary_cross_entropy,
    "cross_entropy": _cross_entropy,
}


def task_loss(loss: str | Callable[..., Any], z: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    """The loss of outputs ``z`` against targets ``y`` under ``mask`` (a scalar tensor).

    Args:
        loss: A loss name of the spec or ``fn(outputs, y, mask)`` called with torch tensors
            ``(N_batch, N_steps, N_out)`` and returning a scalar tensor.
        z: Outputs.
        y: Targets.
        mask: Loss mask.

    Raises:
        TypeError: If a loss callable does not return a scalar torch tensor.
    """
    import torch

    if callable(loss):
        value = loss(z, y, mask)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise TypeError(
                "a loss callable receives torch tensors (outputs, y, mask) and must return a "
                f"scalar torch tensor; {getattr(loss, '__name__', loss)!r} returned "
                f"{type(value).__name__}"
            )
        return value.reshape(())
    return implementation("loss", loss, LOSSES, "torch")(z, y, mask)
