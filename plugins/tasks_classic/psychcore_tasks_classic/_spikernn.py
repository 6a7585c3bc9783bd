"""What the three tasks that follow spikeRNN share: timing in spikeRNN's steps, mask, scoring.

spikeRNN (Kim, R., Li, Y. & Sejnowski, T. J. (2019). Simple framework for constructing
functional spiking recurrent neural networks. PNAS 116(45), 22811-22820; code at
github.com/rkim35/spikeRNN) trains its rate networks on one trial at a time with steps of
5 ms. Its task code (``rate/model.py``: ``generate_input_stim_*``,
``generate_target_continuous_*``) gives every time in steps; the success criteria are in its
training script (``rate/main.py``). The tasks here give those times in ms (steps x 5 ms), so
that another ``dt`` keeps the trial's timing.

Conventions of these tasks, unlike the other classic tasks:

- One output; the target is the scalar spikeRNN's networks are trained on.
- The mask is 1 at every step: spikeRNN's loss sums over the whole trial, without a mask.
  (Its network makes ``T - 1`` outputs, for target steps 0 to ``T - 2``; here the last step
  is trained and scored too.)
- ``accuracy_function`` applies spikeRNN's success criterion to every trial: the maximum (or
  minimum) of the output over a scored window must pass a threshold. The window is the steps
  at or after the task's ``score_onset`` (ms) whose mask is not 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from psychcore import Task

from ._common import SeedLike, _accuracy_arrays, check_real

SPIKERNN_DT = 5.0
"""Duration of one of spikeRNN's time steps (ms)."""


def steps_ms(steps: int) -> float:
    """A time given in spikeRNN's steps, in ms."""
    return steps * SPIKERNN_DT


class SpikeRNNTask(Task):
    """Base class of the tasks that follow spikeRNN: one output, mask 1, spikeRNN's scoring.

    Subclasses set :attr:`score_onset` and :attr:`min_T` and implement the task.

    Attributes:
        score_onset: Start of the window that :meth:`accuracy_function` scores (ms).
        min_T: Shortest trial that holds the whole task (ms).
        spikernn_T: spikeRNN's trial duration (ms), the default of ``T``.
    """

    score_onset: float = 0.0
    min_T: float = 0.0
    spikernn_T: float = 0.0

    def __init__(
        self, N_in: int, dt: float, tau: float, T: float, N_batch: int, seed: SeedLike
    ) -> None:
        super().__init__(N_in, 1, dt, tau, T, N_batch, seed=seed)
        owner = type(self).__name__
        if self.min_T > self.T:
            raise ValueError(
                f"{owner}: T must be at least {self.min_T:g} ms to hold the whole task "
                f"(spikeRNN's is {self.spikernn_T:g} ms); received {self.T:g}"
            )
        if self.time[-1] < self.score_onset:
            raise ValueError(
                f"{owner}: T must leave a step at or after {self.score_onset:g} ms, where the "
                f"scored window starts; received T = {self.T:g} ms with dt = {self.dt:g} ms"
            )

    @staticmethod
    def full_mask(N: int, S: int) -> np.ndarray:
        """The mask of a batch: float32 ones of shape ``(N, S, 1)``."""
        return np.ones((N, S, 1), dtype=np.float32)

    def _scored(
        self, correct_output: Any, test_output: Any, output_mask: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Checked arrays for :meth:`accuracy_function`.

        Returns:
            ``(correct, test, window, counted)``: the target and the output of shape
            ``(N, S)``, whether each step is scored ``(N, S)`` and whether each trial has a
            scored step ``(N,)``.

        Raises:
            ValueError: If the arrays' shapes differ, are not ``(N_batch, N_steps, 1)`` or no
                trial has a scored step.
        """
        owner = type(self).__name__
        correct, test, mask = _accuracy_arrays(owner, correct_output, test_output, output_mask)
        if correct.shape[1:] != (self.N_steps, 1):
            raise ValueError(
                f"{owner}.accuracy_function: the arrays must have shape (N_batch, N_steps, "
                f"N_out) = (N_batch, {self.N_steps}, 1) for this task; received {correct.shape}"
            )
        window = (self.time >= self.score_onset)[None, :] & (mask[:, :, 0] != 0)
        counted = window.any(axis=1)
        if not counted.any():
            raise ValueError(
                f"{owner}.accuracy_function: output_mask is 0 everywhere in the scored window "
                f"(t >= {self.score_onset:g} ms); no trial can be scored"
            )
        return correct[:, :, 0], test[:, :, 0], window, counted


class SignedSpikeRNNTask(SpikeRNNTask):
    """A spikeRNN task whose target is +1 or -1 (XOR, Mante), scored with ``self.threshold``."""

    threshold: float

    def accuracy_function(
        self, correct_output: np.ndarray, test_output: np.ndarray, output_mask: np.ndarray
    ) -> float:
        """Fraction of trials that meet spikeRNN's criterion (see the class doc).

        A trial's label is the sign of its target summed over the trial: one whose target is
        positive is correct when the output's maximum over the scored window exceeds
        ``threshold``, one whose target is negative when its minimum is below ``-threshold``.
        Trials without a scored step are left out.

        Raises:
            ValueError: If the arrays' shapes differ or are not ``(N_batch, N_steps, 1)``, no
                trial has a scored step, or a trial's target is 0 throughout.
        """
        threshold = self.threshold
        correct, test, window, counted = self._scored(correct_output, test_output,
                                                      output_mask)
        sign = np.sign(correct.sum(axis=1))
        blank = np.flatnonzero(sign == 0)
        if blank.size:
            raise ValueError(
                f"{type(self).__name__}.accuracy_function: correct_output of trial "
                f"{int(blank[0])} sums to 0; its target must be +1 or -1 somewhere, which "
                "tells the trial's label"
            )
        highest = np.where(window, test, -np.inf).max(axis=1)
        lowest = np.where(window, test, np.inf).min(axis=1)
        correct_trials = np.where(sign > 0, highest > threshold, lowest < -threshold)
        return float(np.mean(correct_trials[counted]))


def check_threshold(value: Any, name: str, owner: str) -> float:
    """A threshold of the success criterion: a finite number >= 0."""
    return check_real(value, name, owner, minimum=0.0)


def binary_sign(draws: np.ndarray) -> np.ndarray:
    """+1 where a uniform draw in [0, 1) is below 0.5, else -1 (int64)."""
    return np.where(np.asarray(draws) < 0.5, 1, -1).astype(np.int64)
