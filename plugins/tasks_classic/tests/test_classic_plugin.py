"""The plugin module: hook implementation, entry point, no heavy imports."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import psychcore_tasks_classic
from psychcore_tasks_classic import plugin

import psychcore
from psychcore import Task

EXPECTED = [
    "PerceptualDiscrimination",
    "DelayedDiscrimination",
    "MatchToCategory",
    "GoNoGo",
    "ContextDependentIntegration",
]
SPIKERNN = ["SpikeRNNGoNoGo", "SpikeRNNXOR", "SpikeRNNMante"]


def test_hook_returns_the_task_classes() -> None:
    classes = plugin.psychcore_register_tasks()
    assert [cls.__name__ for cls in classes] == [*EXPECTED, *SPIKERNN]
    assert all(isinstance(cls, type) and issubclass(cls, Task) for cls in classes)
    assert sorted(psychcore_tasks_classic.__all__) == sorted(
        [*EXPECTED, *SPIKERNN, "TASKS", "SPIKERNN_TASKS"]
    )
    assert [cls.__name__ for cls in psychcore_tasks_classic.TASKS] == EXPECTED
    assert [cls.__name__ for cls in psychcore_tasks_classic.SPIKERNN_TASKS] == SPIKERNN
    for cls in classes:
        assert getattr(psychcore_tasks_classic, cls.__name__) is cls


def test_hook_is_marked_for_psychcore() -> None:
    assert hasattr(plugin.psychcore_register_tasks, "psychcore_impl")


def test_entry_point_points_at_the_plugin_module() -> None:
    found = [ep for ep in entry_points(group="psychcore") if ep.name == "tasks_classic"]
    assert len(found) == 1
    assert found[0].value == "psychcore_tasks_classic.plugin"
    assert found[0].load() is plugin


def test_psychcore_discovers_the_tasks() -> None:
    psychcore.plugins.reload_plugins()
    installed = psychcore.tasks()
    for name in [*EXPECTED, *SPIKERNN]:
        assert installed[name] is getattr(psychcore_tasks_classic, name)
    assert psychcore.get_task("GoNoGo") is psychcore_tasks_classic.GoNoGo


def test_no_deep_learning_framework_is_imported() -> None:
    code = (
        "import sys, psychcore_tasks_classic, psychcore_tasks_classic.plugin as p\n"
        "p.psychcore_register_tasks()\n"
        "psychcore_tasks_classic.MatchToCategory(10, 100, 2000, 4).get_trial_batch()\n"
        "bad = [m for m in ('tensorflow', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
