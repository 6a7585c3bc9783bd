"""A complete, minimal backend on the kit: NumPy forward pass, readout-only training.

This is the worked example of ``docs/writing-a-backend.md`` and the test double of the core's
own tests. Its "framework" is NumPy: the forward pass is the reference :class:`Simulator`,
and it trains the readout (``W_out``, ``b_out``) with the exact gradient of the loss and
regularisation with respect to them, using Adam written in NumPy; the rest of the network
is a fixed reservoir. Everything that is not arithmetic — argument checks, the weights
format, batches, seeds, clipping arguments, optimiser-state bookkeeping, the portable Adam
keys — comes from :class:`psychcore.backend.FrameworkBackend`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from psychcore import Simulator
from psychcore.backend import Batch, FrameworkBackend, dale_on, rectifiers

READOUT = ("W_out", "b_out")
B1, B2, EPS = 0.9, 0.999, 1e-7


class NumpyReadoutBackend(FrameworkBackend):
    """NumPy forward pass (the Simulator) and Adam on the readout only.

    Limits (it is an example and a test double): the loss must be ``"mean_squared_error"``,
    the optimisers are ``"adam"`` (option ``betas``) and ``"sgd"``, and only ``W_out`` and
    ``b_out`` train, whatever the spec's other ``*_train`` flags say.
    """

    name = "numpy-readout"
    description = "test double: NumPy forward pass, readout-only training"
    architectures = ("rnn", "lstm", "gru")

    # ------------------------------------------------------------------ building
    def _build(self, weights: dict[str, np.ndarray]) -> None:
        if self.spec.loss != "mean_squared_error":
            raise NotImplementedError("the test double trains with mean_squared_error only")
        self.params = {k: weights[k].copy() for k in weights if k not in self.structure}
        self.trainable = [k for k in self.trainable if k in READOUT]
        self.rng = np.random.default_rng(self.framework_seed)
        self._configure("adam", 1e-3)

    def _configure(self, optimizer: Any, learning_rate: float, **kwargs: Any) -> None:
        betas = tuple(kwargs.pop("betas", (B1, B2)))
        if optimizer not in ("adam", "sgd") or kwargs:
            raise ValueError(f"the test double knows optimizers 'adam' (option betas) and "
                             f"'sgd'; received {optimizer!r} {kwargs or ''}")
        self.sgd = optimizer == "sgd"
        self.betas = betas
        self.lr = learning_rate
        self.t = 0
        self.m = {k: np.zeros_like(self.params[k], dtype=np.float64) for k in self.trainable}
        self.v = {k: np.zeros_like(self.params[k], dtype=np.float64) for k in self.trainable}

    # ------------------------------------------------------------------ arithmetic
    def _noise(self, batch: Batch) -> np.ndarray | None:
        if batch.noise_mode == "draw":
            return self.rng.standard_normal((batch.n_trials, batch.n_steps, self.spec.N_rec))
        return batch.noise

    def _run(self, batch: Batch) -> tuple[Simulator, np.ndarray, np.ndarray]:
        sim = Simulator(self.spec, self.get_weights())
        out, states = sim.run_trials(batch.x.astype(np.float64), rec_noise=self.spec.rec_noise,
                                     noise=self._noise(batch))
        return sim, out, states

    def _forward(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        _, out, states = self._run(batch)
        return out.astype(self.np_dtype), states.astype(self.np_dtype)

    def _gradients(self, batch: Batch) -> tuple[float, dict[str, np.ndarray]]:
        from psychcore._equations import loss, regularization

        sim, out, states = self._run(batch)
        w = self.get_weights()
        value = loss(self.spec.loss, out, batch.y, batch.mask) + regularization(
            self.spec, w, states)
        m = batch.mask.astype(np.float64)
        dz = 2.0 * m * m * (out - batch.y) / out.size
        d_eff = np.einsum("bto,btr->or", dz, sim.states_to_rates(states))
        raw = w["W_out"].astype(np.float64)
        dale = dale_on(w)
        signs = np.diag(w["Dale_out"]) if dale else np.ones(self.spec.N_rec)
        conn = w["output_connectivity"] * signs[None, :]
        g = rectifiers(w)["W_out"]
        dg = np.sign(raw) if g == "abs" else (raw > 0).astype(float) if g == "relu" else 1.0
        eff = (np.abs(raw) if g == "abs" else np.maximum(raw, 0) if g == "relu" else raw) * conn
        if self.spec.L1_out:
            d_eff += self.spec.L1_out * np.sign(eff) / eff.size
        if self.spec.L2_out:
            d_eff += self.spec.L2_out * 2 * eff / eff.size
        grads = {"W_out": d_eff * conn * dg,
                 "b_out": dz.sum(axis=(0, 1))}
        return value, {k: grads[k] for k in self.trainable}

    def _train_step(self, batch: Batch) -> float:
        value, grads = self._gradients(batch)
        if "W_out" in grads:
            grads["W_out"] = grads["W_out"] * (1.0 - self.structure["W_out_fixed"])
        if self.clip is not None:
            norm = np.sqrt(sum(float((g**2).sum()) for g in grads.values()))
            if norm > self.clip:
                grads = {k: g * (self.clip / norm) for k, g in grads.items()}
        self.t += 1
        if self.sgd:
            for k, g in grads.items():
                self.params[k] = (self.params[k] - self.lr * g).astype(self.np_dtype)
            return float(value)
        b1, b2 = self.betas
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            mhat = self.m[k] / (1 - b1**self.t)
            vhat = self.v[k] / (1 - b2**self.t)
            self.params[k] = (self.params[k] - self.lr * mhat / (np.sqrt(vhat) + EPS)).astype(
                self.np_dtype)
        return float(value)

    # ------------------------------------------------------------------ state
    def _get_params(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    def _set_params(self, weights: dict[str, np.ndarray], structure_changed: bool) -> None:
        self.params = {k: weights[k].copy() for k in self.params}

    def _get_optimizer_state(self) -> dict[str, np.ndarray]:
        state = {f"{slot}/{k}": a.copy() for slot, moments in (("m", self.m), ("v", self.v))
                 for k, a in moments.items()}
        state["t"] = np.array(self.t)
        return state

    def _set_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        self._set_adam(int(state["t"]), {k: state[f"m/{k}"] for k in self.trainable},
                       {k: state[f"v/{k}"] for k in self.trainable})

    def _get_rng_state(self) -> dict[str, np.ndarray]:
        from psychcore._rng import generator_state_array

        return {"rng": generator_state_array(self.rng)}

    def _set_rng_state(self, state: dict[str, np.ndarray]) -> None:
        from psychcore._rng import set_generator_state

        if "rng" not in state:
            raise ValueError("the training state has no 'rng' (the noise generator's state)")
        set_generator_state(self.rng, state["rng"])

    def _get_adam(self) -> tuple[int, dict[str, np.ndarray], dict[str, np.ndarray]]:
        return self.t, {k: a.copy() for k, a in self.m.items()}, {
            k: a.copy() for k, a in self.v.items()}

    def _set_adam(self, step: int, m: dict[str, np.ndarray], v: dict[str, np.ndarray]) -> None:
        self.t = int(step)
        self.m = {k: np.array(a, dtype=np.float64) for k, a in m.items()}
        self.v = {k: np.array(a, dtype=np.float64) for k, a in v.items()}
