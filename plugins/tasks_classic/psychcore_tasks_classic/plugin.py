"""psychcore plugin module: registers the classic tasks through pluggy hook implementations."""

from __future__ import annotations

from psychcore.plugins import hookimpl


@hookimpl
def psychcore_register_tasks() -> list[type]:
    """Return the classic and spikeRNN task classes; users see each under its class name."""
    from . import SPIKERNN_TASKS, TASKS

    return [*TASKS, *SPIKERNN_TASKS]
