"""Argument checks and lazy imports shared by the analysis modules.

Every check raises ``TypeError`` for a wrong type and ``ValueError`` for a bad value, with a
message ``"<function>: <argument> must be <expected>; received <what>"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np

from .._checks import check_choice, check_float, describe


def array(
    value: Any,
    name: str,
    owner: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple[int | None, ...] | None = None,
    expected: str | None = None,
    finite: bool = True,
    dtype: Any = np.float64,
) -> np.ndarray:
    """``value`` as a float64 array (a copy only when needed), its shape and values checked.

    Args:
        value: Array-like of real numbers.
        name: Argument name for messages.
        owner: Function name for messages.
        ndim: Required number of dimensions (or a tuple of allowed ones).
        shape: Required shape; ``None`` entries match any size.
        expected: What the message says is expected (derived from ``shape``/``ndim``).
        finite: Refuse NaN and infinities.
        dtype: Returned dtype.
    """
    if expected is None:
        if shape is not None:
            expected = "shape (" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
        elif ndim is not None:
            expected = f"{ndim}-D" if isinstance(ndim, int) else f"{' or '.join(map(str, ndim))}-D"
        else:
            expected = "an array"
    if isinstance(value, str | bytes | Mapping) or value is None:
        raise TypeError(
            f"{owner}: {name} must be a numeric array ({expected}); received {describe(value)}"
        )
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(
            f"{owner}: {name} must be a numeric array ({expected}); received {describe(value)}"
        )
    if np.issubdtype(arr.dtype, np.complexfloating) and not np.issubdtype(
        np.dtype(dtype), np.complexfloating
    ):
        raise TypeError(f"{owner}: {name} must hold real numbers; received dtype {arr.dtype}")
    wanted_ndim = (ndim,) if isinstance(ndim, int) else ndim
    if shape is not None:
        wanted_ndim = (len(shape),)
    if wanted_ndim is not None and arr.ndim not in wanted_ndim:
        raise ValueError(f"{owner}: {name} must have {expected}; received shape {arr.shape}")
    if shape is not None and any(
        want is not None and got != want for got, want in zip(arr.shape, shape, strict=True)
    ):
        raise ValueError(f"{owner}: {name} must have {expected}; received shape {arr.shape}")
    arr = arr.astype(dtype, copy=False)
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{owner}: {name} must hold finite values; it has NaN or infinity")
    return arr


real = check_float
"""A finite real number inside optional bounds, as ``float`` (the core's check)."""


def integer(value: Any, name: str, owner: str, *, minimum: int = 1) -> int:
    """An ``int >= minimum`` (``bool`` refused)."""
    kind = f"an int >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{owner}: {name} must be {kind}; received {describe(value)}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be {kind}; received {value}")
    return int(value)


def choice(value: Any, name: str, owner: str, choices: Sequence[str]) -> str:
    """One of the strings ``choices``."""
    return check_choice(value, name, owner, tuple(choices))


def weights_mapping(weights: Any, owner: str, keys: Sequence[str] = ("W_rec",)) -> None:
    """Check that ``weights`` is a mapping holding ``keys``."""
    if not isinstance(weights, Mapping):
        raise TypeError(
            f"{owner}: weights must be a dict of arrays (docs/equations.md); "
            f"received {describe(weights)}"
        )
    missing = [k for k in keys if k not in weights or weights[k] is None]
    if missing:
        raise ValueError(f"{owner}: weights must have the key(s) {list(keys)}; missing {missing}")


def units(value: Any, name: str, owner: str, n_units: int) -> np.ndarray:
    """Unit indices: an int or a 1-D sequence of distinct ints in ``[0, n_units)``."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{owner}: {name} must be unit indices (ints); received a bool")
    arr = np.atleast_1d(np.asarray(value))
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.integer) or arr.ndim != 1:
        raise TypeError(
            f"{owner}: {name} must be an int or a 1-D sequence of ints (unit indices); "
            f"received {describe(value)}"
        )
    if arr.size == 0:
        raise ValueError(f"{owner}: {name} must name at least one unit; received none")
    if arr.min() < 0 or arr.max() >= n_units:
        raise ValueError(
            f"{owner}: {name} must be unit indices in [0, {n_units}); received {arr.tolist()}"
        )
    if np.unique(arr).size != arr.size:
        raise ValueError(f"{owner}: {name} must not repeat a unit; received {arr.tolist()}")
    return arr.astype(np.intp)


def window(
    value: Any, name: str, owner: str, n_steps: int, dt: float | None = None
) -> tuple[int, int]:
    """A half-open step window ``[start, end)`` inside ``[0, n_steps]``.

    ``None`` means the whole trial. With ``dt`` the window is given in ms and holds the steps
    whose time ``step * dt`` satisfies ``start <= t < end`` (the tasks' period convention).
    """
    if value is None:
        return 0, n_steps
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, Sequence | np.ndarray)
        or len(value) != 2
    ):
        raise TypeError(
            f"{owner}: {name} must be a (start, end) pair or None; received {describe(value)}"
        )
    start, end = (real(v, name, owner) for v in value)
    if dt is not None:
        t = np.arange(n_steps) * dt
        inside = np.flatnonzero((t >= start - 1e-9 * dt) & (t < end - 1e-9 * dt))
        if inside.size == 0:
            raise ValueError(
                f"{owner}: {name} ({start:g}, {end:g}) ms holds no step of the trial "
                f"(steps at 0, {dt:g}, ..., {(n_steps - 1) * dt:g} ms)"
            )
        return int(inside[0]), int(inside[-1]) + 1
    if start != int(start) or end != int(end):
        raise ValueError(
            f"{owner}: {name} must be whole step indices without dt; received {tuple(value)}"
        )
    if not 0 <= start < end <= n_steps:
        raise ValueError(
            f"{owner}: {name} must satisfy 0 <= start < end <= N_steps = {n_steps}; "
            f"received ({int(start)}, {int(end)})"
        )
    return int(start), int(end)


def scipy_optimize() -> Any:
    """``scipy.optimize``, or an ImportError saying how to install it."""
    try:
        import scipy.optimize
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            'this analysis needs scipy: pip install "psychcore[analysis]"'
        ) from exc
    return scipy.optimize


def pyplot() -> Any:
    """``matplotlib.pyplot``, or an ImportError saying how to install matplotlib.

    The backend is left as matplotlib chooses it (Agg on a machine without a display);
    ``psychcore report`` selects Agg itself.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            'plotting needs matplotlib: pip install "psychcore[analysis]"'
        ) from exc
    return plt


def axes(ax: Any, owner: str, *, figsize: tuple[float, float], projection: str | None = None
         ) -> Any:
    """``ax`` checked to be a matplotlib Axes, or a new one in a new figure."""
    plt = pyplot()
    if ax is None:
        fig = plt.figure(figsize=figsize, layout="constrained")
        return fig.add_subplot(projection=projection)
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"{owner}: ax must be a matplotlib Axes or None; received {describe(ax)}")
    return ax
