"""The narrow interface a training backend implements.

The core owns everything that is not framework arithmetic: tasks and batches, initial weights,
the training loop (loss recording, curricula, performance cutoff, snapshots, checkpoints) and
the weights format. A backend only turns a bound :class:`~psychcore.ModelSpec` and a weights
dict into framework tensors and runs forward passes and optimisation steps on them.

Contract (checked by :func:`psychcore.testing.check_backend`):

- Effective weights, dynamics, losses and regularisation follow ``docs/equations.md`` exactly,
  and the forward pass matches :class:`psychcore.Simulator` on the same weights and inputs.
- Constraints always hold: Dale signs never flip, masked entries of the effective weights are
  exactly zero, entries marked in ``W_*_fixed`` and parameters whose ``*_train`` flag is False
  never change.
- All randomness (recurrent noise) comes from a generator seeded from the ``seed`` argument,
  so the same seed gives the same losses and weights; a ``noise`` array, when given, replaces
  the backend's own draws (standard normals, scaled by the backend as the equations say).
- :meth:`get_training_state` / :meth:`set_training_state` capture everything besides the
  weights that influences later steps (optimiser slots and step counters, noise generator
  state), as NumPy arrays, so a run resumed from a checkpoint gives the same losses.
  :meth:`set_weights` leaves the optimiser's state alone.
- Optional: :meth:`get_adam_state` / :meth:`set_adam_state` exchange the state of the
  ``"adam"`` optimiser in a form every backend reads
  (:func:`psychcore.backend.check_adam_state`), which lets
  :func:`psychcore.check_reproducibility` restart one backend from another's exact state.
- Framework imports happen inside methods, never at module level.
"""

from __future__ import annotations

import abc
import contextlib
from typing import Any, ClassVar

import numpy as np

from ._rng import SeedLike


def not_provided(backend: Any, what: str) -> NotImplementedError:
    """The error of an optional capability a backend does not provide (``what`` it does not
    do, e.g. ``"expose its gradients"``)."""
    return NotImplementedError(f"backend '{backend.name}' does not {what}")


def implements(backend_cls: type, *methods: str) -> bool:
    """Whether ``backend_cls`` provides every one of the optional ``methods`` of Backend.

    A method counts as provided when the class overrides it, or when it inherits it from a
    base class that implements it through a hook (``optional_hooks``: method -> hook name)
    and a subclass of that base overrides the hook.
    """
    def provided(method: str) -> bool:
        hook = getattr(backend_cls, "optional_hooks", {}).get(method)
        owner = next((c for c in backend_cls.__mro__ if method in vars(c)), Backend)
        if hook is not None and owner is not Backend and hook in vars(owner):
            return getattr(backend_cls, hook) is not vars(owner)[hook]
        return getattr(backend_cls, method) is not getattr(Backend, method)

    return all(provided(m) for m in methods)


class Backend(abc.ABC):
    """Base class of training backends (see the module docstring for the contract).

    Args:
        spec: A bound ModelSpec (``spec.is_bound``).
        weights: The weights dict of ``docs/equations.md``; the backend copies it.
        seed: Seed or Generator for the backend's own random draws.
        device: Framework device string (``"cpu"``, ``"cuda"``, ...); None picks a default.
    """

    #: The name users pass as ``backend=``.
    name: ClassVar[str] = ""
    #: One line shown by ``psychcore plugins``.
    description: ClassVar[str] = ""
    #: Architectures the backend can build.
    architectures: ClassVar[tuple[str, ...]] = ("rnn", "lstm", "gru")

    def __init__(
        self,
        spec: Any,
        weights: dict[str, np.ndarray],
        *,
        seed: SeedLike = None,
        device: str | None = None,
    ) -> None:
        self.spec = spec
        self.device = device

    @classmethod
    def is_available(cls) -> tuple[bool, str]:
        """Whether the framework can be imported here, and why not if it cannot."""
        return True, ""

    @classmethod
    def limit_threads(cls, n: int) -> contextlib.AbstractContextManager[None]:
        """A context manager under which the framework uses at most ``n`` threads.

        Sweeps run several trainings side by side and give each a share of the cores; the
        core never imports a framework itself, so it asks the backend. The default sets
        nothing (the BLAS/OpenMP environment variables that the sweep sets are all a
        framework without its own thread pool needs); the previous setting is restored
        when the block ends.
        """
        return contextlib.nullcontext()

    @abc.abstractmethod
    def configure_optimizer(
        self,
        optimizer: Any = "adam",
        learning_rate: float = 1e-3,
        clip_grads: bool | float = True,
        **kwargs: Any,
    ) -> None:
        """Create a fresh optimiser.

        Args:
            optimizer: A name (``"adam"``, ``"sgd"``, ``"rmsprop"`` ... as the framework
                spells it) or a framework optimiser object or factory.
            learning_rate: Step size.
            clip_grads: True clips gradients by global norm 1 (PsychRNN's default), a number
                clips by that norm, False disables clipping.
            **kwargs: Passed to the framework optimiser.
        """

    @abc.abstractmethod
    def train_step(
        self,
        x: np.ndarray,
        y: np.ndarray,
        mask: np.ndarray,
        noise: np.ndarray | None = None,
    ) -> float:
        """One optimisation step on a batch; returns the loss (with regularisation) before it.

        Args:
            x: Inputs ``(N_batch, N_steps, N_in)``.
            y: Targets ``(N_batch, N_steps, N_out)``.
            mask: Loss mask, same shape as ``y``.
            noise: Optional standard normals ``(N_batch, N_steps, N_rec)`` for the recurrent
                noise; drawn by the backend when None.
        """

    def loss_and_gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        mask: np.ndarray,
        noise: np.ndarray | None = None,
    ) -> tuple[float, dict[str, np.ndarray]]:
        """The objective of one batch and its exact gradients, without an optimiser step
        (optional; used for gradient checks).

        Gradients are with respect to the raw trainable parameters, before fixed entries are
        zeroed and before clipping (noise is drawn as in :meth:`train_step` when needed).

        Returns:
            ``(loss, {name: gradient})`` for every parameter whose flag says it trains.
        """
        raise not_provided(self, "expose its gradients")

    @abc.abstractmethod
    def forward(
        self, x: np.ndarray, noise: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on ``x`` (any number of trials); returns ``(outputs, states)``."""

    def outputs(self, x: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        """``forward(x, noise)[0]``: the outputs alone (the training loop judges accuracy
        and curriculum stages with them).

        A backend may override it to skip keeping and copying the states; it must return
        what :meth:`forward` returns as outputs, and draw noise as :meth:`forward` does.
        """
        return self.forward(x, noise)[0]

    @abc.abstractmethod
    def get_weights(self) -> dict[str, np.ndarray]:
        """The current weights dict (NumPy copies, raw parameters and structure)."""

    @abc.abstractmethod
    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Replace the current parameters by ``weights`` (same keys and shapes)."""

    @abc.abstractmethod
    def get_training_state(self) -> dict[str, np.ndarray]:
        """Optimiser and generator state as NumPy arrays (see the module docstring)."""

    @abc.abstractmethod
    def set_training_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`get_training_state` returned (after configure_optimizer)."""

    def get_adam_state(self) -> dict[str, np.ndarray]:
        """The ``"adam"`` optimiser's state in the portable form (optional).

        Returns:
            ``{"step": ..., "m/<key>": ..., "v/<key>": ...}`` (see
            :func:`psychcore.backend.check_adam_state`).

        Raises:
            ValueError: If the configured optimiser is not ``"adam"``.
            RuntimeError: If no optimiser is configured.
        """
        raise not_provided(self, "export a portable Adam state")

    def set_adam_state(self, state: dict[str, np.ndarray]) -> None:
        """Load a portable Adam state, possibly exported by another backend (optional).

        Call it after ``configure_optimizer("adam", ...)``; the weights are not touched.

        Raises:
            ValueError: If the optimiser is not ``"adam"``, or keys or shapes do not fit.
            RuntimeError: If no optimiser is configured.
        """
        raise not_provided(self, "import a portable Adam state")
