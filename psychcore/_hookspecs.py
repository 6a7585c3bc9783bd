"""Hook specifications: what a psychcore plugin can provide.

A plugin is a module (or object) with functions decorated by :data:`psychcore.plugins.hookimpl`,
announced to psychcore through an entry point in the group ``psychcore``::

    # pyproject.toml of a plugin distribution
    [project.entry-points.psychcore]
    my_tasks = "my_package.plugin"

    # my_package/plugin.py
    from psychcore.plugins import hookimpl

    @hookimpl
    def psychcore_register_tasks():
        from my_package.tasks import MyTask   # import heavy things lazily
        return [MyTask]

Every hook is a *registration hook*: it takes no argument and returns a list. The core collects
the lists of all plugins and flattens them. Plugin modules are imported whenever plugins are
listed, so they must not import tensorflow, torch or other heavy frameworks at module level.

A plugin whose hook raises, or returns anything but a list of subclasses of the hook's base
class, is skipped whole: none of its registrations are used, a ``PluginLoadWarning`` names it
(plugin, distribution and version, hook, exception), ``psychcore plugins`` shows it as
``FAILED in <hook>: <error>`` and exits 1, and looking up a name it returned says that its
plugin was skipped.

Two plugins registering the same name (of one kind) is an error, never a silent choice: the
core does not pick a winner by installation order, since that would make the same script train
a different task or backend on another machine. The name is given to *neither* plugin; everything
else keeps working. Looking the name up (``get_task``, ``get_backend``, ``build_task``,
``--backend``) raises ValueError naming both plugins and how to resolve the conflict (uninstall
one, or ``PSYCHCORE_BLOCK_PLUGINS=<plugin>``); a ``PluginLoadWarning`` says the same when the
plugins are discovered; ``psychcore plugins`` and ``psychcore tasks`` show the conflict and exit 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ._backend import Backend
    from ._initializers import Initializer
    from ._task import Task

PROJECT_NAME = "psychcore"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def psychcore_register_tasks() -> list[type[Task]]:
    """Return the task classes this plugin provides.

    Each must subclass :class:`psychcore.Task`. Its public name is its ``name`` class attribute
    if it defines one, its class name otherwise; a ``description`` class attribute (one line)
    is shown by ``psychcore tasks``.
    """


@hookspec
def psychcore_register_backends() -> list[type[Backend]]:
    """Return the training backend classes this plugin provides.

    Each must subclass :class:`psychcore.Backend` and set a ``name`` class attribute, the
    string users pass as ``backend=``. The class module must import its framework lazily
    (inside methods), so that listing backends never imports it.
    """


@hookspec
def psychcore_register_initializers() -> list[type[Initializer]]:
    """Return weight initialiser classes (subclasses of :class:`psychcore.Initializer`).

    Their ``name`` class attribute is the string accepted by ``ModelSpec(initializer=...)``.
    The core's own initialisers are registered through this hook too.
    """
