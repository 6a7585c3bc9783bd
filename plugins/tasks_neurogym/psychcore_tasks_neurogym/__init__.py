"""NeuroGym's environments as psychcore tasks.

- :class:`NeuroGymTask` wraps any NeuroGym environment id or instance (with its ``dt``,
  ``timing`` and other keyword arguments) as a :class:`psychcore.Task` whose batches hold one
  trial per row, padded to a fixed length, masked and seeded through psychcore's seed.
- Installing this distribution registers one task per supported environment id under the name
  ``neurogym:<id>`` (``psychcore.get_task("neurogym:DelayComparison-v0")``);
  :func:`env_table` lists every id with its status and, for the unsupported ones, the reason.

Importing this package imports neither NeuroGym nor torch.
"""

from ._registry import (
    PREFIX,
    RegisteredNeuroGymTask,
    class_name,
    env_table,
    get_neurogym_task,
    registered_classes,
)
from ._task import LABEL_PAD, NeuroGymTask, UnsupportedEnvironmentError, labels_from_targets

__all__ = [
    "LABEL_PAD",
    "PREFIX",
    "NeuroGymTask",
    "RegisteredNeuroGymTask",
    "UnsupportedEnvironmentError",
    "class_name",
    "env_table",
    "get_neurogym_task",
    "labels_from_targets",
    "registered_classes",
]
__version__ = "0.1.0"
