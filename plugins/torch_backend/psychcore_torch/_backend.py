"""TorchBackend: psychcore's backend interface on PyTorch (eager mode, CPU or CUDA)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from psychcore import Backend, check_adam_state, validate_weights
from psychcore._rng import SeedLike, as_generator

from . import _losses, _optim
from ._device import SMALL_STEP, intra_op_threads, resolve_device
from ._network import Network

if TYPE_CHECKING:
    import torch
    from torch import Tensor

GENERATOR_KEY = "generator"
def _batch_major(t: Tensor) -> np.ndarray:
    """A time-major tensor as a C-contiguous ``(N_batch, N_steps, N)`` NumPy array."""
    return np.ascontiguousarray(t.detach().cpu().numpy().transpose(1, 0, 2))


class TorchBackend(Backend):
    """Trains psychcore networks with PyTorch (see ``psychcore.Backend`` for the contract).

    Beyond the interface: :meth:`loss_and_gradients` (the objective and its gradients with
    respect to every trainable raw parameter, without a step), :attr:`optimizer` (the
    ``torch.optim`` object after :meth:`configure_optimizer`) and :attr:`num_threads`.

    Threads: small networks are dominated by per-operation overhead, and on a CPU shared with
    other jobs two or more OpenMP threads make each of the thousands of small operations of a
    step wait for a descheduled thread (measured on a loaded 2-core machine: 5-10x slower
    steps at N_rec=50 and 256; on a quiet one, 20-45% faster). So with ``num_threads="auto"``
    (default), CPU steps with at most :data:`SMALL_STEP` recurrent multiply-adds run
    single-threaded: the backend sets torch's intra-op thread count for the duration of its
    own calls and restores it afterwards. Larger networks use torch's setting.
    ``num_threads=None`` never touches it; an int uses that many threads. Results are
    bit-identical only for one thread count.

    Args:
        spec: A bound ModelSpec.
        weights: Weights dict (``docs/equations.md``); copied, completed with the defaults of
            ``psychcore.validate_weights`` and converted to ``spec.dtype``.
        seed: Seed or NumPy Generator; a 63-bit integer drawn from it seeds this backend's own
            ``torch.Generator`` (recurrent noise). No global torch state is touched.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...; ``"cuda"`` when available if None.
        num_threads: ``"auto"``, None or a thread count (see above); with ``psychcore.Model``
            pass ``backend_options={"num_threads": 1}``.

    Raises:
        ImportError: If torch cannot be imported.
        ValueError: For an unbound spec, weights that do not fit it, or a bad device.
    """

    name: ClassVar[str] = "torch"
    description: ClassVar[str] = (
        "PyTorch (eager, CPU or CUDA): rate RNN, LSTM and GRU with every ModelSpec constraint"
    )
    architectures: ClassVar[tuple[str, ...]] = ("rnn", "lstm", "gru")

    def __init__(
        self,
        spec: Any,
        weights: dict[str, np.ndarray],
        *,
        seed: SeedLike = None,
        device: str | None = None,
        num_threads: int | str | None = "auto",
    ) -> None:
        import torch

        super().__init__(spec, weights, seed=seed, device=device)
        if not (num_threads is None or num_threads == "auto" or (
                isinstance(num_threads, int) and not isinstance(num_threads, bool)
                and num_threads > 0)):
            raise ValueError(f"num_threads must be 'auto', None or a positive int; received "
                             f"{num_threads!r}")
        if not getattr(spec, "is_bound", False):
            raise ValueError("TorchBackend needs a bound ModelSpec (spec.bind(task))")
        self.device: str = resolve_device(device)
        self.dtype: torch.dtype = {"float32": torch.float32, "float64": torch.float64}[spec.dtype]
        full = validate_weights(dict(weights), spec.architecture)
        self._check_sizes(full)
        full = {k: np.asarray(v, dtype=np.dtype(spec.dtype)) for k, v in full.items()}
        if spec.train_tau and "tau_raw" not in full:
            raise ValueError(f"spec.train_tau is True but weights has no 'tau_raw' of shape "
                             f"(N_rec,) = ({spec.N_rec},)")
        self._shapes = {k: v.shape for k, v in full.items()}
        self.net = Network(spec, full, self.device, self.dtype)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(as_generator(seed).integers(0, 2**63 - 1)))
        self.optimizer: torch.optim.Optimizer | None = None
        self._names: list[str] = []
        self._clip: float | None = 1.0
        self._step: Any = None
        self._pending: dict[str, np.ndarray] | None = None
        self.num_threads: int | str | None = num_threads

    @classmethod
    def is_available(cls) -> tuple[bool, str]:
        """Whether torch imports here (and why not)."""
        try:
            import torch  # noqa: F401
        except Exception as exc:  # an ImportError, or a broken install raising anything
            why = (f"torch cannot be imported ({type(exc).__name__}: {exc}); install it with "
                   "pip install torch (see pytorch.org for GPU builds)")
            return False, why
        return True, ""

    @classmethod
    def limit_threads(cls, n: int) -> contextlib.AbstractContextManager[None]:
        """torch's intra-op thread pool at ``n`` threads for the block, then restored."""
        return intra_op_threads(int(n))

    def _check_sizes(self, w: dict[str, np.ndarray]) -> None:
        s = self.spec
        got = (w["W_rec"].shape[1], w["W_in"].shape[1], w["W_out"].shape[0])
        if got != (s.N_rec, s.N_in, s.N_out):
            raise ValueError(
                f"weights have N_rec={got[0]}, N_in={got[1]}, N_out={got[2]}; the spec has "
                f"N_rec={s.N_rec}, N_in={s.N_in}, N_out={s.N_out}"
            )

    def _threads(self, n_batch: int) -> contextlib.AbstractContextManager[None]:
        """The intra-op thread count for a call on ``n_batch`` trials (see the class doc)."""
        n = self.num_threads
        if n == "auto":
            work = self.spec.n_gates * self.spec.N_rec**2 * n_batch
            n = 1 if self.device.startswith("cpu") and work <= SMALL_STEP else None
        return intra_op_threads(None if n is None else int(n))

    # ------------------------------------------------------------------ conversions
    def _as_tensor(self, value: Any, name: str, shape: tuple[int | None, ...]) -> Tensor:
        import torch

        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers; received dtype {arr.dtype}")
        fits = arr.ndim == len(shape) and all(
            e is None or e == a for e, a in zip(shape, arr.shape, strict=True))
        if not fits or 0 in arr.shape:
            expected = tuple("N" if e is None else e for e in shape)
            raise ValueError(f"{name} has shape {arr.shape}; expected {expected} (N >= 1)")
        return torch.as_tensor(arr, dtype=self.dtype, device=self.device)

    def _x(self, x: Any) -> Tensor:
        """Time-major inputs ``(N_steps, N_batch, N_in)``."""
        return self._as_tensor(x, "x", (None, None, self.spec.N_in)).transpose(0, 1).contiguous()

    def _noise(self, u: Tensor, noise: Any) -> Tensor | None:
        """Time-major standard normals: ``noise`` when given, else drawn if the spec has noise."""
        import torch

        s = self.spec
        n_steps, n_batch = u.shape[0], u.shape[1]
        if noise is not None:
            if s.architecture != "rnn":
                raise ValueError(f"recurrent noise is defined for architecture 'rnn' only; "
                                 f"this network is {s.architecture!r}")
            return self._as_tensor(noise, "noise", (n_batch, n_steps, s.N_rec)).transpose(0, 1)
        if s.rec_noise > 0:
            return torch.randn((n_steps, n_batch, s.N_rec), generator=self.generator,
                               dtype=self.dtype, device=self.device)
        return None

    # ------------------------------------------------------------------ forward
    def forward(
        self, x: np.ndarray, noise: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on ``x`` ``(N_trials, N_steps, N_in)``; any number of trials.

        Returns:
            ``(outputs, states)`` as NumPy arrays of ``spec.dtype`` on the CPU.
        """
        import torch

        with torch.inference_mode():
            u = self._x(x)
            xi = self._noise(u, noise)
            with self._threads(u.shape[1]):
                outputs, states, _ = self.net.run(u, xi, self.spec.rec_noise)
        return _batch_major(outputs), _batch_major(states)

    def _objective(self, u: Tensor, y: Tensor, mask: Tensor, xi: Tensor | None) -> Tensor:
        """Loss plus regularisation of one batch (differentiable; all tensors time-major)."""
        spec = self.spec
        outputs, states, eff = self.net.run(u, xi, spec.rec_noise)
        if callable(spec.loss):  # the user's function sees (N_batch, N_steps, N_out)
            value = _losses.task_loss(spec.loss, *(t.transpose(0, 1) for t in (outputs, y, mask)))
        else:  # built-in losses are means over all entries: the layout does not matter
            value = _losses.task_loss(spec.loss, outputs, y, mask)
        reg = _losses.regularization(spec, eff, self.net.rates(states), states.transpose(0, 1),
                                     self.net.tensors)
        return value if reg is None else value + reg

    def _batch(self, x: Any, y: Any, mask: Any, noise: Any) -> tuple[Tensor, ...]:
        """Time-major tensors of a batch, checked before any noise is drawn."""
        u = self._x(x)
        shape = (u.shape[1], u.shape[0], self.spec.N_out)
        y_t, mask_t = (self._as_tensor(a, name, shape).transpose(0, 1).contiguous()
                       for a, name in ((y, "y"), (mask, "mask")))
        return u, y_t, mask_t, self._noise(u, noise)

    def loss_and_gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        mask: np.ndarray,
        noise: np.ndarray | None = None,
    ) -> tuple[float, dict[str, np.ndarray]]:
        import torch

        u, yt, mt, xi = self._batch(x, y, mask, noise)
        params = self.net.trainable()
        with self._threads(u.shape[1]):
            value = self._objective(u, yt, mt, xi)
            grads = torch.autograd.grad(value, list(params.values()), allow_unused=True)
        return float(value.detach()), {
            k: np.zeros(p.shape, dtype=np.dtype(self.spec.dtype)) if g is None
            else g.cpu().numpy() for (k, p), g in zip(params.items(), grads, strict=True)
        }

    # ------------------------------------------------------------------ training
    def configure_optimizer(
        self,
        optimizer: Any = "adam",
        learning_rate: float = 1e-3,
        clip_grads: bool | float = True,
        **kwargs: Any,
    ) -> None:
        """Create a fresh optimiser over the trainable parameters.

        Args:
            optimizer: Case-insensitive ``torch.optim`` class name (``"adam"``, ``"sgd"``,
                ``"rmsprop"``, ``"adamw"``, ...), an ``Optimizer`` subclass, or a factory
                ``fn(params, lr) -> Optimizer``.
            learning_rate: Step size.
            clip_grads: True clips by global norm 1, a number by that norm, False not at all.
            **kwargs: Passed to the optimiser (``weight_decay=...``, ``momentum=...``).

        Raises:
            ValueError: For an unknown optimiser name or when nothing is trainable.
        """
        params = self.net.trainable()
        if not params:
            raise ValueError("nothing to train: every *_train flag of the spec is False")
        clip = _optim.clip_norm(clip_grads)
        self.optimizer = _optim.make_optimizer(optimizer, list(params.values()),
                                               float(learning_rate), **kwargs)
        self._names = list(params)
        self._clip = clip
        self._step = _optim.step_fn(self.optimizer)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            _optim.import_state(self.optimizer, self._names, pending)

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

        opt = self.optimizer
        if opt is None:
            raise RuntimeError("call configure_optimizer() before train_step()")
        u, yt, mt, xi = self._batch(x, y, mask, noise)
        params = list(self.net.params[k] for k in self._names)

        def closure() -> Tensor:
            opt.zero_grad(set_to_none=True)
            value = self._objective(u, yt, mt, xi)
            value.backward()
            self.net.mask_fixed_grads()
            if self._clip is not None:
                _optim.clip_global_norm_(params, self._clip)
            return value

        with self._threads(u.shape[1]):
            value = self._step(closure)
            self.net.restore_fixed()
        return float(value.detach())

    # ------------------------------------------------------------------ weights and state
    def get_weights(self) -> dict[str, np.ndarray]:
        """Every key of the weights dict, as NumPy copies of ``spec.dtype``."""
        out = {k: v.copy() for k, v in self.net.structure.items()}
        out.update({k: p.detach().cpu().numpy().copy() for k, p in self.net.params.items()})
        return {k: out[k] for k in self._shapes}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Replace some or all arrays (raw parameters and structure); shapes must match.

        The optimiser keeps its state; entries marked fixed keep the values given here.

        Raises:
            ValueError: For an unknown key or a wrong shape (naming the key, the expected and
                the received shape), or values ``psychcore.validate_weights`` refuses.
        """
        given = {}
        for key, value in weights.items():
            if key not in self._shapes:
                raise ValueError(f"set_weights: unknown key {key!r}; this network has "
                                 f"{list(self._shapes)}")
            arr = np.asarray(np.nan if key == "dale_ratio" and value is None else value)
            if arr.shape != self._shapes[key]:
                raise ValueError(f"set_weights: weights[{key!r}] has shape {arr.shape}; "
                                 f"expected {self._shapes[key]}")
            given[key] = arr
        merged = self.get_weights()
        merged.update(given)
        merged = validate_weights(merged, self.spec.architecture)
        self.net.load({k: np.asarray(v, dtype=np.dtype(self.spec.dtype))
                       for k, v in merged.items()})

    def get_training_state(self) -> dict[str, np.ndarray]:
        """Optimiser slots and counters (``optimizer/<param>/<slot>``) and the noise
        generator's state (``generator``, ``torch.Generator.get_state()`` as uint8)."""
        state = {} if self.optimizer is None else _optim.export_state(self.optimizer,
                                                                      self._names)
        state[GENERATOR_KEY] = self.generator.get_state().numpy().copy()
        return state

    def set_training_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`get_training_state`'s arrays.

        Call it after :meth:`configure_optimizer`. Without an optimiser yet, the optimiser
        part is kept and loaded into the next one configured.
        """
        import torch

        if GENERATOR_KEY in state:
            self.generator.set_state(torch.from_numpy(
                np.ascontiguousarray(state[GENERATOR_KEY], dtype=np.uint8)))
        optimizer_part = {k: v for k, v in state.items() if k.startswith(_optim.PREFIX)}
        if self.optimizer is None:
            self._pending = optimizer_part or None
        else:
            _optim.import_state(self.optimizer, self._names, optimizer_part)

    def _adam(self) -> Any:
        import torch

        opt = self.optimizer
        if opt is None:
            raise RuntimeError("call configure_optimizer('adam') before reading or loading its "
                               "state")
        is_adam = isinstance(opt, _optim.psychrnn_adam()) or (
            type(opt) is torch.optim.Adam and not opt.defaults.get("amsgrad"))
        if not is_adam:
            raise ValueError(f"the portable Adam state needs optimizer 'adam'; this backend "
                             f"trains with {type(opt).__name__}")
        return opt

    def get_adam_state(self) -> dict[str, np.ndarray]:
        opt = self._adam()
        out: dict[str, np.ndarray] = {}
        steps = set()
        for name in self._names:
            param = self.net.params[name]
            slots = opt.state.get(param) or {}
            for key, slot in (("m", "exp_avg"), ("v", "exp_avg_sq")):
                out[f"{key}/{name}"] = (slots[slot].detach().cpu().numpy().copy() if slots else
                                        np.zeros(tuple(param.shape), np.dtype(self.spec.dtype)))
            steps.add(int(slots["step"]) if slots else 0)
        if len(steps) > 1:
            raise RuntimeError(f"Adam's parameters have taken different numbers of steps "
                               f"({sorted(steps)}); the state is not portable")
        out["step"] = np.array(steps.pop(), dtype=np.int64)
        return out

    def set_adam_state(self, state: dict[str, np.ndarray]) -> None:
        import torch

        opt = self._adam()
        params = {name: self.net.params[name] for name in self._names}
        step, m, v = check_adam_state(state, {k: tuple(p.shape) for k, p in params.items()})
        for name, param in params.items():
            opt.state.pop(param, None)
            if step:
                opt.state[param] = {
                    "step": torch.tensor(float(step), dtype=torch.float64),
                    "exp_avg": torch.tensor(m[name], dtype=param.dtype, device=param.device),
                    "exp_avg_sq": torch.tensor(v[name], dtype=param.dtype, device=param.device),
                }

    def __repr__(self) -> str:
        s = self.spec
        return (f"TorchBackend(architecture={s.architecture!r}, N_rec={s.N_rec}, "
                f"device={self.device!r}, dtype={s.dtype!r})")
