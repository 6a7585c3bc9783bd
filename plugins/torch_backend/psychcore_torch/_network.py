"""The network as torch tensors: raw parameters, structure, effective weights, forward pass.

Raw parameters (``W_in``, ``W_rec``, ``W_out``, ``b_rec``, ``b_out``, ``init_state``,
``init_cell``, ``tau_raw``) are leaf tensors whose ``requires_grad`` follows the spec's
trainable flags (``init_cell`` follows ``init_state_train``, ``tau_raw`` follows
``train_tau``). The structure keys are kept as NumPy arrays (returned by ``get_weights``) and
folded into constant tensors: one multiplier per matrix that applies the connectivity mask
(tiled over gate blocks) and, with Dale's principle, the column signs, so an effective weight
is ``W * M`` or ``|W| * M``: exactly ``docs/equations.md``, since the masks are 0/1 and the
signs +-1 or 0.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _cells

if TYPE_CHECKING:
    import torch
    from torch import Tensor

#: Raw parameter key -> ModelSpec attribute that says whether it trains.
TRAIN_FLAGS = {
    "W_in": "W_in_train",
    "W_rec": "W_rec_train",
    "W_out": "W_out_train",
    "b_rec": "b_rec_train",
    "b_out": "b_out_train",
    "init_state": "init_state_train",
    "init_cell": "init_state_train",
    "tau_raw": "train_tau",
}
_FIXED = {"W_in": "W_in_fixed", "W_rec": "W_rec_fixed", "W_out": "W_out_fixed"}


class Network:
    """Tensors of one network and its forward pass.

    Args:
        spec: A bound ModelSpec.
        weights: A complete weights dict (``psychcore.validate_weights`` output).
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
        self.params: dict[str, Tensor] = {}
        self.structure: dict[str, np.ndarray] = {}
        self.load(weights)

    # ------------------------------------------------------------------ state
    def _tensor(self, value: np.ndarray) -> Tensor:
        import torch

        return torch.as_tensor(np.asarray(value), dtype=self.dtype, device=self.device)

    def load(self, weights: dict[str, np.ndarray]) -> None:
        """Take every array of ``weights``; parameters are copied into the existing tensors
        (so an optimiser keeps tracking them) and fixed entries get their new values."""
        import torch

        for key, value in weights.items():
            if key not in TRAIN_FLAGS:
                self.structure[key] = np.array(value, dtype=np.dtype(self.spec.dtype))
            elif key in self.params:
                with torch.no_grad():
                    self.params[key].copy_(self._tensor(value))
            else:
                trains = bool(getattr(self.spec, TRAIN_FLAGS[key]))
                self.params[key] = self._tensor(value).clone().requires_grad_(trains)
        self._build_constants()

    def _build_constants(self) -> None:
        import torch

        s, G = self.structure, self.G
        self.dale = bool(np.isfinite(float(s["dale_ratio"])))
        c_in = np.tile(s["input_connectivity"], (G, 1))
        c_rec = np.tile(s["rec_connectivity"], (G, 1))
        c_out = s["output_connectivity"]
        if self.dale:
            c_rec = c_rec * np.diag(s["Dale_rec"])[None, :]
            c_out = c_out * np.diag(s["Dale_out"])[None, :]
        self.multipliers = {  # None: all ones, nothing to multiply
            key: None if np.all(m == 1) else self._tensor(m)
            for key, m in (("W_in", c_in), ("W_rec", c_rec), ("W_out", c_out))
        }
        # fixed entries: a 0/1 gradient multiplier, the boolean mask and the values to keep
        self.fixed: dict[str, tuple[Tensor, Tensor, Tensor]] = {}
        for key, fixed_key in _FIXED.items():
            mask = s[fixed_key] != 0
            if mask.any() and self.params[key].requires_grad:
                m = torch.as_tensor(mask, device=self.device)
                self.fixed[key] = (self._tensor(~mask), m, self.params[key].detach().clone())
        tau_range = self.spec.tau_range
        if "tau_raw" in self.params and tau_range is None:
            raise ValueError("weights has 'tau_raw' (trainable time constants) but the spec's "
                             "tau_range is None")

    def trainable(self) -> dict[str, Tensor]:
        """The parameters that train, in a fixed order."""
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
            if self.dale:
                W = W.abs()
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
                scale = torch.sqrt(2.0 * alpha) * rec_noise
            else:
                drive = functional.linear(u, alpha * eff["W_in"], alpha * p["b_rec"])
                w_rec_t = (alpha * eff["W_rec"]).t()
                decay = 1.0 - alpha
                scale = math.sqrt(2.0 * alpha) * rec_noise
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
