"""The Task base class: PsychRNN's contract, plus a vectorised fast path and seeding."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from numbers import Real
from typing import Any

import numpy as np

from ._checks import check_float, check_int
from ._rng import SeedLike, as_generator, legacy_global_rng

Batch = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class TaskParams(dict):
    """The dict :meth:`Task.get_task_params` returns: a plain dict that remembers its task.

    PsychRNN users add network keys to it (``params["N_rec"] = 50``) and pass it on;
    :attr:`task_keys` lets :meth:`psychcore.ModelSpec.from_psychrnn` tell the task's own
    parameters (never warned about) from network keys added later (checked, typos refused).

    Attributes:
        task_keys: The keys the task put in the dict.
        task_class: The task's class name.
    """

    def __init__(self, params: dict[str, Any], task_class: str) -> None:
        super().__init__(params)
        self.task_keys = frozenset(params)
        self.task_class = task_class


def _owner(task_or_fn: Any) -> str:
    if isinstance(task_or_fn, Task):
        return f"{type(task_or_fn).__name__}.accuracy_function"
    self = getattr(task_or_fn, "__self__", None)
    name = getattr(task_or_fn, "__name__", type(task_or_fn).__name__)
    return f"{type(self).__name__}.{name}" if self is not None else name


def defines_accuracy(task: Task) -> bool:
    """Whether ``task``'s class defines ``accuracy_function`` (it is optional)."""
    return type(task).accuracy_function is not Task.accuracy_function


def checked_accuracy(task_or_fn: Task | Callable[..., Any], value: Any) -> float:
    """``value``, an accuracy returned by ``task_or_fn``, as a float once checked.

    An accuracy decides when training stops (``performance_cutoff``), when a curriculum
    advances and what a run reports; NaN would compare False forever and silently never stop,
    so it is refused here, where it is used.

    Args:
        task_or_fn: The task (its ``accuracy_function`` produced ``value``) or the function
            itself; named in the message.
        value: What it returned.

    Returns:
        The accuracy as a float in [0, 1].

    Raises:
        TypeError: If ``value`` is not a real scalar (an array of several values, a string).
        ValueError: If it is NaN, infinite or outside [0, 1].
    """
    owner = _owner(task_or_fn)
    arr = value if isinstance(value, np.ndarray) else None
    if arr is not None and arr.size == 1 and arr.dtype.kind in "biuf":
        value = arr.reshape(()).item()
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        what = (f"an array of shape {arr.shape}" if arr is not None
                else f"{value!r} ({type(value).__name__})")
        raise TypeError(f"{owner} must return one number in [0, 1] (the fraction of correct "
                        f"trials of the batch); it returned {what}")
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{owner} returned {value!r}; an accuracy must be a finite number in "
                         "[0, 1] (a NaN often comes from a mean over an empty selection)")
    return value


def check_training_batch(task: Any, x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> None:
    """Refuse a batch nothing can be learnt from, or whose loss would be wrong.

    Checks what :func:`psychcore.backend.check_batch` cannot know: that the mask weights at
    least one output somewhere (an all-zero mask gives a zero loss and no gradient, so the
    network would never change), besides non-finite values and negative mask entries.

    Args:
        task: The task that built the batch (named in the messages).
        x, y, mask: The batch.

    Raises:
        ValueError: Naming the task, the array and what was found.
    """
    name = type(task).__name__
    for label, arr in (("x", x), ("y", y), ("mask", mask)):
        bad = ~np.isfinite(arr)
        if bad.any():
            trial, step, unit = (int(i) for i in np.argwhere(bad)[0])
            dt = getattr(task, "dt", None)
            at = f" (t={step * dt:g})" if dt is not None else ""
            raise ValueError(
                f"{name} produced a non-finite value in {label} of shape {arr.shape} at "
                f"trial {trial}, step {step}{at}, channel {unit}"
            )
    negative = int(np.count_nonzero(mask < 0))
    if negative:
        raise ValueError(
            f"{name} produced a mask with {negative} negative entries (min "
            f"{float(mask.min()):g}); a loss mask weights each output and must be >= 0"
        )
    if not np.any(mask):
        raise ValueError(
            f"{name} produced a batch whose mask is zero everywhere (shape {mask.shape}): "
            "no output is trained, the loss is 0 and the network would never change; the "
            "mask should be 1 (or a positive weight) where the output is trained"
        )


def split_params(params: dict[str, np.ndarray], N: int) -> np.ndarray:
    """Turn a dict of per-trial arrays into PsychRNN's object array of ``N`` per-trial dicts.

    Scalars become Python numbers (as ``.item()`` gives); per-trial arrays stay arrays.
    """
    keys = list(params)
    columns = [
        params[k].tolist() if params[k].ndim == 1 else list(params[k]) for k in keys
    ]
    trial_params = np.empty(N, dtype=object)
    trial_params[:] = [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)] \
        if keys else [{} for _ in range(N)]
    return trial_params


class Task:
    """Base class of every psychcore task.

    A task describes one trial type of a behavioural experiment. Subclasses define either
    the per-step interface known from PsychRNN:

    - ``generate_trial_params(batch, trial) -> dict``
    - ``trial_function(t, params) -> (x_t, y_t, mask_t)`` with ``t = step * dt``

    or the vectorised interface, which builds a whole batch with array operations:

    - ``generate_batch_params(batch, N, rng) -> dict[str, ndarray]`` (optional; defaults to
      stacking ``generate_trial_params``)
    - ``batch_function(t, params, rng) -> (x, y, mask)`` where ``t`` is the vector of the
      ``N_steps`` times and each array has shape ``(N, N_steps, N_in | N_out)``.

    A task that defines both uses the vectorised path by default; the per-step path stays
    available (``vectorized=False``) and the conformance suite checks that they agree.

    What the command line, sweeps and reports rely on (``docs/writing-a-task-plugin.md``;
    ``psychcore new task-plugin NAME`` writes a package that keeps it): a subclass's
    constructor accepts ``dt``, ``tau``, ``T``, ``N_batch`` and ``seed`` as keywords (it is
    built as ``Cls(dt=10, tau=100, T=2000, N_batch=128, **extras)``, then :meth:`set_seed`);
    every other argument is a task parameter (``-t KEY=VALUE``) with a default, checked by
    name; draws come from ``self.rng`` or the ``rng`` argument only; a noise scale that both
    paths use is the trial parameter ``stim_noise`` (set to 0 to compare the paths);
    ``accuracy_function(correct_output, test_output, output_mask)`` takes arrays of shape
    ``(N_batch, N_steps, N_out)`` and returns one float in [0, 1] (the fraction of correct
    trials; 1.0 on the targets), used by ``performance_cutoff``, curricula and the validation
    accuracy of a run; a ``description`` class attribute is the line ``psychcore tasks`` shows.

    Args:
        N_in: Number of network inputs.
        N_out: Number of network outputs.
        dt: Simulation time step (ms).
        tau: Intrinsic time constant of the recurrent units (ms).
        T: Trial duration (ms); ``N_steps = ceil(T / dt)``.
        N_batch: Trials per batch.
        seed: Seed or ``numpy.random.Generator`` for the task's own draws. ``None`` draws
            fresh entropy; call :meth:`set_seed` later to make a PsychRNN-style subclass
            (whose ``__init__`` does not forward a seed) reproducible.

    Attributes:
        alpha: ``dt / tau``.
        N_steps: Number of time steps per trial.
    """

    dtype: type = np.float32

    def __init__(
        self,
        N_in: int,
        N_out: int,
        dt: float,
        tau: float,
        T: float,
        N_batch: int,
        seed: SeedLike = None,
    ) -> None:
        owner = type(self).__name__
        self.N_in = check_int(N_in, "N_in", owner)
        self.N_out = check_int(N_out, "N_out", owner)
        self.N_batch = check_int(N_batch, "N_batch", owner)
        self.dt = check_float(dt, "dt", owner, low=0.0, low_open=True)
        self.tau = check_float(tau, "tau", owner, low=0.0, low_open=True)
        self.T = check_float(T, "T", owner, low=0.0, low_open=True)
        if self.dt > self.T:
            raise ValueError(
                f"{owner}: T must be at least dt so that a trial has one step; "
                f"received T={self.T} and dt={self.dt}"
            )
        self.alpha = self.dt / self.tau
        self.N_steps = int(math.ceil(self.T / self.dt - 1e-9))
        self._rng = as_generator(seed)
        self._active_rng: np.random.Generator | None = None
        self._batch_index = 0

    # ------------------------------------------------------------------ seeding
    def set_seed(self, seed: SeedLike) -> Task:
        """Reseed the task's own generator and restart its batch counter; returns the task."""
        self._rng = as_generator(seed)
        self._batch_index = 0
        return self

    @property
    def rng(self) -> np.random.Generator:
        """The generator that the batch being built draws from (the task's own otherwise)."""
        return self._active_rng if self._active_rng is not None else self._rng

    @property
    def time(self) -> np.ndarray:
        """The ``N_steps`` trial times ``step * dt`` passed to the task's functions."""
        return np.arange(self.N_steps, dtype=np.float64) * self.dt

    # ------------------------------------------------------------ the contract
    def generate_trial_params(self, batch: int, trial: int) -> dict:
        """Return the parameters of one trial (per-step interface)."""
        raise NotImplementedError(
            f"{type(self).__name__} defines neither generate_trial_params nor "
            "generate_batch_params"
        )

    def trial_function(self, t: float, params: dict) -> tuple[Any, Any, Any]:
        """Return ``(x_t, y_t, mask_t)`` at time ``t`` of the trial with ``params``."""
        raise NotImplementedError(
            f"{type(self).__name__} defines neither trial_function nor batch_function"
        )

    def accuracy_function(
        self, correct_output: np.ndarray, test_output: np.ndarray, output_mask: np.ndarray
    ) -> float:
        """Accuracy in [0, 1] as an experimenter would measure it (optional)."""
        raise NotImplementedError(f"{type(self).__name__} defines no accuracy_function")

    @property
    def is_vectorized(self) -> bool:
        """Whether the task defines the vectorised ``batch_function``."""
        return type(self).batch_function is not Task.batch_function

    @property
    def has_trial_function(self) -> bool:
        """Whether the task defines the per-step ``trial_function``."""
        return type(self).trial_function is not Task.trial_function

    def batch_function(
        self, t: np.ndarray, params: dict[str, np.ndarray], rng: np.random.Generator
    ) -> tuple[Any, Any, Any]:
        """Vectorised trial definition (optional); see the class docstring."""
        raise NotImplementedError(f"{type(self).__name__} defines no batch_function")

    def generate_batch_params(
        self, batch: int, N: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Parameters of ``N`` trials as a dict of arrays of length ``N`` (optional).

        The default calls :meth:`generate_trial_params` once per trial and stacks the values.
        """
        trials = [self.generate_trial_params(batch, i) for i in range(N)]
        keys = trials[0].keys() if trials else ()
        return {k: np.asarray([p[k] for p in trials]) for k in keys}

    # ---------------------------------------------------------------- trials
    def generate_trial(self, params: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Build one trial step by step from :meth:`trial_function`.

        Returns:
            ``(x, y, mask)`` of shapes ``(N_steps, N_in)``, ``(N_steps, N_out)``,
            ``(N_steps, N_out)``.
        """
        x = np.empty((self.N_steps, self.N_in), dtype=self.dtype)
        y = np.empty((self.N_steps, self.N_out), dtype=self.dtype)
        mask = np.empty((self.N_steps, self.N_out), dtype=self.dtype)
        for step in range(self.N_steps):
            t = step * self.dt
            out = self.trial_function(t, params)
            if not isinstance(out, tuple | list) or len(out) != 3:
                raise ValueError(
                    f"{type(self).__name__}.trial_function must return (x_t, y_t, mask_t); "
                    f"received {type(out).__name__} at step {step} (t={t:g})"
                )
            for name, value, dest, n in (
                ("x_t", out[0], x, self.N_in),
                ("y_t", out[1], y, self.N_out),
                ("mask_t", out[2], mask, self.N_out),
            ):
                arr = self._as_numeric(value, name, f"at step {step} (t={t:g})", "trial_function")
                if arr.shape not in ((n,), (1, n)):
                    label = "N_in" if name == "x_t" else "N_out"
                    raise ValueError(
                        f"{type(self).__name__}.trial_function returned {name} of shape "
                        f"{arr.shape} at step {step} (t={t:g}); expected ({label},) = ({n},)"
                    )
                dest[step] = arr.reshape(n)
        return x, y, mask

    def _as_numeric(self, value: Any, name: str, where: str, fn: str) -> np.ndarray:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise ValueError(
                f"{type(self).__name__}.{fn} returned {name} of dtype {arr.dtype} {where}; "
                "expected real numbers or booleans"
            )
        return arr

    def _per_step_batch(self, rng: np.random.Generator, N: int) -> Batch:
        params = [self.generate_trial_params(self._batch_index, i) for i in range(N)]
        for i, p in enumerate(params):
            if not isinstance(p, dict):
                raise TypeError(
                    f"{type(self).__name__}.generate_trial_params must return a dict; "
                    f"received {type(p).__name__} for trial {i}"
                )
        trials = [self.generate_trial(p) for p in params]
        x = np.stack([tr[0] for tr in trials])
        y = np.stack([tr[1] for tr in trials])
        mask = np.stack([tr[2] for tr in trials])
        trial_params = np.empty(N, dtype=object)
        trial_params[:] = params
        return x, y, mask, trial_params

    def _vectorized_batch(self, rng: np.random.Generator, N: int) -> Batch:
        params = self.generate_batch_params(self._batch_index, N, rng)
        if not isinstance(params, dict):
            raise TypeError(
                f"{type(self).__name__}.generate_batch_params must return a dict of arrays; "
                f"received {type(params).__name__}"
            )
        params = {k: np.asarray(v) for k, v in params.items()}
        for k, v in params.items():
            if v.shape[:1] != (N,):
                raise ValueError(
                    f"{type(self).__name__}.generate_batch_params returned '{k}' of shape "
                    f"{v.shape}; expected a leading dimension of N = {N}"
                )
        out = self.batch_function(self.time, params, rng)
        if not isinstance(out, tuple | list) or len(out) != 3:
            raise ValueError(
                f"{type(self).__name__}.batch_function must return (x, y, mask); "
                f"received {type(out).__name__}"
            )
        arrays = []
        for name, value, n, label in (
            ("x", out[0], self.N_in, "N_in"),
            ("y", out[1], self.N_out, "N_out"),
            ("mask", out[2], self.N_out, "N_out"),
        ):
            arr = self._as_numeric(value, name, "", "batch_function")
            expected = (N, self.N_steps, n)
            if arr.shape != expected:
                raise ValueError(
                    f"{type(self).__name__}.batch_function returned {name} of shape "
                    f"{arr.shape}; expected (N_batch, N_steps, {label}) = {expected}"
                )
            arrays.append(arr.astype(self.dtype, copy=False))
        return arrays[0], arrays[1], arrays[2], split_params(params, N)

    def get_trial_batch(
        self,
        rng: SeedLike = None,
        *,
        N_batch: int | None = None,
        vectorized: bool | None = None,
    ) -> Batch:
        """Build one batch of trials.

        Unlike PsychRNN, consecutive calls continue the batch counter (``batch`` passed to
        ``generate_trial_params``) instead of restarting it.

        Args:
            rng: Generator (or seed) to draw from; the task's own generator by default.
            N_batch: Trials in this batch; ``self.N_batch`` by default.
            vectorized: Force the vectorised (True) or per-step (False) path; by default
                the vectorised path when the task defines one.

        Returns:
            ``(x, y, mask, trial_params)``: arrays of shape ``(N_batch, N_steps, N_in)``,
            ``(N_batch, N_steps, N_out)`` and ``(N_batch, N_steps, N_out)`` (mask is 1 where
            the output is trained, 0 elsewhere) and an object array of ``N_batch`` dicts.

        Raises:
            ValueError: If the task's functions return arrays of the wrong shape or type, or
                a batch that cannot be trained on (:func:`check_training_batch`).
        """
        N = self.N_batch if N_batch is None else check_int(
            N_batch, "N_batch", type(self).__name__
        )
        gen = self._rng if rng is None else as_generator(rng, name="rng")
        use_vec = self.is_vectorized if vectorized is None else bool(vectorized)
        if use_vec and not self.is_vectorized:
            raise ValueError(f"{type(self).__name__} has no vectorised batch_function")
        if not use_vec and not self.has_trial_function:
            raise ValueError(f"{type(self).__name__} has no per-step trial_function")
        self._active_rng = gen
        try:
            with legacy_global_rng(gen):
                build = self._vectorized_batch if use_vec else self._per_step_batch
                x, y, mask, trial_params = build(gen, N)
        finally:
            self._active_rng = None
        check_training_batch(self, x, y, mask)
        self._batch_index += 1
        return x, y, mask, trial_params

    def batch_generator(self, rng: SeedLike = None) -> Iterator[Batch]:
        """Yield batches forever (see :meth:`get_trial_batch`)."""
        gen = self._rng if rng is None else as_generator(rng, name="rng")
        while True:
            yield self.get_trial_batch(gen)

    def get_task_params(self) -> TaskParams:
        """A copy of the task's parameters (editing it never edits the task).

        The copy is a :class:`TaskParams` (a dict) that remembers which keys are the task's.

        Includes ``N_in, N_out, dt, tau, T, N_batch, alpha, N_steps`` and every other public
        attribute the task defines.
        """
        return TaskParams({
            k: copy.deepcopy(v)
            for k, v in vars(self).items()
            if not k.startswith("_")
        }, type(self).__name__)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(N_in={self.N_in}, N_out={self.N_out}, dt={self.dt:g}, "
            f"tau={self.tau:g}, T={self.T:g}, N_batch={self.N_batch})"
        )
