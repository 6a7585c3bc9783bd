"""TensorFlowBackend: psychcore's Backend interface on TensorFlow 2.

Eager TensorFlow with ``tf.function``-compiled forward passes and training steps
(:mod:`psychcore_tf._steps`), no sessions, no global graph and no global seeds: each backend
owns its variables, its Keras optimiser, its ``tf.random.Generator`` and its compiled
functions, so several live side by side in one process and each is garbage-collected with its
last reference.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from psychcore.backend import Batch, FrameworkBackend

from ._losses import loss_function
from ._network import LOOPS, Network
from ._optim import make_optimizer, optimizer_state, set_optimizer_state
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


_DEVICE_FORMS = ("None (first GPU, else CPU)", "'cpu'", "'gpu'", "'cuda'", "'gpu:N'",
                 "'cuda:N'", "'/CPU:0'", "'/GPU:N'", "'/device:GPU:N'",
                 "'/job:localhost/replica:0/task:0/device:GPU:N'")
_DEVICE_RE = re.compile(r"(?:/job:localhost/replica:0/task:0)?/?(?:device:)?"
                        r"(cpu|gpu|cuda)(?::(\d+))?", re.IGNORECASE)


def resolve_device(tf: Any, device: str | None) -> str:
    """A TensorFlow device string: the first GPU when present (default), else the CPU.

    Accepted: ``"cpu"``, ``"gpu"``, ``"cuda"``, ``"gpu:1"``, ``"cuda:1"`` and TensorFlow's
    own local spellings (``"/GPU:0"``, ``"/device:GPU:0"``,
    ``"/job:localhost/replica:0/task:0/device:GPU:0"``), case-insensitive. Anything else
    (``"gpu:x"``, ``"tpu"``, a remote ``"/job:worker"``) is refused here: TensorFlow would
    only fail at the first operation placed on it, with a message that names no argument.

    Raises:
        TypeError: If ``device`` is not a string or None.
        ValueError: For a device string of another form, or a GPU that TensorFlow does not
            see.
    """
    if device is not None and not isinstance(device, str):
        raise TypeError(f"device must be a str or None; received {type(device).__name__}")
    gpus = tf.config.list_physical_devices("GPU")
    if device is None:
        return "/GPU:0" if gpus else "/CPU:0"
    match = _DEVICE_RE.fullmatch(device.strip())
    if match is None:
        raise ValueError(f"device {device!r} is not a device the TensorFlow backend can use; "
                         f"accepted forms: {', '.join(_DEVICE_FORMS)}")
    kind = "gpu" if match.group(1).lower() == "cuda" else match.group(1).lower()
    index = match.group(2) or "0"
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


class TensorFlowBackend(FrameworkBackend):
    """Train psychcore networks on TensorFlow 2 (see the module docstring).

    The contract and the decisions every backend shares are ``psychcore.backend``'s
    (``FrameworkBackend``); optimiser names are Keras's, case-insensitive, ``"adam"`` with
    ``epsilon=1e-8`` (PsychRNN's value) unless given.

    Args:
        spec: A bound ModelSpec.
        weights: The weights dict of ``docs/equations.md`` (copied and completed).
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

    name = "tensorflow"
    description = (
        "TensorFlow 2: tf.function-compiled rate RNN, LSTM and GRU training on CPU or GPU"
    )

    def _set_options(self, loop: str | None = None, jit_compile: bool | None = None) -> None:
        loop = loop if loop is not None else _env_choice(ENV_LOOP, LOOPS + ("auto",))
        if loop not in (None, "auto", *LOOPS):
            raise ValueError(f"loop must be one of {LOOPS}, 'auto' or None; received {loop!r}")
        self.loop: str | None = None if loop == "auto" else loop
        if jit_compile is None:
            jit_compile = _env_choice(ENV_JIT, ("0", "1")) == "1"
        self._jit = bool(jit_compile)

    @classmethod
    def is_available(cls) -> tuple[bool, str]:
        """Whether TensorFlow (>= 2.16) imports here, and why not if it does not."""
        return tensorflow_status()

    @property
    def jit_compile(self) -> bool:
        """Whether the compiled functions use XLA."""
        return self._fns.jit_compile

    # ------------------------------------------------------------------ building
    def _resolve_device(self, device: str | None) -> str:
        self._tf = import_tensorflow()  # the first hook that needs TensorFlow
        return resolve_device(self._tf, device)

    def _build(self, weights: dict[str, np.ndarray]) -> None:
        tf = self._tf
        with tf.device(self.device):
            self._net = Network(tf, self.spec, weights)
            self._gen = tf.random.Generator.from_seed(self.framework_seed)
        self._fns = Compiled(tf, self._net, self._gen, loss_function(tf, self.spec.loss),
                             lambda n: self.loop or auto_loop(n), self._jit)

    @staticmethod
    def _args(batch: Batch) -> tuple[np.ndarray, ...]:
        arrays = [a for a in (batch.x, batch.y, batch.mask) if a is not None]
        return (*arrays, batch.noise) if batch.noise_mode == "given" else tuple(arrays)

    # ------------------------------------------------------------------ arithmetic
    def _configure(self, optimizer: Any, learning_rate: float, **kwargs: Any) -> None:
        """Build the Keras optimiser and its slots at once, so that its state can be read and
        restored before the first step."""
        tf = self._tf
        variables = list(self._net.trainable.values())
        with tf.device(self.device):
            opt = make_optimizer(tf, optimizer, variables, learning_rate, **kwargs)
            opt.build(variables)
        self._fns.optimizer = opt
        self._fns.clear(("train",))

    def _train_step(self, batch: Batch) -> float:
        self._fns.clip = self.clip
        with self._tf.device(self.device):
            fn = self._fns.train(batch.n_trials, batch.n_steps, batch.noise_mode)
            value = fn(*self._args(batch))
        return float(value)

    def _gradients(self, batch: Batch) -> tuple[float, dict[str, np.ndarray]]:
        with self._tf.device(self.device):
            fn = self._fns.gradients(batch.n_trials, batch.n_steps, batch.noise_mode)
            value, grads = fn(*self._args(batch))
        return float(value), {k: np.array(g.numpy()) for k, g in
                              zip(self._net.trainable, grads, strict=True)}

    def _forward(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        with self._tf.device(self.device):
            outputs, states = self._fns.forward(batch.n_steps, batch.noise_mode)(
                *self._args(batch))
        return outputs.numpy(), states.numpy()

    # ------------------------------------------------------------------ weights and state
    def _get_params(self) -> dict[str, np.ndarray]:
        return {k: np.array(v.numpy()) for k, v in self._net.params.items()}

    def _set_params(self, weights: dict[str, np.ndarray], structure_changed: bool) -> None:
        net = self._net
        for key, var in net.params.items():
            var.assign(weights[key])
        if structure_changed:
            net.load_structure(weights)
            self._fns.clear()  # masks and fixed sets are traced in; retrace on demand
        net.snapshot_fixed()

    def _get_optimizer_state(self) -> dict[str, np.ndarray]:
        return optimizer_state(self._fns.optimizer, self._net.trainable)

    def _set_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        set_optimizer_state(self._fns.optimizer, self._net.trainable, state)

    def _get_rng_state(self) -> dict[str, np.ndarray]:
        return {RNG_STATE: np.array(self._gen.state.numpy()),
                RNG_ALGORITHM: np.array(int(self._gen.algorithm))}

    def _set_rng_state(self, state: dict[str, np.ndarray]) -> None:
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
        self._gen.reset(rng_state.astype(np.int64))

    def _get_adam(self) -> tuple[int, dict[str, np.ndarray], dict[str, np.ndarray]]:
        state = self._get_optimizer_state()
        names = list(self._net.trainable)
        return (int(state["iteration"]), {k: state[f"{k}/momentum"] for k in names},
                {k: state[f"{k}/velocity"] for k in names})

    def _set_adam(self, step: int, m: dict[str, np.ndarray], v: dict[str, np.ndarray]) -> None:
        flat = {"iteration": np.array(step, dtype=np.int64)}
        for name in self._net.trainable:
            flat[f"{name}/momentum"] = m[name]
            flat[f"{name}/velocity"] = v[name]
        self._set_optimizer_state(flat)

    def __repr__(self) -> str:
        return (f"TensorFlowBackend(architecture={self.spec.architecture!r}, "
                f"N_rec={self.spec.N_rec}, device={self.device!r}, "
                f"loop={self.loop or 'auto'!r})")
