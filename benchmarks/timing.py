"""The timing loop the benchmark scripts share (they import it as a sibling module: run them
as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls, after ``warmup`` calls.

    Args:
        fn: What to time, called without arguments.
        repeats: Timed calls, at least 1.
        warmup: Untimed calls first (compilation, caches, first allocations).

    Returns:
        The median of the ``repeats`` wall times, from ``time.perf_counter``.

    Raises:
        ValueError: If ``repeats`` is below 1 or ``warmup`` negative.
    """
    if repeats < 1:
        raise ValueError(f"median_seconds: repeats must be >= 1; received {repeats}")
    if warmup < 0:
        raise ValueError(f"median_seconds: warmup must be >= 0; received {warmup}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
