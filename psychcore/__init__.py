"""psychcore: train biologically constrained rate RNNs on cognitive tasks.

Describe a task in NumPy (:class:`Task`), a network (:class:`ModelSpec`), and train it on any
installed backend (:class:`Model`); check it against the NumPy reference (:class:`Simulator`).
Importing psychcore never imports TensorFlow or PyTorch, and discovers no plugin: that happens
on the first call to :func:`tasks`, :func:`backends`, :func:`get_task` or :func:`get_backend`.
The plugin plumbing (``hookimpl``, ``get_plugin_manager``, ...) is :mod:`psychcore.plugins`.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from . import backend as backend
from . import equations as equations
from . import plugins as plugins
from ._constraints import (
    CellTypeRule,
    ConnectivityMask,
    Constraint,
    Dale,
    FixedWeights,
    InhibitorySubtype,
    NoAutapses,
    SparseConnectivity,
)
from ._curriculum import Curriculum, default_metric
from ._equations import (
    effective_weights,
    get_effective_W_in,
    get_effective_W_out,
    get_effective_W_rec,
)
from ._init import initialize_weights
from ._initializers import Initializer
from ._model import Model
from ._plugins import (
    PluginLoadError,
    PluginLoadWarning,
    backends,
    get_backend,
    get_task,
    initializers,
    tasks,
)
from ._psychrnn import BasicSimulator
from ._repro import ReproReport, check_reproducibility
from ._run import RunResult, train_run
from ._simulator import Simulator
from ._spec import ModelSpec
from ._task import Task
from ._training import TrainingOptions, TrainStatus
from ._weights import load_weights, save_weights, validate_weights, write_psychrnn_weights

__version__ = "0.1.0"

__all__ = [
    "BasicSimulator",
    "CellTypeRule",
    "ConnectivityMask",
    "Constraint",
    "Curriculum",
    "Dale",
    "FixedWeights",
    "InhibitorySubtype",
    "Initializer",
    "Model",
    "ModelSpec",
    "NoAutapses",
    "PluginLoadError",
    "PluginLoadWarning",
    "ReproReport",
    "RunResult",
    "Simulator",
    "SparseConnectivity",
    "Task",
    "TrainStatus",
    "TrainingOptions",
    "backends",
    "check_reproducibility",
    "default_metric",
    "effective_weights",
    "get_backend",
    "get_effective_W_in",
    "get_effective_W_out",
    "get_effective_W_rec",
    "get_task",
    "initialize_weights",
    "initializers",
    "load_weights",
    "save_weights",
    "tasks",
    "train_run",
    "validate_weights",
    "write_psychrnn_weights",
]

#: Names that moved to a submodule (old ``psychcore.<name>`` -> new module): plugin plumbing
#: to ``psychcore.plugins``, backend-author helpers to ``psychcore.backend``. They keep working
#: with a DeprecationWarning naming the new place.
_MOVED = {
    **dict.fromkeys(("get_plugin_manager", "hookimpl", "hookspec", "reload_plugins"),
                    "psychcore.plugins"),
    **dict.fromkeys(("Backend", "check_adam_state"), "psychcore.backend"),
}


def __getattr__(name: str) -> Any:
    """The former names of moved objects, with a DeprecationWarning naming the new place."""
    if name in _MOVED:
        warnings.warn(
            f"psychcore.{name} is deprecated and will be removed; use {_MOVED[name]}.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'psychcore' has no attribute {name!r}")
