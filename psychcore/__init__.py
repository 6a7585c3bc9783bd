"""psychcore: train biologically constrained rate RNNs on cognitive tasks.

Describe a task in NumPy (:class:`Task`), a network (:class:`ModelSpec`), and train it on any
installed backend (:class:`Model`); check it against the NumPy reference (:class:`Simulator`).
Importing psychcore never imports TensorFlow or PyTorch, and discovers no plugin: that happens
on the first call to :func:`tasks`, :func:`backends`, :func:`get_task` or :func:`get_backend`.
"""

from __future__ import annotations

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
from ._hookspecs import hookimpl, hookspec
from ._init import Initializer, initialize_weights
from ._model import Model
from ._plugins import (
    PluginLoadError,
    PluginLoadWarning,
    backends,
    get_backend,
    get_plugin_manager,
    get_task,
    initializers,
    reload_plugins,
    tasks,
)
from ._repro import ReproReport, check_reproducibility
from ._run import RunResult, train_run
from ._simulator import Simulator
from ._spec import ModelSpec
from ._task import Task
from ._training import TrainingOptions, TrainStatus
from ._weights import load_weights, save_weights, validate_weights, write_psychrnn_weights

__version__ = "0.1.0"

__all__ = [
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
    "get_plugin_manager",
    "get_task",
    "hookimpl",
    "hookspec",
    "initialize_weights",
    "initializers",
    "load_weights",
    "reload_plugins",
    "save_weights",
    "tasks",
    "train_run",
    "validate_weights",
    "write_psychrnn_weights",
]


#: Names that moved to a submodule: old ``psychcore.<name>`` -> new module. They keep working
#: with a DeprecationWarning.
_MOVED = {
    "Backend": "psychcore.backend",
    "check_adam_state": "psychcore.backend",
}


def __getattr__(name: str) -> object:
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(f"psychcore.{name} moved to {_MOVED[name]}.{name}; import it from there",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'psychcore' has no attribute {name!r}")
