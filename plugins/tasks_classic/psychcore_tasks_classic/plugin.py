"""psychcore plugin module: registers the classic tasks through pluggy hook implementations."""

from __future__ import annotations

from psychcore.plugins import hookimpl


@hookimpl
def psychcore_register_tasks() -> list[type]:
    """Return the classic task classes; users see each under its class name."""
    from . import (
        ContextDependentIntegration,
        DelayedDiscrimination,
        GoNoGo,
        MatchToCategory,
        PerceptualDiscrimination,
    )

    return [
        PerceptualDiscrimination,
        DelayedDiscrimination,
        MatchToCategory,
        GoNoGo,
        ContextDependentIntegration,
    ]
