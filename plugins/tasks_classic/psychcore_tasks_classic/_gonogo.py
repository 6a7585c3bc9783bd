"""Go/No-Go: respond after a delay to the Go stimulus, withhold the response to No-Go."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import (
    ClassicTask,
    Period,
    SeedLike,
    Timeline,
    batch_noise,
    check_real,
    full,
    in_period,
    step_noise,
    threshold_accuracy,
)

_TIMELINE = Timeline(
    ("stimulus", "delay", "response"),
    onset_time=200.0, stim_duration=500.0, delay_duration=500.0, response_duration=800.0,
)


class GoNoGo(ClassicTask):
    """Go/No-Go: respond to the Go stimulus after a delay, withhold the response to No-Go.

    One stimulus is shown per trial: the Go stimulus (input channel 0) or the No-Go
    stimulus (input channel 1), each a step of height 1 on its channel; both channels carry
    noise throughout the trial. After a delay the network must drive its single output to 1
    on Go trials and keep it at 0 on No-Go trials during the response period. The mask is 1
    during the response period only.

    After the classic go/no-go paradigm as modelled by Gomez, P., Ratcliff, R. & Perea, M.
    (2007). A model of the go/no-go task. Journal of Experimental Psychology: General
    136(3), 389-413.

    ``N_in = 2``, ``N_out = 1``. The periods follow each other: fore period
    (``onset_time``), stimulus, delay, response; nothing is trained after the response
    period if the trial is longer.

    Trial parameters: ``go`` (1 on Go trials, 0 on No-Go), ``stimulus``, ``delay``,
    ``response``, ``end`` (start times of the periods and end of the response period, ms)
    and ``stim_noise`` (0.1; noise per step ``sqrt(2 dt / tau) * stim_noise * N(0, 1)``).

    Args:
        dt: Time step (ms), as for every :class:`psychcore.Task`.
        tau: Unit time constant (ms).
        N_batch: Trials per batch.
        seed: Seed or Generator of the task's draws.
        T: Trial duration (ms); at least the sum of the periods (2000 with the defaults).
        go_probability: Probability of a Go trial, in [0, 1]; default 0.5.
        onset_time: Fore period before the stimulus (ms, >= 0); default 200. Each
            timing argument is kept as the attribute of its name, default filled in.
        stim_duration: Duration of the stimulus (ms, >= dt); default 500.
        delay_duration: Delay between stimulus and response period (ms, >= dt); default 500.
        response_duration: Duration of the response period (ms, >= dt); default 800.

    Raises:
        ValueError: If an argument is out of range or the periods do not fit in ``T``.

    Attributes:
        stim_noise: Input noise scale written into every trial's parameters (0.1).
    """

    description = "Respond after a delay to the Go stimulus, withhold to No-Go (Gomez 2007)"

    def __init__(
        self, dt: float, tau: float, T: float, N_batch: int, go_probability: float = 0.5,
        onset_time: float | None = None, stim_duration: float | None = None,
        delay_duration: float | None = None, response_duration: float | None = None,
        *, seed: SeedLike = None,
    ) -> None:
        super().__init__(2, 1, dt, tau, T, N_batch, seed=seed)
        owner = type(self).__name__
        self.go_probability: float = check_real(
            go_probability, "go_probability", owner, minimum=0.0, maximum=1.0
        )
        _TIMELINE.assign(self, onset_time, stim_duration, delay_duration, response_duration)
        self.stim_noise: float = 0.1

    # ------------------------------------------------------------------ per-step path
    def generate_trial_params(self, batch: int, trial: int) -> dict[str, Any]:
        """Draw the parameters of one trial from ``self.rng`` (keys: see the class doc)."""
        go = int(self.rng.random() < self.go_probability)
        return {"go": go, **_TIMELINE.start_times(self), "stim_noise": self.stim_noise}

    def trial_function(
        self, t: float, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input, target and mask of the trial with ``params`` at time ``t`` (ms)."""
        x_t = step_noise(self.rng, 2, self.alpha, params["stim_noise"])
        if in_period(t, params["stimulus"], params["delay"]):
            x_t += self._stimulus(np.asarray([params["go"]]))[0]
        if in_period(t, params["response"], params["end"]):
            return x_t, np.asarray([float(params["go"])]), np.ones(1)
        return x_t, np.zeros(1), np.zeros(1)

    # ---------------------------------------------------------------- vectorised path
    def generate_batch_params(
        self, batch: int, N: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Parameters of ``N`` trials as arrays (the keys of :meth:`generate_trial_params`)."""
        go = (rng.random(N) < self.go_probability).astype(np.int64)
        return {
            "go": go,
            **_TIMELINE.batch_start_times(self, N),
            "stim_noise": full(N, self.stim_noise),
        }

    def batch_function(
        self, t: np.ndarray, params: dict[str, np.ndarray], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs ``(N, N_steps, 2)``, targets and masks ``(N, N_steps, 1)``."""
        go = params["go"]
        N = go.shape[0]
        x = batch_noise(rng, (N, t.shape[0], 2), self.alpha, params["stim_noise"])
        Period(t, params["stimulus"], params["delay"]).add_to(x, self._stimulus(go))
        respond = Period(t, params["response"], params["end"])
        y = respond.values(go.astype(np.float64)[:, None])
        return x, y, respond.mask(1)

    # ------------------------------------------------------------------------ shared
    @staticmethod
    def _stimulus(go: np.ndarray) -> np.ndarray:
        """Stimulus means (float64, ``(N, 2)``): channel 0 on Go trials, 1 on No-Go."""
        go = np.asarray(go, dtype=np.int64)
        stimulus = np.zeros((go.shape[0], 2))
        stimulus[np.arange(go.shape[0]), 1 - go] = 1.0
        return stimulus

    def accuracy_function(
        self, correct_output: np.ndarray, test_output: np.ndarray, output_mask: np.ndarray
    ) -> float:
        """Fraction of trials answered correctly.

        A trial counts as a response when its mean output over the masked steps exceeds
        0.5. Go trials must be responded to, No-Go trials not.
        """
        return threshold_accuracy(
            type(self).__name__, correct_output, test_output, output_mask, 0.5
        )
