"""The network as torch tensors: raw parameters, structure, effective weights, forward pass.

Raw parameters (``W_in``, ``W_rec``, ``W_out``, ``b_rec``, ``b_out``, ``init_state``,
``init_cell``, ``tau_raw``) are leaf tensors whose ``requires_grad`` follows the spec's
trainable flags (``psychcore.backend.PARAMETERS``). The structure comes from the backend kit
as constant tensors: one multiplier per matrix (``psychcore.backend.multipliers``: masks times
Dale signs), so an effective weight is ``g(W) * M`` with ``g`` the identity, ``abs`` or ``relu``
(``psychcore.backend.rectifiers``), and the fixed entries
(``psychcore.backend.fixed_entries``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from psychcore.backend import (
    PARAMETERS,
    dale_on,
    fixed_entries,
    multipliers,
    noise_scale,
    rectifiers,
    structure_of,
    trains,
)

from . import _cells

if TYPE_CHECKING:
    import torch
    from torch import Tensor


class Network:
    """Tensors of one network and its forward pass.

    Args:
        spec: A bound ModelSpec.
        weights: Complete, checked weights in the spec's dtype (``psychcore.backend``).
        device: Torch device.
        dtype: Torch floating dtype.
    """

    def __init__(self, spec: Any, weights: dict[str, np.ndarray], device: Any,
                 dtype: torch.dtype) -> None:
        self.spec = spec
        self.device = device
        self.dtype = dtype
        self.architecture: str = spec.architecture
        self.G: int = spec.n_gates
        self.N_rec: int = int(spec.N_rec)
        self.f = _cells.transfer_function(spec.transfer_function)
        self.structure: dict[str, np.ndarray] = {}
        self.params: dict[str, Tensor] = {}
        self.load(weights)

    # ------------------------------------------------------------------ state
    def _tensor(self, value: np.ndarray) -> Tensor:
        import torch

        return torch.as_tensor(np.asarray(value), dtype=self.dtype, device=self.device)

    def load(self, weights: dict[str, np.ndarray]) -> None:
        """Take every array of complete ``weights``; parameters are copied into the existing
        tensors (so an optimiser keeps tracking them) and fixed entries get their new values."""
        import torch

        for key in PARAMETERS:
            if key not in weights:
                continue
            if key in self.params:
                with torch.no_grad():
                    self.params[key].copy_(self._tensor(weights[key]))
            else:
                self.params[key] = self._tensor(weights[key]).clone().requires_grad_(
                    trains(self.spec, key))
        self.structure = structure_of(weights)
        self.dale = dale_on(self.structure)
        self.rectifiers = rectifiers(self.structure)
        self.multipliers = {k: None if m is None else self._tensor(m)  # None: all ones
                            for k, m in multipliers(self.spec, self.structure).items()}
        # fixed entries: a 0/1 gradient multiplier, the boolean mask and the values to keep
        self.fixed: dict[str, tuple[Tensor, Tensor, Tensor]] = {
            key: (self._tensor(~mask), torch.as_tensor(mask, device=self.device),
                  self.params[key].detach().clone())
            for key, mask in fixed_entries(self.spec, self.structure).items()
        }

    def trainable(self) -> dict[str, Tensor]:
        """The parameters that train, in the order of ``psychcore.backend.PARAMETERS``."""
        return {k: p for k, p in self.params.items() if p.requires_grad}

    def mask_fixed_grads(self) -> None:
        """Zero the gradients of fixed entries (before clipping and the optimiser step)."""
        for key, (free, _, _) in self.fixed.items():
            grad = self.params[key].grad
            if grad is not None:
                grad.mul_(free)

    def restore_fixed(self) -> None:
        """Put fixed entries back to their values (momentum or weight decay may move them)."""
        import torch

        with torch.no_grad():
            for key, (_, mask, values) in self.fixed.items():
                p = self.params[key]
                p.copy_(torch.where(mask, values, p))

    # ------------------------------------------------------------------ equations
    def effective(self) -> dict[str, Tensor]:
        """The effective ``W_in``, ``W_rec``, ``W_out`` (differentiable)."""
        out = {}
        for key in ("W_in", "W_rec", "W_out"):
            W = self.params[key]
            g = self.rectifiers[key]
            if g is not None:
                W = W.abs() if g == "abs" else W.clamp(min=0)
            m = self.multipliers[key]
            out[key] = W if m is None else W * m
        return out

    def alpha(self) -> float | Tensor:
        """``dt / tau`` (a number), or the per-unit tensor with trainable time constants."""
        if "tau_raw" not in self.params:
            return float(self.spec.dt) / float(self.spec.tau)
        import torch

        lo, hi = self.spec.tau_range
        return self.spec.dt / (lo + (hi - lo) * torch.sigmoid(self.params["tau_raw"]))

    def rates(self, states: Tensor) -> Tensor:
        """Firing rates: ``f(states)`` for the rate RNN, the states (``h``) otherwise."""
        return self.f(states) if self.architecture == "rnn" else states

    def run(
        self, u: Tensor, xi: Tensor | None, rec_noise: float
    ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """Forward pass.

        Args:
            u: Inputs, time-major ``(N_steps, N_batch, N_in)``.
            xi: Standard normals ``(N_steps, N_batch, N_rec)`` or None (rate RNN only).
            rec_noise: Noise amplitude.

        Returns:
            ``(outputs, states, effective)``: time-major ``(N_steps, N_batch, N_out)`` and
            ``(N_steps, N_batch, N_rec)`` (stacking along the first axis is the cheaper
            copy), and the effective weights.
        """
        import torch
        from torch.nn import functional

        eff = self.effective()
        p = self.params
        n_batch, n = u.shape[1], self.N_rec
        h0 = p["init_state"].expand(n_batch, n)
        if self.architecture == "rnn":
            alpha = self.alpha()
            if isinstance(alpha, torch.Tensor):
                drive = functional.linear(u, alpha[:, None] * eff["W_in"], alpha * p["b_rec"])
                w_rec_t = (alpha[:, None] * eff["W_rec"]).t()
                decay: float | Tensor = 1.0 - alpha
                scale = noise_scale(self.spec, alpha, torch.sqrt, rec_noise)
            else:
                drive = functional.linear(u, alpha * eff["W_in"], alpha * p["b_rec"])
                w_rec_t = (alpha * eff["W_rec"]).t()
                decay = 1.0 - alpha
                scale = noise_scale(self.spec, alpha, math.sqrt, rec_noise)
            if xi is not None and rec_noise > 0:
                drive = drive + scale * xi
            steps = _cells.rate_rnn(drive.unbind(0), h0, w_rec_t, decay, self.f)
        elif self.architecture == "lstm":
            drive = functional.linear(u, eff["W_in"], p["b_rec"])
            c0 = p["init_cell"].expand(n_batch, n)
            steps = _cells.lstm(drive.unbind(0), h0, c0, eff["W_rec"].t(), n)
        else:
            drive = functional.linear(u, eff["W_in"], p["b_rec"])
            steps = _cells.gru(drive.unbind(0), h0, eff["W_rec"].t(), n)
        states = torch.stack(steps)
        outputs = functional.linear(self.rates(states), eff["W_out"], p["b_out"])
        return outputs, states, eff

    def tensors(self) -> dict[str, Tensor]:
        """Every key of the weights dict as a tensor (raw parameters keep their gradients)."""
        out = {k: self._tensor(v) for k, v in self.structure.items()}
        out.update(self.params)
        return out
