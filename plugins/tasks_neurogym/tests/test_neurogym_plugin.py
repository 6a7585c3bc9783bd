"""The plugin module: entry point, registered names, and no heavy import on registration."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

pytest.importorskip("neurogym")

import psychcore_tasks_neurogym  # noqa: E402
from psychcore_tasks_neurogym import (  # noqa: E402
    PREFIX,
    NeuroGymTask,
    RegisteredNeuroGymTask,
    env_table,
    plugin,
    registered_classes,
)

import psychcore  # noqa: E402
from psychcore import Task  # noqa: E402


def test_hook_returns_one_class_per_supported_environment() -> None:
    classes = plugin.psychcore_register_tasks()
    supported = [e["id"] for e in env_table()["envs"] if e["supported"]]
    assert [cls.neurogym_id for cls in classes] == supported
    assert all(issubclass(cls, RegisteredNeuroGymTask) and issubclass(cls, Task)
               for cls in classes)
    assert [cls.name for cls in classes] == [PREFIX + s for s in supported]
    assert len({cls.__name__ for cls in classes}) == len(classes)
    assert hasattr(plugin.psychcore_register_tasks, "psychcore_impl")


def test_entry_point_points_at_the_plugin_module() -> None:
    found = [ep for ep in entry_points(group="psychcore") if ep.name == "tasks_neurogym"]
    assert len(found) == 1
    assert found[0].value == "psychcore_tasks_neurogym.plugin"
    assert found[0].load() is plugin


def test_psychcore_discovers_the_tasks() -> None:
    psychcore.plugins.reload_plugins()
    installed = psychcore.tasks()
    for cls in registered_classes():
        assert installed[cls.name] is cls
    task = psychcore.get_task("neurogym:DelayComparison-v0")(N_batch=2, seed=0)
    assert isinstance(task, NeuroGymTask) and task.env_id == "DelayComparison-v0"
    assert type(task).description == "NeuroGym DelayComparison-v0: Delayed comparison."


def test_classes_are_importable_by_name() -> None:
    from psychcore_tasks_neurogym import _registry

    cls = registered_classes()[0]
    assert getattr(_registry, cls.__name__) is cls
    assert cls.__module__ == "psychcore_tasks_neurogym._registry"


def test_listing_plugins_imports_neither_neurogym_nor_torch() -> None:
    code = (
        "import sys, time\n"
        "start = time.perf_counter()\n"
        "import psychcore\n"
        "names = [n for n in psychcore.tasks() if n.startswith('neurogym:')]\n"
        "elapsed = time.perf_counter() - start\n"
        "assert len(names) > 20, names\n"
        "bad = [m for m in ('neurogym', 'torch', 'tensorflow', 'gymnasium') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "print(elapsed)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    assert float(out.stdout.strip()) < 5.0


def test_package_metadata() -> None:
    assert psychcore_tasks_neurogym.__version__ == "0.1.0"
    assert sorted(psychcore_tasks_neurogym.__all__) == sorted(
        n for n in psychcore_tasks_neurogym.__all__ if hasattr(psychcore_tasks_neurogym, n)
    )
