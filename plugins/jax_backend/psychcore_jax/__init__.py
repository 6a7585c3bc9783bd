"""JAX training backend for psychcore.

Installing this distribution registers :class:`JaxBackend` under the name ``"jax"``, so
``psychcore.Model(task, spec, backend="jax")`` trains with JAX: each training step (forward
scan, loss, gradients, clipping, optimiser update, constraints) is one compiled XLA function.
Importing this package never imports JAX: the names below are loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._backend import JaxBackend
    from ._optim import optimizer_names

__all__ = ["JaxBackend", "optimizer_names"]
__version__ = "0.1.0"

_LAZY = {"JaxBackend": "._backend", "optimizer_names": "._optim"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
