"""TorchBackend: psychcore's backend kit on PyTorch (eager mode, CPU or CUDA)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import numpy as np

from psychcore.backend import Batch, FrameworkBackend, regularization

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


class TorchBackend(FrameworkBackend):
    """Trains psychcore networks with PyTorch (see ``psychcore.backend.Backend`` for the
    contract and ``psychcore.backend.FrameworkBackend`` for the decisions every backend shares).

    Beyond the interface: :attr:`optimizer` (the ``torch.optim`` object after
    :meth:`configure_optimizer`) and :attr:`num_threads`. Optimiser names are ``torch.optim``'s
    class names, case-insensitive, with ``"adam"`` computing TensorFlow's (and PsychRNN's)
    update exactly (:func:`psychcore_torch.optimizer_classes`).

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
        weights: Weights dict (``docs/equations.md``); copied, completed and converted to
            ``spec.dtype``.
        seed: Seed or NumPy Generator; one draw from it seeds this backend's own
            ``torch.Generator`` (recurrent noise). No global torch state is touched.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...; ``"cuda"`` when available if None.

    Backend options (``backend_options={...}`` with ``psychcore.Model``): ``num_threads``,
    ``"auto"``, None or a thread count (see above), e.g. ``{"num_threads": 1}``.

    Raises:
        ImportError: If torch cannot be imported.
        ValueError: For an unbound spec, weights that do not fit it, or a bad device.
    """

    name = "torch"
    description = (
        "PyTorch (eager, CPU or CUDA): rate RNN, LSTM and GRU with every ModelSpec constraint"
    )

    def _set_options(self, num_threads: int | str | None = "auto") -> None:
        if not (num_threads is None or num_threads == "auto" or (
                isinstance(num_threads, int) and not isinstance(num_threads, bool)
                and num_threads > 0)):
            raise ValueError(f"num_threads must be 'auto', None or a positive int; received "
                             f"{num_threads!r}")
        self.num_threads: int | str | None = num_threads
        self.optimizer: torch.optim.Optimizer | None = None

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

    def _threads(self, n_batch: int) -> contextlib.AbstractContextManager[None]:
        """The intra-op thread count for a call on ``n_batch`` trials (see the class doc)."""
        n = self.num_threads
        if n == "auto":
            work = self.spec.n_gates * self.spec.N_rec**2 * n_batch
            n = 1 if self.device.startswith("cpu") and work <= SMALL_STEP else None
        return intra_op_threads(None if n is None else int(n))

    # ------------------------------------------------------------------ building
    def _resolve_device(self, device: str | None) -> str:
        return resolve_device(device)

    def _build(self, weights: dict[str, np.ndarray]) -> None:
        import torch

        self.dtype: torch.dtype = {"float32": torch.float32,
                                   "float64": torch.float64}[self.spec.dtype]
        self.net = Network(self.spec, weights, self.device, self.dtype)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(self.framework_seed)

    def _tensors(self, batch: Batch) -> tuple[Tensor, ...]:
        """Time-major ``(u, y, mask, xi)`` of a batch (None where absent); noise drawn here."""
        import torch

        def tm(a: np.ndarray | None) -> Tensor | None:
            if a is None:
                return None
            return torch.as_tensor(a, device=self.device).transpose(0, 1).contiguous()

        xi = tm(batch.noise)
        if batch.noise_mode == "draw":
            xi = torch.randn((batch.n_steps, batch.n_trials, self.spec.N_rec),
                             generator=self.generator, dtype=self.dtype, device=self.device)
        return tm(batch.x), tm(batch.y), tm(batch.mask), xi

    # ------------------------------------------------------------------ arithmetic
    def _forward(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.inference_mode():
            u, _, _, xi = self._tensors(batch)
            with self._threads(batch.n_trials):
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
        reg = regularization(spec, eff, self.net.rates(states), mean=lambda t: t.mean(),
                             absolute=lambda t: t.abs(),
                             custom_args=lambda: (self.net.tensors(), states.transpose(0, 1)))
        return value if reg is None else value + reg

    def _gradients(self, batch: Batch) -> tuple[float, dict[str, np.ndarray]]:
        import torch

        u, y, mask, xi = self._tensors(batch)
        params = self.net.trainable()
        with self._threads(batch.n_trials):
            value = self._objective(u, y, mask, xi)
            grads = torch.autograd.grad(value, list(params.values()), allow_unused=True)
        return float(value.detach()), {
            k: np.zeros(p.shape, dtype=self.np_dtype) if g is None else g.cpu().numpy()
            for (k, p), g in zip(params.items(), grads, strict=True)
        }

    def _configure(self, optimizer: Any, learning_rate: float, **kwargs: Any) -> None:
        params = self.net.trainable()
        self.optimizer = _optim.make_optimizer(optimizer, list(params.values()), learning_rate,
                                               **kwargs)
        self._step = _optim.step_fn(self.optimizer)

    def _train_step(self, batch: Batch) -> float:
        opt = self.optimizer
        u, y, mask, xi = self._tensors(batch)
        params = [self.net.params[k] for k in self.trainable]

        def closure() -> Tensor:
            opt.zero_grad(set_to_none=True)
            value = self._objective(u, y, mask, xi)
            value.backward()
            self.net.mask_fixed_grads()
            if self.clip is not None:
                _optim.clip_global_norm_(params, self.clip)
            return value

        with self._threads(batch.n_trials):
            value = self._step(closure)
            self.net.restore_fixed()
        return float(value.detach())

    # ------------------------------------------------------------------ weights and state
    def _get_params(self) -> dict[str, np.ndarray]:
        return {k: p.detach().cpu().numpy().copy() for k, p in self.net.params.items()}

    def _set_params(self, weights: dict[str, np.ndarray], structure_changed: bool) -> None:
        self.net.load(weights)

    def _get_optimizer_state(self) -> dict[str, np.ndarray]:
        return _optim.export_state(self.optimizer, self.trainable)

    def _set_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        _optim.import_state(self.optimizer, self.trainable, state)

    def _get_rng_state(self) -> dict[str, np.ndarray]:
        return {GENERATOR_KEY: self.generator.get_state().numpy().copy()}

    def _set_rng_state(self, state: dict[str, np.ndarray]) -> None:
        import torch

        if GENERATOR_KEY not in state:
            raise ValueError(f"the training state has no {GENERATOR_KEY!r} (the noise "
                             "generator's state)")
        self.generator.set_state(torch.from_numpy(
            np.ascontiguousarray(state[GENERATOR_KEY], dtype=np.uint8)))

    def _get_adam(self) -> tuple[int, dict[str, np.ndarray], dict[str, np.ndarray]]:
        m, v, steps = {}, {}, set()
        for name in self.trainable:
            param = self.net.params[name]
            slots = self.optimizer.state.get(param) or {}
            zeros = np.zeros(tuple(param.shape), self.np_dtype)
            m[name] = slots["exp_avg"].detach().cpu().numpy().copy() if slots else zeros
            v[name] = slots["exp_avg_sq"].detach().cpu().numpy().copy() if slots else zeros
            steps.add(int(slots["step"]) if slots else 0)
        if len(steps) > 1:
            raise RuntimeError(f"Adam's parameters have taken different numbers of steps "
                               f"({sorted(steps)}); the state is not portable")
        return steps.pop(), m, v

    def _set_adam(self, step: int, m: dict[str, np.ndarray], v: dict[str, np.ndarray]) -> None:
        import torch

        for name in self.trainable:
            param = self.net.params[name]
            self.optimizer.state.pop(param, None)
            if step:
                self.optimizer.state[param] = {
                    "step": torch.tensor(float(step), dtype=torch.float64),
                    "exp_avg": torch.tensor(m[name], dtype=param.dtype, device=param.device),
                    "exp_avg_sq": torch.tensor(v[name], dtype=param.dtype, device=param.device),
                }
