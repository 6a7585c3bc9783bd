"""Small value helpers of sweeps: names of axes, text of values, ``"none"``, checks."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

from ._problems import expected

#: Training options of a sweep and their defaults (``train_run``'s keyword arguments, plus
#: ``curriculum``: the name of a curriculum of ``[curricula]`` or ``"none"``).
TRAINING_DEFAULTS: dict[str, Any] = {
    "training_iters": 50000,
    "learning_rate": 1e-3,
    "loss_epoch": 10,
    "checkpoint_epoch": 100,
    "performance_cutoff": None,
    "validation_trials": 512,
    "curriculum": None,
}
#: Namespaces of axis names: ``task.coherence``, ``spec.N_rec``, ``training.learning_rate``;
#: ``backend`` is an axis by itself.
NAMESPACES = ("task", "spec", "training")
NONE = "none"

_SAFE = re.compile(r"[^A-Za-z0-9._+-]")


def is_int(value: Any, minimum: int = 0) -> bool:
    """An int (not a bool) ``>= minimum``."""
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= minimum


def is_number(value: Any) -> bool:
    """A finite real number (not a bool)."""
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def training_problem(key: str, value: Any) -> str | None:
    """What is wrong with the training option ``key = value`` (None when it is fine).

    ``curriculum`` is only checked to be a name here; that it names a curriculum of the
    description is checked with the curricula.
    """
    if key in ("training_iters", "loss_epoch", "checkpoint_epoch"):
        return None if is_int(value, 1) else expected("a positive int", value)
    if key == "validation_trials":  # 0: decisions on fresh training batches (PsychRNN)
        return None if is_int(value, 0) else expected("a non-negative int", value)
    if key == "learning_rate":
        return None if is_number(value) and value > 0 else expected("a positive number", value)
    if key == "performance_cutoff":
        if value is None or value == NONE or is_number(value):
            return None
        return expected('a number or "none"', value)
    if key == "curriculum":
        if value is None or isinstance(value, str):
            return None
        return expected('the name of a curriculum of [curricula], or "none"', value)
    return f"unknown training option; valid options: {', '.join(TRAINING_DEFAULTS)}"


def split_axis(name: str) -> tuple[str, str]:
    """``"spec.N_rec"`` -> ``("spec", "N_rec")``; ``"backend"`` -> ``("backend", "")``."""
    if name == "backend":
        return "backend", ""
    ns, _, field = name.partition(".")
    return ns, field


def short_names(axes: list[str]) -> dict[str, str]:
    """Axis -> the name used in run directory names: the part after the namespace, unless
    two axes share it (then both keep their full names)."""
    last = {a: a.split(".", 1)[-1] for a in axes}
    counts: dict[str, int] = {}
    for s in last.values():
        counts[s] = counts.get(s, 0) + 1
    return {a: (s if counts[s] == 1 else a) for a, s in last.items()}


def value_text(value: Any) -> str:
    """A value as it appears in a run directory name (file-system safe, stable)."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        text = f"{float(value):g}"
        return text if float(text) == float(value) else repr(float(value))
    if isinstance(value, str):
        return _SAFE.sub("_", value) or "_"
    if isinstance(value, list | tuple) and all(
        isinstance(v, str | Real) and not isinstance(v, bool) for v in value
    ):
        return "_".join(value_text(v) for v in value) or "empty"
    return digest(value)[:10]


def digest(value: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``value``."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_name(values: Mapping[str, Any], short: Mapping[str, str], limit: int = 150) -> str:
    """``seed=3,N_rec=64``: the directory name of the run with the swept ``values``."""
    name = ",".join(f"{short.get(k, k)}={value_text(v)}" for k, v in values.items())
    if len(name) > limit:
        name = f"{name[: limit - 11]}~{digest(dict(values))[:10]}"
    return name


def flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables to dotted keys: ``{"spec": {"N_rec": [..]}}`` -> ``{"spec.N_rec": [..]}``
    (TOML writes ``spec.N_rec = [..]`` as the nested form)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def suggest(word: str, valid: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for a close valid word, else ``""``."""
    import difflib

    close = difflib.get_close_matches(word, list(valid), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
