"""PsychRNN's names that a user's script meets, where psychcore can honour them.

``BasicSimulator`` takes PsychRNN's arguments and builds psychcore's :class:`Simulator`. The
PsychRNN names psychcore does not keep, and what to write instead, are listed in
``docs/migrating-from-psychrnn.md``; ``Model.destruct`` and ``Model.train_curric`` live on
:class:`~psychcore.Model`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._equations import TRANSFER_FUNCTIONS
from ._model import Model
from ._rng import SeedLike
from ._simulator import Simulator
from ._weights import load_weights, spec_from_weights


def _time_constants(params: Mapping[str, Any], model: Model | None) -> tuple[float, float]:
    """``(dt, tau)`` from PsychRNN's ``params`` (``dt`` and ``tau``, or ``alpha``)."""
    if "dt" in params and "tau" in params:
        return float(params["dt"]), float(params["tau"])
    if "alpha" in params:  # only dt / tau matters to the rate RNN
        return float(params["alpha"]), 1.0
    if model is not None:
        return float(model.spec.dt), float(model.spec.tau)
    raise ValueError(
        "BasicSimulator: params must give dt and tau (or alpha) when no rnn_model is passed; "
        f"received params with keys {sorted(params)}"
    )


class BasicSimulator(Simulator):
    """PsychRNN's ``BasicSimulator``: a NumPy simulator of a trained network.

    Accepts PsychRNN's arguments, with PsychRNN's precedence (``weights`` over
    ``weights_path`` over ``rnn_model``), and is psychcore's :class:`Simulator` otherwise: one
    class for every architecture.

    Args:
        rnn_model: A psychcore :class:`Model`; its spec and weights are used (and its
            ``rec_noise``, dt and tau unless ``params`` gives them).
        params: PsychRNN's dict: ``dt`` and ``tau`` (or ``alpha``), ``rec_noise`` (default 0,
            or the model's).
        weights_path: A weights file saved by psychcore or PsychRNN.
        weights: A weights dict (PsychRNN's keys).
        transfer_function: A name (``"relu"``, ``"tanh"``, ...) or a NumPy function; the
            spec's (ReLU for a PsychRNN file) by default.
        seed: Seed of the recurrent noise.

    Raises:
        TypeError: If ``rnn_model`` is not a psychcore Model (e.g. a PsychRNN ``Basic``).
        ValueError: If none of ``rnn_model``, ``weights_path``, ``weights`` is given, or dt
            and tau cannot be known.
    """

    def __init__(
        self,
        rnn_model: Model | None = None,
        params: Mapping[str, Any] | None = None,
        weights_path: str | os.PathLike | None = None,
        weights: Mapping[str, Any] | None = None,
        transfer_function: str | Callable[[np.ndarray], np.ndarray] | None = None,
        *,
        seed: SeedLike = None,
    ) -> None:
        if rnn_model is not None and not isinstance(rnn_model, Model):
            raise TypeError(
                "BasicSimulator: rnn_model must be a psychcore Model; received "
                f"{type(rnn_model).__name__} (a PsychRNN model: save it with model.save(path) "
                "and pass weights_path=path)"
            )
        if params is not None and not isinstance(params, Mapping):
            raise TypeError(f"BasicSimulator: params must be a dict; received "
                            f"{type(params).__name__}")
        params = dict(params or {})
        spec = rnn_model.spec if rnn_model is not None else None
        if weights is None and weights_path is not None:
            weights, saved = load_weights(weights_path)
            spec = saved or spec
        elif weights is None and rnn_model is not None:
            weights = rnn_model.get_weights()
        if weights is None:
            raise ValueError("BasicSimulator needs rnn_model=, weights_path= or weights=; "
                             "received none of them")
        if spec is None or spec.N_rec != np.shape(weights["W_rec"])[1]:
            spec = spec_from_weights(weights)
        if isinstance(transfer_function, str):
            if transfer_function not in TRANSFER_FUNCTIONS:
                raise ValueError(f"BasicSimulator: transfer_function must be one of "
                                 f"{sorted(TRANSFER_FUNCTIONS)} or a function; received "
                                 f"{transfer_function!r}")
            spec = spec.replace(transfer_function=transfer_function)
        self.rec_noise = float(params.get("rec_noise", spec.rec_noise))
        dt, tau = _time_constants(params, rnn_model)
        super().__init__(spec, weights, dt=dt, tau=tau, seed=seed)
        if callable(transfer_function):
            self.transfer_function = transfer_function

    def run_trials(
        self,
        x: np.ndarray,
        t_connectivity: np.ndarray | None = None,
        rec_noise: float | None = None,
        noise: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """PsychRNN's ``run_trials``: as :meth:`Simulator.run_trials`, with the recurrent
        noise of ``params`` / ``rnn_model`` unless ``rec_noise`` is given."""
        level = self.rec_noise if rec_noise is None else rec_noise
        return super().run_trials(x, t_connectivity, rec_noise=level, noise=noise)

