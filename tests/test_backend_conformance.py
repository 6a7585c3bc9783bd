"""The backend conformance suite catches a deliberately broken backend for every check.

Each broken backend below is the kit's NumPy example backend with one fault; the named check
must fail on it (and pass on the unbroken backend), so no check can pass vacuously.
"""

from __future__ import annotations

import unittest
from typing import Any

import numpy as np
import pytest
from numpy_backend import NumpyReadoutBackend

from psychcore.backend import Batch, FrameworkBackend
from psychcore.testing import backend_checks, check_backend, parametrize_with_checks
from psychcore.testing._backend_checks import (
    BACKEND_CHECKS,
    OPTIONAL_CHECKS,
    check_adam_state_portable,
)


class WrongOutputs(NumpyReadoutBackend):
    def _forward(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        out, states = super()._forward(batch)
        return out + 1e-3, states


class FirstTrialOnly(NumpyReadoutBackend):
    def _forward(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        out, states = super()._forward(batch)
        return out[:1], states[:1]


class OutputsDrawNoNoise(NumpyReadoutBackend):
    def _outputs(self, batch: Batch) -> np.ndarray:
        if batch.noise_mode == "draw":  # skips the noise (and the generator) forward draws
            batch = Batch(batch.x, batch.y, batch.mask, None, "none")
        return super()._outputs(batch)


class IgnoresSetWeights(NumpyReadoutBackend):
    def _set_params(self, weights: dict[str, np.ndarray], structure_changed: bool) -> None:
        keep = {k: v for k, v in weights.items() if k != "W_in"}
        super()._set_params({**weights, **keep, "W_in": self.params["W_in"]}, structure_changed)


class MisreportsLoss(NumpyReadoutBackend):
    def _train_step(self, batch: Batch) -> float:
        return super()._train_step(batch) * 1.01


class NeverLearns(NumpyReadoutBackend):
    def _train_step(self, batch: Batch) -> float:
        return self._gradients(batch)[0]


class MovesFixedEntries(NumpyReadoutBackend):
    def _train_step(self, batch: Batch) -> float:
        value = super()._train_step(batch)
        self.params["W_out"] = self.params["W_out"] + 0.01
        return value


class UnseededNoise(NumpyReadoutBackend):
    def _noise(self, batch: Batch) -> np.ndarray | None:
        if batch.noise_mode == "draw":
            return np.random.default_rng().standard_normal(
                (batch.n_trials, batch.n_steps, self.spec.N_rec))
        return batch.noise


class ForgetsOptimizerState(NumpyReadoutBackend):
    def _set_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        pass


class IgnoresAdamState(NumpyReadoutBackend):
    def _set_adam(self, step: int, m: dict[str, np.ndarray], v: dict[str, np.ndarray]) -> None:
        pass


class StepsWithoutOptimizer(NumpyReadoutBackend):
    def train_step(self, x: Any, y: Any, mask: Any, noise: Any = None) -> float:
        if not self._configured:
            self.configure_optimizer()
        return super().train_step(x, y, mask, noise)


class AcceptsAnyOptimizer(NumpyReadoutBackend):
    def configure_optimizer(self, optimizer: Any = "adam", learning_rate: float = 1e-3,
                            clip_grads: Any = True, **kwargs: Any) -> None:
        clip = clip_grads if isinstance(clip_grads, bool) else True
        super().configure_optimizer("adam", abs(learning_rate) or 1e-3, clip)


class ClipsPerTensor(NumpyReadoutBackend):
    def _train_step(self, batch: Batch) -> float:
        value, grads = self._gradients(batch)
        for k, g in grads.items():
            norm = np.sqrt(float((g**2).sum()))
            scaled = g * min(1.0, self.clip / norm) if self.clip is not None else g
            self.params[k] = (self.params[k] - self.lr * scaled).astype(self.np_dtype)
        return float(value)


class LenientSetWeights(NumpyReadoutBackend):
    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        known = {k: v for k, v in weights.items() if k in self._shapes
                 and np.shape(v) == self._shapes[k]}
        super().set_weights(known)


class DropsEarlyState(NumpyReadoutBackend):
    def set_training_state(self, state: dict[str, np.ndarray]) -> None:
        if self._configured:
            super().set_training_state(state)
        else:
            self._set_rng_state(state)


#: Every check of the suite and a backend with the one fault it must catch.
BROKEN: dict[str, type[FrameworkBackend]] = {
    "check_forward_matches_simulator": WrongOutputs,
    "check_any_number_of_trials": FirstTrialOnly,
    "check_outputs_match_forward": OutputsDrawNoNoise,
    "check_weights_round_trip": IgnoresSetWeights,
    "check_loss_matches_reference": MisreportsLoss,
    "check_training_reduces_loss": NeverLearns,
    "check_constraints_hold": MovesFixedEntries,
    "check_seeded_determinism": UnseededNoise,
    "check_resume_exact": ForgetsOptimizerState,
    "check_adam_state_portable": IgnoresAdamState,
    "check_train_step_needs_optimizer": StepsWithoutOptimizer,
    "check_optimizer_arguments": AcceptsAnyOptimizer,
    "check_clipping_by_global_norm": ClipsPerTensor,
    "check_set_weights_contract": LenientSetWeights,
    "check_training_state_before_optimizer": DropsEarlyState,
}


def test_every_check_has_a_broken_backend():
    names = {c.__name__ for c in (*BACKEND_CHECKS, *OPTIONAL_CHECKS)}
    assert names == set(BROKEN)


def test_the_example_backend_passes_every_check():
    check_backend(NumpyReadoutBackend)


@pytest.mark.parametrize("check_name", sorted(BROKEN))
def test_each_check_catches_its_broken_backend(check_name):
    checks = dict(backend_checks(BROKEN[check_name]))
    assert check_name in checks, f"{check_name} was not run for {BROKEN[check_name].__name__}"
    with pytest.raises(AssertionError):
        checks[check_name]()


def test_optional_checks_are_reported_skipped_with_the_reason():
    class NoAdam(NumpyReadoutBackend):
        """Keeps its own optimiser state but offers no portable Adam state."""

        _get_adam = FrameworkBackend._get_adam
        _set_adam = FrameworkBackend._set_adam

        def _set_optimizer_state(self, state):
            NumpyReadoutBackend._set_adam(self, int(state["t"]),
                                          {k: state[f"m/{k}"] for k in self.trainable},
                                          {k: state[f"v/{k}"] for k in self.trainable})

    reason = ("NoAdam does not implement get_adam_state and set_adam_state (optional: the "
              "portable Adam state)")
    assert dict(backend_checks(NumpyReadoutBackend))["check_adam_state_portable"].skip_reason \
        is None
    check = dict(backend_checks(NoAdam))["check_adam_state_portable"]
    assert check.skip_reason == reason
    with pytest.raises(unittest.SkipTest, match="check_adam_state_portable: NoAdam does not"):
        check()
    with pytest.raises(unittest.SkipTest, match="NoAdam does not implement"):
        check_adam_state_portable(NoAdam)  # called directly, it does not pass either
    report = check_backend(NoAdam)
    assert report.skipped == {"check_adam_state_portable": reason}
    assert len(report.passed) == len(BACKEND_CHECKS) and not report.failed
    assert f"skipped check_adam_state_portable: {reason}" in str(report)
    params = {p.id: p for p in parametrize_with_checks([NoAdam]).args[1]}
    (mark,) = params["NoAdam-check_adam_state_portable"].marks
    assert mark.name == "skip" and mark.kwargs["reason"] == (
        f"check_adam_state_portable does not apply: {reason}")
    assert params["NoAdam-check_resume_exact"].marks == ()
