"""Plugin discovery and the registry of tasks, backends and initialisers (public face:
:mod:`psychcore.plugins`).

No plugin is discovered at import time: :func:`get_plugin_manager` is a factory, and the
module-level helpers (:func:`tasks`, :func:`backends`, ...) build a registry on their first call
and cache it. Importing this module installs the registry as the kernel's lookup
(:mod:`psychcore._registry`), which ``ModelSpec(initializer="name")`` resolves plugin names with.

Environment variables:

- ``PSYCHCORE_BACKEND=name``: the backend used when none is named (``backend=None``, no
  ``--backend``); see :func:`resolve_backend`.
- ``PSYCHCORE_BLOCK_PLUGINS=name1,name2`` skips the named plugins (entry point names or
  distribution names, as ``psychcore plugins`` lists them).
- ``PSYCHCORE_DISABLE_PLUGIN_AUTOLOAD=1`` loads no entry point at all (only built-ins).
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import inspect
import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pluggy

from . import _hookspecs, _registry
from ._backend import Backend
from ._checks import describe
from ._hookspecs import PROJECT_NAME, hookimpl
from ._initializers import INITIALIZERS, Initializer
from ._task import Task

ENTRY_POINT_GROUP = "psychcore"
ENV_BACKEND = "PSYCHCORE_BACKEND"
ENV_BLOCK = "PSYCHCORE_BLOCK_PLUGINS"
ENV_NO_AUTOLOAD = "PSYCHCORE_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_NAME = "psychcore.builtin"

TASK_DEFAULTS: Mapping[str, Any] = MappingProxyType({"dt": 10, "tau": 100, "T": 2000,
                                                     "N_batch": 128})
"""PsychRNN's task constructor arguments and the values :func:`build_task` gives them unless
told otherwise (``psychcore train``, sweeps)."""


class PluginLoadWarning(UserWarning):
    """A plugin could not be imported; the others were loaded."""


class PluginLoadError(ImportError):
    """Raised (chained to the original error) when a plugin module fails to import."""


@dataclass(frozen=True)
class PluginInfo:
    """What ``psychcore plugins`` shows about one plugin."""

    name: str
    distribution: str
    version: str
    module: str
    error: BaseException | None = None


class _Builtin:
    """The core's own registrations, made through the same hooks as third-party plugins."""

    @hookimpl
    def psychcore_register_initializers(self) -> list[type]:
        return list(INITIALIZERS.values())


def _env_list(name: str) -> set[str]:
    return {item.strip() for item in os.environ.get(name, "").split(",") if item.strip()}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def get_plugin_manager(
    *, autoload: bool | None = None, blocked: set[str] | None = None
) -> pluggy.PluginManager:
    """Create a plugin manager with psychcore's hook specifications and all plugins loaded.

    Args:
        autoload: Load the ``psychcore`` entry points; by default unless the environment
            variable ``PSYCHCORE_DISABLE_PLUGIN_AUTOLOAD`` is set.
        blocked: Plugin (entry point or distribution) names to skip; by default those listed
            in ``PSYCHCORE_BLOCK_PLUGINS``.

    Returns:
        The manager. Plugins that failed to import are listed in its attribute
        ``psychcore_failed`` (name -> :class:`PluginLoadError`, chained to the original
        error) and reported with a :class:`PluginLoadWarning`.
    """
    if autoload is None:
        autoload = not _env_flag(ENV_NO_AUTOLOAD)
    blocked = _env_list(ENV_BLOCK) if blocked is None else set(blocked)
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(_hookspecs)
    pm.register(_Builtin(), name=BUILTIN_NAME)
    infos: dict[str, PluginInfo] = {
        BUILTIN_NAME: PluginInfo(BUILTIN_NAME, "psychcore", _version("psychcore"), __name__)
    }
    failed: dict[str, PluginLoadError] = {}
    if autoload:
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist.name if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else "?"
            if ep.name in blocked or dist in blocked:
                pm.set_blocked(ep.name)
                continue
            if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                err = PluginLoadError(
                    f"psychcore plugin '{ep.name}' (distribution {dist} {version}, "
                    f"module {ep.value}) failed to import: {type(exc).__name__}: {exc}"
                )
                err.__cause__ = exc
                failed[ep.name] = err
                infos[ep.name] = PluginInfo(ep.name, dist, version, ep.value, err)
                warnings.warn(str(err), PluginLoadWarning, stacklevel=2)
                continue
            pm.register(plugin, name=ep.name)
            infos[ep.name] = PluginInfo(ep.name, dist, version, ep.value)
    pm.check_pending()
    pm.psychcore_failed = failed  # type: ignore[attr-defined]
    pm.psychcore_infos = infos  # type: ignore[attr-defined]
    return pm


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "unknown"


@dataclass
class Registry:
    """Name -> class mappings collected from every plugin's registration hooks."""

    manager: pluggy.PluginManager
    tasks: dict[str, type] = field(default_factory=dict)
    backends: dict[str, type] = field(default_factory=dict)
    initializers: dict[str, type] = field(default_factory=dict)
    provided_by: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def from_manager(cls, pm: pluggy.PluginManager) -> Registry:
        reg = cls(pm)
        reg.tasks = reg._collect("psychcore_register_tasks", "task", Task)
        reg.backends = reg._collect("psychcore_register_backends", "backend", Backend)
        reg.initializers = reg._collect(
            "psychcore_register_initializers", "initializer", Initializer
        )
        return reg

    def _collect(self, hook_name: str, kind: str, base: type) -> dict[str, type]:
        found: dict[str, type] = {}
        hook = getattr(self.manager.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            plugin = impl.plugin_name
            try:
                items = impl.function()
            except Exception as exc:
                raise RuntimeError(
                    f"psychcore plugin '{plugin}' failed in {hook_name}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(items, list | tuple):
                raise TypeError(
                    f"psychcore plugin '{plugin}': {hook_name} must return a list of classes; "
                    f"received {type(items).__name__}"
                )
            for item in items:
                if not (isinstance(item, type) and issubclass(item, base)):
                    raise TypeError(
                        f"psychcore plugin '{plugin}': {hook_name} returned {item!r}, which "
                        f"is not a subclass of psychcore.{base.__name__}"
                    )
                name = public_name(item)
                if name in found:
                    other = self.provided_by[(kind, name)]
                    raise ValueError(
                        f"{kind} name '{name}' is registered twice: by plugin '{other}' "
                        f"({found[name].__module__}.{found[name].__qualname__}) and by plugin "
                        f"'{plugin}' ({item.__module__}.{item.__qualname__}); block one with "
                        f"{ENV_BLOCK}={plugin}"
                    )
                found[name] = item
                self.provided_by[(kind, name)] = plugin
        return found


def public_name(cls: type) -> str:
    """The name users type for a registered class: its ``name`` attribute or class name."""
    name = cls.__dict__.get("name")
    return name if isinstance(name, str) and name else cls.__name__


_REGISTRY: Registry | None = None


def registry() -> Registry:
    """The cached registry, built (plugins discovered) on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry.from_manager(get_plugin_manager())
    return _REGISTRY


def reload_plugins() -> Registry:
    """Forget the cached registry and discover plugins again (after installing one)."""
    global _REGISTRY
    _REGISTRY = None
    return registry()


def tasks() -> dict[str, type]:
    """Installed tasks: name -> Task subclass."""
    return dict(registry().tasks)


def backends() -> dict[str, type]:
    """Installed training backends: name -> Backend subclass."""
    return dict(registry().backends)


def initializers() -> dict[str, type]:
    """Available weight initialisers: name -> Initializer subclass."""
    return dict(registry().initializers)


def _unknown(kind: str, name: str, available: dict[str, type], hint: str) -> ValueError:
    listing = ", ".join(sorted(available)) or "none"
    return ValueError(f"unknown {kind} '{name}'; available: {listing}. {hint}")


def get_task(name: str) -> type:
    """Look up an installed task class by name, or load one from ``path/to/file.py:ClassName``.

    Raises:
        TypeError: If ``name`` is not a string.
        ValueError: If no such task is installed (the message lists the installed ones).
    """
    if not isinstance(name, str):
        raise TypeError(f"task name must be a str; received {type(name).__name__}")
    if ":" in name and name.split(":", 1)[0].endswith(".py"):
        return load_task_file(name)
    available = registry().tasks
    if name not in available:
        raise _unknown(
            "task", name, available,
            "Install a task plugin (e.g. psychcore-tasks-classic) or pass path/to/file.py:Class.",
        )
    return available[name]


def build_task(
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    seed: int | np.random.Generator | np.random.SeedSequence | None = None,
    defaults: Mapping[str, Any] = TASK_DEFAULTS,
    ignore_unknown: bool = False,
) -> Task:
    """Build a task from its name and constructor arguments.

    The one way the command line, sweeps and reports turn a task name and parameters into a
    task.

    Args:
        name: An installed task's name (see ``psychcore tasks``) or ``path/to/file.py:Class``.
        params: Constructor arguments (JSON-like values), over ``defaults``.
        seed: Seed of the task's own generator (:meth:`Task.set_seed`); ``None`` leaves the
            task as its constructor seeded it.
        defaults: Constructor arguments used where ``params`` gives none, for the arguments
            the constructor names (the others are skipped): :data:`TASK_DEFAULTS`
            (``dt=10, tau=100, T=2000, N_batch=128``) unless given; ``{}`` for none.
        ignore_unknown: Drop the ``params`` the constructor does not accept instead of
            refusing them: for parameters read back from a task (``get_task_params()``
            also holds derived values such as ``N_steps`` and ``alpha``).

    Returns:
        The task.

    Raises:
        TypeError: If ``name`` is not a string or ``params`` / ``defaults`` are not mappings.
        ValueError: If the task is not installed (the message lists the installed ones), or
            ``params`` holds an argument the constructor does not accept (named, with the
            accepted ones) and ``ignore_unknown`` is false.
    """
    cls = get_task(name)
    for arg, value in (("params", params), ("defaults", defaults)):
        if value is not None and not isinstance(value, Mapping):
            raise TypeError(f"build_task: {arg} must be a mapping of constructor arguments; "
                            f"received {describe(value)}")
    params = dict(params or {})
    accepted = inspect.signature(cls).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    named = [n for n, p in accepted.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    unknown = [k for k in params if not takes_any and k not in named]
    if unknown and not ignore_unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise ValueError(
            f"task {name!r} has no parameter{plural} {', '.join(map(repr, unknown))}; its "
            f"parameters: {', '.join(named) or 'none'}"
        )
    kwargs = {k: v for k, v in (defaults or {}).items() if k in named}
    kwargs.update((k, v) for k, v in params.items() if k not in unknown)
    task = cls(**kwargs)
    if seed is not None:
        task.set_seed(seed)
    return task


def get_backend(name: str | None = None) -> type:
    """Look up an installed backend class by name; ``None`` picks the default backend.

    Args:
        name: A backend name (``"torch"``, ``"tensorflow"``), or ``None`` for the backend
            :func:`resolve_backend` picks (``PSYCHCORE_BACKEND``, else the only installed one).

    Raises:
        TypeError: If ``name`` is neither a string nor ``None``.
        ValueError: If no such backend is installed (the message lists the installed ones),
            or ``name`` is ``None`` and :func:`resolve_backend` cannot pick one.
    """
    return registry().backends[resolve_backend(name)]


def _backend_hint() -> str:
    failed = getattr(registry().manager, "psychcore_failed", {})
    extra = f" Plugins that failed to load: {', '.join(failed)}." if failed else ""
    return "Install a backend plugin, e.g. psychcore-torch or psychcore-tf." + extra


def available_backends() -> list[str]:
    """Names of the installed backends that can run here (``Backend.is_available()``), sorted.

    Asking imports each backend's framework.
    """
    return [name for name, cls in sorted(registry().backends.items()) if cls.is_available()[0]]


def resolve_backend(name: str | None = None) -> str:
    """The name of the backend to use: ``name`` itself, or the user's default when ``None``.

    The default, in order: the environment variable ``PSYCHCORE_BACKEND``; else the only
    installed backend; else, among several installed, the only one that can run here
    (``Backend.is_available()``, which imports the frameworks). No backend is preferred over
    another: with several to choose from, the caller must name one.

    Args:
        name: A backend name, or ``None`` for the default.

    Returns:
        An installed backend's name.

    Raises:
        TypeError: If ``name`` is neither a string nor ``None``.
        ValueError: If ``name`` (or ``PSYCHCORE_BACKEND``) names no installed backend, or no
            default can be picked: none installed, or several (the message lists them and
            how to choose one: ``backend="..."``, ``--backend ...``, ``PSYCHCORE_BACKEND``).
    """
    if name is not None and not isinstance(name, str):
        raise TypeError(f"backend name must be a str or None; received {describe(name)}")
    installed = registry().backends
    if name is not None:
        if name not in installed:
            raise _unknown("backend", name, installed, _backend_hint())
        return name
    chosen = os.environ.get(ENV_BACKEND, "").strip()
    if chosen:
        if chosen not in installed:
            listing = ", ".join(sorted(installed)) or "none"
            raise ValueError(
                f"{ENV_BACKEND}={chosen!r} names no installed backend; installed: {listing}. "
                f"Set {ENV_BACKEND} to one of them, or unset it. {_backend_hint()}"
            )
        return chosen
    if len(installed) == 1:
        return next(iter(installed))
    if not installed:
        raise ValueError(f"no training backend is installed. {_backend_hint()}")
    runnable = available_backends()
    if len(runnable) == 1:
        return runnable[0]
    listing = ", ".join(
        n if n in runnable else f"{n} (cannot run here: {installed[n].is_available()[1]})"
        for n in sorted(installed)
    )
    example = sorted(runnable or installed)[0]
    raise ValueError(
        f"no backend named and {len(installed)} are installed: {listing}; choose one with "
        f'backend="{example}" (Python), --backend {example} (command line) or the '
        f"environment variable {ENV_BACKEND}={example}"
    )


def load_task_file(spec: str) -> type:
    """Import ``path/to/file.py:ClassName`` and return the Task subclass it names."""
    from ._task import Task

    path_str, _, cls_name = spec.partition(":")
    path = Path(path_str)
    if not path.is_file():
        raise ValueError(f"task file '{path}' does not exist (from '{spec}')")
    module_name = f"psychcore_user_task_{abs(hash(path.resolve()))}"
    module = sys.modules.get(module_name)
    if module is None:
        file_spec = importlib.util.spec_from_file_location(module_name, path)
        if file_spec is None or file_spec.loader is None:
            raise ValueError(f"cannot import task file '{path}'")
        module = importlib.util.module_from_spec(file_spec)
        sys.modules[module_name] = module
        try:
            file_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
    cls = getattr(module, cls_name, None) if cls_name else None
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        candidates = sorted(
            n for n, v in vars(module).items()
            if isinstance(v, type) and issubclass(v, Task) and v is not Task
        )
        raise ValueError(
            f"'{cls_name}' in {path} is not a psychcore Task subclass; "
            f"Task subclasses there: {', '.join(candidates) or 'none'}"
        )
    return cls


def plugin_infos() -> list[PluginInfo]:
    """Information on every plugin found, loaded or failed."""
    infos = getattr(registry().manager, "psychcore_infos", {})
    return list(infos.values())


def provided(plugin: str) -> dict[str, list[str]]:
    """What a plugin provides: kind -> sorted names."""
    out: dict[str, list[str]] = {}
    for (kind, name), owner in registry().provided_by.items():
        if owner == plugin:
            out.setdefault(kind, []).append(name)
    return {k: sorted(v) for k, v in out.items()}


def _lookup(kind: str) -> Mapping[str, type]:
    return getattr(registry(), f"{kind}s")


_registry.install_lookup(_lookup)
