"""A test double of a training backend, for the core's own tests only.

It runs the NumPy Simulator forward and trains the readout (``W_out``, ``b_out``) with the exact
gradient of the loss and regularisation with respect to them (the rest of the network is a
fixed reservoir), using Adam written in NumPy. That is enough to exercise the training loop,
curricula, checkpoints and the backend conformance suite without a deep-learning framework.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from psychcore import Backend, Simulator, check_adam_state
from psychcore._equations import loss, regularization
from psychcore._rng import as_generator, generator_state_array, set_generator_state


class NumpyReadoutBackend(Backend):
    name = "numpy-readout"
    description = "test double: NumPy forward pass, readout-only training"
    architectures = ("rnn", "lstm", "gru")

    def __init__(self, spec: Any, weights: dict[str, np.ndarray], *, seed: Any = None,
                 device: str | None = None) -> None:
        super().__init__(spec, weights, seed=seed, device=device)
        if spec.loss != "mean_squared_error":
            raise NotImplementedError("the test double trains with mean_squared_error only")
        self.dtype = np.dtype(spec.dtype)
        self.weights = {k: np.array(v, dtype=self.dtype if np.asarray(v).dtype.kind == "f"
                                    else None) for k, v in weights.items()}
        self.rng = as_generator(seed)
        self.lr = 1e-3
        self.clip: float | None = 1.0
        self.m = {k: np.zeros_like(self.weights[k]) for k in ("W_out", "b_out")}
        self.v = {k: np.zeros_like(self.weights[k]) for k in ("W_out", "b_out")}
        self.t = 0

    def _noise(self, x: np.ndarray, noise: np.ndarray | None) -> np.ndarray | None:
        if self.spec.rec_noise == 0:
            return None
        if noise is None:
            noise = self.rng.standard_normal((x.shape[0], x.shape[1], self.spec.N_rec))
        return noise

    def configure_optimizer(self, optimizer: Any = "adam", learning_rate: float = 1e-3,
                            clip_grads: bool | float = True, **kwargs: Any) -> None:
        if optimizer != "adam":
            raise ValueError(f"the test double supports optimizer='adam' only; got {optimizer!r}")
        self.lr = float(learning_rate)
        self.clip = 1.0 if clip_grads is True else (None if clip_grads is False
                                                     else float(clip_grads))
        for k in self.m:
            self.m[k][...] = 0
            self.v[k][...] = 0
        self.t = 0

    def forward(self, x: np.ndarray, noise: np.ndarray | None = None):
        noise = self._noise(x, noise)
        sim = Simulator(self.spec, self.weights)
        out, states = sim.run_trials(np.asarray(x, dtype=np.float64), rec_noise=self.spec.rec_noise,
                                     noise=noise)
        return out.astype(self.dtype), states.astype(self.dtype)

    def train_step(self, x, y, mask, noise=None) -> float:
        noise = self._noise(x, noise)
        sim = Simulator(self.spec, self.weights)
        out, states = sim.run_trials(np.asarray(x, dtype=np.float64),
                                     rec_noise=self.spec.rec_noise, noise=noise)
        value = loss(self.spec.loss, out, y, mask) + regularization(self.spec, self.weights, states)
        rates = sim.states_to_rates(states)
        m = np.asarray(mask, dtype=np.float64)
        dz = 2.0 * m * m * (out - y) / out.size
        w = self.weights
        dale = np.isfinite(float(w["dale_ratio"]))
        d_out = np.diag(w["Dale_out"]) if dale else np.ones(self.spec.N_rec)
        conn = w["output_connectivity"]
        d_eff = np.einsum("bto,btr->or", dz, rates)
        raw = w["W_out"].astype(np.float64)
        eff = (np.abs(raw) if dale else raw) * conn * d_out[None, :]
        if self.spec.L1_out:
            d_eff += self.spec.L1_out * np.sign(eff) / eff.size
        if self.spec.L2_out:
            d_eff += self.spec.L2_out * 2 * eff / eff.size
        g_w = d_eff * conn * d_out[None, :] * (np.sign(raw) if dale else 1.0)
        g_w = g_w * (1.0 - w.get("W_out_fixed", np.zeros_like(raw)))
        grads = {"W_out": g_w if self.spec.W_out_train else np.zeros_like(g_w),
                 "b_out": dz.sum(axis=(0, 1)) if self.spec.b_out_train else np.zeros(
                     self.spec.N_out)}
        if self.clip is not None:
            norm = np.sqrt(sum(float((g**2).sum()) for g in grads.values()))
            if norm > self.clip:
                grads = {k: g * (self.clip / norm) for k, g in grads.items()}
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-7
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            mhat = self.m[k] / (1 - b1**self.t)
            vhat = self.v[k] / (1 - b2**self.t)
            w[k] = (w[k] - self.lr * mhat / (np.sqrt(vhat) + eps)).astype(self.dtype)
        return float(value)

    def get_weights(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.weights.items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        for k, v in weights.items():
            if k in self.weights and self.weights[k].shape != np.shape(v):
                raise ValueError(f"{k}: expected shape {self.weights[k].shape}, got {np.shape(v)}")
            self.weights[k] = np.array(v, dtype=self.weights[k].dtype if k in self.weights
                                       else None)

    def get_training_state(self) -> dict[str, np.ndarray]:
        state = {f"m/{k}": v.copy() for k, v in self.m.items()}
        state.update({f"v/{k}": v.copy() for k, v in self.v.items()})
        state["t"] = np.array(self.t)
        state["rng"] = generator_state_array(self.rng)
        return state

    def get_adam_state(self) -> dict[str, np.ndarray]:
        state = {f"{slot}/{k}": arr.copy() for slot, moments in (("m", self.m), ("v", self.v))
                 for k, arr in moments.items()}
        state["step"] = np.array(self.t, dtype=np.int64)
        return state

    def set_adam_state(self, state: dict[str, np.ndarray]) -> None:
        step, m, v = check_adam_state(state, {k: arr.shape for k, arr in self.m.items()})
        self.m = {k: np.array(a, dtype=np.float64) for k, a in m.items()}  # as after a step
        self.v = {k: np.array(a, dtype=np.float64) for k, a in v.items()}
        self.t = step

    def set_training_state(self, state: dict[str, np.ndarray]) -> None:
        for k in self.m:
            self.m[k] = np.array(state[f"m/{k}"])
            self.v[k] = np.array(state[f"v/{k}"])
        self.t = int(state["t"])
        set_generator_state(self.rng, state["rng"])
