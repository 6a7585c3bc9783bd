"""The plugin system: discovery, failures, duplicates, blocking, lookups, building tasks,
choosing the default backend, and the public module ``psychcore.plugins``."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from fake_plugins import TASK_PLUGIN, FakePlugins

import psychcore
from psychcore import _plugins, plugins


@pytest.fixture
def fake_plugins(tmp_path, monkeypatch):
    """``add(name, source, dist=None)`` installs an in-memory plugin (see fake_plugins.py)."""
    installer = FakePlugins(tmp_path, monkeypatch)
    yield installer.add
    installer.forget()


def test_tasks_from_two_plugins(fake_plugins):
    fake_plugins("plug_a", TASK_PLUGIN.format(cls="TaskA", mod="plug_a"))
    fake_plugins("plug_b", TASK_PLUGIN.format(cls="TaskB", mod="plug_b"))
    found = psychcore.tasks()
    assert set(found) == {"TaskA", "TaskB"}
    assert found["TaskA"].__module__ == "plug_a"
    assert psychcore.get_task("TaskB") is found["TaskB"]
    assert _plugins.provided("plug_a") == {"task": ["TaskA"]}


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
    assert set(plugins.reload_plugins().tasks) == {"TaskA"}
    monkeypatch.delenv(_plugins.ENV_BLOCK)
    monkeypatch.setenv(_plugins.ENV_NO_AUTOLOAD, "1")
    assert plugins.reload_plugins().tasks == {}
    # built-ins are registered through the same hooks even without autoload
    assert "gaussian_spectral_radius" in psychcore.initializers()


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


# ---------------------------------------------------------------- the public module, old names
def test_the_plugin_plumbing_lives_in_psychcore_plugins():
    for name in plugins.__all__:
        assert getattr(plugins, name) is not None
    assert plugins.hookimpl is _plugins.hookimpl and plugins.build_task is _plugins.build_task
    for name in ("get_plugin_manager", "reload_plugins", "hookspec", "hookimpl"):
        assert name not in psychcore.__all__
    for name in ("tasks", "backends", "get_task", "get_backend", "initializers",
                 "PluginLoadError", "PluginLoadWarning"):
        assert name in psychcore.__all__ and getattr(psychcore, name) is getattr(plugins, name)


@pytest.mark.parametrize("name", ["get_plugin_manager", "reload_plugins", "hookspec", "hookimpl"])
def test_old_names_still_work_with_a_deprecation_warning(name):
    with pytest.warns(DeprecationWarning, match=rf"psychcore\.{name} is deprecated.*"
                                                rf"psychcore\.plugins\.{name}"):
        value = getattr(psychcore, name)
    assert value is getattr(plugins, name)


def test_from_import_of_an_old_name_warns_and_unknown_names_still_fail():
    with pytest.warns(DeprecationWarning, match="use psychcore.plugins.hookimpl"):
        from psychcore import hookimpl as old
    assert old is plugins.hookimpl
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        psychcore.no_such_name  # noqa: B018


# ---------------------------------------------------------------- build_task
TAKES_FEW = """
import numpy as np
from psychcore import Task

class Few(Task):
    def __init__(self, dt, tau, T, N_batch, coherence=0.5):
        super().__init__(1, 1, dt, tau, T, N_batch)
        self.coherence = coherence
    def generate_trial_params(self, batch, trial):
        return {"x": self.rng.standard_normal()}
    def trial_function(self, t, params):
        return np.zeros(1), np.zeros(1), np.ones(1)

class NoDt(Few):
    def __init__(self, T=400, N_batch=2):
        super().__init__(20, 100, T, N_batch)
"""


@pytest.fixture
def few(tmp_path):
    path = tmp_path / "few_task.py"
    path.write_text(TAKES_FEW)
    return str(path)


def test_build_task_applies_the_defaults_the_constructor_takes(few):
    task = plugins.build_task(f"{few}:Few", {"T": 500, "coherence": 0.1})
    assert (task.dt, task.tau, task.T, task.N_batch, task.coherence) == (10, 100, 500, 128, 0.1)
    # dt and tau are not NoDt's arguments: the defaults skip them
    other = plugins.build_task(f"{few}:NoDt")
    assert (other.dt, other.T, other.N_batch) == (20, 2000, 128)
    mine = plugins.build_task(f"{few}:NoDt", defaults={"N_batch": 3})
    assert (mine.T, mine.N_batch) == (400, 3)
    with pytest.raises(TypeError, match="missing .* required"):
        plugins.build_task(f"{few}:Few", defaults={})


def test_build_task_refuses_unknown_parameters_naming_them(few):
    with pytest.raises(ValueError, match=r"task '.*:Few' has no parameters 'cohrence', 'x'; "
                                         r"its parameters: dt, tau, T, N_batch, coherence"):
        plugins.build_task(f"{few}:Few", {"cohrence": 0.2, "x": 1})
    # parameters read back from a task hold derived values: ignore_unknown drops them
    saved = {"dt": 10, "tau": 100, "T": 300, "N_batch": 4, "N_steps": 30, "alpha": 0.1}
    task = plugins.build_task(f"{few}:Few", saved, ignore_unknown=True)
    assert (task.T, task.N_batch, task.N_steps) == (300, 4, 30)
    with pytest.raises(TypeError, match="params must be a mapping .* received list"):
        plugins.build_task(f"{few}:Few", ["T", 300])
    with pytest.raises(ValueError, match="unknown task 'Nope'"):
        plugins.build_task("Nope")


def test_build_task_seeds_the_task(few):
    def draw(seed):
        return plugins.build_task(f"{few}:Few", {"N_batch": 3}, seed=seed).get_trial_batch()[3]

    assert [p["x"] for p in draw(7)] == [p["x"] for p in draw(7)]
    assert [p["x"] for p in draw(7)] != [p["x"] for p in draw(8)]


# ---------------------------------------------------------------- the default backend
class _Fake(psychcore.backend.Backend):
    """A registered backend class that is never instantiated: only its name and availability
    matter to the choice of the default."""

    available = True

    @classmethod
    def is_available(cls):
        return (True, "") if cls.available else (False, f"{cls.name} is not installed here")


class Alpha(_Fake):
    name = "alpha"


class Beta(_Fake):
    name = "beta"


class Gamma(_Fake):
    name = "gamma"
    available = False


class Delta(Gamma):
    name = "delta"


@pytest.fixture
def installed(monkeypatch):
    """Make exactly the given backend classes the installed ones; no PSYCHCORE_BACKEND."""
    monkeypatch.delenv(plugins.ENV_BACKEND, raising=False)

    def install(*classes):
        monkeypatch.setattr(_plugins.registry(), "backends", {c.name: c for c in classes})

    return install


def test_the_only_installed_backend_is_picked(installed):
    installed(Alpha)
    assert plugins.resolve_backend() == "alpha" and plugins.resolve_backend(None) == "alpha"
    assert plugins.get_backend() is Alpha and psychcore.get_backend(None) is Alpha
    assert plugins.resolve_backend("alpha") == "alpha"


def test_two_installed_backends_make_the_user_choose(installed):
    installed(Alpha, Beta)
    with pytest.raises(ValueError) as info:
        plugins.get_backend(None)
    message = str(info.value)
    assert "no backend named and 2 are installed: alpha, beta" in message
    assert 'backend="alpha"' in message and "--backend alpha" in message
    assert "PSYCHCORE_BACKEND" in message
    assert plugins.get_backend("beta") is Beta


def test_among_several_the_only_one_that_can_run_is_picked(installed):
    installed(Alpha, Gamma)
    assert plugins.resolve_backend() == "alpha"
    assert plugins.available_backends() == ["alpha"]
    installed(Gamma, Delta)
    with pytest.raises(ValueError, match=r"delta \(cannot run here: delta is not installed "
                                         r"here\), gamma \(cannot run here"):
        plugins.resolve_backend()


def test_psychcore_backend_names_the_default(installed, monkeypatch):
    installed(Alpha, Beta)
    monkeypatch.setenv("PSYCHCORE_BACKEND", "beta")
    assert plugins.resolve_backend() == "beta" and plugins.get_backend() is Beta
    assert plugins.resolve_backend("alpha") == "alpha"  # a name given wins
    monkeypatch.setenv("PSYCHCORE_BACKEND", "  ")  # blank: unset
    with pytest.raises(ValueError, match="2 are installed"):
        plugins.resolve_backend()


def test_an_unknown_psychcore_backend_is_a_clear_error(installed, monkeypatch):
    installed(Alpha, Beta)
    monkeypatch.setenv("PSYCHCORE_BACKEND", "jax")
    with pytest.raises(ValueError, match=r"PSYCHCORE_BACKEND='jax' names no installed backend; "
                                         r"installed: alpha, beta\. Set PSYCHCORE_BACKEND to "
                                         r"one of them, or unset it"):
        plugins.get_backend()


def test_no_backend_installed_or_a_bad_name(installed):
    installed()
    with pytest.raises(ValueError, match="no training backend is installed. To install one: "
                                         "pip install psychcore-torch"):
        plugins.resolve_backend()
    with pytest.raises(TypeError, match=r"backend name must be a str or None; received 3 \(int\)"):
        plugins.resolve_backend(3)
