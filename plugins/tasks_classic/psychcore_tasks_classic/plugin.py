"""psychcore plugin module: registers the classic tasks through pluggy hook implementations."""

from __future__ import annotations

try:
    from psychcore import hookimpl
except ImportError:  # a psychcore without the plugin system yet
    import pluggy

    hookimpl = pluggy.HookimplMarker("psychcore")


@hookimpl
def psychcore_register_tasks() -> list[type]:
    """Return the classic task classes; users see each under its class name."""
    from . import TASKS

    return list(TASKS)
