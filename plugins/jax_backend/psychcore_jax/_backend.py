"""JaxBackend: psychcore's backend kit on JAX (one compiled XLA function per training step)."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import numpy as np

from psychcore.backend import Batch, FrameworkBackend, fixed_entries

from ._jax import enable_compilation_cache, enable_float64, jax_status, resolve_device

log = logging.getLogger("psychcore_jax")

#: Key of the noise generator's state in the training state (the threefry key's two words).
KEY = "rng/key"


class JaxBackend(FrameworkBackend):
    """Trains psychcore networks with JAX (see ``psychcore.backend.Backend`` for the contract
    and ``psychcore.backend.FrameworkBackend`` for the decisions every backend shares).

    The whole training step — forward pass (``jax.lax.scan`` over time), loss and
    regularisation, gradients, fixed entries, global-norm clipping, the optimiser's update and
    the restoring of fixed entries — is one function compiled by XLA. A batch shape compiles
    once and is reused (the training batch, the validation batch), also by other backends
    built alike in the process (a sweep's, ``repro``'s); a new number of steps or trials (a
    curriculum stage, another task) compiles once more, which is logged on the
    ``psychcore_jax`` logger at INFO level (with the seconds it took) and printed with
    ``backend_options={"verbose": True}``. The noise is drawn inside the compiled step from a
    ``jax.random`` threefry key seeded by one draw of ``seed``; ``noise=`` arrays are used as
    given.

    Optimisers: ``"adam"`` computes exactly what the other backends' ``"adam"`` computes
    (PsychRNN's update, with the portable Adam state); every other name is an optax optimiser
    (:func:`psychcore_jax.optimizer_names`); an optax-style function (``optax.adamw``) is called
    as ``fn(learning_rate, **kwargs)``, any other callable as a factory ``fn(params,
    learning_rate, **kwargs)`` returning an ``optax.GradientTransformation``.

    Compiled steps are kept on disk between processes (JAX's persistent compilation cache, in
    ``~/.cache/psychcore/jax``; ``PSYCHCORE_JAX_CACHE=0`` switches it off, a path moves it; a
    cache the process configured itself is left alone), so a script run again skips most of
    its compile time.

    ``dtype="float64"`` switches on JAX's process-wide 64-bit mode (``jax_enable_x64``); the
    backend passes explicit dtypes everywhere, so float32 networks keep working beside it.

    Args:
        spec: A bound ModelSpec.
        weights: Weights dict (``docs/equations.md``); copied, completed and converted to
            ``spec.dtype``.
        seed: Seed or NumPy Generator; one draw from it seeds the backend's ``jax.random``
            key (recurrent noise). No global state is touched.
        device: ``"cpu"``, ``"gpu"``/``"cuda"``, ``"cuda:1"``, ...; the first GPU JAX sees,
            else the CPU, if None.

    Backend options (``backend_options={...}`` with ``psychcore.Model``): ``verbose=True``
    prints a line on stderr whenever a function is compiled for a new shape.

    Raises:
        ImportError: If JAX cannot be imported or optax is not installed.
        ValueError: For an unbound spec, weights that do not fit it, or a bad device.
    """

    name = "jax"
    description = ("JAX (each training step one compiled XLA function, CPU or GPU): rate RNN, "
                   "LSTM and GRU with every ModelSpec constraint")

    def _set_options(self, verbose: bool = False) -> None:
        if not isinstance(verbose, bool):
            raise TypeError(f"verbose must be True or False; received {verbose!r}")
        ok, why = jax_status()
        if not ok:
            raise ImportError(why)
        self.verbose = verbose
        self.optimizer: Any = None

    @classmethod
    def is_available(cls) -> tuple[bool, str]:
        """Whether JAX imports here and optax is installed (and why not)."""
        return jax_status()

    # ------------------------------------------------------------------ building
    def _resolve_device(self, device: str | None) -> str:
        name, self._jax_device = resolve_device(device)
        return name

    def _put(self, value: Any, dtype: Any = None) -> Any:
        import jax

        arr = np.asarray(value, dtype=self.np_dtype if dtype is None else dtype)
        return jax.device_put(arr, self._jax_device)

    def _build(self, weights: dict[str, np.ndarray]) -> None:
        enable_compilation_cache()
        if self.spec.dtype == "float64":
            enable_float64()
        seed = self.framework_seed
        self._key = self._put(np.array([seed >> 32, seed & 0xFFFFFFFF], np.uint32), np.uint32)
        self._opt_state: Any = None
        self._opt_steps = 0
        self._load(weights, rebuild=True)

    def _load(self, weights: dict[str, np.ndarray], rebuild: bool) -> None:
        from psychcore.backend import PARAMETERS

        from ._network import Structure, constants

        self.params = {k: self._put(weights[k]) for k in PARAMETERS if k in weights}
        fixed = fixed_entries(self.spec, self.structure)
        self._fixed_values = {k: self.params[k] for k in fixed}
        if rebuild:
            self.net = Structure.of(self.spec, self.structure)
            self._consts = constants(self.spec, self.structure, fixed,
                                     lambda m: self._put(m, m.dtype))
            self._compile()

    def _compile(self) -> None:
        """Look up the jitted functions for the current structure and optimiser."""
        from ._steps import compiled

        self._fn = compiled(self.spec, self.net, self.optimizer, self.clip)
        self._compiled_for = (id(self.optimizer), self.clip)

    # ------------------------------------------------------------------ arithmetic
    def _call(self, name: str, what: str, batch: Batch, *args: Any) -> Any:
        """Call the compiled function ``name``; say so when the call compiled it for a new
        shape (JAX compiles on the first call with a shape, and keeps it)."""
        fn = self._fn[name]
        size = getattr(fn, "_cache_size", lambda: 0)
        before, start = size(), time.perf_counter()
        out = fn(*args)
        if size() > before:
            msg = (f"psychcore_jax: compiled the {what} for N_batch={batch.n_trials}, "
                   f"N_steps={batch.n_steps} ({time.perf_counter() - start:.1f} s)")
            log.info(msg)
            if self.verbose:
                print(msg, file=sys.stderr)
        return out

    def _inputs(self, batch: Batch) -> tuple[Any, ...]:
        # NumPy arrays: the compiled function copies them to the device of the parameters
        # (committed there), in C++; jax.device_put first costs more per step than the copy
        def arr(value: Any) -> np.ndarray | None:
            return None if value is None else np.asarray(value, dtype=self.np_dtype)

        noise = arr(batch.noise) if batch.noise_mode == "given" else None
        return arr(batch.x), arr(batch.y), arr(batch.mask), noise

    def _split(self) -> tuple[dict[str, Any], dict[str, Any]]:
        train = {k: self.params[k] for k in self.trainable}
        frozen = {k: v for k, v in self.params.items() if k not in train}
        return train, frozen

    def _forward(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        x, _, _, noise = self._inputs(batch)
        outputs, states, self._key = self._call(
            "forward_" + batch.noise_mode, "forward pass", batch, self.params, self._consts,
            self._key, x, noise)
        # copies: a NumPy view of a JAX buffer is read-only, and users write into outputs
        return np.array(outputs), np.array(states)

    def _outputs(self, batch: Batch) -> np.ndarray:
        # the loop does not keep the states: a 512-trial validation pass takes about half
        # the time of _forward's
        x, _, _, noise = self._inputs(batch)
        outputs, self._key = self._call("outputs_" + batch.noise_mode, "outputs pass", batch,
                                        self.params, self._consts, self._key, x, noise)
        return np.array(outputs)

    def _gradients(self, batch: Batch) -> tuple[float, dict[str, np.ndarray]]:
        train, frozen = self._split()
        x, y, mask, noise = self._inputs(batch)
        value, grads, self._key = self._call(
            "gradients_" + batch.noise_mode, "gradients", batch, train, frozen, self._consts,
            self._key, x, y, mask, noise)
        return float(value), {k: np.array(g) for k, g in grads.items()}

    def _configure(self, optimizer: Any, learning_rate: float, **kwargs: Any) -> None:
        import jax

        from ._optim import make_optimizer

        train, _ = self._split()
        self.optimizer = make_optimizer(optimizer, train, learning_rate, **kwargs)
        # committed to the device as the step's results are: an uncommitted first state would
        # make the second step compile again
        self._opt_state = jax.device_put(self.optimizer.init(train), self._jax_device)
        self._opt_steps = 0

    def _train_step(self, batch: Batch) -> float:
        if self._compiled_for != (id(self.optimizer), self.clip):
            self._compile()  # configure_optimizer changed the optimiser or the bound
        train, frozen = self._split()
        x, y, mask, noise = self._inputs(batch)
        hyper = np.asarray(self.optimizer.host_hyper(self._opt_steps), dtype=self.np_dtype)
        train, self._opt_state, self._key, value = self._call(
            "step_" + batch.noise_mode, "training step", batch, train, frozen, self._consts,
            self._fixed_values, self._opt_state, self._key, hyper, x, y, mask, noise)
        self.params.update(train)
        self._opt_steps += 1
        return float(value)

    # ------------------------------------------------------------------ weights and state
    def _get_params(self) -> dict[str, np.ndarray]:
        return {k: np.array(v) for k, v in self.params.items()}

    def _set_params(self, weights: dict[str, np.ndarray], structure_changed: bool) -> None:
        self._load(weights, rebuild=structure_changed)

    def _get_optimizer_state(self) -> dict[str, np.ndarray]:
        from ._optim import export_state

        return export_state(self._opt_state)

    def _set_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        from ._optim import import_state

        train, _ = self._split()
        self._opt_state = import_state(self.optimizer.init(train), state,
                                       lambda a: self._put(a, a.dtype))
        self._opt_steps = int(np.asarray(state["step"])) if self.optimizer.portable_adam else 0

    def _get_rng_state(self) -> dict[str, np.ndarray]:
        return {KEY: np.array(self._key)}

    def _set_rng_state(self, state: dict[str, np.ndarray]) -> None:
        if KEY not in state:
            raise ValueError(f"the training state has no {KEY!r} (the noise generator's key)")
        key = np.asarray(state[KEY])
        if key.shape != (2,) or key.dtype.kind not in "ui":
            raise ValueError(f"state[{KEY!r}] must be the two uint32 words of a threefry key; "
                             f"received shape {key.shape}, dtype {key.dtype}")
        self._key = self._put(key, np.uint32)

    def _get_adam(self) -> tuple[int, dict[str, np.ndarray], dict[str, np.ndarray]]:
        state = self._opt_state
        return (int(state["step"]), {k: np.array(v) for k, v in state["m"].items()},
                {k: np.array(v) for k, v in state["v"].items()})

    def _set_adam(self, step: int, m: dict[str, np.ndarray], v: dict[str, np.ndarray]) -> None:
        self._opt_state = {"step": self._put(step, np.int32),
                           "m": {k: self._put(m[k]) for k in self.trainable},
                           "v": {k: self._put(v[k]) for k in self.trainable}}
        self._opt_steps = int(step)
