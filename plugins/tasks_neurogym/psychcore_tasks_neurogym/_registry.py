"""The registered task classes, one per NeuroGym environment id, made from ``envs.json``.

``envs.json`` ships with the package (written by ``python -m psychcore_tasks_neurogym.generate``
from the installed NeuroGym's registry), so registering the tasks imports neither NeuroGym nor
torch: NeuroGym is imported when a task is instantiated.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from psychcore import Task

from ._task import NeuroGymTask

#: The prefix of every registered task name: ``neurogym:<environment id>``.
PREFIX = "neurogym:"


@lru_cache(maxsize=1)
def env_table() -> dict[str, Any]:
    """The shipped table: ``{"neurogym_version": ..., "envs": [entry, ...]}``.

    Each entry has ``id``, ``supported``, ``reason`` (why not, or None), ``action``
    (``"discrete"``/``"continuous"``), ``N_in``, ``N_out``, ``dt``, ``fixation_action``,
    ``max_trial_steps`` and ``description``.
    """
    text = resources.files(__package__).joinpath("envs.json").read_text(encoding="utf-8")
    return json.loads(text)


def class_name(env_id: str) -> str:
    """Python name of the class registered for ``env_id``: ``NeuroGym_yang19_dm1_v0``."""
    return "NeuroGym_" + re.sub(r"\W", "_", env_id)


class RegisteredNeuroGymTask(NeuroGymTask):
    """Base of the registered classes: a :class:`NeuroGymTask` of one fixed environment id.

    Takes every argument of :class:`NeuroGymTask` except the environment itself.
    """

    neurogym_id: str = ""
    neurogym_fixation: int | None = 0

    def __init__(
        self,
        dt: float | None = None,
        timing: dict[str, Any] | None = None,
        *,
        T: float | None = None,
        N_batch: int = 64,
        tau: float = 100.0,
        mask_fixation: bool = False,
        seed: Any = None,
        env_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            self.neurogym_id, dt, timing, T=T, N_batch=N_batch, tau=tau,
            mask_fixation=mask_fixation, fixation_action=self.neurogym_fixation, seed=seed,
            env_kwargs=env_kwargs, **kwargs,
        )


def _make_class(entry: dict[str, Any]) -> type[RegisteredNeuroGymTask]:
    name = class_name(entry["id"])
    namespace: dict[str, Any] = {
        "name": PREFIX + entry["id"],
        "description": f"NeuroGym {entry['id']}: {entry['description']}",
        "neurogym_id": entry["id"],
        "neurogym_fixation": entry["fixation_action"],
        "__module__": __name__,
        "__qualname__": name,
        "__doc__": (
            f"NeuroGym's ``{entry['id']}`` as a psychcore task ({entry['N_in']} inputs, "
            f"{entry['N_out']} outputs, dt={entry['dt']:g} ms by default).\n\n"
            f"{entry['description']}\n\nArguments: see :class:`RegisteredNeuroGymTask`."
        ),
    }
    if entry["action"] == "continuous":
        # no correct choice to score: psychcore sees no accuracy_function
        namespace["accuracy_function"] = Task.accuracy_function
    return type(name, (RegisteredNeuroGymTask,), namespace)


@lru_cache(maxsize=1)
def registered_classes() -> tuple[type[RegisteredNeuroGymTask], ...]:
    """One class per supported environment of the shipped table, in its order."""
    classes = tuple(_make_class(e) for e in env_table()["envs"] if e["supported"])
    for cls in classes:
        globals()[cls.__name__] = cls  # importable (and picklable) by name
    return classes


def get_neurogym_task(env_id: str) -> type[RegisteredNeuroGymTask]:
    """The registered class of a supported environment id (``"DelayComparison-v0"``)."""
    for cls in registered_classes():
        if cls.neurogym_id == env_id:
            return cls
    unsupported = {e["id"]: e["reason"] for e in env_table()["envs"] if not e["supported"]}
    if env_id in unsupported:
        raise ValueError(f"NeuroGym's {env_id} is not supported: {unsupported[env_id]}")
    raise ValueError(f"no NeuroGym environment {env_id!r} in the table of this plugin")


def __getattr__(name: str) -> Any:
    if name.startswith("NeuroGym_"):
        for cls in registered_classes():
            if cls.__name__ == name:
                return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
