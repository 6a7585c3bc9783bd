"""The training loop, shared by every backend, and its typed options.

:func:`train_loop` draws batches from the task (or the current curriculum stage), asks the
backend for one optimisation step per batch, records the loss every ``loss_epoch`` steps,
advances curricula, stops at a performance cutoff and stops cleanly on Ctrl-C. It knows nothing
of :class:`~psychcore.Model`: weight snapshots, checkpoints, progress and the stage and cutoff
decisions go to the callbacks in :class:`LoopHooks`, and it returns a :class:`LoopResult`.

One *epoch* is one optimisation step on one batch, as in PsychRNN; ``training_iters`` counts
trials, so a call makes ``ceil(training_iters / N_batch)`` steps. An epoch counts once its step
has finished: a Ctrl-C during a step leaves the epoch count, and the batch generator, as they
were before that step's batch was drawn, so resuming draws the same batch again.

``TrainingOptions.prefetch`` draws the next batch in a worker (a process, or a thread) while
the backend runs the current step (:mod:`psychcore._prefetch`), so an iteration costs about
``max(batch, step)`` rather than their sum. The batches, their order and the generator state
are those of the loop without prefetching, so results are bit-identical; see :func:`train_loop`
for when it draws ahead.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from numbers import Real
from types import MappingProxyType
from typing import Any

import numpy as np

from ._backend import Backend
from ._curriculum import Curriculum, StageTransition
from ._prefetch import Prefetch, check_prefetch
from ._task import Task, checked_accuracy

#: A PsychRNN ``performance_measure``: ``(x, y, mask, output, epoch, losses, verbosity)``.
PerformanceMeasure = Callable[..., float]
_IGNORED_PSYCHRNN_KEYS = frozenset({"fixed_weights"})
_POSITIVE_INTS = ("training_iters", "loss_epoch", "save_training_weights_epoch",
                  "checkpoint_epoch")


@dataclass
class TrainStatus:
    """What a ``callback(status)`` receives after every step."""

    epoch: int
    trials: int
    loss: float
    stage: int | None
    performance: float | None
    done_steps: int
    total_steps: int


@dataclass(frozen=True, slots=True)
class TrainingOptions:
    """Everything one call of :meth:`Model.train` is asked to do (PsychRNN's ``train_params``).

    The fields are PsychRNN's ``train_params`` keys, with its defaults, and
    ``validation_trials``; see :meth:`psychcore.Model.train` for their meaning. Build one
    directly, or from a PsychRNN dict with :meth:`from_train_params`.

    ``validation_trials`` (default 512) is the size of the fixed validation set on which the
    performance cutoff and curriculum stages decide: drawn once per task (curriculum stage)
    from its own seeded stream, so decisions are not made on one noisy batch (at 90% accuracy
    the standard error of a 128-trial batch is 2.7 points, of 512 trials 1.3). 0 decides on a
    fresh training-sized batch from the batch generator each time, as PsychRNN does.

    ``prefetch`` draws the next batch while the backend runs the current step, so a slow
    (per-step, PsychRNN-style) task costs about ``max(batch, step)`` per iteration instead of
    their sum; the batches, and so the results, are the same either way (see
    :func:`train_loop`). ``"auto"`` (default) times the first two batches and steps and starts
    a worker process only if a batch takes more than 20 ms and more than 10% of a step (and
    two CPUs are free to use): vectorised tasks never start one. True or ``"process"``: a
    worker process from the second batch on, whatever the timings. ``"thread"``: a thread (a
    per-step task then competes with the backend for Python's GIL). False: every batch is
    drawn in the loop, between steps. A task that cannot be pickled, or whose class is defined
    in a notebook or an unguarded script, is drawn ahead in a thread instead (logged once).
    With a worker process, changes a task makes to its own attributes while drawing (other
    than its batch counter) stay in the worker's copy.

    Raises:
        ValueError: For a non-positive step count or learning rate, naming the field.
        TypeError: For a cutoff that is not a number, a measure or callback that is not
            callable, a curriculum that is not a :class:`~psychcore.Curriculum`, or a
            ``prefetch`` that is neither a bool nor a string.
        ValueError: Also for a ``prefetch`` string other than ``"auto"``, ``"process"``,
            ``"thread"``.
    """

    training_iters: int = 50000
    learning_rate: float = 1e-3
    loss_epoch: int = 10
    verbosity: bool = True
    save_weights_path: str | None = None
    save_training_weights_epoch: int = 100
    training_weights_path: str | None = None
    curriculum: Curriculum | None = None
    optimizer: Any = "adam"
    optimizer_options: Mapping[str, Any] | None = None
    clip_grads: bool | float = True
    performance_cutoff: float | None = None
    performance_measure: PerformanceMeasure | None = None
    checkpoint_path: str | None = None
    checkpoint_epoch: int = 100
    callback: Callable[[TrainStatus], Any] | None = None
    validation_trials: int = 512
    prefetch: str | bool = "auto"

    def __post_init__(self) -> None:
        for key in _POSITIVE_INTS:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
                raise ValueError(f"{key} must be a positive int; received {value!r}")
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, Real) or not lr > 0 or not math.isfinite(lr):
            raise ValueError(f"learning_rate must be a positive number; received {lr!r}")
        cutoff = self.performance_cutoff
        if cutoff is not None and (isinstance(cutoff, bool) or not isinstance(cutoff, Real)):
            raise TypeError(
                f"performance_cutoff must be a number; received {type(cutoff).__name__}"
            )
        if cutoff is not None and not math.isfinite(cutoff):
            raise ValueError(f"performance_cutoff must be a finite number; received {cutoff!r}")
        n = self.validation_trials
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"validation_trials must be a non-negative int (0: decide on a "
                             f"fresh training batch, as PsychRNN); received {n!r}")
        object.__setattr__(self, "prefetch", check_prefetch(self.prefetch))
        for key in ("performance_measure", "callback"):
            value = getattr(self, key)
            if value is not None and not callable(value):
                raise TypeError(f"{key} must be callable; received {type(value).__name__}")
        if self.curriculum is not None and not isinstance(self.curriculum, Curriculum):
            raise TypeError(
                f"curriculum must be a Curriculum; received {type(self.curriculum).__name__}"
            )
        if self.optimizer_options is not None:  # a read-only copy: the options are frozen
            object.__setattr__(self, "optimizer_options",
                               MappingProxyType(dict(self.optimizer_options)))

    @classmethod
    def from_train_params(
        cls, train_params: Mapping[str, Any] | None = None, /, **explicit: Any
    ) -> TrainingOptions:
        """Merge PsychRNN's ``train_params`` dict with explicit keyword arguments.

        Explicit (non-None) keyword arguments win over ``train_params``, which win over the
        defaults.

        Raises:
            TypeError: If ``train_params`` is not a dict, or for an unknown keyword argument.
            ValueError: For unknown keys (or ``fixed_weights``) in ``train_params``, or
                invalid values, naming them.
        """
        if train_params is not None and not isinstance(train_params, dict):
            raise TypeError(
                f"train_params must be a dict (PsychRNN's train_params); "
                f"received {type(train_params).__name__}"
            )
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(explicit) - set(names))
        if unknown:
            raise TypeError(f"unknown training option(s) {', '.join(unknown)}; "
                            f"valid options: {', '.join(names)}")
        values: dict[str, Any] = {}
        for key, value in (train_params or {}).items():
            if key in _IGNORED_PSYCHRNN_KEYS:
                raise ValueError(
                    f"train_params['{key}'] is not a training option in psychcore: fixed "
                    "weights are part of the network; use "
                    "ModelSpec(constraints=[FixedWeights(...)])"
                )
            if key not in names:
                raise ValueError(
                    f"unknown train_params key '{key}'; valid keys: {', '.join(names)}"
                )
            values[key] = value
        values.update({k: v for k, v in explicit.items() if v is not None})
        return cls(**values)

    def optimizer_config(self) -> dict[str, Any]:
        """The keyword arguments of :meth:`Backend.configure_optimizer` these options ask for."""
        return {
            "optimizer": self.optimizer,
            "learning_rate": float(self.learning_rate),
            "clip_grads": self.clip_grads,
            **dict(self.optimizer_options or {}),
        }


@dataclass(frozen=True)
class LoopState:
    """Where a running loop stands: what a checkpoint written now has to hold.

    Attributes:
        epoch: Steps finished, counting those before this call (``start_epoch``).
        losses: Losses recorded in this call so far.
        loss_epochs: The epoch of each of ``losses``.
        batch_rng_state: ``bit_generator.state`` of the batch generator: the state from
            which the next step draws its batch.
        curriculum: The curriculum being trained (it holds its own position), or None.
    """

    epoch: int
    losses: tuple[float, ...]
    loss_epochs: tuple[int, ...]
    batch_rng_state: dict[str, Any]
    curriculum: Curriculum | None


@dataclass(frozen=True)
class LoopResult:
    """What one call of :func:`train_loop` did.

    Attributes:
        steps: Steps finished in this call.
        epoch: The epoch reached (``start_epoch + steps``).
        losses: Losses recorded in this call, one every ``loss_epoch`` epochs.
        loss_epochs: The epoch of each of ``losses``.
        interrupted: Whether a KeyboardInterrupt stopped the loop.
        cutoff_epoch: The epoch at which the performance cutoff was reached, or None.
        cutoff_trials: ``cutoff_epoch * N_batch`` (trials, as :class:`TrainStatus` counts
            them), or None.
        performance: The last performance measured (for the cutoff), or None.
        curriculum_done: Whether the curriculum's last stage passed in this call.
        prefetch: The worker that drew batches ahead (``"process"`` or ``"thread"``), or
            None when every batch was drawn in the loop.
    """

    steps: int
    epoch: int
    losses: tuple[float, ...]
    loss_epochs: tuple[int, ...]
    interrupted: bool = False
    cutoff_epoch: int | None = None
    cutoff_trials: int | None = None
    performance: float | None = None
    curriculum_done: bool = False
    prefetch: str | None = None

    @property
    def cutoff_reached(self) -> bool:
        """Whether training stopped because the performance cutoff was reached."""
        return self.cutoff_epoch is not None


@dataclass(frozen=True)
class LoopHooks:
    """The loop's callbacks; each is optional, the loop decides when to call them.

    Attributes:
        snapshot: ``snapshot(path)`` saves the current weights to ``path``, which is
            ``f"{training_weights_path}{epoch}"``, every ``save_training_weights_epoch``
            epochs. Required when ``training_weights_path`` is set.
        checkpoint: ``checkpoint(path, state)`` writes a resumable checkpoint of ``state``
            (:class:`LoopState`) and the backend to ``checkpoint_path`` every
            ``checkpoint_epoch`` epochs and when interrupted. Required when
            ``checkpoint_path`` is set.
        progress: Called after every step with the :class:`TrainStatus` (after the options'
            ``callback``).
        stage_passed: Called with the :class:`~psychcore._curriculum.StageTransition` when a
            curriculum stage passes.
        cutoff_reached: ``cutoff_reached(epoch, performance)`` when the performance cutoff
            is reached (training stops after that step).
        aborted: Called with the partial :class:`LoopResult` when an exception other than
            KeyboardInterrupt ends the loop, before it propagates.
    """

    snapshot: Callable[[str], Any] | None = None
    checkpoint: Callable[[str, LoopState], Any] | None = None
    progress: Callable[[TrainStatus], Any] | None = None
    stage_passed: Callable[[StageTransition], Any] | None = None
    cutoff_reached: Callable[[int, float], Any] | None = None
    aborted: Callable[[LoopResult], Any] | None = None


class ValidationSets:
    """The fixed validation set of each task a loop decides on, drawn once per task.

    The set of curriculum stage ``k`` (``k = 0`` without a curriculum) is
    ``task.get_trial_batch(numpy.random.default_rng([seed, k]), N_batch=trials)``: its own
    stream, independent of the training batches, and the same after a resume. For networks
    with recurrent noise the set comes with its own standard normals (from
    ``default_rng([seed, k, 1])``), so judging a network never draws from the training noise
    and gives the same number every time for the same weights.

    Args:
        trials: Trials per set (positive).
        seed: The validation stream's seed (a non-negative int).
    """

    #: Noise arrays up to this many bytes are kept; larger ones are drawn again when needed.
    KEEP_NOISE_BYTES = 64 * 2**20

    def __init__(self, trials: int, seed: int) -> None:
        self.trials = int(trials)
        self.seed = int(seed)
        self._sets: dict[int, tuple[Task, tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        self._noise: dict[tuple[int, int], np.ndarray] = {}

    def get(self, task: Task, stage: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, mask)`` of the validation set of ``task`` at curriculum ``stage``."""
        cached = self._sets.get(stage)
        if cached is None or cached[0] is not task:
            rng = np.random.default_rng([self.seed, stage])
            x, y, mask, _ = task.get_trial_batch(rng, N_batch=self.trials)
            cached = self._sets[stage] = (task, (x, y, mask))
            self._noise = {k: v for k, v in self._noise.items() if k[0] != stage}
        return cached[1]

    def noise(self, spec: Any, x: np.ndarray, stage: int = 0) -> np.ndarray | None:
        """The set's recurrent-noise standard normals for a network of ``spec`` (None when the
        network has none)."""
        if not spec.rec_noise or spec.architecture != "rnn":
            return None
        key = (stage, int(spec.N_rec))
        if key in self._noise:
            return self._noise[key]
        shape = (x.shape[0], x.shape[1], int(spec.N_rec))
        noise = np.random.default_rng([self.seed, stage, 1]).standard_normal(shape)
        if noise.nbytes <= self.KEEP_NOISE_BYTES:
            self._noise[key] = noise
        return noise

    def evaluate(self, backend: Backend, task: Task, stage: int = 0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, mask, outputs)``: the set of ``task`` at ``stage`` and the network's
        outputs on it, with the set's own noise."""
        x, y, mask = self.get(task, stage)
        return x, y, mask, backend.outputs(x, self.noise(backend.spec, x, stage))


def stream_seed(rng: np.random.Generator) -> int:
    """A seed derived from ``rng`` without drawing from it (a hash of its state)."""
    import hashlib
    import json

    text = json.dumps(rng.bit_generator.state, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def check_task_fits(spec: Any, task: Task) -> None:
    """Raise ValueError if ``task`` does not fit the bound ``spec`` (sizes, dt/tau)."""
    if (task.N_in, task.N_out) != (spec.N_in, spec.N_out):
        raise ValueError(
            f"task {type(task).__name__} has N_in={task.N_in}, N_out={task.N_out} but the "
            f"model was built for N_in={spec.N_in}, N_out={spec.N_out}"
        )
    if not math.isclose(task.dt / task.tau, spec.dt / spec.tau, rel_tol=1e-12):
        raise ValueError(
            f"task {type(task).__name__} has dt/tau={task.dt}/{task.tau} but the model was "
            f"built for dt/tau={spec.dt}/{spec.tau}"
        )


def training_source(
    source: Task | Curriculum, curriculum: Curriculum | None = None
) -> tuple[Task, Curriculum | None]:
    """The first task to train on and the curriculum, if any.

    A Curriculum passed as ``source`` wins over ``curriculum``, which wins over a Task.
    """
    if isinstance(source, Curriculum):
        curriculum = source
    if curriculum is not None:
        return curriculum.current_task, curriculum
    if not isinstance(source, Task):
        raise TypeError(
            f"train() needs a psychcore Task or Curriculum; received {type(source).__name__}"
        )
    return source, None


def train_loop(
    backend: Backend,
    source: Task | Curriculum,
    options: TrainingOptions,
    *,
    rng: np.random.Generator,
    start_epoch: int = 0,
    past_losses: Sequence[float] = (),
    hooks: LoopHooks | None = None,
    validation_seed: int | None = None,
) -> LoopResult:
    """Train ``backend`` for ``options.training_iters`` trials drawn from ``source``.

    The backend's optimiser must be configured. Batches, and the test batches of curricula
    and the performance cutoff, are drawn from ``rng`` in a fixed order, so the same
    generator state, weights and backend state give the same run.

    With ``options.prefetch`` the batch of step ``k + 1`` is drawn by a worker while the
    backend runs step ``k`` (see :class:`TrainingOptions` for when). A worker *process* draws
    from copies of the task and generator; the loop installs the generator state and batch
    counter after the batch only when it takes the batch, and only if the batch is still the
    next one (same task, unchanged; same generator state), else it draws it again itself. So
    checkpoints, curricula and the cutoff see what they would without prefetching. A worker
    *thread* draws from the loop's own generator, so it draws ahead only when that draw is
    certain to come next: not after a step at which the curriculum is tested (its stage may
    change, and with ``validation_trials=0`` the test draws from ``rng`` first), the
    performance cutoff is tested (training may stop; PsychRNN's way draws from ``rng`` first)
    or a checkpoint is written (it saves ``rng``'s state); the loop waits for it before the
    step's bookkeeping and callbacks, so nothing else runs beside a task's ``np.random``
    draws. Either way, a batch drawn ahead when the loop ends (an exception, Ctrl-C, a stop)
    is dropped with ``rng`` and the task's batch counter where they were before it, so a
    resumed run draws it again; the worker is stopped; an exception the task raised while
    drawing ahead is raised where the loop would have drawn that batch. A user ``callback``
    that changes the task is seen by a process worker (the batch is drawn again) but not by a
    thread, which drew the next batch during the step: use ``prefetch=False`` or a process.

    Args:
        backend: The backend to train (its ``spec`` must fit every task).
        source: A Task or a Curriculum; ``options.curriculum``, when set, replaces a Task.
        options: What to do.
        rng: The batch generator.
        start_epoch: Steps done before this call (epochs continue from there).
        past_losses: Losses recorded before this call (passed, with this call's, to curriculum
            metrics and performance measures).
        hooks: Callbacks for snapshots, checkpoints, progress and decisions.
        validation_seed: Seed of the validation sets (:class:`ValidationSets`) on which the
            cutoff and curriculum stages decide when ``options.validation_trials > 0``; by
            default one derived from ``rng``'s state (:func:`stream_seed`), which a resumed
            run would not share: pass the model's.

    Returns:
        A :class:`LoopResult`.

    Raises:
        FloatingPointError: If the loss becomes NaN or infinite.
        ValueError: If a task does not fit the backend's spec, or ``training_weights_path``
            or ``checkpoint_path`` is set without the hook that writes it.
    """
    hooks = hooks or LoopHooks()
    if options.training_weights_path is not None and hooks.snapshot is None:
        raise ValueError("training_weights_path is set but no snapshot hook saves the weights")
    if options.checkpoint_path is not None and hooks.checkpoint is None:
        raise ValueError("checkpoint_path is set but no checkpoint hook writes the checkpoint")
    task, curriculum = training_source(source, options.curriculum)
    check_task_fits(backend.spec, task)
    n_steps = math.ceil(options.training_iters / task.N_batch)
    run = _Run(options, start_epoch, list(past_losses), bool(options.verbosity))
    if options.validation_trials:
        seed = stream_seed(rng) if validation_seed is None else validation_seed
        run.validation = ValidationSets(options.validation_trials, seed)
    before_draw: dict[str, Any] | None = None
    prefetch = Prefetch(options.prefetch)
    try:
        for done in range(1, n_steps + 1):
            before_draw = prefetch.state_before_next(rng)
            x, y, mask, _ = prefetch.next_batch(task, rng)
            epoch = start_epoch + done
            if done < n_steps:
                prefetch.draw_ahead(task, rng, run.next_draw_certain(epoch, curriculum))
            start = time.perf_counter()
            loss = float(backend.train_step(x, y, mask))
            prefetch.step_took(time.perf_counter() - start)
            prefetch.settle()
            run.epoch = epoch
            before_draw = None
            stop = run.after_step(backend, task, curriculum, rng, loss, hooks)
            task = curriculum.current_task if curriculum is not None else task
            status = TrainStatus(epoch, epoch * task.N_batch, loss,
                                 curriculum.stage if curriculum is not None else None,
                                 run.performance, done, n_steps)
            if options.callback is not None:
                options.callback(status)
            if hooks.progress is not None:
                hooks.progress(status)
            if stop:
                break
    except BaseException as exc:
        prefetch.close(rng)  # a batch drawn ahead is dropped: a resumed run draws it
        if before_draw is not None:  # the step never finished: its batch is drawn again
            rng.bit_generator.state = before_draw
        if not isinstance(exc, KeyboardInterrupt):
            if hooks.aborted is not None:
                hooks.aborted(run.result(prefetch.kind))
            raise
        run.interrupted = True
        warnings.warn(
            f"training interrupted at epoch {run.epoch}; saving and returning",
            RuntimeWarning,
            stacklevel=3,
        )
        if options.checkpoint_path is not None:
            hooks.checkpoint(options.checkpoint_path, run.state(rng, curriculum))
    finally:
        prefetch.close(rng)
    return run.result(prefetch.kind)


def _finite_performance(value: Any) -> float:
    """A custom ``performance_measure``'s value as a float; NaN (never >= the cutoff, so the
    run would silently never stop) and non-numbers are refused."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"performance_measure must return a number; it returned "
                        f"{type(value).__name__} {value!r:.60}") from None
    if not math.isfinite(number):
        raise ValueError(f"performance_measure returned {number}; the performance cutoff needs "
                         "a finite number")
    return number


class _Run:
    """The mutable bookkeeping of one :func:`train_loop` call."""

    def __init__(self, options: TrainingOptions, epoch: int, all_losses: list[float],
                 verbose: bool) -> None:
        self.options = options
        self.start = epoch
        self.epoch = epoch
        self.all_losses = all_losses
        self.losses: list[float] = []
        self.loss_epochs: list[int] = []
        self.verbose = verbose
        self.performance: float | None = None
        self.cutoff: tuple[int, int] | None = None
        self.interrupted = False
        self.curriculum_done = False
        self.validation: ValidationSets | None = None

    def _judged(self, backend: Backend, task: Task, curriculum: Curriculum | None,
                rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """``(x, y, mask, outputs)`` a decision is made on: the task's validation set, or
        (PsychRNN's way, ``validation_trials=0``) a fresh batch from the batch generator."""
        if self.validation is not None:
            stage = curriculum.stage if curriculum is not None else 0
            return self.validation.evaluate(backend, task, stage)
        x, y, mask, _ = task.get_trial_batch(rng)
        return x, y, mask, backend.outputs(x)

    def after_step(self, backend: Backend, task: Task, curriculum: Curriculum | None,
                   rng: np.random.Generator, loss: float, hooks: LoopHooks) -> bool:
        """Record, test and save after the step of ``self.epoch``; True to stop training."""
        p, epoch, verbose = self.options, self.epoch, self.verbose
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"the loss became {loss} at epoch {epoch}; lower the learning rate or "
                "check the task's targets"
            )
        if epoch % p.loss_epoch == 0:
            self.losses.append(loss)
            self.loss_epochs.append(epoch)
            self.all_losses.append(loss)
            if verbose:
                print(f"Iter {epoch * task.N_batch}, Minibatch Loss= {loss:.6f}")
        stop = False
        if curriculum is not None and epoch % curriculum.metric_epoch == 0:
            xb, yb, mb, out = self._judged(backend, task, curriculum, rng)
            if curriculum.metric_test(xb, yb, mb, out, epoch, self.all_losses, verbose):
                if hooks.stage_passed is not None:
                    hooks.stage_passed(curriculum.history[-1])
                if curriculum.stop_training:
                    self.curriculum_done = stop = True
                else:
                    task = curriculum.current_task
                    check_task_fits(backend.spec, task)
        if p.training_weights_path is not None and epoch % p.save_training_weights_epoch == 0:
            hooks.snapshot(f"{p.training_weights_path}{epoch}")
        if p.performance_cutoff is not None and epoch % p.loss_epoch == 0:
            xb, yb, mb, out = self._judged(backend, task, curriculum, rng)
            if p.performance_measure is None:
                self.performance = checked_accuracy(task, task.accuracy_function(yb, out, mb))
            else:
                self.performance = _finite_performance(p.performance_measure(
                    xb, yb, mb, out, epoch, self.all_losses, verbose))
            if verbose:
                print(f"Iter {epoch * task.N_batch}, performance= {self.performance:.4f}")
            if self.performance >= p.performance_cutoff:
                self.cutoff = (epoch, epoch * task.N_batch)
                if hooks.cutoff_reached is not None:
                    hooks.cutoff_reached(epoch, self.performance)
                stop = True
        if p.checkpoint_path is not None and epoch % p.checkpoint_epoch == 0:
            hooks.checkpoint(p.checkpoint_path, self.state(rng, curriculum))
        return stop

    def next_draw_certain(self, epoch: int, curriculum: Curriculum | None) -> bool:
        """Whether the batch after the step of ``epoch`` is sure to be drawn next, from the
        same task and generator state, with nothing reading the generator in between (see
        :func:`train_loop`)."""
        p = self.options
        return not (
            (curriculum is not None and epoch % curriculum.metric_epoch == 0)
            or (p.performance_cutoff is not None and epoch % p.loss_epoch == 0)
            or (p.checkpoint_path is not None and epoch % p.checkpoint_epoch == 0)
        )

    def state(self, rng: np.random.Generator, curriculum: Curriculum | None) -> LoopState:
        return LoopState(self.epoch, tuple(self.losses), tuple(self.loss_epochs),
                         rng.bit_generator.state, curriculum)

    def result(self, prefetch: str | None = None) -> LoopResult:
        cutoff_epoch, cutoff_trials = self.cutoff or (None, None)
        return LoopResult(
            steps=self.epoch - self.start, epoch=self.epoch, losses=tuple(self.losses),
            loss_epochs=tuple(self.loss_epochs), interrupted=self.interrupted,
            cutoff_epoch=cutoff_epoch, cutoff_trials=cutoff_trials,
            performance=self.performance, curriculum_done=self.curriculum_done,
            prefetch=prefetch,
        )
