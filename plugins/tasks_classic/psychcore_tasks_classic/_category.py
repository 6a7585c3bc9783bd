"""Match-to-category: report which slice of a ring a stimulus direction falls in."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import (
    ClassicTask,
    Period,
    SeedLike,
    batch_noise,
    check_int,
    full,
    in_period,
    one_hot,
    step_choice,
    step_noise,
)

TWO_PI = 2.0 * math.pi


def ring_input(angle: np.ndarray, N_in: int) -> np.ndarray:
    """Response of ``N_in`` direction-tuned channels to stimuli at ``angle`` (radians).

    Channel ``k`` prefers the direction ``2 pi k / N_in``; its response is the standard
    normal density of the circular distance (radians, in ``[-pi, pi)``) between the
    stimulus and its preferred direction, so the bump wraps around the ring.

    Args:
        angle: Stimulus directions, shape ``(N,)``.
        N_in: Number of channels.

    Returns:
        float64 array of shape ``(N, N_in)``.
    """
    preferred = np.arange(N_in, dtype=np.float64) * (TWO_PI / N_in)
    distance = np.mod(preferred[None, :] - angle[:, None] + math.pi, TWO_PI) - math.pi
    return np.exp(-0.5 * distance * distance) / math.sqrt(TWO_PI)


def category_of(angle: np.ndarray, N_out: int) -> np.ndarray:
    """Index of the ring slice ``[2 pi c / N_out, 2 pi (c + 1) / N_out)`` holding ``angle``."""
    category = np.floor(angle * (N_out / TWO_PI)).astype(np.int64)
    return np.clip(category, 0, N_out - 1)


class MatchToCategory(ClassicTask):
    """Match-to-category on a ring of direction-tuned inputs.

    The stimulus is a direction on a circle. ``N_in`` input channels with preferred
    directions evenly spaced on the ring respond with a Gaussian bump centred on it (see
    :func:`ring_input`), plus noise throughout the trial. The ring is cut into ``N_out``
    equal slices (categories) starting at angle 0; during the output period the network
    must drive the output of the stimulus's category to 1 and the others to 0.

    Loosely based on Freedman, D. J. & Assad, J. A. (2006). Experience-dependent
    representation of visual categories in parietal cortex. Nature 443(7107), 85-88.

    Timing scales with ``T`` so that ``T = 2000`` gives PsychRNN's periods: fixation
    ``[0, T/10)`` (200 ms), stimulus ``[T/10, 6T/10)`` (1000 ms), output ``[6T/10, T)``
    (800 ms). The target is 0 and the mask 0 outside the output period, the mask 1 in it.

    Trial parameters: ``angle`` (radians, uniform in ``[0, 2 pi)``), ``category`` (int),
    ``onset_time``, ``input_dur``, ``output_dur`` (ms) and ``stim_noise`` (0.1).

    Differences from PsychRNN's ``MatchToCategory``:

    - The periods scale with ``T`` (PsychRNN fixed 200/1000/800 ms whatever ``T``);
      ``T`` must be at least ``10 * dt`` so that each period holds a step.
    - The preferred directions are ``2 pi k / N_in``, evenly spaced (PsychRNN used
      ``linspace(0, 2 pi, N_in)``, which put the first and the last channel both at 0).
    - The input noise per step is ``sqrt(2 dt / tau) * stim_noise * N(0, 1)`` as in the
      other tasks (PsychRNN used ``stim_noise / (2 dt)``, 0.005 at ``dt = 10``).
    - Randomness comes from the task's seeded generator, and a vectorised path builds the
      whole batch with array operations.

    Args:
        dt: Time step (ms), as for every :class:`psychcore.Task`.
        tau: Unit time constant (ms).
        N_batch: Trials per batch.
        seed: Seed or Generator of the task's draws.
        T: Trial duration (ms); at least ``10 * dt``.
        N_in: Number of input channels on the ring (>= 2); default 16.
        N_out: Number of categories and output channels (>= 2); default 2.

    Attributes:
        stim_noise: Input noise scale written into every trial's parameters (0.1).
    """

    description = "Report which of N_out ring slices a stimulus direction is in (Freedman 2006)"

    def __init__(
        self, dt: float, tau: float, T: float, N_batch: int, N_in: int = 16, N_out: int = 2,
        *, seed: SeedLike = None,
    ) -> None:
        owner = type(self).__name__
        N_in = check_int(N_in, "N_in", owner, minimum=2)
        N_out = check_int(N_out, "N_out", owner, minimum=2)
        super().__init__(N_in, N_out, dt, tau, T, N_batch, seed=seed)
        if 10 * self.dt > self.T:
            raise ValueError(
                f"{owner}: T must be at least 10 * dt = {10 * self.dt:g} ms so that every "
                f"period holds a time step; received T={self.T:g}"
            )
        self.onset_time: float = self.T / 10.0
        self.input_dur: float = self.T / 2.0
        self.output_dur: float = self.T * 2.0 / 5.0
        self.stim_noise: float = 0.1

    # ------------------------------------------------------------------ per-step path
    def generate_trial_params(self, batch: int, trial: int) -> dict[str, Any]:
        """Draw the parameters of one trial from ``self.rng`` (keys: see the class doc)."""
        angle = float(self.rng.random()) * TWO_PI
        return {
            "angle": angle,
            "category": int(category_of(np.asarray([angle]), self.N_out)[0]),
            "onset_time": self.onset_time,
            "input_dur": self.input_dur,
            "output_dur": self.output_dur,
            "stim_noise": self.stim_noise,
        }

    def trial_function(
        self, t: float, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input, target and mask of the trial with ``params`` at time ``t`` (ms)."""
        onset = params["onset_time"]
        output = onset + params["input_dur"]
        x_t = step_noise(self.rng, self.N_in, self.alpha, params["stim_noise"])
        if in_period(t, onset, output):
            x_t += ring_input(np.asarray([params["angle"]], dtype=np.float64), self.N_in)[0]
        respond = in_period(t, output, output + params["output_dur"])
        return x_t, *step_choice(respond, params["category"], self.N_out, 1.0, 0.0)

    # ---------------------------------------------------------------- vectorised path
    def generate_batch_params(
        self, batch: int, N: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Parameters of ``N`` trials as arrays (the keys of :meth:`generate_trial_params`)."""
        angle = rng.random(N) * TWO_PI
        return {
            "angle": angle,
            "category": category_of(angle, self.N_out),
            "onset_time": full(N, self.onset_time),
            "input_dur": full(N, self.input_dur),
            "output_dur": full(N, self.output_dur),
            "stim_noise": full(N, self.stim_noise),
        }

    def batch_function(
        self, t: np.ndarray, params: dict[str, np.ndarray], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs ``(N, N_steps, N_in)``, targets and masks ``(N, N_steps, N_out)``."""
        angle = np.asarray(params["angle"], dtype=np.float64)
        N = angle.shape[0]
        onset = params["onset_time"]
        output = onset + params["input_dur"]
        x = batch_noise(rng, (N, t.shape[0], self.N_in), self.alpha, params["stim_noise"])
        Period(t, onset, output).add_to(x, ring_input(angle, self.N_in))
        respond = Period(t, output, output + params["output_dur"])
        y = respond.values(one_hot(params["category"], self.N_out, 1.0, 0.0))
        return x, y, respond.mask(self.N_out)
