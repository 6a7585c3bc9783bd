"""psychcore plugin module: registers a task per NeuroGym environment id.

Registration reads the table shipped with the package and imports neither NeuroGym nor torch;
NeuroGym is imported when one of the tasks is instantiated.
"""

from __future__ import annotations

from psychcore.plugins import hookimpl


@hookimpl
def psychcore_register_tasks() -> list[type]:
    """The task classes, named ``neurogym:<environment id>`` (e.g. ``neurogym:GoNogo-v0``)."""
    from ._registry import registered_classes

    return list(registered_classes())
