"""Losses and regularisation in torch, as ``docs/equations.md`` and ``psychcore._equations``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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
        loss: A name of :data:`LOSSES` or ``fn(outputs, y, mask)`` called with torch tensors
            ``(N_batch, N_steps, N_out)`` and returning a scalar tensor.
        z: Outputs.
        y: Targets.
        mask: Loss mask.

    Raises:
        ValueError: For an unknown loss name.
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
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)} or a callable; received {loss!r}")
    return LOSSES[loss](z, y, mask)


def regularization(
    spec: Any,
    effective: dict[str, Tensor],
    rates: Tensor,
    states: Tensor,
    weights: Callable[[], dict[str, Tensor]],
) -> Tensor | None:
    """The regularisation term (means, as PsychRNN), or None when the spec has none.

    Args:
        spec: The ModelSpec (``L1_*``, ``L2_*``, ``L2_firing_rate``, ``custom_regularization``).
        effective: Effective ``W_in``, ``W_rec``, ``W_out``.
        rates: Firing rates, in any layout (only their mean square is taken).
        states: States ``(N_batch, N_steps, N_rec)``, for ``custom_regularization``.
        weights: Returns the weights dict as tensors, for ``custom_regularization``.
    """
    terms = []
    for part, key in (("in", "W_in"), ("rec", "W_rec"), ("out", "W_out")):
        l1 = float(getattr(spec, f"L1_{part}"))
        l2 = float(getattr(spec, f"L2_{part}"))
        if l1:
            terms.append(l1 * effective[key].abs().mean())
        if l2:
            terms.append(l2 * (effective[key] ** 2).mean())
    if spec.L2_firing_rate:
        terms.append(float(spec.L2_firing_rate) * (rates**2).mean())
    if spec.custom_regularization is not None:
        terms.append(spec.custom_regularization(weights(), states))
    if not terms:
        return None
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total
