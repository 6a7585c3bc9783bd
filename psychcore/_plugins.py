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

A broken plugin never takes the others down: one whose module fails to import, that implements
a hook psychcore does not specify, or whose registration hook raises or returns something other
than a list of the expected classes is skipped whole (none of its registrations are used), with
one :class:`PluginLoadWarning` naming it, its distribution and version, the failing step and the
error. ``psychcore plugins`` lists it as ``FAILED ...`` and exits 1, and looking up a name it
would have provided says so. A name two plugins register is refused (see
:mod:`psychcore._hookspecs`).
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import inspect
import os
import reprlib
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
    """A plugin was skipped (it failed to load) or two plugins claim one name; the others were
    loaded. Emitted once each time the plugins are discovered."""


class PluginLoadError(ImportError):
    """Why a plugin was skipped: its module failed to import, it failed pluggy's validation (a
    misspelled hook), or a registration hook raised or returned something other than a list of
    the expected classes. Chained to the original error where there is one.

    Attributes:
        plugin: The entry point name.
        distribution: The distribution that installed it, with its version.
        stage: ``"import"``, ``"validation"`` or the name of the hook that failed.
        reason: What went wrong, e.g. ``"ZeroDivisionError: division by zero"``.
    """

    def __init__(self, plugin: str, distribution: str, stage: str, reason: str) -> None:
        self.plugin, self.distribution, self.stage, self.reason = (plugin, distribution, stage,
                                                                   reason)
        super().__init__(
            f"psychcore plugin '{plugin}' (distribution {distribution}) {self.where}: {reason}; "
            f"it is skipped (none of its registrations are used). Fix or uninstall it, or "
            f"silence this with {ENV_BLOCK}={plugin}"
        )

    @property
    def where(self) -> str:
        """``"failed to import"``, ``"failed validation"`` or ``"failed in <hook>"``."""
        if self.stage in ("import", "validation"):
            return f"failed {'to import' if self.stage == 'import' else 'validation'}"
        return f"failed in {self.stage}"

    @property
    def summary(self) -> str:
        """One line for listings: ``FAILED in psychcore_register_backends: ZeroDivisionError:
        ...``."""
        return f"{self.where.replace('failed', 'FAILED')}: {self.reason}"


@dataclass(frozen=True)
class PluginInfo:
    """What ``psychcore plugins`` shows about one plugin."""

    name: str
    distribution: str
    version: str
    module: str
    error: PluginLoadError | None = None


class _Builtin:
    """The core's own registrations, made through the same hooks as third-party plugins."""

    @hookimpl
    def psychcore_register_initializers(self) -> list[type]:
        return list(INITIALIZERS.values())


def _env_list(name: str) -> set[str]:
    return {item.strip() for item in os.environ.get(name, "").split(",") if item.strip()}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def autoload_disabled() -> bool:
    """Whether ``PSYCHCORE_DISABLE_PLUGIN_AUTOLOAD`` turns plugin discovery off."""
    return _env_flag(ENV_NO_AUTOLOAD)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _fail(failed: dict[str, PluginLoadError], infos: dict[str, PluginInfo], name: str,
          stage: str, reason: str, cause: BaseException | None = None) -> None:
    """Record and warn (once) that plugin ``name`` is skipped."""
    info = infos[name]
    err = PluginLoadError(name, f"{info.distribution} {info.version}", stage, reason)
    err.__cause__ = cause
    failed[name] = err
    infos[name] = replace(info, error=err)
    warnings.warn(str(err), PluginLoadWarning, stacklevel=3)


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    callers = pm.get_hookcallers(plugin) or []
    return sorted(c.name for c in callers if not c.has_spec() and not all(
        i.optionalhook for i in c.get_hookimpls() if i.plugin is plugin))


def get_plugin_manager(
    *, autoload: bool | None = None, blocked: set[str] | None = None
) -> pluggy.PluginManager:
    """Create a plugin manager with psychcore's hook specifications and all plugins loaded.

    A plugin whose module fails to import, or that implements a hook psychcore does not
    specify (a misspelling), is skipped with a :class:`PluginLoadWarning`; the others load.

    Args:
        autoload: Load the ``psychcore`` entry points; by default unless the environment
            variable ``PSYCHCORE_DISABLE_PLUGIN_AUTOLOAD`` is set.
        blocked: Plugin (entry point or distribution) names to skip; by default those listed
            in ``PSYCHCORE_BLOCK_PLUGINS``.

    Returns:
        The manager. Skipped plugins are listed in its attribute ``psychcore_failed``
        (name -> :class:`PluginLoadError`, chained to the original error); every plugin found
        in ``psychcore_infos`` (name -> :class:`PluginInfo`).
    """
    if autoload is None:
        autoload = not autoload_disabled()
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
            infos[ep.name] = PluginInfo(ep.name, dist, version, ep.value)
            try:
                plugin = ep.load()
            except Exception as exc:
                _fail(failed, infos, ep.name, "import", _reason(exc), exc)
                continue
            try:
                pm.register(plugin, name=ep.name)
            except pluggy.PluginValidationError as exc:
                _fail(failed, infos, ep.name, "validation", str(exc), exc)
                continue
            unknown = _unknown_hooks(pm, plugin)
            if unknown:
                pm.unregister(name=ep.name)
                _fail(failed, infos, ep.name, "validation",
                      f"it implements {', '.join(map(repr, unknown))}, which psychcore does not "
                      f"specify (the hooks: {', '.join(_HOOK_NAMES)})")
    pm.check_pending()
    pm.psychcore_failed = failed  # type: ignore[attr-defined]
    pm.psychcore_infos = infos  # type: ignore[attr-defined]
    return pm


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "unknown"


#: The registration hooks: hook name, the kind of what it registers, the base class required.
_HOOKS: tuple[tuple[str, str, type], ...] = (
    ("psychcore_register_tasks", "task", Task),
    ("psychcore_register_backends", "backend", Backend),
    ("psychcore_register_initializers", "initializer", Initializer),
)
_HOOK_NAMES = tuple(h for h, _, _ in _HOOKS)


@dataclass
class Registry:
    """Name -> class mappings collected from every plugin's registration hooks.

    A plugin whose hook fails is skipped whole (see :class:`PluginLoadError`); a name that two
    plugins register is given to neither (see :mod:`psychcore._hookspecs`): both are listed in
    :attr:`conflicts`, and looking the name up raises ValueError naming them.
    """

    manager: pluggy.PluginManager
    tasks: dict[str, type] = field(default_factory=dict)
    backends: dict[str, type] = field(default_factory=dict)
    initializers: dict[str, type] = field(default_factory=dict)
    provided_by: dict[tuple[str, str], str] = field(default_factory=dict)
    infos: dict[str, PluginInfo] = field(default_factory=dict)
    failed: dict[str, PluginLoadError] = field(default_factory=dict)
    conflicts: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    #: (kind, name) -> skipped plugin whose hook returned that class before failing.
    lost: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def from_manager(cls, pm: pluggy.PluginManager) -> Registry:
        """Call every plugin's registration hooks and build the mappings."""
        reg = cls(pm, infos=dict(getattr(pm, "psychcore_infos", {})),
                  failed=dict(getattr(pm, "psychcore_failed", {})))
        for plugin in {i.plugin_name for h, _, _ in _HOOKS
                       for i in getattr(pm.hook, h).get_hookimpls()}:
            reg.infos.setdefault(plugin, PluginInfo(plugin, "?", "?", "?"))
        entries: list[tuple[str, str, str, type]] = []  # plugin, kind, name, class
        for hook_name, kind, base in _HOOKS:
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                good, problem = _call(impl, hook_name, base)
                entries += [(impl.plugin_name, kind, public_name(c), c) for c in good]
                if problem is not None and impl.plugin_name not in reg.failed:
                    _fail(reg.failed, reg.infos, impl.plugin_name, hook_name, *problem)
        claims: dict[tuple[str, str], list[tuple[str, type]]] = {}
        for plugin, kind, name, item in entries:
            if plugin in reg.failed:
                reg.lost.setdefault((kind, name), plugin)
            else:
                claims.setdefault((kind, name), []).append((plugin, item))
        for (kind, name), owners in claims.items():
            if len(owners) > 1:
                reg.conflicts[(kind, name)] = [p for p, _ in owners]
                warnings.warn(reg.conflict_message(kind, name), PluginLoadWarning, stacklevel=2)
                continue
            getattr(reg, f"{kind}s")[name] = owners[0][1]
            reg.provided_by[(kind, name)] = owners[0][0]
        return reg

    def _label(self, plugin: str) -> str:
        info = self.infos.get(plugin)
        return f"'{plugin}' ({info.distribution} {info.version})" if info else f"'{plugin}'"

    def conflict_message(self, kind: str, name: str) -> str:
        """Why ``name`` is not available although plugins register it."""
        owners = self.conflicts[(kind, name)]
        return (
            f"{kind} name '{name}' is registered by several plugins: "
            f"{' and '.join(self._label(p) for p in owners)}; refusing to choose, so neither "
            f"provides it. Uninstall one, or block it with {ENV_BLOCK}={owners[-1]}"
        )

    def missing(self, kind: str, name: str) -> str | None:
        """Why ``name`` is not registered when a plugin meant to provide it, else ``None``:
        two plugins register it, or the plugin that returned it was skipped."""
        if (kind, name) in self.conflicts:
            return self.conflict_message(kind, name)
        plugin = self.lost.get((kind, name))
        if plugin is not None:
            return (f"{kind} '{name}' is provided by plugin {self._label(plugin)}, which was "
                    f"skipped: {self.failed[plugin].summary}")
        return None


def _call(impl: pluggy.HookImpl, hook_name: str,
          base: type) -> tuple[list[type], tuple[str, BaseException | None] | None]:
    """Call one registration hook: the classes it returned that are valid, and the problem
    (reason, cause) if it raised or returned something else than a list of ``base``
    subclasses."""
    try:
        items = impl.function()
    except Exception as exc:
        return [], (_reason(exc), exc)
    if not isinstance(items, list | tuple):
        return [], (f"it must return a list of classes; received {reprlib.repr(items)} "
                    f"({type(items).__name__})", None)
    good = [i for i in items if isinstance(i, type) and issubclass(i, base)]
    bad = [i for i in items if not (isinstance(i, type) and issubclass(i, base))]
    if bad:
        return good, (f"it returned {reprlib.repr(bad[0])}, which is not a subclass of "
                      f"psychcore.{base.__name__}", None)
    return good, None


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


#: What to install for each kind, by distribution name (as ``pip install`` takes it).
INSTALL_HINTS: Mapping[str, str] = MappingProxyType({
    "task": "pip install psychcore-tasks-classic (or psychcore-tasks-neurogym), or pass "
            "path/to/file.py:Class",
    "backend": 'pip install psychcore-torch or pip install "psychcore-tf[cpu]"',
    "initializer": "pip install the plugin that provides it",
})


def autoload_message() -> str:
    """Says that plugin discovery is off and how to turn it on."""
    return (f"plugin autoload is off ({ENV_NO_AUTOLOAD}={os.environ.get(ENV_NO_AUTOLOAD, '')}): "
            f"only psychcore's built-ins are loaded; unset {ENV_NO_AUTOLOAD} (or set it to 0) "
            f"to load the installed plugins")


def _hint(kind: str) -> str:
    reg = registry()
    hint = (autoload_message() if autoload_disabled()
            else f"To install one: {INSTALL_HINTS[kind]}") + "."
    if reg.failed:
        hint += " Plugins skipped because they failed (one may have provided it): " + "; ".join(
            f"{name} ({err.summary})" for name, err in sorted(reg.failed.items())) + "."
    return hint


def _unknown(kind: str, name: str, available: Mapping[str, type]) -> ValueError:
    why = registry().missing(kind, name)
    if why is not None:
        return ValueError(why)
    listing = ", ".join(sorted(available)) or "none"
    return ValueError(f"unknown {kind} '{name}'; available: {listing}. {_hint(kind)}")


def get_task(name: str) -> type:
    """Look up an installed task class by name, or load one from ``path/to/file.py:ClassName``.

    Raises:
        TypeError: If ``name`` is not a string.
        ValueError: If no such task is installed (the message lists the installed ones and
            says what to install, or that plugin autoload is off), two plugins register the
            name (both named), or the plugin that provides it was skipped (named, with why).
    """
    if not isinstance(name, str):
        raise TypeError(f"task name must be a str; received {type(name).__name__}")
    if ":" in name and name.split(":", 1)[0].endswith(".py"):
        return load_task_file(name)
    available = registry().tasks
    if name not in available:
        raise _unknown("task", name, available)
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
        ValueError: If no such backend is installed (the message lists the installed ones;
            a name that two plugins register, or that a skipped plugin provides, says so),
            or ``name`` is ``None`` and :func:`resolve_backend` cannot pick one.
    """
    return registry().backends[resolve_backend(name)]


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
            raise _unknown("backend", name, installed)
        return name
    chosen = os.environ.get(ENV_BACKEND, "").strip()
    if chosen:
        if chosen not in installed:
            listing = ", ".join(sorted(installed)) or "none"
            raise ValueError(
                f"{ENV_BACKEND}={chosen!r} names no installed backend; installed: {listing}. "
                f"Set {ENV_BACKEND} to one of them, or unset it. {_hint('backend')}"
            )
        return chosen
    if len(installed) == 1:
        return next(iter(installed))
    if not installed:
        raise ValueError(f"no training backend is installed. {_hint('backend')}")
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
    return list(registry().infos.values())


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
