"""spikeRNN's context-dependent sensory integration task (after Mante et al. 2013).

Follows Kim, R., Li, Y. & Sejnowski, T. J. (2019). Simple framework for constructing
functional spiking recurrent neural networks. PNAS 116(45), 22811-22820: the task of
spikeRNN's ``rate/model.py`` (``generate_input_stim_mante``,
``generate_target_continuous_mante``) with the success criterion of its ``rate/main.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import Period, SeedLike, check_real, full
from ._spikernn import SPIKERNN_DT, SignedSpikeRNNTask, binary_sign, check_threshold, steps_ms

_STIM_ON = steps_ms(50)
_STIM_END = steps_ms(50 + 200)
_T = steps_ms(500)
_SCORE_ONSET = _T - steps_ms(200)  # spikeRNN scores the last 200 steps of its 500


class SpikeRNNMante(SignedSpikeRNNTask):
    """Context-dependent integration as in spikeRNN (Kim, Li & Sejnowski 2019).

    Two noisy sensory inputs each carry evidence for +1 or -1 (sign drawn with probability
    0.5 each); a context cue says which of them to report. spikeRNN calls its sensory
    inputs "motion/color" without saying which row is which; here input 0 is called motion
    and input 1 colour, as in :class:`ContextDependentIntegration`. Inputs:

    - 0 and 1, sensory evidence: from 250 to 1250 ms (spikeRNN's steps 50 to 249 of 5 ms)
      ``evidence * sign + noise``, with ``evidence = 0.5`` and independent Gaussian noise per
      step and input of standard deviation ``stim_noise * sqrt(5 ms / dt)`` (``stim_noise =
      1``: spikeRNN's ``randn() +- 0.5`` at its 5 ms steps; the factor keeps the noise's
      effect on the network when ``dt`` changes); 0 outside that period;
    - 2 and 3, context: one-hot (2: report input 0, 3: report input 1) for the whole trial,
      noise-free.

    The target is the sign of the reported input's evidence, +1 or -1, from 1250 ms (step
    250) to the end of the trial, and 0 before. The mask is 1 at every step (spikeRNN trains
    on the whole trial).

    ``N_in = 4``, ``N_out = 1``.

    Success criterion (``accuracy_function``, spikeRNN's): over the last 1000 ms of
    spikeRNN's trial, from 1500 ms on (its last 200 steps), the output's maximum must exceed
    ``threshold`` (0.7) when the target is +1, its minimum be below ``-threshold`` when it
    is -1. Steps whose mask is 0 are not scored. (spikeRNN's network makes 499 outputs, for
    target steps 0 to 498, and scores the last 200 of them, steps 299 to 498; here the
    window is the trial's last 200 steps at 5 ms.)

    Trial parameters: ``context`` (0: report motion, 1: report colour), ``motion_sign``,
    ``color_sign`` (signs of the two inputs' evidence, +1 or -1), ``label`` (the target's
    sign), ``stimulus``, ``stimulus_end`` (the sensory period, ms), ``response`` (start of
    the target, ms) and ``stim_noise``.

    Args:
        dt: Time step (ms); default 5, spikeRNN's.
        tau: Time constant of the recurrent units (ms); default 100. spikeRNN trains one
            time constant per unit, within a range such as 20 to 100 ms.
        T: Trial duration (ms, > 1500); default 2500 (spikeRNN's 500 steps).
        N_batch: Trials per batch; default 1 (spikeRNN trains on one trial per update).
        stim_noise: Standard deviation of the sensory noise per 5 ms step (>= 0); default
            1, spikeRNN's.
        threshold: Level the output must pass, with the target's sign; default 0.7.
        seed: Seed or Generator of the task's draws.

    Raises:
        ValueError: If an argument is out of range or ``T`` ends before the scored window.
    """

    description = (
        "Context-dependent integration of spikeRNN (Kim 2019): report the cued input's sign"
    )
    score_onset = _SCORE_ONSET
    min_T = _STIM_END
    spikernn_T = _T
    evidence: float = 0.5

    def __init__(
        self, dt: float = 5.0, tau: float = 100.0, T: float = _T, N_batch: int = 1,
        *, stim_noise: float = 1.0, threshold: float = 0.7, seed: SeedLike = None,
    ) -> None:
        super().__init__(4, dt, tau, T, N_batch, seed)
        owner = type(self).__name__
        self.stim_noise: float = check_real(stim_noise, "stim_noise", owner, minimum=0.0)
        self.threshold: float = check_threshold(threshold, "threshold", owner)

    def noise_sd(self, stim_noise: Any) -> Any:
        """Standard deviation of the sensory noise per step: ``stim_noise * sqrt(5 / dt)``."""
        return stim_noise * math.sqrt(SPIKERNN_DT / self.dt)

    # ------------------------------------------------------------------ per-step path
    def generate_trial_params(self, batch: int, trial: int) -> dict[str, Any]:
        """Draw the parameters of one trial from ``self.rng`` (keys: see the class doc)."""
        motion, color, cue = (int(s) for s in binary_sign(self.rng.random(3)))
        context = 0 if cue > 0 else 1
        return {
            "context": context,
            "motion_sign": motion,
            "color_sign": color,
            "label": motion if context == 0 else color,
            "stimulus": _STIM_ON,
            "stimulus_end": _STIM_END,
            "response": _STIM_END,
            "stim_noise": self.stim_noise,
        }

    def trial_function(
        self, t: float, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input, target and mask of the trial with ``params`` at time ``t`` (ms)."""
        x_t = np.zeros(4)
        if params["stimulus"] <= t < params["stimulus_end"]:
            x_t[0] = self.evidence * params["motion_sign"]
            x_t[1] = self.evidence * params["color_sign"]
            if params["stim_noise"] != 0.0:
                x_t[:2] += self.noise_sd(params["stim_noise"]) * self.rng.standard_normal(2)
        x_t[2 + params["context"]] = 1.0
        target = float(params["label"]) if t >= params["response"] else 0.0
        return x_t, np.asarray([target]), np.ones(1)

    # ---------------------------------------------------------------- vectorised path
    def generate_batch_params(
        self, batch: int, N: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Parameters of ``N`` trials as arrays (the keys of :meth:`generate_trial_params`)."""
        signs = binary_sign(rng.random((N, 3)))
        context = np.where(signs[:, 2] > 0, 0, 1).astype(np.int64)
        return {
            "context": context,
            "motion_sign": signs[:, 0],
            "color_sign": signs[:, 1],
            "label": np.where(context == 0, signs[:, 0], signs[:, 1]),
            "stimulus": full(N, _STIM_ON),
            "stimulus_end": full(N, _STIM_END),
            "response": full(N, _STIM_END),
            "stim_noise": full(N, self.stim_noise),
        }

    def batch_function(
        self, t: np.ndarray, params: dict[str, np.ndarray], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs ``(N, N_steps, 4)``, targets and masks ``(N, N_steps, 1)``."""
        context = np.asarray(params["context"], dtype=np.int64)
        N, S = context.shape[0], t.shape[0]
        x = np.zeros((N, S, 4), dtype=np.float32)
        stimulus = Period(t, params["stimulus"], params["stimulus_end"])
        means = self.evidence * np.stack(
            [params["motion_sign"], params["color_sign"]], axis=1
        ).astype(np.float64)
        stimulus.add_to(x[:, :, :2], means)
        sd = self.noise_sd(np.asarray(params["stim_noise"], dtype=np.float64))
        if np.any(sd != 0.0):
            noise = rng.standard_normal((N, S, 2), dtype=np.float32)
            noise *= sd.astype(np.float32)[:, None, None]
            inside = stimulus.mask(1)[:, :, 0].astype(bool)[:, :, None] & (sd != 0.0)[:, None, None]
            x[:, :, :2] += np.where(inside, noise, np.float32(0.0))
        x[np.arange(N), :, 2 + context] = 1.0
        label = np.asarray(params["label"], dtype=np.float64)[:, None]
        y = Period(t, params["response"], np.inf).values(label)
        return x, y, self.full_mask(N, S)
