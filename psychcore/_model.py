"""The user-facing Model: one network on one backend, with PsychRNN's method names."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._backend import Backend
from ._checkpoint import Checkpoint, checkpoint_exists
from ._curriculum import Curriculum
from ._init import initialize_weights
from ._plugins import get_backend
from ._rng import SeedLike, as_generator
from ._spec import ModelSpec
from ._task import Task
from ._training import (
    LoopHooks,
    LoopResult,
    LoopState,
    TrainingOptions,
    stream_seed,
    train_loop,
    training_source,
)
from ._weights import (
    load_weights,
    psychrnn_network,
    save_weights,
    spec_from_weights,
    validate_weights,
)

_TASK_KEYS = ("N_in", "N_out", "dt", "tau")


def _task_params(task: Task | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(task, Task):
        return task.get_task_params()
    if isinstance(task, Mapping):
        missing = [k for k in _TASK_KEYS if k not in task]
        if missing:
            raise ValueError(
                f"task parameters lack {', '.join(missing)}; pass a Task or its "
                "get_task_params() dict"
            )
        return dict(task)
    raise TypeError(
        f"Model needs a Task or a task-parameter dict; received {type(task).__name__}"
    )


def _backend_class(backend: str | type[Backend] | None) -> type[Backend]:
    cls = backend if isinstance(backend, type) else get_backend(backend)
    if not issubclass(cls, Backend):
        raise TypeError(f"backend must be a name or a Backend subclass; received {cls!r}")
    ok, why = cls.is_available()
    if not ok:
        raise ImportError(f"backend '{cls.name}' cannot run here: {why}")
    return cls


class Model:
    """A recurrent network built from a task and a ModelSpec, trained on a backend.

    Args:
        task: A Task, or its ``get_task_params()`` dict (PsychRNN's ``params`` dict also works:
            network keys in it are read when ``spec`` is None).
        spec: The network description; ``ModelSpec()`` (or ``ModelSpec.from_psychrnn(task)``
            for a dict) when None.
        backend: A backend name (as :func:`psychcore.backends` lists them) or Backend
            class; None picks the only installed backend (an error names them when there
            are several).
        seed: One seed for everything random: initial weights, training batches, noise.
        weights: Initial weights: a weights dict, or a path saved by :meth:`save` (or by
            PsychRNN); when None, the file named by a PsychRNN params dict's
            ``load_weights_path``, else drawn from the spec's initialiser.
        device: Backend device (``"cpu"``, ``"cuda"``); the backend's default when None.
        backend_options: Extra keyword arguments for the backend's constructor (see the
            backend's documentation, e.g. ``{"loop": "unrolled"}`` for TensorFlow).

    Attributes:
        epoch: Optimisation steps finished (over all calls of :meth:`train`).
        losses: Every loss recorded, one every ``loss_epoch`` steps.
        loss_epochs: The epoch of each of ``losses``.
        interrupted: Whether the last :meth:`train` call was stopped by Ctrl-C.
        last_result: The :class:`~psychcore._training.LoopResult` of the last :meth:`train`
            call (steps, losses, cutoff), or None before the first.

    Example:
        >>> task = psychcore.get_task("PerceptualDiscrimination")(dt=10, tau=100, T=2000,
        ...                                                        N_batch=128)
        >>> model = psychcore.Model(task, ModelSpec(N_rec=50), seed=0)
        >>> losses, training_time, initialization_time = model.train(task, training_iters=100_000)
    """

    def __init__(
        self,
        task: Task | Mapping[str, Any],
        spec: ModelSpec | None = None,
        backend: str | type[Backend] | None = None,
        *,
        seed: SeedLike = None,
        weights: Mapping[str, np.ndarray] | str | os.PathLike | None = None,
        device: str | None = None,
        backend_options: Mapping[str, Any] | None = None,
    ) -> None:
        start = time.perf_counter()
        params = _task_params(task)
        partial = None
        if not isinstance(task, Task):  # a PsychRNN params dict: network keys, maybe weights
            spec, weights, partial = psychrnn_network(task, spec, weights)
        elif spec is None:
            spec = ModelSpec()
        if not isinstance(spec, ModelSpec):
            raise TypeError(f"spec must be a ModelSpec; received {type(spec).__name__}")
        self.spec = spec.bind(params)
        self.task_params = params
        rng = as_generator(seed)
        init_rng, self.batch_rng, backend_rng, validation_rng = rng.spawn(4)
        #: Seed of the fixed validation sets on which cutoffs and curricula decide.
        self.validation_seed = int(validation_rng.integers(0, 2**63 - 1))
        if weights is None:
            weights = {**initialize_weights(self.spec, init_rng), **(partial or {})}
        elif isinstance(weights, str | os.PathLike):
            weights, _ = load_weights(weights)
        elif isinstance(weights, Mapping):
            weights = {k: np.array(v) for k, v in weights.items()}
        else:
            raise TypeError(
                f"weights must be a dict, a path or None; received {type(weights).__name__}"
            )
        weights = validate_weights(dict(weights), self.spec.architecture)
        self.backend_class = _backend_class(backend)
        self.backend_options = dict(backend_options or {})
        self.backend = self.backend_class(self.spec, weights, seed=backend_rng, device=device,
                                          **self.backend_options)
        self.epoch = 0
        self.losses: list[float] = []
        self.loss_epochs: list[int] = []
        self.interrupted = False
        self.last_result: LoopResult | None = None
        self._optimizer_config: dict[str, Any] | None = None
        self._resumed_from: Path | None = None
        self._pending_state: dict[str, np.ndarray] | None = None
        self._pending_init_time = time.perf_counter() - start
        #: ``f(epoch, losses, loss_epochs) -> dict`` stored as a checkpoint's ``extra`` when
        #: one is written (train_run keeps its metrics rows there); ``resumed_extra`` is the
        #: ``extra`` of the checkpoint this model was rebuilt from.
        self.checkpoint_extra: Callable[[int, list, list], dict] | None = None
        self.resumed_extra: dict[str, Any] = {}

    # -------------------------------------------------------------- training
    def train(
        self,
        task_or_curriculum: Task | Curriculum,
        train_params: dict | None = None,
        *,
        training_iters: int | None = None,
        learning_rate: float | None = None,
        loss_epoch: int | None = None,
        verbosity: bool | None = None,
        save_weights_path: str | None = None,
        save_training_weights_epoch: int | None = None,
        training_weights_path: str | None = None,
        curriculum: Curriculum | None = None,
        optimizer: Any = None,
        optimizer_options: Mapping[str, Any] | None = None,
        clip_grads: bool | float | None = None,
        performance_cutoff: float | None = None,
        performance_measure: Any = None,
        checkpoint_path: str | None = None,
        checkpoint_epoch: int | None = None,
        callback: Any = None,
        validation_trials: int | None = None,
        prefetch: str | bool | None = None,
    ) -> tuple[list[float], float, float]:
        """Train on a task or curriculum (PsychRNN's ``train``; ``train_params`` also accepted).

        Calling ``train`` again continues from the current weights and optimiser state
        (kept as long as ``optimizer``, ``learning_rate`` and ``clip_grads`` are unchanged).
        The arguments become a :class:`~psychcore.TrainingOptions` and the loop
        (:func:`psychcore._training.train_loop`) runs on the backend; :attr:`epoch`,
        :attr:`losses` and :attr:`loss_epochs` are updated when it returns (a ``callback``
        sees the running values in its :class:`TrainStatus`).

        Args:
            task_or_curriculum: The Task (or Curriculum) to draw batches from.
            train_params: PsychRNN's ``train_params`` dict (explicit arguments win).
            training_iters: Trials to train on (default 50,000); ``ceil(iters/N_batch)`` steps.
            learning_rate: Optimiser step size (default 1e-3).
            loss_epoch: Record the loss every this many steps (default 10).
            verbosity: Print progress (default True).
            save_weights_path: Save the final weights there (refuses to overwrite).
            save_training_weights_epoch: Snapshot period in steps (default 100).
            training_weights_path: Snapshot prefix; snapshots are ``<prefix><epoch>``.
            curriculum: A Curriculum (used instead of a Task passed as
                ``task_or_curriculum``).
            optimizer: Optimiser name or framework object (default ``"adam"``).
            optimizer_options: Extra keyword arguments for the optimiser (e.g. betas).
            clip_grads: Clip gradients by global norm 1 (True, default), a given norm, or not.
            performance_cutoff: Stop once ``performance_measure`` reaches this value.
            performance_measure: PsychRNN signature ``(x, y, mask, output, epoch, losses,
                verbosity) -> float``; the task's accuracy by default. Checked every
                ``loss_epoch`` steps on the validation set (``validation_trials``).
            checkpoint_path: Write a resumable checkpoint there every ``checkpoint_epoch``
                steps and when interrupted; resume with :meth:`from_checkpoint`.
            checkpoint_epoch: Checkpoint period in steps (default 100).
            callback: Called with a :class:`TrainStatus` after every step.
            validation_trials: Trials of the fixed validation set on which the performance
                cutoff and curriculum stages decide (default 512; drawn once per task from
                the model's own validation stream); 0 decides on a fresh training-sized
                batch each time, as PsychRNN does.
            prefetch: Draw the next batch while the backend runs the current step:
                ``"auto"`` (default: a worker process when the first batches take more
                than 20 ms and 10% of a step), True or ``"process"``, ``"thread"``, or
                False; the batches, and so the results, are the same either way (see
                :class:`~psychcore.TrainingOptions`).

        Returns:
            ``(losses, training_time, initialization_time)`` as PsychRNN: the losses recorded
            in this call, the seconds spent in the loop and the seconds spent building the
            model and optimiser before it.
        """
        start = time.perf_counter()
        options = TrainingOptions.from_train_params(
            train_params, training_iters=training_iters, learning_rate=learning_rate,
            loss_epoch=loss_epoch, verbosity=verbosity, save_weights_path=save_weights_path,
            save_training_weights_epoch=save_training_weights_epoch,
            training_weights_path=training_weights_path, curriculum=curriculum,
            optimizer=optimizer, optimizer_options=optimizer_options, clip_grads=clip_grads,
            performance_cutoff=performance_cutoff, performance_measure=performance_measure,
            checkpoint_path=checkpoint_path, checkpoint_epoch=checkpoint_epoch,
            callback=callback, validation_trials=validation_trials, prefetch=prefetch,
        )
        # every output path is checked before the first step, not when training reaches it
        if options.save_weights_path is not None:
            self._check_free(options.save_weights_path, "save_weights_path")
        if options.training_weights_path is not None:
            prefix, every = options.training_weights_path, options.save_training_weights_epoch
            first, _ = training_source(task_or_curriculum, options.curriculum)
            last = self.epoch + -(-options.training_iters // first.N_batch)
            self._check_free(f"{prefix}0", "training_weights_path", exists=False)
            for epoch in range((self.epoch // every + 1) * every, last + 1, every):
                self._check_free(f"{prefix}{epoch}", "training_weights_path")
        ckpt = options.checkpoint_path
        if ckpt is not None and checkpoint_exists(ckpt) and self._resumed_from != Path(ckpt):
            raise FileExistsError(
                f"checkpoint {ckpt} already exists; resume it with Model.from_checkpoint() "
                "or choose another checkpoint_path"
            )
        self._configure(options)
        init_time = self._pending_init_time + (time.perf_counter() - start)
        self._pending_init_time = 0.0
        self.interrupted = False
        loop_start = time.perf_counter()
        hooks = LoopHooks(snapshot=self.save, checkpoint=self._checkpoint_hook,
                          aborted=self._absorb)
        result = train_loop(self.backend, task_or_curriculum, options, rng=self.batch_rng,
                            start_epoch=self.epoch, past_losses=self.losses, hooks=hooks,
                            validation_seed=self.validation_seed)
        self._absorb(result)
        if options.save_weights_path is not None:
            self.save(options.save_weights_path)
        if ckpt is not None:
            self._resumed_from = Path(ckpt)
        return list(result.losses), time.perf_counter() - loop_start, init_time

    def _absorb(self, result: LoopResult) -> None:
        """Take over what a call of the loop did (also when it ended with an exception)."""
        self.epoch = result.epoch
        self.losses.extend(result.losses)
        self.loss_epochs.extend(result.loss_epochs)
        self.interrupted = result.interrupted
        self.last_result = result

    def _checkpoint_hook(self, path: str, state: LoopState) -> None:
        self._write_checkpoint(path, state.epoch, self.losses + list(state.losses),
                               self.loss_epochs + list(state.loss_epochs),
                               state.batch_rng_state, state.curriculum)

    def _configure(self, options: TrainingOptions) -> None:
        config = _normalised(options.optimizer_config())
        if config != self._optimizer_config:
            self.backend.configure_optimizer(**config)
            self._optimizer_config = config
            if self._pending_state is not None:
                self.backend.set_training_state(self._pending_state)
                self._pending_state = None

    # -------------------------------------------------------------- inference
    def test(self, x: np.ndarray, noise: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on inputs of any number of trials.

        Args:
            x: Inputs ``(N_trials, N_steps, N_in)``.
            noise: Optional standard normals ``(N_trials, N_steps, N_rec)`` for the recurrent
                noise (drawn by the backend when the spec has ``rec_noise`` and this is None).

        Returns:
            ``(outputs, states)`` of shapes ``(N_trials, N_steps, N_out)`` and
            ``(N_trials, N_steps, N_rec)``.
        """
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.spec.N_in:
            raise ValueError(
                f"x must have shape (N_trials, N_steps, N_in={self.spec.N_in}); "
                f"received {x.shape}"
            )
        return self.backend.forward(x.astype(self.spec.dtype, copy=False), noise)

    def get_weights(self) -> dict[str, np.ndarray]:
        """The network's weights dict (copies; PsychRNN's key names)."""
        return self.backend.get_weights()

    def simulator(self, seed: SeedLike = None) -> Any:
        """A NumPy :class:`~psychcore.Simulator` of the current weights."""
        from ._simulator import Simulator

        return Simulator(self.spec, self.get_weights(), seed=seed)

    # -------------------------------------------------------------- files
    @staticmethod
    def _check_free(path: str | os.PathLike, option: str = "path", *,
                    exists: bool = True) -> None:
        """Refuse a weights path whose directory is missing, or (``exists``) whose file is
        there already (naming the ``option`` it came from)."""
        base = Path(path)
        npz = base if base.suffix == ".npz" else base.with_name(base.name + ".npz")
        if not npz.parent.is_dir():
            raise FileNotFoundError(f"{option}: directory {npz.parent} does not exist (for "
                                    f"{npz}); create it first")
        if exists and npz.exists():
            raise FileExistsError(
                f"{npz} already exists; psychcore never overwrites saved weights silently"
            )

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Save the weights to ``<path>.npz`` and the spec to ``<path>.json`` (atomically)."""
        return save_weights(path, self.get_weights(), self.spec, overwrite=overwrite)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        backend: str | type[Backend] | None = None,
        *,
        task: Task | Mapping[str, Any] | None = None,
        spec: ModelSpec | None = None,
        seed: SeedLike = None,
        device: str | None = None,
        backend_options: Mapping[str, Any] | None = None,
    ) -> Model:
        """Build a model from a saved weights file (psychcore's or PsychRNN's).

        The spec saved beside the weights is used unless ``spec`` is given; ``task`` (or its
        params) is needed when the spec is not bound (e.g. a PsychRNN file). Without a saved
        spec, a PsychRNN params dict with ``N_rec`` describes the network; otherwise the
        weights do (:func:`psychcore._weights.spec_from_weights`: size, architecture and
        Dale ratio from the file).
        """
        weights, saved_spec = load_weights(path)
        spec = spec or saved_spec
        if spec is None and not (isinstance(task, Mapping) and "N_rec" in task):
            spec = spec_from_weights(weights)
        if task is None:
            if spec is None or not spec.is_bound:
                raise ValueError(
                    f"{path} has no bound spec beside it; pass task= (a Task or its params)"
                )
            task = {k: getattr(spec, k) for k in _TASK_KEYS}
        return cls(task, spec, backend, seed=seed, weights=weights, device=device,
                   backend_options=backend_options)

    def save_checkpoint(
        self, path: str | os.PathLike, curriculum: Curriculum | None = None
    ) -> Path:
        """Write a resumable checkpoint (weights, optimiser and generator states, position).

        Args:
            path: The checkpoint path (``<path>.npz``, replaced atomically).
            curriculum: The curriculum being trained; its :meth:`Curriculum.state_dict` is
                saved with the rest.
        """
        return self._write_checkpoint(path, self.epoch, self.losses, self.loss_epochs,
                                      self.batch_rng.bit_generator.state, curriculum)

    def _write_checkpoint(
        self,
        path: str | os.PathLike,
        epoch: int,
        losses: list[float],
        loss_epochs: list[int],
        batch_rng_state: dict[str, Any],
        curriculum: Curriculum | None,
    ) -> Path:
        extra = ({} if self.checkpoint_extra is None
                 else self.checkpoint_extra(epoch, list(losses), list(loss_epochs)))
        return Checkpoint(
            weights=self.get_weights(),
            training_state=self.backend.get_training_state(),
            spec_json=self.spec.to_json(),
            epoch=epoch,
            losses=list(losses),
            loss_epochs=list(loss_epochs),
            batch_rng_state=batch_rng_state,
            optimizer=_jsonable_optimizer(self._optimizer_config),
            curriculum=None if curriculum is None else curriculum.state_dict(),
            extra={**extra, "validation_seed": self.validation_seed},
        ).save(path)

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike,
        backend: str | type[Backend] | None = None,
        *,
        curriculum: Curriculum | None = None,
        device: str | None = None,
        backend_options: Mapping[str, Any] | None = None,
    ) -> Model:
        """Rebuild a model exactly as it was when the checkpoint was written.

        Continue with ``model.train(..., checkpoint_path=path)`` and the other arguments of the
        interrupted run, with ``training_iters`` the trials still to train
        (``model.epoch`` steps are done); a ``curriculum`` passed here is moved back to its
        saved stage.
        """
        ck = Checkpoint.load(path)
        spec = ModelSpec.from_json(ck.spec_json)
        model = cls({k: getattr(spec, k) for k in _TASK_KEYS}, spec, backend,
                    weights=ck.weights, device=device, backend_options=backend_options)
        model.batch_rng.bit_generator.state = ck.batch_rng_state
        # checkpoints written before validation sets existed: a seed of their own, derived
        # from the checkpoint, so resuming one twice decides on the same set
        model.validation_seed = int(ck.extra.get("validation_seed",
                                                 stream_seed(model.batch_rng)))
        model.epoch = ck.epoch
        model.losses = list(ck.losses)
        model.loss_epochs = list(ck.loss_epochs)
        if ck.optimizer:
            model.backend.configure_optimizer(**ck.optimizer)
            model._optimizer_config = dict(ck.optimizer)
            model.backend.set_training_state(ck.training_state)
        else:  # a framework optimiser object: restored once train() configures it again
            model._pending_state = ck.training_state
        if curriculum is not None and ck.curriculum is not None:
            curriculum.load_state_dict(ck.curriculum)
        model._resumed_from = Path(path)
        model.resumed_extra = dict(ck.extra)
        return model

    # -------------------------------------------------------------- PsychRNN's names
    def train_curric(self, train_params: dict[str, Any]) -> tuple[list[float], float, float]:
        """PsychRNN's curriculum training: ``model.train(train_params["curriculum"],
        train_params)``."""
        curriculum = train_params.get("curriculum") if isinstance(train_params, dict) else None
        if curriculum is None:
            raise ValueError("train_curric(train_params) needs train_params['curriculum'], a "
                             "psychcore.Curriculum; or write model.train(curriculum, train_params)")
        return self.train(curriculum, train_params)

    def destruct(self) -> None:
        """PsychRNN's ``destruct()``: release the backend and its framework memory now.

        psychcore has no session or global graph to reset, so this is optional; the model
        cannot be used afterwards (any use raises RuntimeError saying so).
        """
        self.backend = _Destructed()  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Model(architecture={self.spec.architecture!r}, N_rec={self.spec.N_rec}, "
            f"backend={self.backend_class.name!r}, epoch={self.epoch})"
        )


class _Destructed:
    """Stands in for the backend of a model after :meth:`Model.destruct`."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("this model was destructed (model.destruct()); build a new one, e.g. "
                           "Model.load(path) from weights saved before")


def _normalised(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as it comes back from a checkpoint's JSON (tuples become lists), if it can."""
    try:
        return json.loads(json.dumps(config))
    except TypeError:
        return config


def _jsonable_optimizer(config: dict[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return {}
    try:
        json.dumps(config)
    except TypeError:
        # a framework object cannot be stored; the resumed run must configure it again
        return {}
    return dict(config)
