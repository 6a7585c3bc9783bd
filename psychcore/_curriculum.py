"""Curriculum learning: train on a sequence of tasks, advancing when a metric passes.

Semantics follow PsychRNN's ``Curriculum``: every ``metric_epoch`` epochs the trainer calls
:meth:`Curriculum.metric_test` with a test batch; when the metric passes, the curriculum moves
to the next task, and after the last task passes ``stop_training`` becomes True.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from numbers import Real
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ._io import atomic_savez
from ._task import Task, checked_accuracy, defines_accuracy

Metric = Callable[..., tuple[bool, float]]


class StageTransition(NamedTuple):
    """A passed stage: the ``epoch`` of the test, the ``stage`` passed and its ``metric``."""

    epoch: int
    stage: int
    metric: float


def default_metric(
    curriculum_params: dict[str, Any],
    input_data: np.ndarray,
    correct_output: np.ndarray,
    output_mask: np.ndarray,
    output: np.ndarray,
    epoch: int,
    losses: Sequence[float],
    verbosity: bool,
) -> tuple[bool, float]:
    """Accuracy of the current stage against its threshold (PsychRNN's default metric).

    Args:
        curriculum_params: The curriculum's parameters (:attr:`Curriculum.params`); uses
            ``stage``, ``accuracies`` and ``thresholds``.
        input_data: Test inputs ``(N_batch, N_steps, N_in)`` (unused).
        correct_output: Targets ``(N_batch, N_steps, N_out)``.
        output_mask: Mask ``(N_batch, N_steps, N_out)``.
        output: Network outputs ``(N_batch, N_steps, N_out)``.
        epoch: Training epoch (unused).
        losses: Losses so far (unused).
        verbosity: Print the accuracy.

    Returns:
        ``(advance, accuracy)`` with ``advance = accuracy >= threshold``.
    """
    stage = curriculum_params["stage"]
    fn = curriculum_params["accuracies"][stage]
    accuracy = checked_accuracy(fn, fn(correct_output, output, output_mask))
    if verbosity:
        print(f"Curriculum stage {stage}: accuracy {accuracy:g}")
    return accuracy >= curriculum_params["thresholds"][stage], accuracy


def _sequence(value: Any, name: str, n: int | None) -> list:
    if not isinstance(value, list | tuple):
        raise TypeError(f"Curriculum: {name} must be a list; received {type(value).__name__}")
    if n is not None and len(value) != n:
        raise ValueError(
            f"Curriculum: {name} must have one entry per task ({n}); received {len(value)}"
        )
    return list(value)


def _list(value: Any, name: str) -> list:
    if not isinstance(value, list | tuple):
        raise ValueError(f"Curriculum state: {name} must be a list; received "
                         f"{type(value).__name__}")
    return list(value)


def _entry(value: Any, name: str, i: int, types: tuple[type, ...], n: int) -> list:
    """``value`` as a list of the given number types; its ``stage`` (index 1) below ``n``."""
    if not isinstance(value, list | tuple) or len(value) != len(types) or any(
        isinstance(v, bool) or not isinstance(v, Real) for v in value
    ):
        raise ValueError(f"Curriculum state: {name}[{i}] must be {len(types)} numbers; "
                         f"received {value!r:.80}")
    out = [t(v) for t, v in zip(types, value, strict=True)]
    if not 0 <= out[1] < n or out[1] != value[1]:
        raise ValueError(f"Curriculum state: {name}[{i}] names stage {value[1]!r}; this "
                         f"curriculum has stages 0 to {n - 1}")
    return out


class Curriculum:
    """A sequence of tasks trained one after another.

    Args:
        tasks: Non-empty list of :class:`psychcore.Task`, one per stage.
        thresholds: Metric threshold per stage; 0.9 for each by default.
        metric: ``metric(curriculum_params, input_data, correct_output, output_mask, output,
            epoch, losses, verbosity) -> (advance, value)``; :func:`default_metric` by default.
        accuracies: Accuracy function per stage, ``fn(correct_output, test_output,
            output_mask) -> float``; each task's ``accuracy_function`` by default.
        metric_epoch: The trainer tests the metric every ``metric_epoch`` epochs.
        output_file: Optional ``.npz`` path (the suffix is appended when missing) rewritten
            atomically after every test with ``metric_values`` (float) and ``stages`` (int),
            one entry per test (from :attr:`metric_values`). It must not exist yet.

    Attributes:
        stage: Current stage (``len(tasks)`` once every stage has passed).
        stop_training: True once the last stage has passed.
        metric_values: ``[value, stage]`` for every test, as in PsychRNN.
        history: :class:`StageTransition` for every passed stage.

    Raises:
        TypeError: For arguments of the wrong type.
        ValueError: For an empty task list, a length mismatch, a non-positive metric_epoch, or
            the default metric with a task that defines no accuracy_function.
        FileExistsError: If ``output_file`` exists.
    """

    def __init__(
        self,
        tasks: Sequence[Task],
        thresholds: Sequence[float] | None = None,
        metric: Metric | None = None,
        accuracies: Sequence[Callable[..., float]] | None = None,
        metric_epoch: int = 10,
        output_file: str | os.PathLike | None = None,
    ) -> None:
        self.tasks = _sequence(tasks, "tasks", None)
        n = len(self.tasks)
        if n == 0:
            raise ValueError("Curriculum: tasks must be a non-empty list of Task; received []")
        for i, task in enumerate(self.tasks):
            if not callable(getattr(task, "batch_generator", None)):
                raise TypeError(
                    f"Curriculum: tasks[{i}] must be a Task; received {type(task).__name__}"
                )
        if thresholds is None:
            thresholds = [0.9] * n
        self.thresholds = _sequence(thresholds, "thresholds", n)
        for i, th in enumerate(self.thresholds):
            if isinstance(th, bool) or not isinstance(th, Real):
                raise TypeError(
                    f"Curriculum: thresholds[{i}] must be a number; received {type(th).__name__}"
                )
        if metric is not None and not callable(metric):
            raise TypeError(
                f"Curriculum: metric must be callable; received {type(metric).__name__}"
            )
        self.metric: Metric = default_metric if metric is None else metric
        if accuracies is None:
            if self.metric is default_metric:
                for i, task in enumerate(self.tasks):
                    if isinstance(task, Task) and not defines_accuracy(task):
                        raise ValueError(
                            f"Curriculum: tasks[{i}] ({type(task).__name__}) defines no "
                            "accuracy_function; define one, or pass accuracies or a metric"
                        )
            accuracies = [task.accuracy_function for task in self.tasks]
        self.accuracies = _sequence(accuracies, "accuracies", n)
        for i, fn in enumerate(self.accuracies):
            if not callable(fn):
                raise TypeError(
                    f"Curriculum: accuracies[{i}] must be callable; received {type(fn).__name__}"
                )
        if isinstance(metric_epoch, bool) or not isinstance(metric_epoch, int | np.integer):
            raise TypeError(
                f"Curriculum: metric_epoch must be a positive int; received "
                f"{type(metric_epoch).__name__}"
            )
        if metric_epoch <= 0:
            raise ValueError(
                f"Curriculum: metric_epoch must be a positive int; received {metric_epoch}"
            )
        self.metric_epoch = int(metric_epoch)
        self.output_file = self._check_output_file(output_file)
        self._written = False
        self.stage = 0
        self.stop_training = False
        self.metric_values: list[list[float | int]] = []
        self.history: list[StageTransition] = []

    @staticmethod
    def _check_output_file(output_file: Any) -> Path | None:
        if output_file is None:
            return None
        if not isinstance(output_file, str | os.PathLike):
            raise TypeError(
                f"Curriculum: output_file must be a path; received {type(output_file).__name__}"
            )
        path = Path(output_file)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        if path.exists():
            raise FileExistsError(
                f"Curriculum: output_file {path} already exists; psychcore never overwrites a "
                "saved file. Choose another path or remove it."
            )
        return path

    @property
    def params(self) -> dict[str, Any]:
        """PsychRNN's ``curriculum_params`` dict passed to the metric (a new dict, shared lists)."""
        return {
            "stop_training": self.stop_training,
            "stage": self.stage,
            "metric_values": self.metric_values,
            "tasks": self.tasks,
            "metric": self.metric,
            "accuracies": self.accuracies,
            "thresholds": self.thresholds,
            "metric_epoch": self.metric_epoch,
            "output_file": None if self.output_file is None else str(self.output_file),
        }

    @property
    def current_task(self) -> Task:
        """The task of the current stage (the last task once training is complete)."""
        return self.tasks[min(self.stage, len(self.tasks) - 1)]

    def get_generator_function(self) -> Iterator:
        """A batch generator of the current task (``current_task.batch_generator()``)."""
        return self.current_task.batch_generator()

    def metric_test(
        self,
        input_data: np.ndarray,
        correct_output: np.ndarray,
        output_mask: np.ndarray,
        test_output: np.ndarray,
        epoch: int,
        losses: Sequence[float],
        verbosity: bool = False,
    ) -> bool:
        """Evaluate the metric on a test batch and advance the stage when it passes.

        Records ``[value, stage]`` in :attr:`metric_values`, rewrites ``output_file``, and on
        success appends to :attr:`history`, increments :attr:`stage` and, after the last
        stage, sets :attr:`stop_training`.

        Returns:
            True if the stage advanced.

        Raises:
            RuntimeError: If every stage has already passed.
            TypeError: If the metric does not return ``(advance, value)``.
        """
        if self.stop_training:
            raise RuntimeError(
                f"Curriculum: all {len(self.tasks)} stages have passed; stop training "
                "(check curriculum.stop_training)"
            )
        result = self.metric(
            self.params,
            input_data,
            correct_output,
            output_mask,
            test_output,
            epoch,
            losses,
            verbosity,
        )
        if not isinstance(result, tuple | list) or len(result) != 2:
            raise TypeError(
                f"Curriculum: metric must return (advance, value); received {result!r:.80}"
            )
        advance, value = bool(result[0]), float(result[1])
        stage = self.stage
        self.metric_values.append([value, stage])
        if advance:
            self.history.append(StageTransition(int(epoch), stage, value))
            self.stage += 1
            self.stop_training = self.stage == len(self.tasks)
            if verbosity:
                print(
                    "Curriculum complete"
                    if self.stop_training
                    else f"Curriculum: advancing to stage {self.stage}"
                )
        self._save()
        return advance

    def state_dict(self) -> dict[str, Any]:
        """The curriculum's position as a JSON-able dict (for checkpoints).

        Returns:
            ``{"stage", "stop_training", "metric_values", "history"}``: copies of the
            attributes, ``history`` as ``[epoch, stage, metric]`` lists.
        """
        return {
            "stage": int(self.stage),
            "stop_training": bool(self.stop_training),
            "metric_values": [[float(v), int(s)] for v, s in self.metric_values],
            "history": [[int(e), int(s), float(m)] for e, s, m in self.history],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Move the curriculum to a position saved by :meth:`state_dict`.

        Raises:
            TypeError: If ``state`` is not a mapping.
            ValueError: For missing keys or values that do not fit this curriculum (a stage
                beyond its tasks, ``stop_training`` disagreeing with the stage, malformed
                ``metric_values`` or ``history``), naming them.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"Curriculum state must be a dict; received {type(state).__name__}")
        missing = [k for k in ("stage", "stop_training", "metric_values", "history")
                   if k not in state]
        if missing:
            raise ValueError(f"Curriculum state lacks {', '.join(missing)}")
        n = len(self.tasks)
        stage = state["stage"]
        if isinstance(stage, bool) or not isinstance(stage, int | np.integer) \
                or not 0 <= stage <= n:
            raise ValueError(
                f"Curriculum state: stage must be an int from 0 to {n} (this curriculum has "
                f"{n} tasks); received {stage!r}"
            )
        stop = state["stop_training"]
        if not isinstance(stop, bool | np.bool_) or bool(stop) != (stage == n):
            raise ValueError(
                f"Curriculum state: stop_training must be {stage == n} at stage {stage} of "
                f"{n}; received {stop!r}"
            )
        metric_values = [_entry(v, "metric_values", i, (float, int), n)
                         for i, v in enumerate(_list(state["metric_values"], "metric_values"))]
        history = [StageTransition(*_entry(h, "history", i, (int, int, float), n))
                   for i, h in enumerate(_list(state["history"], "history"))]
        if len(history) != stage:
            raise ValueError(
                f"Curriculum state: history must hold one entry per passed stage ({stage}); "
                f"received {len(history)}"
            )
        self.stage = int(stage)
        self.stop_training = bool(stop)
        self.metric_values = metric_values
        self.history = history

    def _save(self) -> None:
        if self.output_file is None:
            return
        arrays = {
            "metric_values": np.array([v for v, _ in self.metric_values], dtype=np.float64),
            "stages": np.array([s for _, s in self.metric_values], dtype=np.int64),
        }
        atomic_savez(self.output_file, arrays, overwrite=self._written)
        self._written = True

    def __repr__(self) -> str:
        return (
            f"Curriculum({len(self.tasks)} tasks, stage={self.stage}, "
            f"thresholds={self.thresholds}, metric_epoch={self.metric_epoch})"
        )
