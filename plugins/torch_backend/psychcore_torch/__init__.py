"""PyTorch training backend for psychcore.

Installing this distribution registers :class:`TorchBackend` under the name ``"torch"``, so
``psychcore.Model(task, spec, backend="torch")`` trains on PyTorch. Importing this package
never imports torch: the names below are loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._backend import TorchBackend
    from ._optim import optimizer_classes

__all__ = ["TorchBackend", "optimizer_classes"]
__version__ = "0.1.0"

_LAZY = {"TorchBackend": "._backend", "optimizer_classes": "._optim"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
