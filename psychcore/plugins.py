"""psychcore's plugin plumbing: how tasks, backends and initialisers get in, and how to get them.

For plugin authors: a plugin is a module whose functions are marked with :data:`hookimpl` and
named after the hooks of :mod:`psychcore._hookspecs` (``psychcore_register_tasks``,
``psychcore_register_backends``, ``psychcore_register_initializers``), announced through an
entry point in the group ``psychcore`` (:data:`ENTRY_POINT_GROUP`)::

    # my_package/plugin.py
    from psychcore.plugins import hookimpl

    @hookimpl
    def psychcore_register_tasks():
        from my_package.tasks import MyTask   # import heavy things lazily
        return [MyTask]

For users and tools: :func:`tasks`, :func:`backends`, :func:`initializers` list what is
installed; :func:`get_task`, :func:`build_task`, :func:`get_backend` and :func:`resolve_backend`
look things up by name; :func:`reload_plugins` discovers plugins again after an install.

Environment variables: ``PSYCHCORE_BACKEND`` (:data:`ENV_BACKEND`) names the backend used when
none is given; ``PSYCHCORE_BLOCK_PLUGINS`` (:data:`ENV_BLOCK`) skips plugins;
``PSYCHCORE_DISABLE_PLUGIN_AUTOLOAD`` (:data:`ENV_NO_AUTOLOAD`) loads none.
"""

from __future__ import annotations

from ._hookspecs import hookimpl, hookspec
from ._plugins import (
    ENTRY_POINT_GROUP,
    ENV_BACKEND,
    ENV_BLOCK,
    ENV_NO_AUTOLOAD,
    TASK_DEFAULTS,
    PluginInfo,
    PluginLoadError,
    PluginLoadWarning,
    available_backends,
    backends,
    build_task,
    get_backend,
    get_plugin_manager,
    get_task,
    initializers,
    plugin_infos,
    provided,
    reload_plugins,
    resolve_backend,
    tasks,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_BACKEND",
    "ENV_BLOCK",
    "ENV_NO_AUTOLOAD",
    "TASK_DEFAULTS",
    "PluginInfo",
    "PluginLoadError",
    "PluginLoadWarning",
    "available_backends",
    "backends",
    "build_task",
    "get_backend",
    "get_plugin_manager",
    "get_task",
    "hookimpl",
    "hookspec",
    "initializers",
    "plugin_infos",
    "provided",
    "reload_plugins",
    "resolve_backend",
    "tasks",
]
