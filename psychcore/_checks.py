"""Argument checks shared by the spec, constraint and initialiser modules.

Every helper raises ``TypeError`` for a wrong type and ``ValueError`` for a bad value, with a
message of the form ``"<owner>: <name> must be <expected>; received <what>"``.
"""

from __future__ import annotations

import base64
import binascii
import math
import weakref
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np


def describe(value: Any) -> str:
    """A short description of ``value`` for error messages: ``repr (type)`` for scalars,
    shape and dtype for arrays, the type name otherwise."""
    if value is None:
        return "None"
    if isinstance(value, bool | int | float | str | np.generic):
        return f"{value!r} ({type(value).__name__})"
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return type(value).__name__


def check_int(value: Any, name: str, owner: str, *, minimum: int = 1) -> int:
    """Check an integer ``>= minimum`` (``bool`` is refused) and return it as ``int``."""
    kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{owner}: {name} must be {kind}; received {describe(value)}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be {kind}; received {value}")
    return int(value)


def check_float(
    value: Any,
    name: str,
    owner: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Check a finite real number inside optional bounds and return it as ``float``."""
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    kind = "a finite number" + (" " + " and ".join(parts) if parts else "")
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{owner}: {name} must be {kind}; received {describe(value)}")
    value = float(value)
    bad = not math.isfinite(value)
    if low is not None:
        bad = bad or (value <= low if low_open else value < low)
    if high is not None:
        bad = bad or (value >= high if high_open else value > high)
    if bad:
        raise ValueError(f"{owner}: {name} must be {kind}; received {value!r}")
    return value


def check_bool(value: Any, name: str, owner: str) -> bool:
    """Check a boolean (``numpy.bool_`` accepted) and return it as ``bool``."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{owner}: {name} must be a bool; received {describe(value)}")
    return bool(value)


def check_choice(value: Any, name: str, owner: str, choices: tuple[str, ...]) -> str:
    """Check that ``value`` is one of the strings ``choices``."""
    if not isinstance(value, str):
        raise TypeError(f"{owner}: {name} must be one of {choices}; received {describe(value)}")
    if value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {choices}; received {value!r}")
    return value


_VALIDATED: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()
"""Read-only masks produced by :func:`as_mask`, reused as they are (no copy) when passed
again, e.g. when a frozen spec is copied by ``dataclasses.replace``."""

PACK_THRESHOLD = 4096
"""Masks with more entries than this are written to JSON bit-packed (see :func:`mask_to_json`)."""


def mask_to_json(arr: np.ndarray) -> Any:
    """JSON form of a 0/1 mask: nested lists of ints, or for masks larger than
    :data:`PACK_THRESHOLD` entries ``{"shape": [...], "packbits": <base64>}`` (the mask's
    bits in C order, ``numpy.packbits``). :func:`as_mask` reads both forms."""
    if arr.size <= PACK_THRESHOLD:
        return arr.astype(int).tolist()
    bits = np.packbits(arr.astype(bool), axis=None)
    return {"shape": list(arr.shape), "packbits": base64.b64encode(bits.tobytes()).decode()}


def _unpack(value: Mapping[str, Any], name: str, owner: str) -> np.ndarray:
    if set(value) != {"shape", "packbits"}:
        raise ValueError(
            f"{owner}: {name} given as a dict must have keys 'shape' and 'packbits'; "
            f"received keys {sorted(value)}"
        )
    try:
        shape = tuple(int(n) for n in value["shape"])
        bits = np.frombuffer(base64.b64decode(value["packbits"], validate=True), dtype=np.uint8)
        flat = np.unpackbits(bits, count=math.prod(shape))
        return flat.reshape(shape).astype(np.float64)
    except (TypeError, ValueError, binascii.Error) as exc:
        raise ValueError(f"{owner}: {name}: invalid packed mask: {exc}") from exc


def as_mask(
    value: Any, name: str, owner: str, *, shape: tuple[int | None, ...] | None = None
) -> np.ndarray:
    """Convert a 0/1 (or boolean) 2-D array-like to a read-only ``float64`` array.

    Args:
        value: The array-like, or the packed dict form of :func:`mask_to_json`.
        name: Argument name for messages.
        owner: Class or function name for messages.
        shape: Expected shape; ``None`` entries are not checked.

    Raises:
        TypeError: If ``value`` is not numeric array-like.
        ValueError: If it is not 2-D, has values other than 0 and 1, or the wrong shape.
    """
    if isinstance(value, np.ndarray) and _VALIDATED.get(id(value)) is value:
        check_shape(value, shape, name, owner)
        return value
    if isinstance(value, Mapping):
        value = _unpack(value, name, owner)
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - numpy rarely fails here
        raise TypeError(f"{owner}: {name} must be a 2-D array of 0/1; {exc}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(
            f"{owner}: {name} must be a 2-D numeric array of 0/1; received {describe(value)}"
        )
    if arr.ndim != 2:
        raise ValueError(f"{owner}: {name} must be a 2-D array of 0/1; received shape {arr.shape}")
    arr = np.array(arr, dtype=np.float64)  # always a private copy
    if not np.all((arr == 0) | (arr == 1)):
        bad = np.unique(arr[(arr != 0) & (arr != 1)])[:5]
        raise ValueError(
            f"{owner}: {name} must contain only 0 and 1; received values such as {bad.tolist()}"
        )
    check_shape(arr, shape, name, owner)
    arr.flags.writeable = False
    _VALIDATED[id(arr)] = arr
    return arr


def check_shape(
    arr: np.ndarray, shape: tuple[int | None, ...] | None, name: str, owner: str
) -> None:
    """Raise ``ValueError`` if ``arr.shape`` differs from ``shape`` (``None``: any size)."""
    if shape is None:
        return
    if len(arr.shape) != len(shape) or any(
        want is not None and got != want for got, want in zip(arr.shape, shape, strict=True)
    ):
        expected = tuple("?" if s is None else s for s in shape)
        raise ValueError(f"{owner}: {name} must have shape {expected}; received shape {arr.shape}")


def as_bool_mask(value: Any, name: str, owner: str) -> np.ndarray:
    """Convert a boolean / 0-1 2-D array-like, or a scalar bool, to a read-only bool array.

    A scalar ``True``/``False`` is returned as a 0-d array (meaning "every entry").
    """
    if isinstance(value, bool | np.bool_):
        arr = np.array(bool(value))
        arr.flags.writeable = False
        return arr
    arr = as_mask(value, name, owner).astype(bool)
    arr.flags.writeable = False
    return arr
