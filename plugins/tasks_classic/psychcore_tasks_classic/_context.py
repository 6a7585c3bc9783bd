"""Context-dependent integration: integrate the motion or the colour evidence, by context."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import (
    ClassicTask,
    Period,
    SeedLike,
    Timeline,
    batch_noise,
    check_optional_choice,
    check_real,
    full,
    in_period,
    one_hot,
    step_choice,
    step_noise,
)

_TIMELINE = Timeline(
    ("stimulus", "delay", "decision"),
    onset_time=200.0, stim_duration=800.0, delay_duration=200.0, decision_duration=800.0,
)

DEFAULT_COHERENCES: tuple[float, ...] = (-0.5, -0.15, -0.05, 0.05, 0.15, 0.5)
"""Signed coherences of either sensory dimension, after Mante et al.'s six levels."""


class ContextDependentIntegration(ClassicTask):
    """Context-dependent integration of one of two noisy sensory streams.

    Every trial shows a random-dot stimulus with two sensory dimensions, motion and colour,
    each with a signed coherence. A context cue tells which dimension matters: in the motion
    context the network must report the sign of the motion coherence and ignore the colour,
    in the colour context the reverse.

    Based on Mante, V., Sussillo, D., Shenoy, K. V. & Newsome, W. T. (2013).
    Context-dependent computation by recurrent dynamics in prefrontal cortex. Nature
    503(7474), 78-84.

    ``N_in = 4``, ``N_out = 2``. Inputs:

    - channel 0, motion evidence: noise throughout the trial, plus the motion coherence
      during the stimulus period;
    - channel 1, colour evidence: the same with the colour coherence;
    - channels 2 and 3, context cue: one-hot (2: motion context, 3: colour context) for the
      whole trial, noise-free.

    The periods follow each other: fore period (``onset_time``), stimulus, delay, decision;
    nothing is trained after the decision period if the trial is longer. In the decision
    period the target is one-hot, 1 on the output of the relevant coherence's sign (0:
    positive, 1: negative) and 0.2 on the other, and the mask 1; both are 0 elsewhere.

    Trial parameters: ``context`` (0 motion, 1 colour), ``motion_coherence``,
    ``color_coherence`` (each drawn uniformly from ``coherences``), ``choice`` (index of the
    correct output), ``stimulus``, ``delay``, ``decision``, ``end`` (start times of the
    periods and end of the decision period, ms) and ``stim_noise`` (noise per step
    ``sqrt(2 dt / tau) * stim_noise * N(0, 1)`` on the sensory channels).

    Args:
        dt: Time step (ms), as for every :class:`psychcore.Task`.
        tau: Unit time constant (ms).
        N_batch: Trials per batch.
        seed: Seed or Generator of the task's draws.
        T: Trial duration (ms); at least the sum of the periods (2000 with the defaults).
        coherences: Signed, non-zero coherences to draw each dimension's coherence from;
            default :data:`DEFAULT_COHERENCES` (+-0.05, +-0.15, +-0.5).
        context: Fixed context (0 motion, 1 colour) for every trial; drawn uniformly per
            trial when ``None``.
        stim_noise: Scale of the sensory noise (>= 0); default 0.5, so that at the weakest
            coherence a single step is mostly noise and the evidence has to be integrated.
        onset_time: Fore period before the stimulus (ms, >= 0); default 200. Each
            timing argument is kept as the attribute of its name, default filled in.
        stim_duration: Duration of the stimulus (ms, >= dt); default 800.
        delay_duration: Delay between stimulus and decision period (ms, >= dt); default 200.
        decision_duration: Duration of the decision period (ms, >= dt); default 800.

    Raises:
        ValueError: If an argument is out of range or the periods do not fit in ``T``.

    """

    description = (
        "Report the sign of the motion or the colour coherence, as a context cue says (Mante 2013)"
    )
    hi: float = 1.0
    lo: float = 0.2

    def __init__(
        self, dt: float, tau: float, T: float, N_batch: int,
        coherences: Sequence[float] = DEFAULT_COHERENCES, context: int | None = None,
        stim_noise: float = 0.5,
        onset_time: float | None = None, stim_duration: float | None = None,
        delay_duration: float | None = None, decision_duration: float | None = None,
        *, seed: SeedLike = None,
    ) -> None:
        super().__init__(4, 2, dt, tau, T, N_batch, seed=seed)
        owner = type(self).__name__
        self.coherences: tuple[float, ...] = _check_coherences(coherences, owner)
        self.context: int | None = check_optional_choice(context, "context", owner, (0, 1))
        self.stim_noise: float = check_real(stim_noise, "stim_noise", owner, minimum=0.0)
        _TIMELINE.assign(self, onset_time, stim_duration, delay_duration, decision_duration)

    # ------------------------------------------------------------------ per-step path
    def generate_trial_params(self, batch: int, trial: int) -> dict[str, Any]:
        """Draw the parameters of one trial from ``self.rng`` (keys: see the class doc)."""
        rng = self.rng
        context = int(rng.integers(2)) if self.context is None else self.context
        motion = self.coherences[int(rng.integers(len(self.coherences)))]
        color = self.coherences[int(rng.integers(len(self.coherences)))]
        relevant = motion if context == 0 else color
        return {
            "context": context,
            "motion_coherence": motion,
            "color_coherence": color,
            "choice": 0 if relevant > 0 else 1,
            **_TIMELINE.start_times(self),
            "stim_noise": self.stim_noise,
        }

    def trial_function(
        self, t: float, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input, target and mask of the trial with ``params`` at time ``t`` (ms)."""
        x_t = np.zeros(4)
        x_t[:2] = step_noise(self.rng, 2, self.alpha, params["stim_noise"])
        if in_period(t, params["stimulus"], params["delay"]):
            x_t[0] += params["motion_coherence"]
            x_t[1] += params["color_coherence"]
        x_t[2 + params["context"]] = 1.0
        decision = in_period(t, params["decision"], params["end"])
        return x_t, *step_choice(decision, params["choice"], 2, self.hi, self.lo)

    # ---------------------------------------------------------------- vectorised path
    def generate_batch_params(
        self, batch: int, N: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Parameters of ``N`` trials as arrays (the keys of :meth:`generate_trial_params`)."""
        if self.context is None:
            context = rng.integers(2, size=N, dtype=np.int64)
        else:
            context = np.full(N, self.context, dtype=np.int64)
        levels = np.asarray(self.coherences, dtype=np.float64)
        motion = levels[rng.integers(levels.shape[0], size=N)]
        color = levels[rng.integers(levels.shape[0], size=N)]
        relevant = np.where(context == 0, motion, color)
        return {
            "context": context,
            "motion_coherence": motion,
            "color_coherence": color,
            "choice": np.where(relevant > 0, 0, 1).astype(np.int64),
            **_TIMELINE.batch_start_times(self, N),
            "stim_noise": full(N, self.stim_noise),
        }

    def batch_function(
        self, t: np.ndarray, params: dict[str, np.ndarray], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs ``(N, N_steps, 4)``, targets and masks ``(N, N_steps, 2)``."""
        context = params["context"]
        N = context.shape[0]
        S = t.shape[0]
        evidence = np.stack([params["motion_coherence"], params["color_coherence"]], axis=1)
        x = np.empty((N, S, 4), dtype=np.float32)
        x[:, :, :2] = batch_noise(rng, (N, S, 2), self.alpha, params["stim_noise"])
        Period(t, params["stimulus"], params["delay"]).add_to(x[:, :, :2], evidence)
        cue = one_hot(context, 2, 1.0, 0.0).astype(np.float32)
        for c in range(2):  # per channel: a broadcast over a last axis of 2 is slow
            x[:, :, 2 + c] = cue[:, c, None]
        decision = Period(t, params["decision"], params["end"])
        y = decision.values(one_hot(params["choice"], 2, self.hi, self.lo))
        return x, y, decision.mask(2)


def _check_coherences(coherences: Any, owner: str) -> tuple[float, ...]:
    expected = "a non-empty sequence of finite, non-zero numbers"
    if isinstance(coherences, str | bytes) or not isinstance(coherences, Sequence | np.ndarray):
        raise TypeError(
            f"{owner}: coherences must be {expected}; received {type(coherences).__name__}"
        )
    if len(coherences) == 0:
        raise ValueError(f"{owner}: coherences must be {expected}; received an empty sequence")
    values = tuple(
        check_real(c, f"coherences[{i}]", owner, expected="a finite, non-zero number")
        for i, c in enumerate(coherences)
    )
    for i, c in enumerate(values):
        if c == 0.0:
            raise ValueError(
                f"{owner}: coherences[{i}] must be a finite, non-zero number (its sign is the "
                f"correct choice); received {coherences[i]!r}"
            )
    return values
