"""TensorFlowBackend: psychcore's Backend interface on TensorFlow 2.

Eager TensorFlow with ``tf.function``-compiled forward passes and training steps
(:mod:`psychcore_tf._steps`), no sessions, no global graph and no global seeds: each backend
owns its variables, its Keras optimiser, its ``tf.random.Generator`` and its compiled
functions, so several live side by side in one process and each is garbage-collected with its
last reference.
"""

from __future__ import annotations

import os
from numbers import Real
from typing import Any, ClassVar

import numpy as np

from psychcore import Backend, check_adam_state, validate_weights
from psychcore._rng import SeedLike, as_generator

from ._losses import loss_function
from ._network import LOOPS, Network
from ._optim import STATE_PREFIX, make_optimizer, optimizer_state, set_optimizer_state
from ._steps import Compiled
from ._tf import import_tensorflow, tensorflow_status

#: Environment variable overriding the loop implementation (one of ``LOOPS``).
ENV_LOOP = "PSYCHCORE_TF_LOOP"
#: Environment variable switching XLA compilation on (``1``) or off (``0``).
ENV_JIT = "PSYCHCORE_TF_JIT"
#: Trials of at most this many steps use the ``"unrolled"`` loop by default, longer ones the
#: ``"chunked"`` loop (see ``benchmarks/bench_tf.py`` and the README for the measurements).
UNROLL_MAX_STEPS = 40
RNG_STATE, RNG_ALGORITHM = "rng/state", "rng/algorithm"


def auto_loop(n_steps: int) -> str:
    """The default loop implementation for trials of ``n_steps`` steps."""
    return "unrolled" if n_steps <= UNROLL_MAX_STEPS else "chunked"


def resolve_device(tf: Any, device: str | None) -> str:
    """A TensorFlow device string: the first GPU when present (default), else the CPU.

    ``"cpu"``, ``"gpu"``, ``"cuda"``, ``"cuda:1"`` and TensorFlow's own spellings
    (``"/GPU:0"``) are accepted.

    Raises:
        TypeError: If ``device`` is not a string or None.
        ValueError: If a GPU is requested and TensorFlow sees none (or not that many).
    """
    gpus = tf.config.list_physical_devices("GPU")
    if device is None:
        return "/GPU:0" if gpus else "/CPU:0"
    if not isinstance(device, str):
        raise TypeError(f"device must be a str or None; received {type(device).__name__}")
    kind, _, index = device.strip().lstrip("/").lower().partition(":")
    kind = "gpu" if kind == "cuda" else kind
    if kind not in ("cpu", "gpu") or not (index or "0").isdigit():
        return device
    index = index or "0"
    if kind == "gpu" and int(index) >= len(gpus):
        raise ValueError(f"device {device!r} requested but TensorFlow sees {len(gpus)} GPU(s); "
                         "use device='cpu' or None")
    return f"/{kind.upper()}:{index}"


def _env_choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return None
    if value not in allowed:
        raise ValueError(f"environment variable {name}={value!r}; expected one of {allowed}")
    return value


def clip_norm(clip_grads: Any) -> float | None:
    """Global-norm clipping threshold: True -> 1.0, False -> None, a positive number as is.

    Raises:
        TypeError: For anything but a bool or a number.
        ValueError: For a number that is not positive and finite.
    """
    if isinstance(clip_grads, bool):
        return 1.0 if clip_grads else None
    if not isinstance(clip_grads, Real):
        raise TypeError(f"clip_grads must be a bool or a number; received "
                        f"{type(clip_grads).__name__}")
    if not 0 < float(clip_grads) < float("inf"):
        raise ValueError(f"clip_grads must be True, False or a positive number; received "
                         f"{clip_grads!r}")
    return float(clip_grads)


class TensorFlowBackend(Backend):
    """Train psychcore networks on TensorFlow 2 (see the module docstring).

    Args:
        spec: A bound ModelSpec.
        weights: The weights dict of ``docs/equations.md`` (copied; missing optional keys
            get the defaults of ``psychcore.validate_weights``).
        seed: Seed or ``numpy.random.Generator``; the recurrent-noise generator
            (``tf.random.Generator``, Philox) is seeded from one draw of it.
        device: ``"cpu"``, ``"gpu"``/``"cuda"`` (``":N"`` for another GPU) or a TensorFlow
            device string; the first GPU when one is present, else the CPU, when None.
        loop: Time-loop implementation, ``"unrolled"``, ``"while"`` or ``"chunked"`` (see
            :mod:`psychcore_tf._network`); by default the environment variable
            ``PSYCHCORE_TF_LOOP`` or :func:`auto_loop` of the trial length.
        jit_compile: Compile with XLA; by default off unless ``PSYCHCORE_TF_JIT=1`` (XLA was
            measured slower on CPUs, see the README).

    Raises:
        ImportError: If TensorFlow cannot be imported.
        ValueError: If the spec is not bound or the weights do not fit it.
    """

    name: ClassVar[str] = "tensorflow"
    description: ClassVar[str] = (
        "TensorFlow 2: tf.function-compiled rate RNN, LSTM and GRU training on CPU or GPU"
    )
    architectures: ClassVar[tuple[str, ...]] = ("rnn", "lstm", "gru")

    def __init__(
        self,
        spec: Any,
        weights: dict[str, np.ndarray],
        *,
        seed: SeedLike = None,
        device: str | None = None,
        loop: str | None = None,
        jit_compile: bool | None = None,
    ) -> None:
        super().__init__(spec, weights, seed=seed, device=device)
        if not getattr(spec, "is_bound", False):
            raise ValueError("TensorFlowBackend needs a bound ModelSpec: spec.bind(task)")
        if spec.architecture not in self.architectures:
            raise ValueError(f"architecture {spec.architecture!r} is not one of "
                             f"{self.architectures}")
        loop = loop if loop is not None else _env_choice(ENV_LOOP, LOOPS + ("auto",))
        if loop not in (None, "auto", *LOOPS):
            raise ValueError(f"loop must be one of {LOOPS}, 'auto' or None; received {loop!r}")
        self.loop: str | None = None if loop == "auto" else loop
        if jit_compile is None:
            jit_compile = _env_choice(ENV_JIT, ("0", "1")) == "1"
        tf = self._tf = import_tensorflow()
        w = self._checked_weights(weights)
        self.device = resolve_device(tf, device)
        self._np_dtype = np.dtype(spec.dtype)
        with tf.device(self.device):
            self._net = Network(tf, spec, w)
            tf_seed = int(as_generator(seed).integers(0, 2**63 - 1))
            self._gen = tf.random.Generator.from_seed(tf_seed)
        self._fns = Compiled(tf, self._net, self._gen, loss_function(tf, spec.loss),
                             lambda n: self.loop or auto_loop(n), bool(jit_compile))
        self._pending_state: dict[str, np.ndarray] | None = None

    @classmethod
    def is_available(cls) -> tuple[bool, str]:
        """Whether TensorFlow (>= 2.16) imports here, and why not if it does not."""
        return tensorflow_status()

    @property
    def jit_compile(self) -> bool:
        """Whether the compiled functions use XLA."""
        return self._fns.jit_compile

    # ------------------------------------------------------------------ validation
    def _checked_weights(self, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        spec = self.spec
        if not isinstance(weights, dict):
            raise TypeError(f"weights must be a dict of arrays; received "
                            f"{type(weights).__name__}")
        w = validate_weights(dict(weights), spec.architecture)
        sizes = {"N_rec": w["W_rec"].shape[1], "N_in": w["W_in"].shape[1],
                 "N_out": w["W_out"].shape[0]}
        for key, got in sizes.items():
            if getattr(spec, key) != got:
                raise ValueError(f"the weights have {key}={got}; the spec has "
                                 f"{key}={getattr(spec, key)}")
        if spec.train_tau and "tau_raw" not in w:
            raise ValueError("spec.train_tau is True but the weights have no 'tau_raw' of shape "
                             f"(N_rec,) = ({spec.N_rec},)")
        if "tau_raw" in w and spec.tau_range is None:
            raise ValueError("the weights have 'tau_raw' but spec.tau_range is None")
        return w

    def _array(self, value: Any, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a numeric array; received dtype {arr.dtype}")
        fits = arr.ndim == len(shape) and all(
            want is None or want == got for want, got in zip(shape, arr.shape, strict=True))
        if not fits or 0 in arr.shape[:2]:
            names = ("N_trials", "N_steps")
            label = ", ".join(names[i] if s is None else str(s) for i, s in enumerate(shape))
            raise ValueError(f"{name} has shape {arr.shape}; expected ({label}) with at least "
                             "one trial and one step")
        return np.asarray(arr, dtype=self._np_dtype)

    def _inputs(self, x: Any, y: Any = None, mask: Any = None,
                noise: Any = None) -> tuple[tuple[np.ndarray, ...], str]:
        """Checked arrays in the spec's dtype and the noise mode."""
        spec = self.spec
        x = self._array(x, "x", (None, None, spec.N_in))
        arrays = [x]
        if y is not None:
            shape = (x.shape[0], x.shape[1], spec.N_out)
            arrays += [self._array(y, "y", shape), self._array(mask, "mask", shape)]
        if noise is not None and spec.architecture != "rnn":
            raise ValueError("recurrent noise is defined for architecture 'rnn' only; this "
                             f"network is {spec.architecture!r}")
        if spec.rec_noise == 0 or spec.architecture != "rnn":
            return tuple(arrays), "none"
        if noise is None:
            return tuple(arrays), "draw"
        arrays.append(self._array(noise, "noise", (x.shape[0], x.shape[1], spec.N_rec)))
        return tuple(arrays), "given"

    # ------------------------------------------------------------------ Backend interface
    def configure_optimizer(
        self,
        optimizer: Any = "adam",
        learning_rate: float = 1e-3,
        clip_grads: bool | float = True,
        **kwargs: Any,
    ) -> None:
        """Create a fresh Keras optimiser (see :func:`psychcore_tf._optim.make_optimizer`).

        ``clip_grads``: True clips by global norm 1.0, a positive number by that norm, False
        not at all. The optimiser's slots are built at once, so its state can be read and
        restored before the first step.
        """
        clip = clip_norm(clip_grads)
        tf = self._tf
        with tf.device(self.device):
            opt = make_optimizer(tf, optimizer, learning_rate, **kwargs)
            opt.build(list(self._net.trainable.values()))
        self._fns.optimizer, self._fns.clip = opt, clip
        self._fns.clear(("train",))
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            set_optimizer_state(opt, self._net.trainable, state)

    def train_step(
        self,
        x: np.ndarray,
        y: np.ndarray,
        mask: np.ndarray,
        noise: np.ndarray | None = None,
    ) -> float:
        """One optimisation step on a batch; returns the loss (with regularisation) before it.

        Configures the default optimiser (Adam, 1e-3, clipping at 1) if none is configured.
        """
        if self._fns.optimizer is None:
            self.configure_optimizer()
        args, mode = self._inputs(x, y, mask, noise)
        with self._tf.device(self.device):
            value = self._fns.train(args[0].shape[0], args[0].shape[1], mode)(*args)
        return float(value)

    def loss_and_gradients(
        self,
        x: np.ndarray,
        y: np.ndarray,
        mask: np.ndarray,
        noise: np.ndarray | None = None,
    ) -> tuple[float, dict[str, np.ndarray]]:
        args, mode = self._inputs(x, y, mask, noise)
        with self._tf.device(self.device):
            value, grads = self._fns.gradients(args[0].shape[0], args[0].shape[1], mode)(*args)
        return float(value), {k: np.array(g.numpy()) for k, g in
                              zip(self._net.trainable, grads, strict=True)}

    def forward(
        self, x: np.ndarray, noise: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on ``x`` (any number of trials); returns NumPy ``(outputs, states)``.

        With ``spec.rec_noise > 0`` the noise is drawn from the backend's generator unless
        ``noise`` (standard normals ``(N_trials, N_steps, N_rec)``) is given.
        """
        args, mode = self._inputs(x, noise=noise)
        with self._tf.device(self.device):
            outputs, states = self._fns.forward(args[0].shape[1], mode)(*args)
        return outputs.numpy(), states.numpy()

    def get_weights(self) -> dict[str, np.ndarray]:
        """The complete weights dict (NumPy copies in the spec's dtype)."""
        out = {k: v.copy() for k, v in self._net.structure.items()}
        out.update({k: np.array(v.numpy()) for k, v in self._net.params.items()})
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Replace parameters (and structural entries) by ``weights``; any subset of keys.

        Raises:
            ValueError: For an unknown key or a shape that differs from the current one
                (the message names the key, the expected and the received shape).
        """
        current = self.get_weights()
        for key, value in weights.items():
            if key not in current:
                raise ValueError(f"set_weights: unknown key {key!r}; this network has "
                                 f"{sorted(current)}")
            got, expected = np.shape(value), current[key].shape
            if got != expected and not (key == "init_state" and got == expected[1:]):
                raise ValueError(f"set_weights: {key} must have shape {expected}; received "
                                 f"shape {got}")
        merged = self._checked_weights({**current, **weights})
        net = self._net
        for key, var in net.params.items():
            var.assign(np.asarray(merged[key], dtype=self._np_dtype))
        if any(not np.array_equal(merged[k], v, equal_nan=True)
               for k, v in net.structure.items()):
            net.load_structure(merged)
            self._fns.clear()  # masks and fixed sets may be traced in; retrace on demand
        net.snapshot_fixed()

    def get_training_state(self) -> dict[str, np.ndarray]:
        """Optimiser slots and iteration counter (``optimizer/<param>/<slot>``,
        ``optimizer/iteration``) and the noise generator's state (``rng/...``)."""
        opt = self._fns.optimizer
        if opt is not None:
            state = optimizer_state(opt, self._net.trainable)
        else:
            state = dict(self._pending_state or {})
        state[RNG_STATE] = np.array(self._gen.state.numpy())
        state[RNG_ALGORITHM] = np.array(int(self._gen.algorithm))
        return state

    def set_training_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`get_training_state`'s output.

        Without a configured optimiser, the optimiser part is kept and applied by the next
        :meth:`configure_optimizer` (which must create the same kind of optimiser).

        Raises:
            ValueError: If the state does not fit this backend's generator or optimiser.
        """
        if RNG_STATE not in state:
            raise ValueError(f"the training state has no {RNG_STATE!r}")
        algorithm = int(np.asarray(state.get(RNG_ALGORITHM, self._gen.algorithm)))
        if algorithm != int(self._gen.algorithm):
            raise ValueError(f"the training state's noise generator uses algorithm "
                             f"{algorithm}; this backend's uses {int(self._gen.algorithm)}")
        rng_state = np.asarray(state[RNG_STATE])
        if rng_state.shape != tuple(self._gen.state.shape):
            raise ValueError(f"{RNG_STATE} has shape {rng_state.shape}; expected "
                             f"{tuple(self._gen.state.shape)}")
        opt_state = {k: v for k, v in state.items() if k.startswith(STATE_PREFIX)}
        if self._fns.optimizer is not None:
            set_optimizer_state(self._fns.optimizer, self._net.trainable, opt_state)
        else:
            self._pending_state = opt_state or None
        self._gen.reset(rng_state.astype(np.int64))

    def _adam(self) -> Any:
        opt = self._fns.optimizer
        if opt is None:
            raise RuntimeError("call configure_optimizer('adam') before reading or loading its "
                               "state")
        if not isinstance(opt, self._tf.keras.optimizers.Adam) or getattr(opt, "amsgrad", False):
            raise ValueError(f"the portable Adam state needs optimizer 'adam'; this backend "
                             f"trains with {type(opt).__name__}")
        return opt

    def get_adam_state(self) -> dict[str, np.ndarray]:
        state = optimizer_state(self._adam(), self._net.trainable)
        out = {"step": np.array(int(state[f"{STATE_PREFIX}iteration"]), dtype=np.int64)}
        for name in self._net.trainable:
            out[f"m/{name}"] = state[f"{STATE_PREFIX}{name}/momentum"]
            out[f"v/{name}"] = state[f"{STATE_PREFIX}{name}/velocity"]
        return out

    def set_adam_state(self, state: dict[str, np.ndarray]) -> None:
        opt = self._adam()
        trainable = self._net.trainable
        step, m, v = check_adam_state(state, {k: tuple(var.shape)
                                              for k, var in trainable.items()})
        flat = {f"{STATE_PREFIX}iteration": np.array(step, dtype=np.int64)}
        for name in trainable:
            flat[f"{STATE_PREFIX}{name}/momentum"] = m[name]
            flat[f"{STATE_PREFIX}{name}/velocity"] = v[name]
        set_optimizer_state(opt, trainable, flat)

    def __repr__(self) -> str:
        return (f"TensorFlowBackend(architecture={self.spec.architecture!r}, "
                f"N_rec={self.spec.N_rec}, device={self.device!r}, "
                f"loop={self.loop or 'auto'!r})")
