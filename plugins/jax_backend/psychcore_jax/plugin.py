"""psychcore plugin module: registers the ``jax`` backend (without importing JAX)."""

from __future__ import annotations

from psychcore.plugins import hookimpl


@hookimpl
def psychcore_register_backends() -> list[type]:
    """Return the backend classes of this distribution."""
    from ._backend import JaxBackend

    return [JaxBackend]
