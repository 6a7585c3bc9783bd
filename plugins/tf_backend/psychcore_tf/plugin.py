"""psychcore plugin module: registers the TensorFlow backend (never imports TensorFlow)."""

from __future__ import annotations

from psychcore.plugins import hookimpl


@hookimpl
def psychcore_register_backends() -> list[type]:
    """Return the backend class; TensorFlow itself is imported only when a model is built."""
    from ._backend import TensorFlowBackend

    return [TensorFlowBackend]
