"""The plugin system: discovery, failures, duplicates, blocking and lookups."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
import textwrap

import pluggy
import pytest

import psychcore
from psychcore import _plugins

TASK_PLUGIN = """
import numpy as np
from psychcore import Task, hookimpl

class {cls}(Task):
    description = "a task from {mod}"
    def __init__(self, dt=10, tau=100, T=100, N_batch=4):
        super().__init__(1, 1, dt, tau, T, N_batch)
    def generate_trial_params(self, batch, trial):
        return {{}}
    def trial_function(self, t, params):
        return np.zeros(1), np.zeros(1), np.ones(1)

@hookimpl
def psychcore_register_tasks():
    return [{cls}]
"""


@pytest.fixture
def fake_plugins(tmp_path, monkeypatch):
    """Install fake plugin modules and make them the only entry points."""
    monkeypatch.syspath_prepend(str(tmp_path))
    eps: list[md.EntryPoint] = []

    def add(name: str, source: str) -> None:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        eps.append(md.EntryPoint(name=name, value=name, group="psychcore"))

    def fake_entry_points(*, group: str):
        assert group == "psychcore"
        return list(eps)

    monkeypatch.setattr(_plugins.md, "entry_points", fake_entry_points)
    yield add
    for ep in eps:
        sys.modules.pop(ep.value, None)


def test_tasks_from_two_plugins(fake_plugins):
    fake_plugins("plug_a", TASK_PLUGIN.format(cls="TaskA", mod="plug_a"))
    fake_plugins("plug_b", TASK_PLUGIN.format(cls="TaskB", mod="plug_b"))
    found = psychcore.tasks()
    assert set(found) == {"TaskA", "TaskB"}
    assert found["TaskA"].__module__ == "plug_a"
    assert psychcore.get_task("TaskB") is found["TaskB"]
    assert _plugins.provided("plug_a") == {"task": ["TaskA"]}


def test_duplicate_names_name_both_plugins(fake_plugins):
    fake_plugins("plug_a", TASK_PLUGIN.format(cls="Same", mod="plug_a"))
    fake_plugins("plug_b", TASK_PLUGIN.format(cls="Same", mod="plug_b"))
    with pytest.raises(ValueError, match="'Same' is registered twice") as info:
        psychcore.tasks()
    assert "plug_a" in str(info.value) and "plug_b" in str(info.value)


def test_broken_plugin_is_reported_and_others_load(fake_plugins):
    fake_plugins("plug_ok", TASK_PLUGIN.format(cls="Fine", mod="plug_ok"))
    fake_plugins("plug_broken", "import a_module_that_does_not_exist_xyz\n")
    with pytest.warns(_plugins.PluginLoadWarning, match="plug_broken"):
        pm = _plugins.get_plugin_manager()
    err = pm.psychcore_failed["plug_broken"]
    assert isinstance(err, _plugins.PluginLoadError)
    assert isinstance(err.__cause__, ModuleNotFoundError)
    assert "a_module_that_does_not_exist_xyz" in str(err)
    with pytest.warns(_plugins.PluginLoadWarning):
        assert "Fine" in psychcore.tasks()


def test_block_and_disable_autoload(fake_plugins, monkeypatch):
    fake_plugins("plug_a", TASK_PLUGIN.format(cls="TaskA", mod="plug_a"))
    fake_plugins("plug_b", TASK_PLUGIN.format(cls="TaskB", mod="plug_b"))
    monkeypatch.setenv(_plugins.ENV_BLOCK, "plug_b, other")
    assert set(psychcore.reload_plugins().tasks) == {"TaskA"}
    monkeypatch.delenv(_plugins.ENV_BLOCK)
    monkeypatch.setenv(_plugins.ENV_NO_AUTOLOAD, "1")
    assert psychcore.reload_plugins().tasks == {}
    # built-ins are registered through the same hooks even without autoload
    assert "gaussian_spectral_radius" in psychcore.initializers()


def test_hook_returning_non_task_is_refused(fake_plugins):
    fake_plugins("plug_bad", """
        from psychcore import hookimpl
        @hookimpl
        def psychcore_register_tasks():
            return [int]
    """)
    with pytest.raises(TypeError, match="plug_bad.*not a subclass of psychcore.Task"):
        psychcore.tasks()


def test_misspelled_hook_fails_validation(fake_plugins):
    fake_plugins("plug_typo", """
        from psychcore import hookimpl
        @hookimpl
        def psychcore_register_taskz():
            return []
    """)
    with pytest.raises(pluggy.PluginValidationError, match="psychcore_register_taskz"):
        _plugins.get_plugin_manager()


def test_unknown_names_list_what_is_available(fake_plugins):
    fake_plugins("plug_a", TASK_PLUGIN.format(cls="TaskA", mod="plug_a"))
    with pytest.raises(ValueError, match="unknown task 'Nope'; available: TaskA"):
        psychcore.get_task("Nope")
    with pytest.raises(ValueError, match="unknown backend 'jax'; available: none"):
        psychcore.get_backend("jax")
    with pytest.raises(TypeError, match="task name must be a str; received int"):
        psychcore.get_task(3)


def test_task_from_file(tmp_path):
    path = tmp_path / "my_task.py"
    path.write_text(textwrap.dedent(TASK_PLUGIN.format(cls="FileTask", mod="file")))
    cls = psychcore.get_task(f"{path}:FileTask")
    x, y, mask, _ = cls().get_trial_batch(0)
    assert x.shape == (4, 10, 1)
    with pytest.raises(ValueError, match="Task subclasses there: FileTask"):
        psychcore.get_task(f"{path}:Missing")
    with pytest.raises(ValueError, match="does not exist"):
        psychcore.get_task(f"{tmp_path / 'nope.py'}:X")


def test_listing_imports_no_framework():
    code = (
        "import psychcore, sys; psychcore.tasks(); psychcore.backends(); "
        "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules, "
        "[m for m in sys.modules if m.startswith(('torch', 'tensorflow'))]"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_import_does_no_discovery():
    code = "import psychcore._plugins as p, psychcore; assert p._REGISTRY is None"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_cli_lists_plugins_and_tasks(fake_plugins, capsys):
    from psychcore.cli import main

    fake_plugins("plug_a", TASK_PLUGIN.format(cls="TaskA", mod="plug_a"))
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "TaskA" in out and "a task from plug_a" in out
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "plug_a" in out and "tasks: TaskA" in out
    assert "psychcore.builtin" in out and "initializers: " in out
