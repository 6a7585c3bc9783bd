"""Run directories: one trained network with everything needed to inspect or resume it.

``train_run`` (and ``psychcore train``) writes into a new directory:

- ``spec.json``: the bound ModelSpec; ``run.json``: task, task parameters, backend, seed,
  training options, versions, status (``running``, ``finished``, ``interrupted`` or
  ``failed``, with a ``message``, and for a failure its ``error``), summary numbers, and
  ``cutoff_reached``: the ``{"epoch", "trials"}`` at which the performance cutoff stopped
  training, or null; ``performance_cutoff``: ``{"value", "reached", "epoch", "trials"}``
  (null without a cutoff), which also says that a cutoff was set and not reached;
  ``final_loss``: the loss of the last training step;
- ``weights.npz`` (+ ``weights.json``): the final weights, PsychRNN's key names;
- ``checkpoint.npz``/``.json``: the latest resumable checkpoint; it also holds the metrics rows
  up to its epoch, so ``metrics.csv`` is rebuilt from it on resume and a kill at any instant
  never leaves the two disagreeing;
- ``metrics.csv``: epoch, trials, loss, accuracy (on the run task's fixed validation set, the
  one the performance cutoff decides on), stage, time;
- ``training.png``: loss and accuracy against trials (when matplotlib is installed).

An existing directory is never overwritten; ``resume=True`` continues it from its checkpoint
(or from the start when it was stopped before its first checkpoint), and refuses options that
differ from the run's (see :func:`train_run`). While a run trains, it holds a lock on its
directory (``.psychcore.lock``; ``.psychcore.lock.json`` names the holder): a second
``train_run`` on the same directory is refused with :class:`RunInUseError`. Ctrl-C (SIGINT) and
SIGTERM stop training after the current step and save; a signal during the save is ignored.
Every checked option and output path is checked before the first step.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import platform
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from ._backend import Backend
from ._io import atomic_write_text
from ._model import Model
from ._progress import progress_bar, show_progress
from ._spec import BOUND_KEYS, ModelSpec
from ._spec_io import read_json_file
from ._task import Task, checked_accuracy, defines_accuracy
from ._training import TrainingOptions, TrainStatus, ValidationSets

METRIC_FIELDS = ("epoch", "trials", "loss", "accuracy", "stage", "elapsed_s")
#: Key of the run's own task's validation set when a curriculum's stages use keys 0, 1, ...
RUN_TASK_SET = 2**31
LOCK_FILE = ".psychcore.lock"
HOLDER_FILE = ".psychcore.lock.json"
#: Options that may differ when a run is resumed (every other recorded one must match).
RESUMABLE_CHANGES = ("training_iters", "performance_cutoff", "checkpoint_epoch", "device",
                     "progress")
_OWN_FILES = frozenset({LOCK_FILE, HOLDER_FILE})
_DERIVED_TASK_KEYS = frozenset({"alpha", "N_steps"})


class PsychcoreError(Exception):
    """An error psychcore reports to the user in one line (the command line: no traceback).

    Attributes:
        exit_code: The exit status of ``psychcore`` for it: 2 for bad input or usage, 1 when
            training or a check failed.
    """

    exit_code = 2


class UsageError(PsychcoreError, ValueError):
    """Bad input: an option, a path or a run directory that cannot be used as given."""


class RunInUseError(PsychcoreError, RuntimeError):
    """Another process is training in this run directory (it holds the directory's lock)."""


class RunDirectoryError(UsageError):
    """The run directory cannot be used: a file, not writable, or not a run directory."""


class ResumeMismatchError(UsageError):
    """``resume=True`` with options that differ from the run's.

    Attributes:
        differences: One ``"name new (run: old)"`` text per differing option.
    """

    def __init__(self, out: Path, differences: list[str]) -> None:
        self.differences = differences
        super().__init__(
            f"these options differ from the run's in {out}: {', '.join(differences)}; on "
            f"resume only {', '.join(RESUMABLE_CHANGES)} may change"
        )


class TrainingDivergedError(PsychcoreError, FloatingPointError):
    """The loss (or the weights) became NaN or infinite; the last good checkpoint is kept."""

    exit_code = 1


class RunWriteError(PsychcoreError, OSError):
    """A run's file could not be written (a full disk...); the previous checkpoint is intact."""

    exit_code = 1


@dataclass
class RunResult:
    """What :func:`train_run` returns.

    ``signal`` is the name of the signal that interrupted training (``"SIGINT"``,
    ``"SIGTERM"``), or None; ``message`` says how the run ended and, when interrupted, how to
    resume it (as ``run.json`` does). ``plot_skipped`` says why ``training.png`` was not drawn
    although there were metrics to draw (matplotlib missing, with the command that installs
    it), else None. ``cutoff`` is ``run.json``'s ``performance_cutoff``.
    """

    path: Path
    model: Model
    accuracy: float | None
    final_loss: float | None
    epochs: int
    training_time: float
    interrupted: bool
    signal: str | None = None
    message: str | None = None
    plot_skipped: str | None = None
    cutoff: dict[str, Any] | None = None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


def _versions(backend: str) -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for dist in ("psychcore", "numpy", "torch", "tensorflow", "tensorflow-cpu"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    out["backend"] = backend
    return out


def _bar_update(bar: Any, done: int, loss: float, accuracy: float | None,
                stage: int | None) -> None:
    """Move the training bar to ``done`` steps with the loss, accuracy and stage after it."""
    parts = [f"loss {loss:.4g}"]
    if accuracy is not None:
        parts.append(f"acc {accuracy:.3f}")
    if stage is not None:
        parts.append(f"stage {stage}")
    bar.set_postfix_str(", ".join(parts), refresh=False)
    bar.update(max(done - bar.n, 0))


def _cutoff(model: Model) -> dict[str, int] | None:
    """When this call's training reached the performance cutoff, or None."""
    result = model.last_result
    if result is None or not result.cutoff_reached:
        return None
    return {"epoch": result.cutoff_epoch, "trials": result.cutoff_trials}


def _cutoff_summary(value: float | None,
                    reached: dict[str, int] | None) -> dict[str, Any] | None:
    """``run.json``'s ``performance_cutoff``: the value, whether this call's training reached
    it, and at which epoch (step) and trials; None without a cutoff."""
    if value is None:
        return None
    return {"value": value, "reached": reached is not None,
            "epoch": None if reached is None else reached["epoch"],
            "trials": None if reached is None else reached["trials"]}


def _write_metrics(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=METRIC_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue(), overwrite=True)


def _read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


#: Why ``training.png`` is missing on an install without matplotlib, and how to get it.
NO_PLOT = ('training.png skipped: matplotlib is not installed (pip install "psychcore[analysis]"'
           ', then draw it with psychcore report RUN_DIR or train again)')


def metrics_figure(rows: list[dict[str, Any]]) -> Any:
    """The figure of :func:`plot_metrics`: loss (log scale) and validation accuracy against
    trials, with at most 6 x ticks in engineering format (``10k``, ``12.5k``) so the labels
    never run together."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter, MaxNLocator

    trials = [float(r["trials"]) for r in rows]
    loss = [float(r["loss"]) for r in rows]
    acc = [float(r["accuracy"]) if r["accuracy"] not in ("", None) else math.nan for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    ax1.plot(trials, loss, color="black")
    ax1.set(xlabel="trials", ylabel="loss", yscale="log", title="training loss")
    ax2.plot(trials, acc, color="tab:blue")
    ax2.set(xlabel="trials", ylabel="validation accuracy", ylim=(0, 1.02),
            title="validation accuracy")
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    return fig


def plot_metrics(rows: list[dict[str, Any]], path: Path) -> bool:
    """Draw loss and accuracy against trials into ``path``; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig = metrics_figure(rows)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return True


# ------------------------------------------------------------------ the run directory's lock
def _holder(out: Path) -> str:
    try:
        h = json.loads((out / HOLDER_FILE).read_text(encoding="utf-8"))
        return f"pid {h['pid']} on {h['host']} since {h['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return f"another process (it holds {out / LOCK_FILE})"


@contextlib.contextmanager
def hold_run_directory(out: Path) -> Iterator[None]:
    """Hold ``out``'s lock for the block (``filelock``), naming this process as its holder.

    Raises:
        RunInUseError: If another process holds it, naming that process.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(out / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunInUseError(f"run directory {out} is in use by {_holder(out)}") from None
    try:
        holder = {"pid": os.getpid(), "host": platform.node(),
                  "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
        atomic_write_text(out / HOLDER_FILE, json.dumps(holder), overwrite=True)
        yield
    finally:
        with contextlib.suppress(OSError):
            (out / HOLDER_FILE).unlink()
        lock.release()


def _is_empty(out: Path) -> bool:
    return not any(p.name not in _OWN_FILES for p in out.iterdir())


# ------------------------------------------------------------------ stop signals
class _StopSignals:
    """SIGINT and SIGTERM (and a sweep worker's SIGUSR1), while active, only ask training to
    stop after the current step.

    Handlers are installed only in the main thread and only over the default ones (an
    application's own handlers, or SIGINT ignored in a sweep's workers, are left alone).
    A signal never interrupts a step or a save: :meth:`check`, called between steps, raises
    KeyboardInterrupt once one was received; later signals are only acknowledged.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.received: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _StopSignals:
        if not self.enabled or threading.current_thread() is not threading.main_thread():
            return self
        for sig, default in ((signal.SIGINT, signal.default_int_handler),
                             (signal.SIGTERM, signal.SIG_DFL)):
            if signal.getsignal(sig) is default:
                self._old[sig] = signal.signal(sig, self._handle)
        # a handler that marks itself as a request to stop (a sweep worker's SIGUSR1) is
        # deferred the same way, so a stopped sweep never cuts a step in two
        for sig in (getattr(signal, "SIGUSR1", None),):
            if sig is not None and getattr(signal.getsignal(sig), "psychcore_stop", False):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.received is None:
            self.received = signum
            text = f"\npsychcore: {name}: stopping after the current step and saving\n"
        else:
            text = f"\npsychcore: {name}: still saving, please wait\n"
        with contextlib.suppress(OSError):  # os.write: no buffered stream to re-enter
            os.write(2, text.encode())

    @property
    def name(self) -> str | None:
        return None if self.received is None else signal.Signals(self.received).name

    def check(self) -> None:
        """Raise KeyboardInterrupt if a stop signal was received."""
        if self.received is not None:
            raise KeyboardInterrupt


# ------------------------------------------------------------------ checks before anything
def _probe_writable(directory: Path, out: Path) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".psychcore-probe-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise RunDirectoryError(
            f"cannot write the run directory {out}: {directory} is not writable "
            f"({exc.strerror or exc})"
        ) from None


def check_run_directory(out: Path, resume: bool) -> None:
    """Check that ``out`` can hold a new run (or, ``resume``, is a run to continue).

    Raises:
        RunDirectoryError: If ``out`` (or a parent) is a file, is not writable, or, on
            resume, is not a run directory.
        FileExistsError: If a new run's ``out`` exists and is not empty.
        FileNotFoundError: If ``out`` to resume does not exist.
    """
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(f"run directory {out} is a file, not a directory")
    if resume:
        if not out.exists():
            raise FileNotFoundError(f"run directory {out} does not exist; nothing to resume")
        if not (out / "run.json").is_file():
            raise RunDirectoryError(f"{out} is not a psychcore run directory (no run.json)")
        _probe_writable(out, out)
        return
    if out.exists():
        if not _is_empty(out):
            raise FileExistsError(
                f"run directory {out} already exists and is not empty; psychcore never "
                "overwrites a run (use resume=True / --resume to continue it)"
            )
        _probe_writable(out, out)
        return
    ancestor = out.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise RunDirectoryError(f"cannot create the run directory {out}: {ancestor} is a file")
    _probe_writable(ancestor, out)


def _normalised(value: Any) -> Any:
    return json.loads(json.dumps(_jsonable(value)))


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, bool) or value is None or not isinstance(value, int | str):
        return json.dumps(value)
    return str(value)


def resume_differences(
    recorded: dict[str, Any], recorded_spec: ModelSpec, **given: Any
) -> list[str]:
    """What differs between a run's recorded options and those given to resume it.

    Args:
        recorded: The run's ``run.json``.
        recorded_spec: The run's bound spec.
        **given: ``task_name``, ``task`` (a Task), ``spec`` (a ModelSpec), ``backend``,
            ``seed``, ``learning_rate``, ``loss_epoch``, ``validation_trials``.

    Returns:
        One ``"name new (run: old)"`` text per difference, in that order.
    """
    diffs: list[str] = []

    def compare(label: str, new: Any, old: Any) -> None:
        if _normalised(new) != _normalised(old):
            diffs.append(f"{label} {_text(_normalised(new))} (run: {_text(_normalised(old))})")

    compare("task", given["task_name"], recorded.get("task"))
    new_params = _normalised(given["task"].get_task_params())
    old_params = recorded.get("task_params") or {}
    for key in sorted((set(new_params) | set(old_params)) - _DERIVED_TASK_KEYS):
        compare(f"task {key}", new_params.get(key), old_params.get(key))
    new_spec, old_spec = given["spec"].to_dict(), recorded_spec.to_dict()
    for key in old_spec:
        if key not in BOUND_KEYS:  # those come from the task, compared above
            compare(key, new_spec.get(key), old_spec[key])
    compare("backend", given["backend"], recorded.get("backend"))
    compare("seed", given["seed"], recorded.get("seed"))
    training = recorded.get("training") or {}
    for key in ("learning_rate", "loss_epoch", "validation_trials"):
        if key in training:
            compare(key, given[key], training[key])
    return diffs


def _read_json(path: Path) -> dict[str, Any]:
    """A run directory's ``run.json``, refused as a :class:`RunDirectoryError` when unusable."""
    try:
        return read_json_file(path, "the run.json of a psychcore run")
    except (OSError, ValueError) as exc:
        raise RunDirectoryError(f"cannot read {path}: {exc}") from None


def _check_finite(model: Model, epoch: int) -> None:
    for key, value in model.get_weights().items():  # arrays (a scalar NaN means "none")
        if value.ndim and np.issubdtype(value.dtype, np.inexact) \
                and not np.isfinite(value).all():
            raise FloatingPointError(
                f"the weights ({key}) became NaN or infinite at epoch {epoch}; lower the "
                "learning rate or check the task's targets"
            )


# ------------------------------------------------------------------ training a run
def train_run(
    task: Task,
    spec: ModelSpec,
    out_dir: str | os.PathLike,
    *,
    backend: str | type[Backend] | None = None,
    seed: int = 0,
    resume: bool = False,
    training_iters: int = 50000,
    learning_rate: float = 1e-3,
    loss_epoch: int = 10,
    checkpoint_epoch: int = 100,
    performance_cutoff: float | None = None,
    curriculum: Any = None,
    device: str | None = None,
    progress: bool | None = None,
    task_name: str | None = None,
    validation_trials: int = 512,
    handle_signals: bool = True,
) -> RunResult:
    """Train one network into a run directory (see the module docstring).

    Everything that can be checked is checked before anything is created or trained: the
    options, the run directory (a new one must be creatable and writable, a resumed one must
    be a run directory), its lock, and on resume the options against the run's.

    Args:
        task: The task to train on (and to validate on).
        spec: The network description.
        out_dir: The run directory; must not exist (or be empty) unless ``resume``.
        backend: Backend name or class; None picks the only installed backend. ``run.json``
            records the name of the backend used.
        seed: Seed of the model (weights, batches, noise and the validation sets' stream).
        resume: Continue the run in ``out_dir`` from its checkpoint. Every option the run
            recorded must be the same (task and its parameters, spec, backend, seed,
            learning rate, loss_epoch, validation_trials); only ``training_iters`` (the new
            total), ``performance_cutoff``, ``checkpoint_epoch``, ``device`` and ``progress``
            may change.
        training_iters: As :meth:`Model.train`.
        learning_rate: As :meth:`Model.train`.
        loss_epoch: As :meth:`Model.train`.
        checkpoint_epoch: As :meth:`Model.train`.
        performance_cutoff: As :meth:`Model.train`.
        curriculum: As :meth:`Model.train`.
        device: Backend device.
        progress: Show a progress bar (default: when stderr is a terminal).
        task_name: Name recorded in ``run.json`` (the class name by default).
        validation_trials: Trials in the fixed validation set of each task (curriculum
            stage): the cutoff and stages decide on it and ``metrics.csv`` records its accuracy
            (see :meth:`Model.train`); 0 makes the decisions on fresh training batches, as
            PsychRNN does, while the metrics still use a fixed 512-trial set.
        handle_signals: In the main thread, let SIGINT and SIGTERM stop training after the
            current step (saved, ``interrupted``) instead of interrupting it anywhere.

    Returns:
        A :class:`RunResult` (``interrupted`` when stopped by Ctrl-C or SIGTERM: saved and
        resumable).

    Raises:
        ValueError: For invalid options (nothing is created), including a performance
            cutoff on a task without an ``accuracy_function``;
            :class:`ResumeMismatchError` when resuming with different options;
            :class:`RunDirectoryError` for an unusable directory.
        FileExistsError: If a new run's directory exists and is not empty.
        RunInUseError: If another process trains in ``out_dir``.
        TrainingDivergedError: If the loss or the weights became NaN or infinite (``run.json``
            says ``failed``; the last good checkpoint is kept).
        RunWriteError: If a file could not be written (``failed``; the previous checkpoint is
            intact).
    """
    out = Path(out_dir)
    TrainingOptions(training_iters=training_iters, learning_rate=learning_rate,  # checks them
                    loss_epoch=loss_epoch, checkpoint_epoch=checkpoint_epoch,
                    performance_cutoff=performance_cutoff, validation_trials=validation_trials)
    if performance_cutoff is not None and not defines_accuracy(task):
        raise ValueError(f"a performance cutoff needs the task's accuracy; task "
                         f"{type(task).__name__} has no accuracy_function")
    check_run_directory(out, resume)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with hold_run_directory(out), _StopSignals(handle_signals) as stop:
            return _train_locked(
                task, spec, out, backend=backend, seed=seed, resume=resume,
                training_iters=training_iters, learning_rate=learning_rate,
                loss_epoch=loss_epoch, checkpoint_epoch=checkpoint_epoch,
                performance_cutoff=performance_cutoff, curriculum=curriculum, device=device,
                progress=progress, task_name=task_name or type(task).__name__,
                validation_trials=validation_trials, stop=stop,
            )
    finally:
        if created and out.exists() and _is_empty(out):  # failed before writing anything
            for name in _OWN_FILES:
                with contextlib.suppress(OSError):
                    (out / name).unlink()
            with contextlib.suppress(OSError):
                out.rmdir()


def _start(task: Task, spec: ModelSpec, out: Path, *, backend: Any, seed: int, resume: bool,
           curriculum: Any, device: str | None, task_name: str, learning_rate: float,
           loss_epoch: int, validation_trials: int) -> tuple[Model, bool]:
    """The model to train and whether it comes from the run's checkpoint."""
    if not resume:
        if not _is_empty(out):  # created by another process since the first check
            raise FileExistsError(f"run directory {out} already exists and is not empty")
        return Model(task, spec, backend, seed=seed, device=device), False
    recorded = _read_json(out / "run.json")
    from_checkpoint = (out / "checkpoint.npz").exists()
    if from_checkpoint:
        model = Model.from_checkpoint(out / "checkpoint", backend=backend,
                                      curriculum=curriculum, device=device)
        recorded_spec = model.spec
    else:  # stopped before its first checkpoint: nothing was trained, start it again
        if (out / "weights.npz").exists():
            raise RunDirectoryError(f"{out} has weights but no checkpoint to resume")
        model = Model(task, spec, backend, seed=seed, device=device)
        recorded_spec = (ModelSpec.from_json((out / "spec.json").read_text(encoding="utf-8"))
                         if (out / "spec.json").exists() else model.spec)
    try:
        bound = spec.bind(task)
    except ValueError:
        bound = spec
    diffs = resume_differences(
        recorded, recorded_spec, task_name=task_name, task=task, spec=bound,
        backend=model.backend_class.name, seed=seed, learning_rate=learning_rate,
        loss_epoch=loss_epoch, validation_trials=validation_trials)
    if diffs:
        raise ResumeMismatchError(out, diffs)
    return model, from_checkpoint


def _train_locked(task: Task, spec: ModelSpec, out: Path, *, stop: _StopSignals,
                  **o: Any) -> RunResult:
    model, from_checkpoint = _start(
        task, spec, out, **{k: o[k] for k in (
            "backend", "seed", "resume", "curriculum", "device", "task_name",
            "learning_rate", "loss_epoch", "validation_trials")})
    backend_name = model.backend_class.name
    start_epoch = model.epoch
    rows: list[dict[str, Any]] = []
    if from_checkpoint:  # the checkpoint's rows; from an older version's, metrics.csv's
        rows = list(model.resumed_extra.get("metrics") or _read_metrics(out / "metrics.csv"))
        rows = [r for r in rows if int(r["epoch"]) <= model.epoch]
    info: dict[str, Any] = {
        "task": o["task_name"],
        "task_params": _jsonable(task.get_task_params()),
        "backend": backend_name,
        "seed": o["seed"],
        "training": {"training_iters": o["training_iters"], "learning_rate": o["learning_rate"],
                     "loss_epoch": o["loss_epoch"],
                     "performance_cutoff": o["performance_cutoff"],
                     "validation_trials": o["validation_trials"]},
        "versions": _versions(backend_name),
        "status": "running",
    }
    atomic_write_text(out / "run.json", json.dumps(info, indent=1), overwrite=True)
    atomic_write_text(out / "spec.json", model.spec.to_json(), overwrite=True)

    def finish(status: str, message: str | None, error: str | None = None) -> None:
        info["status"] = status
        for key, value in (("message", message), ("error", error)):
            if value is not None:
                info[key] = value
        atomic_write_text(out / "run.json", json.dumps(info, indent=1), overwrite=True)

    saved: dict[str, Any] = {"epoch": start_epoch if from_checkpoint else None}
    try:
        return _train_and_save(model, task, out, o, stop, rows, info, finish, saved,
                               start_epoch, from_checkpoint)
    except FloatingPointError as exc:
        kept = ("no checkpoint was written before" if saved["epoch"] is None else
                f"the last good checkpoint (epoch {saved['epoch']}) is kept in "
                f"{out / 'checkpoint.npz'}")
        message = f"training diverged: {exc}; {kept}"
        with contextlib.suppress(OSError):
            finish("failed", message, message)
        raise TrainingDivergedError(message) from exc
    except OSError as exc:
        message = (f"could not write {exc.filename or 'a file of the run'}: "
                   f"{exc.strerror or exc}; the previous checkpoint is intact in "
                   f"{out / 'checkpoint.npz'}; free space and resume with --resume")
        with contextlib.suppress(OSError):
            finish("failed", message, message)
        raise RunWriteError(message) from exc
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}".rstrip(": ")
        with contextlib.suppress(OSError):
            if isinstance(exc, KeyboardInterrupt):
                finish("interrupted", f"interrupted ({message}); continue it with resume=True")
            else:
                finish("failed", message, message)
        raise


def _train_and_save(model: Model, task: Task, out: Path, o: dict[str, Any], stop: _StopSignals,
                    rows: list[dict[str, Any]], info: dict[str, Any], finish: Any,
                    saved: dict[str, Any], start_epoch: int, from_checkpoint: bool) -> RunResult:
    """Validate, train and save (the part of :func:`train_run` whose failure marks the run)."""
    curriculum, loss_epoch = o["curriculum"], o["loss_epoch"]
    base_elapsed = float(model.resumed_extra.get("training_time_s", 0.0))
    # the sets (with their own noise) on which the loop decides: metrics.csv records what the
    # cutoff and the curriculum judged, and validating never draws training's noise
    sets = ValidationSets(o["validation_trials"] or 512, model.validation_seed)
    has_accuracy = defines_accuracy(task)
    remaining = o["training_iters"] - model.epoch * task.N_batch
    bar = progress_bar(math.ceil(max(remaining, 0) / task.N_batch),
                       show_progress(o["progress"]), desc="train", unit="step")
    start = time.perf_counter()

    # metrics.csv judges the run's own task throughout, also while a curriculum trains on
    # easier stages (so trials_to_criterion measures the target task): without a curriculum
    # on the very set the cutoff decides on (key 0), with one on a set of its own
    own_key = 0 if curriculum is None else RUN_TASK_SET

    def accuracy() -> float | None:
        if not has_accuracy:
            return None
        _, yv, mv, out = sets.evaluate(model.backend, task, own_key)
        return checked_accuracy(task, task.accuracy_function(yv, out, mv))

    def record(epoch: int, trials: int, loss: float, stage: int | None) -> None:
        """Append the metrics row of ``epoch`` unless it is there (a checkpoint wrote it)."""
        if rows and int(rows[-1]["epoch"]) >= epoch:
            return
        acc = accuracy()
        rows.append({"epoch": epoch, "trials": trials, "loss": f"{loss:.8g}",
                     "accuracy": "" if acc is None else f"{acc:.6g}",
                     "stage": "" if stage is None else stage,
                     "elapsed_s": f"{base_elapsed + time.perf_counter() - start:.3f}"})

    def checkpoint_extra(epoch: int, losses: list[float], loss_epochs: list[int]) -> dict:
        _check_finite(model, epoch)  # a checkpoint is only ever written of finite weights
        if epoch % loss_epoch == 0 and loss_epochs and loss_epochs[-1] == epoch:
            current = curriculum.current_task if curriculum is not None else task
            record(epoch, epoch * current.N_batch, losses[-1],
                   curriculum.stage if curriculum is not None else None)
        saved["epoch"] = epoch
        return {"metrics": [dict(r) for r in rows],
                "training_time_s": base_elapsed + time.perf_counter() - start}

    model.checkpoint_extra = checkpoint_extra
    last: dict[str, Any] = {"accuracy": None, "loss": None}

    def callback(status: TrainStatus) -> None:
        if status.epoch % loss_epoch == 0:
            record(status.epoch, status.trials, status.loss, status.stage)
            last["accuracy"] = rows[-1]["accuracy"] or None
        if status.epoch % o["checkpoint_epoch"] == 0:  # after this epoch's checkpoint
            _write_metrics(out / "metrics.csv", rows)
        last["loss"] = status.loss
        acc = last["accuracy"]
        _bar_update(bar, status.done_steps, status.loss, None if acc is None else float(acc),
                    status.stage)
        stop.check()

    training_time = 0.0
    interrupted = False
    try:
        stop.check()
        if remaining > 0:
            _, training_time, _ = model.train(
                curriculum if curriculum is not None else task,
                training_iters=remaining, learning_rate=o["learning_rate"],
                loss_epoch=loss_epoch, verbosity=False,
                performance_cutoff=o["performance_cutoff"],
                checkpoint_path=str(out / "checkpoint"),
                checkpoint_epoch=o["checkpoint_epoch"], callback=callback,
            )
        interrupted = model.interrupted
    except KeyboardInterrupt:  # before training started (or handle_signals=False)
        interrupted = True
    finally:
        bar.close()
    # signals received from here on are only acknowledged: the save is never interrupted
    if model.epoch > start_epoch or not interrupted:
        model.save(out / "weights", overwrite=True)
        model.save_checkpoint(out / "checkpoint", curriculum=curriculum)
    if model.epoch > start_epoch or from_checkpoint:
        _write_metrics(out / "metrics.csv", rows)
    plotted = bool(rows) and not interrupted and plot_metrics(rows, out / "training.png")
    final_acc = accuracy()
    signame = stop.name if interrupted else None
    message = None
    if interrupted:
        message = (f"interrupted{f' by {signame}' if signame else ''} at epoch {model.epoch} "
                   f"and saved; continue it with resume=True (psychcore train ... --out {out} "
                   "--resume)")
    info.update({
        "epochs": model.epoch,
        "trials": model.epoch * task.N_batch,
        # the last step's loss (also of a run shorter than loss_epoch, which records none)
        "final_loss": (last["loss"] if last["loss"] is not None
                       else model.losses[-1] if model.losses else None),
        "accuracy": final_acc,
        "training_time_s": training_time,
        "cutoff_reached": _cutoff(model),
        "performance_cutoff": _cutoff_summary(o["performance_cutoff"], _cutoff(model)),
        "plot": "training.png" if plotted else None,
    })
    plot_skipped = NO_PLOT if rows and not interrupted and not plotted else None
    if plot_skipped:
        info["plot_skipped"] = plot_skipped
    finish("interrupted" if interrupted else "finished", message)
    return RunResult(out, model, final_acc, info["final_loss"], model.epoch, training_time,
                     interrupted, signame, message, plot_skipped, info["performance_cutoff"])
