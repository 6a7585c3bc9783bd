"""FrameworkBackend: the interface's bookkeeping done once, so a backend writes framework code.

A subclass implements a handful of hooks (``_build``, ``_forward``, ``_train_step``,
``_configure``, ``_get_params``, ``_set_params``, the state hooks), each receiving checked
NumPy data (:class:`~psychcore.backend.Batch`, complete weights in the spec's dtype) and
returning NumPy data. Everything else — argument checks, the contract's decisions, the
optimiser state that arrives before the optimiser, the portable Adam keys — lives here.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .._backend import Backend, not_provided
from .._rng import SeedLike
from ._arrays import (
    Batch,
    check_batch,
    check_spec,
    merge_weights,
    prepare_weights,
    structure_of,
    trainable_keys,
)
from ._rules import (
    check_adam_state,
    check_learning_rate,
    check_optimizer,
    clip_norm,
    derive_seed,
    portable_adam_state,
)

#: Prefix of the optimiser's entries in :meth:`FrameworkBackend.get_training_state`.
OPTIMIZER_PREFIX = "optimizer/"


class FrameworkBackend(Backend):
    """Base class of backends built on a tensor framework (see the module docstring).

    The contract's open points, decided here once for every backend:

    - :meth:`train_step` and :meth:`loss_and_gradients` before :meth:`configure_optimizer`:
      ``train_step`` raises RuntimeError; ``loss_and_gradients`` needs no optimiser.
    - ``optimizer``: a name (case-insensitive), a framework optimiser class, or a factory
      ``fn(params, learning_rate, **kwargs)``; an optimiser instance is refused (TypeError).
    - ``clip_grads``: True (norm 1), False, or a positive number; anything else (None
      included) is refused (see :func:`~psychcore.backend.clip_norm`).
    - ``set_weights``: any subset of keys, each of the current shape after the weights
      format's normalisation; the optimiser's state is kept.
    - ``set_training_state`` before ``configure_optimizer``: the optimiser's part is kept and
      loaded by the next ``configure_optimizer`` (which must build the same kind).
    - The portable Adam state exists when the optimiser was configured by the name
      ``"adam"`` and the subclass implements ``_get_adam`` / ``_set_adam``.
    - The backend's framework generator is seeded from one draw of ``seed``
      (:func:`~psychcore.backend.derive_seed`): :attr:`framework_seed`.

    A subclass does not override ``__init__``: its own options are the keyword parameters of
    :meth:`_set_options`. Attributes set before ``_build`` is called: ``spec``, ``device`` (from
    :meth:`_resolve_device`), ``np_dtype``, ``framework_seed``, ``structure`` (the structural
    entries of the weights dict, NumPy) and ``trainable`` (keys of the trained parameters).
    """

    #: Hooks that make optional interface methods available (checked by the conformance
    #: suite through :func:`psychcore.backend.implements`).
    optional_hooks: ClassVar[dict[str, str]] = {
        "loss_and_gradients": "_gradients",
        "get_adam_state": "_get_adam",
        "set_adam_state": "_set_adam",
    }

    def __init__(
        self,
        spec: Any,
        weights: dict[str, np.ndarray],
        *,
        seed: SeedLike = None,
        device: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(spec, weights, seed=seed, device=device)
        accepted = inspect.signature(self._set_options)
        try:
            accepted.bind(**options)
        except TypeError:
            names = [p for p in accepted.parameters] or ["none"]
            raise TypeError(f"backend {self.name!r} has no option(s) "
                            f"{sorted(set(options) - set(accepted.parameters))}; its options: "
                            f"{', '.join(names)}") from None
        self._set_options(**options)
        check_spec(spec, self.architectures, self.name)
        full = prepare_weights(spec, weights)
        self.np_dtype = np.dtype(spec.dtype)
        self.device = self._resolve_device(device)
        self.framework_seed = derive_seed(seed)
        self._shapes = {k: v.shape for k, v in full.items()}
        self.structure = structure_of(full)
        self.trainable = trainable_keys(spec, full)
        self.optimizer_name: str | None = None
        self.clip: float | None = 1.0
        self._configured = False
        self._pending_optimizer_state: dict[str, np.ndarray] | None = None
        self._build(full)

    # ------------------------------------------------------------------ hooks
    def _set_options(self) -> None:
        """Take the backend's own constructor options (``Model(backend_options=...)``).

        Override with keyword parameters, each with its default; the kit refuses options the
        signature does not name. Called first, before :meth:`_resolve_device` and
        :meth:`_build`.
        """

    def _resolve_device(self, device: str | None) -> Any:
        """The framework's device for ``device`` (None: the framework's default).

        Raises:
            ValueError: For a device that cannot be used here.
        """
        return device if device is not None else "cpu"

    @abc.abstractmethod
    def _build(self, weights: dict[str, np.ndarray]) -> None:
        """Create the framework's tensors and generator from complete, checked weights."""

    @abc.abstractmethod
    def _forward(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """Outputs ``(N, T, N_out)`` and states ``(N, T, N_rec)`` in ``spec.dtype``."""

    def _outputs(self, batch: Batch) -> np.ndarray:
        """The outputs of :meth:`_forward` alone; override to skip the states (optional)."""
        return self._forward(batch)[0]

    @abc.abstractmethod
    def _train_step(self, batch: Batch) -> float:
        """One step with the configured optimiser and :attr:`clip`; the loss before it."""

    @abc.abstractmethod
    def _configure(self, optimizer: str | Callable[..., Any], learning_rate: float,
                   **kwargs: Any) -> None:
        """Build a fresh framework optimiser (a lower-case name, a class or a factory).

        Raises:
            ValueError: For a name the framework does not know (list the known ones).
        """

    @abc.abstractmethod
    def _get_params(self) -> dict[str, np.ndarray]:
        """The raw parameters (every key of :data:`PARAMETERS` present) as NumPy copies."""

    @abc.abstractmethod
    def _set_params(self, weights: dict[str, np.ndarray], structure_changed: bool) -> None:
        """Load complete weights; :attr:`structure` already holds the new structure."""

    @abc.abstractmethod
    def _get_optimizer_state(self) -> dict[str, np.ndarray]:
        """The optimiser's slots and counters as NumPy arrays (keys without a prefix)."""

    @abc.abstractmethod
    def _set_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        """Load :meth:`_get_optimizer_state`'s arrays into the configured optimiser."""

    @abc.abstractmethod
    def _get_rng_state(self) -> dict[str, np.ndarray]:
        """The framework generator's state (keys of the backend's choice, none starting with
        ``optimizer/``)."""

    @abc.abstractmethod
    def _set_rng_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`_get_rng_state`'s arrays (given the whole training state).

        Raises:
            ValueError: If the state does not fit this backend's generator.
        """

    def _gradients(self, batch: Batch) -> tuple[float, dict[str, np.ndarray]]:
        """Optional: the objective and its gradients for :attr:`trainable` keys."""
        raise not_provided(self, "expose its gradients")

    def _get_adam(self) -> tuple[int, dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Optional: Adam's step count and first/second moments by trained key."""
        raise not_provided(self, "export a portable Adam state")

    def _set_adam(self, step: int, m: dict[str, np.ndarray], v: dict[str, np.ndarray]) -> None:
        """Optional: load Adam's step count and moments (already checked)."""
        raise not_provided(self, "import a portable Adam state")

    # ------------------------------------------------------------------ interface
    def check_batch(self, x: Any, y: Any = None, mask: Any = None,
                    noise: Any = None) -> Batch:
        """The checked batch (see :func:`psychcore.backend.check_batch`)."""
        return check_batch(self.spec, x, y, mask, noise)

    def configure_optimizer(
        self,
        optimizer: Any = "adam",
        learning_rate: float = 1e-3,
        clip_grads: bool | float = True,
        **kwargs: Any,
    ) -> None:
        """Create a fresh optimiser (see the class docstring for the accepted arguments).

        Raises:
            TypeError: For an optimiser instance or arguments of the wrong type.
            ValueError: For an unknown name, a bad learning rate or bound, or when nothing
                trains.
        """
        if not self.trainable:
            raise ValueError("nothing to train: every *_train flag of the spec is False")
        checked = check_optimizer(optimizer)
        lr = check_learning_rate(learning_rate)
        clip = clip_norm(clip_grads)
        self._configure(checked, lr, **kwargs)
        self.optimizer_name = checked if isinstance(checked, str) else None
        self.clip = clip
        self._configured = True
        if self._pending_optimizer_state is not None:
            pending, self._pending_optimizer_state = self._pending_optimizer_state, None
            self._set_optimizer_state(pending)

    def train_step(
        self,
        x: np.ndarray,
        y: np.ndarray,
        mask: np.ndarray,
        noise: np.ndarray | None = None,
    ) -> float:
        """One optimisation step; returns the loss (with regularisation) before it.

        Raises:
            RuntimeError: If :meth:`configure_optimizer` was never called.
        """
        batch = self.check_batch(x, y, mask, noise)
        if not self._configured:
            raise RuntimeError("call configure_optimizer() before train_step()")
        return float(self._train_step(batch))

    def loss_and_gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        mask: np.ndarray,
        noise: np.ndarray | None = None,
    ) -> tuple[float, dict[str, np.ndarray]]:
        value, grads = self._gradients(self.check_batch(x, y, mask, noise))
        return float(value), {k: np.asarray(grads[k]) for k in self.trainable}

    def forward(
        self, x: np.ndarray, noise: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on ``x`` ``(N_trials, N_steps, N_in)``; any number of trials.

        Returns:
            ``(outputs, states)`` as NumPy arrays of ``spec.dtype``.
        """
        return self._forward(self.check_batch(x, noise=noise))

    def outputs(self, x: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        """``forward(x, noise)[0]``, without the states where the backend's ``_outputs``
        skips them."""
        return self._outputs(self.check_batch(x, noise=noise))

    def get_weights(self) -> dict[str, np.ndarray]:
        """Every key of the weights dict, as NumPy copies of ``spec.dtype``."""
        out = {k: v.copy() for k, v in self.structure.items()}
        out.update(self._get_params())
        return {k: out[k] for k in self._shapes}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Replace some or all arrays (see :func:`psychcore.backend.merge_weights`).

        The optimiser keeps its state; entries marked fixed keep the values given here.
        """
        merged, changed = merge_weights(self.spec, self.get_weights(), weights)
        self.structure = structure_of(merged)
        self._set_params(merged, changed)

    def get_training_state(self) -> dict[str, np.ndarray]:
        """The optimiser's state (``optimizer/...``) and the generator's, as NumPy arrays."""
        if self._configured:
            opt = self._get_optimizer_state()
        else:
            opt = dict(self._pending_optimizer_state or {})
        state = {OPTIMIZER_PREFIX + k: np.array(v) for k, v in opt.items()}
        state.update(self._get_rng_state())
        return state

    def set_training_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`get_training_state`'s arrays (see the class docstring).

        Raises:
            TypeError: If ``state`` is not a dict.
            ValueError: If it does not fit this backend's generator or optimiser.
        """
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict of arrays; received {type(state).__name__}")
        opt = {k[len(OPTIMIZER_PREFIX):]: v for k, v in state.items()
               if k.startswith(OPTIMIZER_PREFIX)}
        self._set_rng_state(state)
        if self._configured:
            self._set_optimizer_state(opt)
        else:
            self._pending_optimizer_state = opt or None

    def _require_adam(self) -> None:
        if not self._configured:
            raise RuntimeError("call configure_optimizer('adam') before reading or loading its "
                               "state")
        if self.optimizer_name != "adam":
            raise ValueError(f"the portable Adam state needs optimizer 'adam'; this backend "
                             f"was configured with {self.optimizer_name or 'a class or factory'}")

    def get_adam_state(self) -> dict[str, np.ndarray]:
        self._require_adam()
        return portable_adam_state(*self._get_adam())

    def set_adam_state(self, state: dict[str, np.ndarray]) -> None:
        self._require_adam()
        shapes = {k: self._shapes[k] for k in self.trainable}
        self._set_adam(*check_adam_state(state, shapes))

    def __repr__(self) -> str:
        s = self.spec
        return (f"{type(self).__name__}(architecture={s.architecture!r}, N_rec={s.N_rec}, "
                f"device={self.device!r}, dtype={s.dtype!r})")
