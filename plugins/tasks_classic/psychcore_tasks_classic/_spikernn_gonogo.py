"""spikeRNN's Go/NoGo task: respond to a brief pulse, stay silent without one.

Follows Kim, R., Li, Y. & Sejnowski, T. J. (2019). Simple framework for constructing
functional spiking recurrent neural networks. PNAS 116(45), 22811-22820: the task of
spikeRNN's ``rate/model.py`` (``generate_input_stim_go_nogo``,
``generate_target_continuous_go_nogo``) with the success criterion of its ``rate/main.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import Period, SeedLike, full
from ._spikernn import SpikeRNNTask, check_threshold, steps_ms

_STIM_ON = steps_ms(50)
_STIM_END = steps_ms(50 + 25)
_T = steps_ms(200)


class SpikeRNNGoNoGo(SpikeRNNTask):
    """Go/NoGo as in spikeRNN (Kim, Li & Sejnowski 2019): respond after a pulse, else not.

    On Go trials (probability 0.5) the single input is 1 from 250 to 375 ms (spikeRNN's steps
    50 to 74 of 5 ms); on NoGo trials it is 0 throughout. There is no input noise. The target
    is 1 from 375 ms (step 75) to the end of the trial on Go trials and 0 everywhere on NoGo
    trials. The mask is 1 at every step (spikeRNN trains on the whole trial).

    ``N_in = 1``, ``N_out = 1``.

    Success criterion (``accuracy_function``, spikeRNN's): a Go trial is correct when the
    output's maximum from 375 ms on exceeds ``go_threshold`` (0.7); a NoGo trial when the
    maximum of the output's absolute value from 375 ms on is below ``nogo_threshold`` (0.3).
    Steps whose mask is 0 are not scored.

    Trial parameters: ``go`` (1 on Go trials, 0 on NoGo: spikeRNN's label), ``stimulus``,
    ``stimulus_end`` (the pulse's period on Go trials, ms) and ``response`` (start of the
    target, ms).

    Args:
        dt: Time step (ms); default 5, spikeRNN's.
        tau: Time constant of the recurrent units (ms); default 100. spikeRNN trains one
            time constant per unit, within a range such as 20 to 100 ms.
        T: Trial duration (ms, > 375); default 1000 (spikeRNN's 200 steps).
        N_batch: Trials per batch; default 1 (spikeRNN trains on one trial per update).
        go_threshold: Level the output must exceed on Go trials; default 0.7.
        nogo_threshold: Level the output's absolute value must stay below on NoGo trials;
            default 0.3.
        seed: Seed or Generator of the task's draws.

    Raises:
        ValueError: If an argument is out of range or ``T`` ends before the scored window.
    """

    description = "Go/NoGo of spikeRNN (Kim 2019): respond after a brief pulse, else stay at 0"
    score_onset = _STIM_END
    min_T = _STIM_END
    spikernn_T = _T

    def __init__(
        self, dt: float = 5.0, tau: float = 100.0, T: float = _T, N_batch: int = 1,
        *, go_threshold: float = 0.7, nogo_threshold: float = 0.3, seed: SeedLike = None,
    ) -> None:
        super().__init__(1, dt, tau, T, N_batch, seed)
        owner = type(self).__name__
        self.go_threshold: float = check_threshold(go_threshold, "go_threshold", owner)
        self.nogo_threshold: float = check_threshold(nogo_threshold, "nogo_threshold", owner)

    # ------------------------------------------------------------------ per-step path
    def generate_trial_params(self, batch: int, trial: int) -> dict[str, Any]:
        """Draw the parameters of one trial from ``self.rng`` (keys: see the class doc)."""
        go = int(self.rng.random() < 0.5)
        return {"go": go, "stimulus": _STIM_ON, "stimulus_end": _STIM_END, "response": _STIM_END}

    def trial_function(
        self, t: float, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input, target and mask of the trial with ``params`` at time ``t`` (ms)."""
        go = float(params["go"])
        pulse = go if params["stimulus"] <= t < params["stimulus_end"] else 0.0
        target = go if t >= params["response"] else 0.0
        return np.asarray([pulse]), np.asarray([target]), np.ones(1)

    # ---------------------------------------------------------------- vectorised path
    def generate_batch_params(
        self, batch: int, N: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Parameters of ``N`` trials as arrays (the keys of :meth:`generate_trial_params`)."""
        return {
            "go": (rng.random(N) < 0.5).astype(np.int64),
            "stimulus": full(N, _STIM_ON),
            "stimulus_end": full(N, _STIM_END),
            "response": full(N, _STIM_END),
        }

    def batch_function(
        self, t: np.ndarray, params: dict[str, np.ndarray], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs, targets and masks, each of shape ``(N, N_steps, 1)``."""
        go = np.asarray(params["go"], dtype=np.float64)[:, None]
        x = Period(t, params["stimulus"], params["stimulus_end"]).values(go)
        y = Period(t, params["response"], np.inf).values(go)
        return x, y, self.full_mask(go.shape[0], t.shape[0])

    # ---------------------------------------------------------------------- accuracy
    def accuracy_function(
        self, correct_output: np.ndarray, test_output: np.ndarray, output_mask: np.ndarray
    ) -> float:
        """Fraction of trials that meet spikeRNN's criterion (see the class doc).

        A trial is a Go trial when its target exceeds 0.5 somewhere. Trials without a scored
        step are left out.

        Raises:
            ValueError: If the arrays' shapes differ or are not ``(N_batch, N_steps, 1)``, or
                no trial has a scored step.
        """
        correct, test, window, counted = self._scored(correct_output, test_output, output_mask)
        go = (correct > 0.5).any(axis=1)
        highest = np.where(window, test, -np.inf).max(axis=1)
        largest = np.where(window, np.abs(test), -np.inf).max(axis=1)
        right = np.where(go, highest > self.go_threshold, largest < self.nogo_threshold)
        return float(np.mean(right[counted]))
