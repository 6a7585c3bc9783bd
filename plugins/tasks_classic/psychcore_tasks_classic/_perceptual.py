"""Perceptual discrimination: the two-alternative forced-choice random-dot motion task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import (
    ClassicTask,
    Period,
    SeedLike,
    batch_noise,
    check_optional_choice,
    check_real,
    in_period,
    one_hot,
    step_choice,
    step_noise,
)


class PerceptualDiscrimination(ClassicTask):
    """Two-alternative forced choice (2AFC) between two noisy inputs.

    Two input channels carry noise throughout the trial. During the stimulus period both
    channels rise by 1 and the channel ``direction`` by ``coherence`` more. From the end of
    the stimulus to the end of the trial (the decision period) the network must drive the
    output of the channel with the higher mean to 1 and the other to 0.2.

    Loosely based on Britten, K. H., Shadlen, M. N., Newsome, W. T. & Movshon, J. A. (1992).
    The analysis of visual motion: a comparison of neuronal and psychophysical performance.
    Journal of Neuroscience 12(12), 4745-4765.

    ``N_in = 2``, ``N_out = 2``. Per trial, unless fixed by the constructor:

    - ``coherence`` ~ Exponential(scale=1/5) (as PsychRNN documents it), or uniform over
      ``coherences`` when given (PsychRNN 1.0.0's code draws from ``(0.1, 0.3, 0.5, 0.7)``,
      an easier task: ``coherences=PerceptualDiscrimination.PSYCHRNN_CODE_COHERENCES``
      reproduces it);
    - ``direction`` uniform in {0, 1};
    - ``onset_time`` uniform in ``[0, T/2)``; ``stim_duration`` uniform in
      ``[T/8, 3T/8)``; the stimulus period is ``[onset_time, onset_time + stim_duration)``;
    - ``stim_noise`` = ``self.stim_noise`` (0.1; the input noise per step is
      ``sqrt(2 dt / tau) * stim_noise * N(0, 1)``).

    The target is 0 and the mask 0 before the decision period; in it the target is one-hot
    (1 for ``direction``, 0.2 for the other channel) and the mask 1.

    Differences from PsychRNN's ``PerceptualDiscrimination``:

    - ``direction`` given to the constructor is honoured (PsychRNN ignored it and drew the
      direction at random on every trial).
    - The target starts exactly when the mask does, at ``onset_time + stim_duration``
      (PsychRNN's mask started there but its target only 20 ms later, so the first 20 ms of
      the decision period trained the outputs towards 0).
    - Periods are half-open, ``start <= t < end`` (PsychRNN used strict inequalities on both
      sides for the stimulus), so a stimulus lasting ``k * dt`` holds exactly ``k`` steps.
    - The input noise per step is ``sqrt(2 dt / tau) * stim_noise * N(0, 1)``; PsychRNN's
      ``sqrt(0.02 sqrt(10 dt)) * stim_noise`` ignored ``tau`` (the two agree at ``dt = 10``,
      ``tau = 100``).
    - Randomness comes from the task's seeded generator, and a vectorised path builds the
      whole batch with array operations (same trials, over 100 times faster).

    Args:
        dt: Time step (ms), as for every :class:`psychcore.Task`.
        tau: Unit time constant (ms).
        N_batch: Trials per batch.
        seed: Seed or Generator of the task's draws.
        T: Trial duration (ms); at least ``8 * dt`` so that every period holds a step.
        coherence: Fixed coherence (>= 0) for every trial; drawn per trial when ``None``.
        direction: Fixed direction (0 or 1) for every trial; drawn per trial when ``None``.
        coherences: Values (>= 0) to draw each trial's coherence from, uniformly; ``None``
            draws from Exponential(scale=1/5). Not together with ``coherence``.

    Attributes:
        stim_noise: Input noise scale written into every trial's parameters (0.1).
    """

    description = (
        "2AFC: report which of two noisy input channels has the higher mean (Britten 1992)"
    )
    hi: float = 1.0
    lo: float = 0.2
    #: The coherences PsychRNN 1.0.0's code draws from (its documentation: Exponential(1/5)).
    PSYCHRNN_CODE_COHERENCES: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7)

    def __init__(
        self, dt: float, tau: float, T: float, N_batch: int,
        coherence: float | None = None, direction: int | None = None,
        *, coherences: Sequence[float] | None = None, seed: SeedLike = None,
    ) -> None:
        super().__init__(2, 2, dt, tau, T, N_batch, seed=seed)
        owner = type(self).__name__
        if 8 * self.dt > self.T:
            raise ValueError(
                f"{owner}: T must be at least 8 * dt = {8 * self.dt:g} ms so that the shortest "
                f"stimulus holds a time step; received T={self.T:g}"
            )
        self.coherence: float | None = (
            None if coherence is None else check_real(coherence, "coherence", owner, minimum=0.0)
        )
        self.direction: int | None = check_optional_choice(direction, "direction", owner, (0, 1))
        self.coherences: tuple[float, ...] | None = None
        if coherences is not None:
            if coherence is not None:
                raise ValueError(f"{owner}: give coherence (one value for every trial) or "
                                 f"coherences (values to draw from), not both")
            if isinstance(coherences, str | bytes) or not isinstance(coherences, Sequence):
                raise TypeError(f"{owner}: coherences must be a sequence of numbers; received "
                                f"{type(coherences).__name__}")
            if not coherences:
                raise ValueError(f"{owner}: coherences must hold at least one value; "
                                 f"received {coherences!r}")
            self.coherences = tuple(check_real(c, f"coherences[{i}]", owner, minimum=0.0)
                                    for i, c in enumerate(coherences))
        self.stim_noise: float = 0.1

    # ------------------------------------------------------------------ per-step path
    def generate_trial_params(self, batch: int, trial: int) -> dict[str, Any]:
        """Draw the parameters of one trial from ``self.rng``.

        Returns:
            ``coherence`` (float), ``direction`` (int), ``stim_noise`` (float),
            ``onset_time`` (float, ms) and ``stim_duration`` (float, ms).
        """
        rng = self.rng
        if self.coherence is not None:
            coherence = self.coherence
        elif self.coherences is not None:
            coherence = float(rng.choice(self.coherences))
        else:
            coherence = float(rng.exponential(0.2))
        direction = int(rng.integers(2)) if self.direction is None else self.direction
        return {
            "coherence": coherence,
            "direction": direction,
            "stim_noise": self.stim_noise,
            "onset_time": float(rng.random()) * self.T / 2.0,
            "stim_duration": self.T / 8.0 + float(rng.random()) * self.T / 4.0,
        }

    def trial_function(
        self, t: float, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input, target and mask of the trial with ``params`` at time ``t`` (ms)."""
        offset = params["onset_time"] + params["stim_duration"]
        x_t = step_noise(self.rng, 2, self.alpha, params["stim_noise"])
        if in_period(t, params["onset_time"], offset):
            x_t += self._amplitudes(
                np.asarray([params["coherence"]]), np.asarray([params["direction"]])
            )[0]
        return x_t, *step_choice(t >= offset, params["direction"], 2, self.hi, self.lo)

    # ---------------------------------------------------------------- vectorised path
    def generate_batch_params(
        self, batch: int, N: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Parameters of ``N`` trials as arrays (the keys of :meth:`generate_trial_params`)."""
        if self.coherence is not None:
            coherence = np.full(N, self.coherence)
        elif self.coherences is not None:
            coherence = rng.choice(np.asarray(self.coherences), size=N)
        else:
            coherence = rng.exponential(0.2, size=N)
        if self.direction is None:
            direction = rng.integers(2, size=N, dtype=np.int64)
        else:
            direction = np.full(N, self.direction, dtype=np.int64)
        return {
            "coherence": coherence,
            "direction": direction,
            "stim_noise": np.full(N, self.stim_noise),
            "onset_time": rng.random(N) * self.T / 2.0,
            "stim_duration": self.T / 8.0 + rng.random(N) * self.T / 4.0,
        }

    def batch_function(
        self, t: np.ndarray, params: dict[str, np.ndarray], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs, targets and masks of a batch, each of shape ``(N, N_steps, 2)``."""
        direction = params["direction"]
        onset = params["onset_time"]
        offset = onset + params["stim_duration"]
        x = batch_noise(rng, (direction.shape[0], t.shape[0], 2), self.alpha, params["stim_noise"])
        Period(t, onset, offset).add_to(x, self._amplitudes(params["coherence"], direction))
        decision = Period(t, offset, np.inf)
        y = decision.values(one_hot(direction, 2, self.hi, self.lo))
        return x, y, decision.mask(2)

    # ------------------------------------------------------------------------ shared
    @staticmethod
    def _amplitudes(coherence: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """Stimulus means (float64, ``(N, 2)``): 1 on both channels, + coherence on one."""
        amplitudes = np.ones((coherence.shape[0], 2))
        amplitudes[np.arange(coherence.shape[0]), direction] += coherence
        return amplitudes
