"""The time loops of the three architectures (``docs/equations.md``), as eager PyTorch.

Everything that does not depend on the recurrence is hoisted out of the loops by the caller:
the input projection and bias for all steps at once (scaled by ``alpha`` and with the noise
increments added, for the rate RNN), unbound once into per-step ``(N_batch, N)`` tensors
(indexing a ``(T, B, N)`` tensor inside the loop makes the backward pass scatter into the
whole tensor at every step). The output layer is one product after the loop. Each step is a
handful of fused operations (``addmm``, ``addcmul``), which is what eager PyTorch is fastest
at for the small matrices of these networks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor

TensorFn = Callable[["Tensor"], "Tensor"]


def _identity(x: Tensor) -> Tensor:
    return x


def transfer_function(name: str) -> TensorFn:
    """The torch version of the transfer function called ``name`` (``ModelSpec`` names).

    Raises:
        ValueError: For an unknown name.
    """
    import torch
    from torch.nn import functional

    from psychcore.backend import implementation

    functions: dict[str, TensorFn] = {
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "softplus": functional.softplus,
        "linear": _identity,
    }
    return implementation("transfer_function", name, functions, "torch")


def rate_rnn(
    drive: Sequence[Tensor],
    x0: Tensor,
    w_rec_t: Tensor,
    decay: float | Tensor,
    f: TensorFn,
) -> list[Tensor]:
    """Euler steps ``x_t = decay * x_{t-1} + f(x_{t-1}) @ w_rec_t + drive[t]``.

    With ``w_rec_t = (alpha * W_rec_eff).T`` (``alpha`` scaling the rows),
    ``decay = 1 - alpha`` and ``drive[t] = alpha * (W_in_eff u_t + b_rec) + noise_t`` this is
    the rate-RNN update of ``docs/equations.md``.

    Args:
        drive: Per-step ``(N_batch, N_rec)`` tensors.
        x0: Initial state, ``(N_batch, N_rec)`` (an expanded view is fine).
        w_rec_t: ``(N_rec, N_rec)``, the transposed, alpha-scaled recurrent matrix.
        decay: ``1 - alpha``: a number, or a ``(N_rec,)`` tensor for per-unit time constants.
        f: Transfer function.

    Returns:
        The states ``x_t``, one ``(N_batch, N_rec)`` tensor per step.
    """
    import torch

    states = []
    x = x0
    if isinstance(decay, torch.Tensor):
        for u_t in drive:
            x = torch.addcmul(torch.addmm(u_t, f(x), w_rec_t), decay, x)
            states.append(x)
    else:
        for u_t in drive:
            # in place on the fresh addmm result: addmm's backward does not need its output
            x = torch.addmm(u_t, f(x), w_rec_t).add_(x, alpha=decay)
            states.append(x)
    return states


def lstm(
    drive: Sequence[Tensor], h0: Tensor, c0: Tensor, w_rec_t: Tensor, n: int
) -> list[Tensor]:
    """LSTM steps (gate order i, f, g, o); ``drive[t] = W_in_eff u_t + b_rec``.

    Args:
        drive: Per-step ``(N_batch, 4 * n)`` tensors.
        h0: Initial hidden state ``(N_batch, n)``.
        c0: Initial cell state ``(N_batch, n)``.
        w_rec_t: ``(n, 4 * n)``, the transposed effective recurrent matrix.
        n: ``N_rec``.

    Returns:
        The hidden states ``h_t``, one ``(N_batch, n)`` tensor per step.
    """
    import torch

    states = []
    h, c = h0, c0
    for d_t in drive:
        a = torch.addmm(d_t, h, w_rec_t)
        gates = torch.sigmoid(a)  # the g block is computed and ignored: one op instead of three
        g = torch.tanh(a[:, 2 * n : 3 * n])
        c = torch.addcmul(gates[:, n : 2 * n] * c, gates[:, :n], g)
        h = gates[:, 3 * n :] * torch.tanh(c)
        states.append(h)
    return states


def gru(drive: Sequence[Tensor], h0: Tensor, w_rec_t: Tensor, n: int) -> list[Tensor]:
    """GRU steps (gate order r, z, n); ``drive[t] = W_in_eff u_t + b_rec``.

    ``h_t = (1 - z) * n + z * h_{t-1}`` is computed as ``n + z * (h_{t-1} - n)``.

    Args:
        drive: Per-step ``(N_batch, 3 * n)`` tensors.
        h0: Initial hidden state ``(N_batch, n)``.
        w_rec_t: ``(n, 3 * n)``, the transposed effective recurrent matrix.
        n: ``N_rec``.

    Returns:
        The hidden states ``h_t``, one ``(N_batch, n)`` tensor per step.
    """
    import torch

    states = []
    h = h0
    for d_t in drive:
        b = torch.mm(h, w_rec_t)
        rz = torch.sigmoid(d_t[:, : 2 * n] + b[:, : 2 * n])
        cand = torch.tanh(torch.addcmul(d_t[:, 2 * n :], rz[:, :n], b[:, 2 * n :]))
        h = torch.addcmul(cand, rz[:, n:], h - cand)
        states.append(h)
    return states
