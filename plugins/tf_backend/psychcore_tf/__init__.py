"""TensorFlow 2 training backend for psychcore.

Installing this distribution registers the backend ``"tensorflow"`` through the ``psychcore``
entry point group; use it as ``psychcore.Model(task, spec, backend="tensorflow")``. Importing
this package (or listing plugins) never imports TensorFlow: the names below are loaded on first
access, and TensorFlow when a backend is built.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "TensorFlowBackend": "._backend",
    "auto_loop": "._backend",
    "resolve_device": "._backend",
    "import_tensorflow": "._tf",
    "LOOPS": "._network",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
