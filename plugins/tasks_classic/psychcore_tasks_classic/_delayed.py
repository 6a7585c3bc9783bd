"""Delayed discrimination: compare two vibrotactile frequencies across a delay."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import (
    ClassicTask,
    Period,
    SeedLike,
    Timeline,
    batch_noise,
    full,
    in_period,
    one_hot,
    step_choice,
    step_noise,
)

F_MIN = 10
"""Lowest stimulus frequency (Hz)."""
F_MAX = 34
"""Highest stimulus frequency (Hz)."""
FREQUENCY_PAIRS: tuple[tuple[int, int], ...] = tuple((f, f + 8) for f in range(F_MIN, 27, 4))
"""The (lower, higher) frequency pairs (Hz) of a trial: 10/18, 14/22, 18/26, 22/30, 26/34."""

_TIMELINE = Timeline(
    ("stimulus_1", "delay", "stimulus_2", "decision"),
    onset_time=100.0, stim_duration_1=500.0, delay_duration=500.0, stim_duration_2=500.0,
    decision_duration=400.0,
)



def encode_up(f: Any) -> Any:
    """Channel 0's response to frequency ``f``: 0.4 at 10 Hz rising linearly to 1.2 at 34 Hz."""
    return 0.4 + 0.8 * (f - F_MIN) / (F_MAX - F_MIN)


def encode_down(f: Any) -> Any:
    """Channel 1's response to frequency ``f``: 1.2 at 10 Hz falling linearly to 0.4 at 34 Hz."""
    return 0.4 + 0.8 * (F_MAX - f) / (F_MAX - F_MIN)


class DelayedDiscrimination(ClassicTask):
    """Delayed discrimination of two frequencies (parametric working memory).

    After a fore period the network receives a first stimulus of frequency ``f1``, holds it
    through a delay, then receives a second stimulus of frequency ``f2``, and must report
    in the decision period whether ``f1 > f2`` (output 0) or ``f1 < f2`` (output 1).
    A frequency is presented on two channels with opposite tuning: channel 0 rises linearly
    from 0.4 at 10 Hz to 1.2 at 34 Hz, channel 1 falls from 1.2 to 0.4. Both channels carry
    noise throughout the trial.

    Loosely based on Romo, R., Brody, C. D., Hernández, A. & Lemus, L. (1999). Neuronal
    correlates of parametric working memory in the prefrontal cortex. Nature 399(6735),
    470-473.

    ``N_in = 2``, ``N_out = 2``. Per trial, a pair of :data:`FREQUENCY_PAIRS` (differing by
    8 Hz) is drawn uniformly and presented in either order with probability 1/2. The periods
    follow each other in this order: fore period (``onset_time``), stimulus 1, delay,
    stimulus 2, decision; after the decision period (if the trial is longer) nothing is
    trained. The target is one-hot (1 on the correct channel, 0.2 on the other) and the mask
    1 during the decision period only; both are 0 elsewhere.

    Trial parameters: ``stimulus_1``, ``delay``, ``stimulus_2``, ``decision``, ``end``
    (start times of the periods and end of the decision period, ms), ``stim_noise`` (0.1),
    ``f1``, ``f2`` (Hz, int) and ``choice`` (0 if ``f1 > f2`` else 1).

    Default durations (ms): ``onset_time`` 100, ``stim_duration_1`` 500, ``delay_duration``
    500, ``stim_duration_2`` 500, ``decision_duration`` 400, 2000 in all.

    Differences from PsychRNN's ``DelayedDiscrimination``:

    - All durations are in ms (PsychRNN documented them "in terms of trial length" but used
      given values as ms) and are fixed: ``None`` selects the default above, where PsychRNN
      drew a random duration per trial (up to ``T/8`` or ``T/4``, so a period could hold no
      step at all). The periods are checked to hold a step each and to fit in ``T``.
    - The input noise per step is ``sqrt(2 dt / tau) * stim_noise * N(0, 1)``; PsychRNN's
      ``sqrt(0.02 sqrt(10 dt)) * stim_noise`` ignored ``tau`` (the two agree at ``dt = 10``,
      ``tau = 100``).
    - ``choice`` is the int index of the correct output channel, as in PsychRNN's code (its
      documentation said the strings ``'>'``/``'<'``).
    - Randomness comes from the task's seeded generator, and a vectorised path builds the
      whole batch with array operations.

    Args:
        dt: Time step (ms), as for every :class:`psychcore.Task`.
        tau: Unit time constant (ms).
        N_batch: Trials per batch.
        seed: Seed or Generator of the task's draws.
        T: Trial duration (ms); at least the sum of the periods (2000 with the defaults).
        onset_time: Fore period before stimulus 1 (ms, >= 0); default 100. Each timing
            argument is kept as the attribute of its name, default filled in.
        stim_duration_1: Duration of stimulus 1 (ms, >= dt); default 500.
        delay_duration: Delay between the stimuli (ms, >= dt); default 500.
        stim_duration_2: Duration of stimulus 2 (ms, >= dt); default 500.
        decision_duration: Duration of the decision period (ms, >= dt); default 400.

    Raises:
        ValueError: If a duration is out of range or the periods do not fit in ``T``.

        stim_noise: Input noise scale written into every trial's parameters (0.1).
    """

    description = "Delayed comparison of two frequencies, f1 > f2 or f1 < f2 (Romo 1999)"
    hi: float = 1.0
    lo: float = 0.2

    def __init__(
        self, dt: float, tau: float, T: float, N_batch: int,
        onset_time: float | None = None, stim_duration_1: float | None = None,
        delay_duration: float | None = None, stim_duration_2: float | None = None,
        decision_duration: float | None = None, *, seed: SeedLike = None,
    ) -> None:
        super().__init__(2, 2, dt, tau, T, N_batch, seed=seed)
        _TIMELINE.assign(
            self, onset_time, stim_duration_1, delay_duration, stim_duration_2, decision_duration
        )
        self.stim_noise: float = 0.1

    # ------------------------------------------------------------------ per-step path
    def generate_trial_params(self, batch: int, trial: int) -> dict[str, Any]:
        """Draw the parameters of one trial from ``self.rng`` (keys: see the class doc)."""
        rng = self.rng
        low, high = FREQUENCY_PAIRS[int(rng.integers(len(FREQUENCY_PAIRS)))]
        f1, f2 = (high, low) if rng.integers(2) else (low, high)
        return {
            **_TIMELINE.start_times(self),
            "stim_noise": self.stim_noise,
            "f1": f1,
            "f2": f2,
            "choice": 0 if f1 > f2 else 1,
        }

    def trial_function(
        self, t: float, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input, target and mask of the trial with ``params`` at time ``t`` (ms)."""
        x_t = step_noise(self.rng, 2, self.alpha, params["stim_noise"])
        if in_period(t, params["stimulus_1"], params["delay"]):
            x_t += self._amplitudes(np.asarray([params["f1"]]))[0]
        if in_period(t, params["stimulus_2"], params["decision"]):
            x_t += self._amplitudes(np.asarray([params["f2"]]))[0]
        decision = in_period(t, params["decision"], params["end"])
        return x_t, *step_choice(decision, params["choice"], 2, self.hi, self.lo)

    # ---------------------------------------------------------------- vectorised path
    def generate_batch_params(
        self, batch: int, N: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Parameters of ``N`` trials as arrays (the keys of :meth:`generate_trial_params`)."""
        pairs = np.asarray(FREQUENCY_PAIRS, dtype=np.int64)[
            rng.integers(len(FREQUENCY_PAIRS), size=N)
        ]
        descending = rng.integers(2, size=N).astype(bool)
        f1 = np.where(descending, pairs[:, 1], pairs[:, 0])
        f2 = np.where(descending, pairs[:, 0], pairs[:, 1])
        return {
            **_TIMELINE.batch_start_times(self, N),
            "stim_noise": full(N, self.stim_noise),
            "f1": f1,
            "f2": f2,
            "choice": np.where(f1 > f2, 0, 1).astype(np.int64),
        }

    def batch_function(
        self, t: np.ndarray, params: dict[str, np.ndarray], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs, targets and masks of a batch, each of shape ``(N, N_steps, 2)``."""
        N = params["f1"].shape[0]
        x = batch_noise(rng, (N, t.shape[0], 2), self.alpha, params["stim_noise"])
        Period(t, params["stimulus_1"], params["delay"]).add_to(x, self._amplitudes(params["f1"]))
        Period(t, params["stimulus_2"], params["decision"]).add_to(
            x, self._amplitudes(params["f2"])
        )
        decision = Period(t, params["decision"], params["end"])
        y = decision.values(one_hot(params["choice"], 2, self.hi, self.lo))
        return x, y, decision.mask(2)

    # ------------------------------------------------------------------------ shared
    @staticmethod
    def _amplitudes(f: np.ndarray) -> np.ndarray:
        """Input means (float64, ``(N, 2)``) encoding the frequencies ``f`` (Hz)."""
        f = np.asarray(f, dtype=np.float64)
        return np.stack([encode_up(f), encode_down(f)], axis=1)
