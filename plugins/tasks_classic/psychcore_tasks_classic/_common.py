"""Helpers shared by the classic tasks: argument checks, input noise, periods and accuracy.

Conventions used by every task of this package:

- Times are in ms. The network sees the trial at the step times ``t = step * dt``.
- A period ``[start, end)`` holds the steps with ``start <= t < end``.
- Input noise is ``sqrt(2 * alpha) * stim_noise * xi`` with ``xi ~ N(0, 1)`` drawn afresh for
  every trial, step and noisy channel (PsychRNN's convention), where ``alpha = dt / tau``.
- Trial values that the inputs and targets are built from (amplitudes, targets) are computed
  in float64 and rounded to float32 once, by the same function in the per-step and the
  vectorised path, so that both paths agree exactly when ``stim_noise`` is 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

from psychcore import Task

SeedLike = int | np.random.Generator | np.random.SeedSequence | None
"""What the tasks accept as ``seed`` (see ``psychcore.Task``)."""

_CHANNEL_LOOP_MAX = 8  # Period.add_to: one operation per channel up to this many channels


# --------------------------------------------------------------------------- argument checks
def check_real(
    value: Any,
    name: str,
    owner: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
    expected: str | None = None,
) -> float:
    """Return ``value`` as a finite float within the given bounds.

    Args:
        value: The argument as received.
        name: The argument's name, for the error message.
        owner: The class name, for the error message.
        minimum: Lower bound (inclusive unless ``strict_minimum``).
        maximum: Upper bound (inclusive).
        strict_minimum: Whether ``value`` must be strictly greater than ``minimum``.
        expected: What the message says is expected; derived from the bounds by default.

    Raises:
        TypeError: If ``value`` is not a real number (booleans are refused).
        ValueError: If ``value`` is not finite or out of bounds.
    """
    if expected is None:
        expected = "a finite number"
        if minimum is not None:
            expected += f" {'>' if strict_minimum else '>='} {minimum:g}"
        if maximum is not None:
            expected += f"{' and' if minimum is not None else ''} <= {maximum:g}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(
            f"{owner}: {name} must be {expected}; received {type(value).__name__} {value!r}"
        )
    number = float(value)
    too_low = minimum is not None and (number <= minimum if strict_minimum else number < minimum)
    too_high = maximum is not None and number > maximum
    if not math.isfinite(number) or too_low or too_high:
        raise ValueError(f"{owner}: {name} must be {expected}; received {value!r}")
    return number


def check_int(value: Any, name: str, owner: str, *, minimum: int) -> int:
    """Return ``value`` as an int of at least ``minimum`` (booleans are refused)."""
    expected = f"an int >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(
            f"{owner}: {name} must be {expected}; received {type(value).__name__} {value!r}"
        )
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be {expected}; received {value!r}")
    return int(value)


def check_optional_choice(value: Any, name: str, owner: str, choices: Sequence[int]) -> int | None:
    """Return ``None`` or ``value`` as an int among ``choices`` (booleans are refused)."""
    if value is None:
        return None
    expected = f"None or one of {', '.join(str(c) for c in choices)}"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(
            f"{owner}: {name} must be {expected}; received {type(value).__name__} {value!r}"
        )
    if int(value) not in choices:
        raise ValueError(f"{owner}: {name} must be {expected}; received {value!r}")
    return int(value)


def resolve_periods(
    owner: str,
    dt: float,
    T: float,
    given: dict[str, float | None],
    defaults: dict[str, float],
) -> dict[str, float]:
    """Fill in default timings, then check that every period holds a step and all fit in T.

    Args:
        owner: The class name, for the error message.
        dt: Time step (ms).
        T: Trial duration (ms).
        given: ``onset_time`` and the periods' durations (ms) by argument name, in trial
            order; None takes the default.
        defaults: The default of every name in ``given``.

    Returns:
        The resolved timings, in the order of ``given``.

    Raises:
        TypeError: If a timing is not a real number.
        ValueError: If a timing is negative, a duration is shorter than ``dt`` (a period
            shorter than a step can fall between two steps) or the periods end after ``T``.
    """
    values = {
        name: defaults[name] if value is None
        else check_real(value, name, owner, minimum=0.0, strict_minimum=name != "onset_time")
        for name, value in given.items()
    }
    onset_time = values["onset_time"]
    durations = {k: v for k, v in values.items() if k != "onset_time"}
    for name, duration in durations.items():
        if duration < dt:
            raise ValueError(
                f"{owner}: {name} must be at least dt = {dt:g} ms so that the period holds "
                f"a time step; received {duration:g}"
            )
    total = onset_time + sum(durations.values())
    if total > T:
        names = " + ".join(["onset_time", *durations])
        values = " + ".join(f"{v:g}" for v in (onset_time, *durations.values()))
        raise ValueError(
            f"{owner}: the periods must fit in the trial: {names} = {values} = {total:g} ms "
            f"exceeds T = {T:g} ms; shorten the periods or lengthen T"
        )
    return values


class Timeline:
    """The fixed periods of a task's trials: a fore period, then named periods in a row.

    A task declares its timeline once; this one piece of code then fills in, checks and
    stores the timing arguments (see :func:`resolve_periods`) and gives the periods' start
    times that the trial parameters carry.

    Args:
        periods: The periods after the fore period, in trial order, each named by the trial
            parameter that holds its start time (ms); ``end`` holds the end of the last one.
        **defaults: ``onset_time`` (the fore period), then the argument giving each period's
            duration, in the order of ``periods``: the constructor arguments (and the
            attributes they are stored in), with their defaults in ms.

    Raises:
        ValueError: If ``defaults`` does not start with ``onset_time`` followed by one
            argument per period.

    Example:
        ``Timeline(("stimulus", "response"), onset_time=200.0, stim_duration=500.0,
        response_duration=800.0)``: the stimulus lasts ``stim_duration`` ms from
        ``onset_time`` on, the response period ``response_duration`` ms after it.
    """

    def __init__(self, periods: Sequence[str], **defaults: float) -> None:
        if list(defaults)[:1] != ["onset_time"] or len(defaults) != len(periods) + 1:
            raise ValueError(
                f"Timeline: give onset_time, then one duration argument per period of "
                f"{tuple(periods)}; received {', '.join(defaults)}"
            )
        self.defaults: dict[str, float] = {k: float(v) for k, v in defaults.items()}
        self.periods: tuple[tuple[str, str], ...] = tuple(
            zip(periods, list(defaults)[1:], strict=True)
        )

    def assign(self, task: Any, *values: float | None) -> None:
        """Fill in, check and set ``task``'s timing attributes.

        Args:
            task: The task being constructed; its ``dt`` and ``T`` must be set.
            *values: ``onset_time`` and the periods' durations (ms) as the constructor
                received them, in trial order; None takes the default.

        Raises:
            TypeError: If a timing is not a real number.
            ValueError: If a timing is out of range or the periods do not fit in ``T``.
        """
        given = dict(zip(self.defaults, values, strict=True))
        owner = type(task).__name__
        for name, value in resolve_periods(owner, task.dt, task.T, given, self.defaults).items():
            setattr(task, name, value)

    def start_times(self, task: Any) -> dict[str, float]:
        """The periods' start times and the end of the last one (ms), from ``task``'s timing."""
        time = task.onset_time
        starts = {}
        for name, argument in self.periods:
            starts[name] = time
            time += getattr(task, argument)
        starts["end"] = time
        return starts

    def batch_start_times(self, task: Any, N: int) -> dict[str, np.ndarray]:
        """:meth:`start_times` as float64 arrays of ``N`` copies (vectorised path)."""
        return {name: full(N, time) for name, time in self.start_times(task).items()}


# ------------------------------------------------------------------------------------ noise
def noise_scale(alpha: float, stim_noise: Any) -> Any:
    """Standard deviation of the input noise per step: ``sqrt(2 * alpha) * stim_noise``."""
    return math.sqrt(2.0 * alpha) * stim_noise


def batch_noise(
    rng: np.random.Generator, shape: tuple[int, int, int], alpha: float, stim_noise: np.ndarray
) -> np.ndarray:
    """Input noise of a batch: float32 array of ``shape`` with one scale per trial."""
    scale = noise_scale(alpha, np.asarray(stim_noise, dtype=np.float64))
    if (scale == scale[0]).all():  # the usual case: fold the scale into the draw
        if scale[0] == 0.0:  # exact +0.0 (a product by 0 could give -0.0)
            return np.zeros(shape, dtype=np.float32)
        noise = rng.standard_normal(shape, dtype=np.float32)
        noise *= np.float32(scale[0])
        return noise
    noise = rng.standard_normal(shape, dtype=np.float32)
    noise *= scale.astype(np.float32).reshape(-1, 1, 1)
    noise[scale == 0.0] = 0.0
    return noise


def step_noise(rng: np.random.Generator, n: int, alpha: float, stim_noise: float) -> np.ndarray:
    """Input noise of one step of one trial (float64, per-step path)."""
    if stim_noise == 0.0:  # exact +0.0 (a product by 0 could give -0.0)
        return np.zeros(n)
    return noise_scale(alpha, stim_noise) * rng.standard_normal(n)


# ----------------------------------------------------------------------------------- targets
def one_hot(choice: np.ndarray, n: int, hi: float, lo: float) -> np.ndarray:
    """Rows of ``lo`` with ``hi`` at column ``choice`` (float64, shape ``(len(choice), n)``)."""
    choice = np.asarray(choice, dtype=np.int64).reshape(-1)
    out = np.full((choice.shape[0], n), lo, dtype=np.float64)
    out[np.arange(choice.shape[0]), choice] = hi
    return out


def in_period(t: float, start: float, end: float) -> bool:
    """Whether ``start <= t < end`` (per-step path)."""
    return start <= t < end


def step_choice(
    inside: bool, choice: int, n: int, hi: float, lo: float
) -> tuple[np.ndarray, np.ndarray]:
    """Target and mask of one step (per-step path), both of ``n`` float64 values.

    Inside the trained period the target is ``hi`` on channel ``choice`` and ``lo`` on the
    others, and the mask is 1; outside it both are 0.
    """
    if inside:
        return one_hot(np.asarray([choice]), n, hi, lo)[0], np.ones(n)
    return np.zeros(n), np.zeros(n)


class Period:
    """One period of every trial of a batch: the steps with ``start <= t < end``.

    When all trials share the bounds (fixed timing) the period is a slice of steps, and the
    methods write through that slice; otherwise they use an ``(N, S)`` boolean mask. Every
    value written is exactly ``float32(value)``, so noise-free inputs and the targets match
    the per-step path bit for bit.

    Args:
        t: Step times, shape ``(S,)``.
        start: Start of the period in each trial (ms), shape ``(N,)``.
        end: End of the period in each trial (ms), shape ``(N,)``; ``inf`` for "to the end".
    """

    def __init__(self, t: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        start = np.asarray(start, dtype=np.float64)
        end = np.broadcast_to(np.asarray(end, dtype=np.float64), start.shape)
        self.shape = (start.shape[0], t.shape[0])
        self.steps: slice | None = None
        self.active: np.ndarray | None = None
        if (start == start[0]).all() and (end == end[0]).all():
            # first step with t >= start, first step with t >= end: exactly start <= t < end
            first, stop = np.searchsorted(t, [start[0], end[0]], side="left")
            self.steps = slice(int(first), int(max(first, stop)))
        else:
            self.active = (start[:, None] <= t[None, :]) & (t[None, :] < end[:, None])

    def add_to(self, out: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Add ``values`` (shape ``(N, C)``) to ``out`` (``(N, S, C)``) in the period.

        Works in place and returns ``out``.
        """
        values32 = np.asarray(values, dtype=np.float32)
        n_channels = values32.shape[1]
        if self.steps is not None:
            if n_channels <= _CHANNEL_LOOP_MAX:
                for c in range(n_channels):
                    out[:, self.steps, c] += values32[:, c, None]
            else:
                out[:, self.steps, :] += values32[:, None, :]
        elif n_channels <= _CHANNEL_LOOP_MAX:
            # A broadcast over a short last axis runs NumPy's inner loop a few elements at a
            # time; one (N, S) operation per channel is several times faster.
            for c in range(n_channels):
                out[:, :, c] += self.active * values32[:, c, None]
        else:
            np.add(out, values32[:, None, :], out=out, where=self.active[:, :, None])
        return out

    def values(self, values: np.ndarray) -> np.ndarray:
        """New float32 array ``(N, S, C)``: ``values`` (``(N, C)``) in the period, else 0."""
        out = np.zeros((*self.shape, np.shape(values)[1]), dtype=np.float32)
        return self.add_to(out, values)

    def mask(self, n_out: int) -> np.ndarray:
        """New float32 array ``(N, S, n_out)``: 1 in the period, 0 elsewhere."""
        out = np.zeros((*self.shape, n_out), dtype=np.float32)
        if self.steps is not None:
            out[:, self.steps, :] = 1.0
        else:
            for c in range(n_out):
                out[:, :, c] = self.active
        return out


def full(N: int, value: float) -> np.ndarray:
    """A float64 array of ``N`` copies of ``value``."""
    return np.full(N, value, dtype=np.float64)


# ---------------------------------------------------------------------------------- accuracy
def _accuracy_arrays(
    owner: str, correct_output: Any, test_output: Any, output_mask: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arrays = []
    for name, value in (
        ("correct_output", correct_output),
        ("test_output", test_output),
        ("output_mask", output_mask),
    ):
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim != 3:
            raise ValueError(
                f"{owner}.accuracy_function: {name} must have shape (N_batch, N_steps, N_out); "
                f"received shape {arr.shape}"
            )
        arrays.append(arr)
    if not arrays[0].shape == arrays[1].shape == arrays[2].shape:
        raise ValueError(
            f"{owner}.accuracy_function: correct_output, test_output and output_mask must have "
            f"the same shape; received {arrays[0].shape}, {arrays[1].shape}, {arrays[2].shape}"
        )
    return arrays[0], arrays[1], arrays[2]


def _masked_means(
    owner: str, correct_output: Any, test_output: Any, output_mask: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Per-trial, per-channel means over the masked steps, of trials with a masked step."""
    correct, test, mask = _accuracy_arrays(owner, correct_output, test_output, output_mask)
    weight = mask.sum(axis=1)  # (N, N_out)
    scored = (weight > 0).any(axis=1)
    if not scored.any():
        raise ValueError(
            f"{owner}.accuracy_function: output_mask is 0 everywhere; no trial can be scored"
        )
    weight = np.where(weight > 0, weight, 1.0)
    correct_mean = (correct * mask).sum(axis=1)[scored] / weight[scored]
    test_mean = (test * mask).sum(axis=1)[scored] / weight[scored]
    return correct_mean, test_mean


def choice_accuracy(owner: str, correct_output: Any, test_output: Any, output_mask: Any) -> float:
    """Fraction of trials whose chosen channel is the correct one.

    The choice of a trial is the channel with the greatest mean over the masked steps; the
    correct choice is the same statistic of ``correct_output``. Trials without a masked step
    are not scored.
    """
    correct_mean, test_mean = _masked_means(owner, correct_output, test_output, output_mask)
    return float(np.mean(correct_mean.argmax(axis=1) == test_mean.argmax(axis=1)))


def threshold_accuracy(
    owner: str, correct_output: Any, test_output: Any, output_mask: Any, threshold: float
) -> float:
    """Fraction of trials whose masked mean output is on the target's side of ``threshold``.

    Every output channel of a trial must be on the correct side. Trials without a masked
    step are not scored.
    """
    correct_mean, test_mean = _masked_means(owner, correct_output, test_output, output_mask)
    agree = (correct_mean > threshold) == (test_mean > threshold)
    return float(np.mean(agree.all(axis=1)))


class ClassicTask(Task):
    """Base class of the classic tasks: the trial's choice is what :meth:`accuracy_function` scores.

    A task that scores something else (``GoNoGo``: whether it responded) overrides it.
    """

    def accuracy_function(
        self, correct_output: np.ndarray, test_output: np.ndarray, output_mask: np.ndarray
    ) -> float:
        """Fraction of trials whose output channel with the highest masked mean is correct."""
        return choice_accuracy(type(self).__name__, correct_output, test_output, output_mask)
