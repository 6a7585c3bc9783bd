"""spikeRNN's temporal XOR task: were two successive pulses of the same sign?

Follows Kim, R., Li, Y. & Sejnowski, T. J. (2019). Simple framework for constructing
functional spiking recurrent neural networks. PNAS 116(45), 22811-22820: the task of
spikeRNN's ``rate/model.py`` (``generate_input_stim_xor``,
``generate_target_continuous_xor``) with the success criterion of its ``rate/main.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import Period, SeedLike, full
from ._spikernn import SignedSpikeRNNTask, binary_sign, check_threshold, steps_ms

# spikeRNN's settings: stim_on 50, stim_dur 50, delay 10 steps; the target starts 10 steps
# after the second pulse and lasts 100 steps; T is 300 steps.
_STIM_1 = steps_ms(50)
_STIM_1_END = steps_ms(100)
_STIM_2 = steps_ms(110)
_STIM_2_END = steps_ms(160)
_RESPONSE = steps_ms(170)
_RESPONSE_END = steps_ms(270)
_SCORE_ONSET = steps_ms(200)
_T = steps_ms(300)

_TIMES = {
    "stimulus_1": _STIM_1,
    "stimulus_1_end": _STIM_1_END,
    "stimulus_2": _STIM_2,
    "stimulus_2_end": _STIM_2_END,
    "response": _RESPONSE,
    "response_end": _RESPONSE_END,
}


class SpikeRNNXOR(SignedSpikeRNNTask):
    """Temporal XOR as in spikeRNN (Kim, Li & Sejnowski 2019): same signs or different?

    Two pulses follow each other, each +1 or -1 with probability 0.5: the first on input 0
    from 250 to 500 ms (spikeRNN's steps 50 to 99 of 5 ms), the second on input 1 from 550
    to 800 ms (steps 110 to 159). There is no input noise. The target is +1 when the signs
    are the same (spikeRNN's label ``'same'``) and -1 when they differ (``'diff'``), from
    850 to 1350 ms (steps 170 to 269), and 0 elsewhere. The mask is 1 at every step
    (spikeRNN trains on the whole trial).

    ``N_in = 2``, ``N_out = 1``.

    Success criterion (``accuracy_function``, spikeRNN's): from 1000 ms on (step 200, to the
    end of the trial) the output's maximum must exceed ``threshold`` (0.7) on "same"
    trials, its minimum be below ``-threshold`` on "different" trials. Steps whose mask is
    0 are not scored.

    Trial parameters: ``sign_1``, ``sign_2`` (the pulses' signs, +1 or -1), ``label`` (the
    target's sign: +1 same, -1 different), ``stimulus_1``, ``stimulus_1_end``,
    ``stimulus_2``, ``stimulus_2_end``, ``response``, ``response_end`` (the periods, ms).

    Args:
        dt: Time step (ms); default 5, spikeRNN's.
        tau: Time constant of the recurrent units (ms); default 100. spikeRNN trains one
            time constant per unit, within a range such as 20 to 100 ms.
        T: Trial duration (ms, >= 1350); default 1500 (spikeRNN's 300 steps).
        N_batch: Trials per batch; default 1 (spikeRNN trains on one trial per update).
        threshold: Level the output must pass, with the target's sign; default 0.7.
        seed: Seed or Generator of the task's draws.

    Raises:
        ValueError: If an argument is out of range or ``T`` is shorter than 1350 ms.
    """

    description = "Temporal XOR of spikeRNN (Kim 2019): +1 if two pulses share a sign, else -1"
    score_onset = _SCORE_ONSET
    min_T = _RESPONSE_END
    spikernn_T = _T

    def __init__(
        self, dt: float = 5.0, tau: float = 100.0, T: float = _T, N_batch: int = 1,
        *, threshold: float = 0.7, seed: SeedLike = None,
    ) -> None:
        super().__init__(2, dt, tau, T, N_batch, seed)
        self.threshold: float = check_threshold(threshold, "threshold", type(self).__name__)

    # ------------------------------------------------------------------ per-step path
    def generate_trial_params(self, batch: int, trial: int) -> dict[str, Any]:
        """Draw the parameters of one trial from ``self.rng`` (keys: see the class doc)."""
        first, second = (int(s) for s in binary_sign(self.rng.random(2)))
        return {"sign_1": first, "sign_2": second, "label": first * second, **_TIMES}

    def trial_function(
        self, t: float, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input, target and mask of the trial with ``params`` at time ``t`` (ms)."""
        x_t = np.zeros(2)
        if params["stimulus_1"] <= t < params["stimulus_1_end"]:
            x_t[0] = params["sign_1"]
        if params["stimulus_2"] <= t < params["stimulus_2_end"]:
            x_t[1] = params["sign_2"]
        inside = params["response"] <= t < params["response_end"]
        return x_t, np.asarray([float(params["label"]) if inside else 0.0]), np.ones(1)

    # ---------------------------------------------------------------- vectorised path
    def generate_batch_params(
        self, batch: int, N: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Parameters of ``N`` trials as arrays (the keys of :meth:`generate_trial_params`)."""
        signs = binary_sign(rng.random((N, 2)))
        return {
            "sign_1": signs[:, 0],
            "sign_2": signs[:, 1],
            "label": signs[:, 0] * signs[:, 1],
            **{name: full(N, time) for name, time in _TIMES.items()},
        }

    def batch_function(
        self, t: np.ndarray, params: dict[str, np.ndarray], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs ``(N, N_steps, 2)``, targets and masks ``(N, N_steps, 1)``."""
        first = np.asarray(params["sign_1"], dtype=np.float64)
        second = np.asarray(params["sign_2"], dtype=np.float64)
        N = first.shape[0]
        zero = np.zeros(N)
        x = Period(t, params["stimulus_1"], params["stimulus_1_end"]).values(
            np.stack([first, zero], axis=1)
        )
        Period(t, params["stimulus_2"], params["stimulus_2_end"]).add_to(
            x, np.stack([zero, second], axis=1)
        )
        label = np.asarray(params["label"], dtype=np.float64)[:, None]
        y = Period(t, params["response"], params["response_end"]).values(label)
        return x, y, self.full_mask(N, t.shape[0])
