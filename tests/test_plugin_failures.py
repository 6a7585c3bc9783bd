"""A broken plugin is named and skipped, never fatal; two plugins claiming one name are refused
for that name only; with autoload off, listings say so (see psychcore._hookspecs)."""

from __future__ import annotations

import re
import warnings

import pytest
from fake_plugins import TASK_PLUGIN, FakePlugins

import psychcore
from psychcore import _plugins, plugins
from psychcore.cli import main

BAD_DIST = ("psychcore-plug-bad", "1.2.3")

RAISES_IN_BACKENDS = TASK_PLUGIN.format(cls="Lost", mod="plug_bad") + """
@hookimpl
def psychcore_register_backends():
    return [1 / 0]
"""


@pytest.fixture
def fake_plugins(tmp_path, monkeypatch):
    """``add(name, source, dist=None)`` installs an in-memory plugin (see fake_plugins.py)."""
    installer = FakePlugins(tmp_path, monkeypatch)
    yield installer.add
    installer.forget()


def _load() -> tuple[_plugins.Registry, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = plugins.reload_plugins()
    return reg, [w for w in caught if issubclass(w.category, _plugins.PluginLoadWarning)]


def test_a_hook_that_raises_skips_its_plugin_and_names_it(fake_plugins, capsys):
    fake_plugins("plug_ok", TASK_PLUGIN.format(cls="Fine", mod="plug_ok"))
    fake_plugins("plug_bad", RAISES_IN_BACKENDS, dist=BAD_DIST)
    reg, caught = _load()
    assert len(caught) == 1  # once, although the plugin has two hooks
    message = str(caught[0].message)
    for part in ("'plug_bad'", "psychcore-plug-bad 1.2.3", "psychcore_register_backends",
                 "ZeroDivisionError: division by zero", "skipped"):
        assert part in message, part
    err = reg.failed["plug_bad"]
    assert isinstance(err.__cause__, ZeroDivisionError)
    assert err.stage == "psychcore_register_backends"
    # everything else works; the broken plugin's task (its other hook succeeded) is dropped
    assert set(psychcore.tasks()) == {"Fine"}
    assert "gaussian_spectral_radius" in psychcore.initializers()
    with pytest.raises(ValueError, match=r"task 'Lost' is provided by plugin 'plug_bad' "
                                         r"\(psychcore-plug-bad 1.2.3\), which was skipped: "
                                         r"FAILED in psychcore_register_backends: "
                                         r"ZeroDivisionError"):
        psychcore.get_task("Lost")
    with pytest.raises(ValueError, match=r"unknown backend 'x'.*skipped because they failed "
                                         r"\(one may have provided it\): plug_bad \(FAILED in "
                                         r"psychcore_register_backends: ZeroDivisionError"):
        psychcore.get_backend("x")
    assert main(["plugins"]) == 1
    out = capsys.readouterr().out
    assert "psychcore-plug-bad 1.2.3" in out and "tasks: Fine" in out
    assert ("FAILED in psychcore_register_backends: ZeroDivisionError: division by zero"
            in out)
    assert main(["tasks"]) == 1
    out = capsys.readouterr().out
    assert "Fine" in out and "plugin plug_bad (psychcore-plug-bad 1.2.3) was skipped" in out


@pytest.mark.parametrize(("returned", "reason"), [
    ("Bad", "must return a list of classes; received .*Bad"),
    ("3", r"must return a list of classes; received 3 \(int\)"),
    ("[Bad, int]", "returned <class 'int'>, which is not a subclass of psychcore.Task"),
    ("['Bad']", "returned 'Bad', which is not a subclass of psychcore.Task"),
])
def test_a_hook_returning_the_wrong_thing_is_named_and_skipped(fake_plugins, returned, reason):
    fake_plugins("plug_ok", TASK_PLUGIN.format(cls="Fine", mod="plug_ok"))
    fake_plugins("plug_bad", f"""
        from psychcore.plugins import hookimpl
        from plug_ok import Fine
        class Bad(Fine):
            pass
        @hookimpl
        def psychcore_register_tasks():
            return {returned}
    """, dist=BAD_DIST)
    reg, caught = _load()
    assert len(caught) == 1
    assert caught[0].message.args[0].startswith("psychcore plugin 'plug_bad' (distribution "
                                                "psychcore-plug-bad 1.2.3) failed in "
                                                "psychcore_register_tasks: ")
    assert re.search(reason, reg.failed["plug_bad"].reason), reg.failed["plug_bad"].reason
    assert set(psychcore.tasks()) == {"Fine"}


def test_a_misspelled_hook_is_named_and_skipped(fake_plugins):
    fake_plugins("plug_ok", TASK_PLUGIN.format(cls="Fine", mod="plug_ok"))
    fake_plugins("plug_typo", """
        from psychcore.plugins import hookimpl
        @hookimpl
        def psychcore_register_taskz():
            return []
    """)
    reg, caught = _load()
    assert len(caught) == 1
    assert reg.failed["plug_typo"].summary == (
        "FAILED validation: it implements 'psychcore_register_taskz', which psychcore does not "
        "specify (the hooks: psychcore_register_tasks, psychcore_register_backends, "
        "psychcore_register_initializers)")
    assert set(psychcore.tasks()) == {"Fine"}


def test_an_import_failure_is_listed_by_the_cli(fake_plugins, capsys):
    fake_plugins("plug_broken", "import a_module_that_does_not_exist_xyz\n", dist=BAD_DIST)
    with pytest.warns(_plugins.PluginLoadWarning, match="plug_broken.*failed to import"):
        assert main(["plugins"]) == 1
    out = capsys.readouterr().out
    assert ("FAILED to import: ModuleNotFoundError: No module named "
            "'a_module_that_does_not_exist_xyz'") in out


def test_a_name_two_plugins_register_is_refused_only_for_that_name(fake_plugins, monkeypatch,
                                                                   capsys):
    fake_plugins("plug_a", TASK_PLUGIN.format(cls="Same", mod="plug_a"),
                 dist=("psychcore-a", "1.0"))
    fake_plugins("plug_b", TASK_PLUGIN.format(cls="Same", mod="plug_b") + """
class Other(Same):
    pass

@hookimpl
def psychcore_register_backends():
    return []

psychcore_register_tasks = hookimpl(lambda: [Same, Other])
""", dist=("psychcore-b", "2.0"))
    reg, caught = _load()
    assert len(caught) == 1 and "'Same' is registered by several plugins" in str(
        caught[0].message)
    assert set(psychcore.tasks()) == {"Other"} and not reg.failed
    expected = (r"task name 'Same' is registered by several plugins: 'plug_a' \(psychcore-a "
                r"1.0\) and 'plug_b' \(psychcore-b 2.0\); refusing to choose, so neither "
                r"provides it. Uninstall one, or block it with PSYCHCORE_BLOCK_PLUGINS=plug_b")
    with pytest.raises(ValueError, match=expected):
        psychcore.get_task("Same")
    with pytest.raises(ValueError, match=expected):
        plugins.build_task("Same")
    assert main(["plugins"]) == 1
    out = capsys.readouterr().out
    assert out.count("tasks: ") == 2 and out.count("Same (CONFLICT)") == 2
    assert "CONFLICT: task name 'Same' is registered by several plugins" in out
    assert main(["tasks"]) == 1
    out = capsys.readouterr().out
    assert "Other" in out and "CONFLICT: task name 'Same'" in out
    # the fix the message names works
    monkeypatch.setenv(_plugins.ENV_BLOCK, "plug_b")
    reg, caught = _load()
    assert not caught and psychcore.get_task("Same").__module__ == "plug_a"


def test_with_autoload_off_the_listings_say_so(fake_plugins, monkeypatch, capsys):
    fake_plugins("plug_a", TASK_PLUGIN.format(cls="TaskA", mod="plug_a"))
    monkeypatch.setenv(_plugins.ENV_NO_AUTOLOAD, "1")
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "no tasks installed" not in out
    assert ("plugin autoload is off (PSYCHCORE_DISABLE_PLUGIN_AUTOLOAD=1): only psychcore's "
            "built-ins are loaded; unset PSYCHCORE_DISABLE_PLUGIN_AUTOLOAD") in out
    assert main(["plugins"]) == 0
    assert "plugin autoload is off" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown task 'TaskA'; available: none. plugin "
                                         "autoload is off"):
        psychcore.get_task("TaskA")
    with pytest.raises(ValueError, match="unknown backend 'torch'.*plugin autoload is off"):
        psychcore.get_backend("torch")


def test_install_hints_name_distributions(fake_plugins, capsys):
    assert main(["tasks"]) == 0
    assert ("no tasks installed: pip install psychcore-tasks-classic"
            in capsys.readouterr().out)
    assert main(["plugins"]) == 0
    assert ("no training backend installed: pip install psychcore-torch or pip install "
            "\"psychcore-tf[cpu]\"") in capsys.readouterr().out
    with pytest.raises(ValueError, match="To install one: pip install psychcore-torch"):
        psychcore.get_backend("torch")
    with pytest.raises(ValueError, match="To install one: pip install psychcore-tasks-classic"):
        psychcore.get_task("PerceptualDiscrimination")
