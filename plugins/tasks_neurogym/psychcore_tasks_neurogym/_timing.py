"""Upper bounds of NeuroGym trial lengths, from the environments' ``timing`` dictionaries.

NeuroGym draws each period's duration with ``TrialEnv.sample_time``: a number, a list of
numbers (a random choice), ``(distribution, args)`` with ``uniform``, ``choice``,
``truncated_exponential``, ``constant`` or ``until``, or a callable (a ``TruncExp`` object or a
lambda drawing from the environment's ``rng``), floored to a multiple of ``dt``. The longest
trial of an environment whose periods follow each other is the sum of the periods' longest
durations; :func:`period_max` gives one period's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any

#: How many times a timing callable of unknown distribution is called to find its maximum.
CALLABLE_DRAWS = 2000


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _floor(value: float, dt: float) -> float:
    """NeuroGym's rounding of a duration: ``(t // dt) * dt``."""
    return (value // dt) * dt


def _distribution_max(dist: Any, args: Any) -> float | None:
    if dist == "constant" and _is_number(args):
        return float(args)
    if dist == "uniform" and len(args) == 2:
        return float(args[1])
    if dist == "choice" and len(args) > 0 and all(_is_number(a) for a in args):
        return float(max(args))
    if dist == "truncated_exponential" and len(args) >= 3 and _is_number(args[2]):
        return float(args[2])  # (mean, vmin, vmax)
    return None  # "until", an unbounded exponential, or something unknown


def period_max(spec: Any, dt: float, sample: Callable[[Callable[[], Any]], float] | None = None
               ) -> float | None:
    """The longest duration (ms) that NeuroGym can draw for one period.

    Args:
        spec: The period's entry in the environment's ``timing`` dictionary.
        dt: The environment's time step (ms).
        sample: Called with a timing callable of unknown distribution (e.g. a lambda drawing
            from the environment's ``rng``); returns the maximum of many draws. Such callables
            give ``None`` when it is not given.

    Returns:
        The bound, already floored to a multiple of ``dt`` as NeuroGym floors its draws, or
        ``None`` when the specification has no finite bound that can be read off.
    """
    value: float | None
    if _is_number(spec):
        value = float(spec)
    elif hasattr(spec, "vmax") and callable(spec) and _is_number(spec.vmax):
        value = float(spec.vmax)  # neurogym.utils.ngym_random.TruncExp
    elif callable(spec):
        value = None if sample is None else float(sample(spec))
    elif isinstance(spec, list | tuple) and spec and all(_is_number(v) for v in spec):
        value = float(max(spec))
    elif isinstance(spec, list | tuple) and len(spec) == 2 and isinstance(spec[0], str):
        try:
            value = _distribution_max(spec[0], spec[1])
        except TypeError:
            value = None
    else:
        value = None
    if value is None or not math.isfinite(value):
        return None
    return _floor(value, dt)


def steps_of(duration: float, dt: float) -> int:
    """Number of time steps covering ``duration`` ms (tolerant of float round-off)."""
    n = duration / dt
    nearest = round(n)
    return int(nearest) if abs(n - nearest) < 1e-6 else int(math.ceil(n))


def max_of_draws(fn: Callable[[], Any], draws: int = CALLABLE_DRAWS) -> float:
    """The maximum of ``draws`` calls of a timing callable."""
    return max(float(fn()) for _ in range(draws))
