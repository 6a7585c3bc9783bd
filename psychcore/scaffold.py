"""Starting points written to disk: ``psychcore new task-plugin NAME``.

:func:`write_task_plugin` renders the templates under ``psychcore/templates/task_plugin/`` (plain
files with ``string.Template`` placeholders) into a package directory that installs, passes
its own tests and trains at once: ``pyproject.toml`` with the ``psychcore`` entry point,
``plugin.py`` with the registration hook, one example task defining both batch paths, a test
module running :mod:`psychcore.testing`'s conformance suite, and a README.
"""

from __future__ import annotations

import contextlib
import keyword
import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from string import Template

from ._io import _umask, atomic_write_text

__all__ = ["TASK_PLUGIN_FILES", "task_plugin_names", "write_task_plugin"]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")

#: Template file -> path in the written package (``{package}`` and ``{short}`` filled in).
TASK_PLUGIN_FILES: dict[str, str] = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "{package}/__init__.py",
    "plugin.py.tmpl": "{package}/plugin.py",
    "tasks.py.tmpl": "{package}/tasks.py",
    "test_task.py.tmpl": "tests/test_{short}.py",
}


def task_plugin_names(name: str) -> dict[str, str]:
    """The names a task plugin called ``name`` gets.

    Args:
        name: A letter followed by letters, digits, ``_`` or ``-`` (``timing``,
            ``ready-set-go``, ``ReadySetGo``).

    Returns:
        ``name``; ``distribution`` (``psychcore-timing``); ``package``, the import name
        (``psychcore_timing``); ``package_short`` (``timing``); ``plugin_name``, the entry
        point's key (``timing``); ``class_name``, the example task's class (``Timing``,
        ``ReadySetGo``).

    Raises:
        TypeError: If ``name`` is not a string.
        ValueError: If ``name`` is not a valid name, naming what is accepted.
    """
    if not isinstance(name, str):
        raise TypeError(f"the task plugin's NAME must be a string; received {name!r}")
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid task plugin NAME {name!r}: use a letter followed by letters, digits, "
            "'_' or '-' (e.g. timing, ready_set_go); it names the directory, the distribution "
            "(psychcore-NAME) and the package (psychcore_NAME)")
    short = name.lower().replace("-", "_")
    parts = [p for p in re.split(r"[-_]+", name) if p]
    class_name = "".join(p[0].upper() + p[1:] for p in parts)
    if keyword.iskeyword(class_name) or class_name in ("Task", "Any", "Sequence", "Real"):
        raise ValueError(f"invalid task plugin NAME {name!r}: its task class would be called "
                         f"{class_name}, a name Python or the template already uses; choose "
                         "another NAME")
    return {
        "name": name,
        "distribution": f"psychcore-{short.replace('_', '-')}",
        "package": f"psychcore_{short}",
        "package_short": short,
        "plugin_name": short,
        "class_name": class_name,
    }


def _render(names: dict[str, str]) -> dict[str, str]:
    """Relative path -> rendered text of every file of the package."""
    folder = resources.files("psychcore") / "templates" / "task_plugin"
    out = {}
    for template, target in TASK_PLUGIN_FILES.items():
        text = (folder / template).read_text(encoding="utf-8")
        path = target.format(package=names["package"], short=names["package_short"])
        out[path] = Template(text).substitute(names)
    return out


def write_task_plugin(name: str, directory: str | os.PathLike | None = None) -> Path:
    """Write a task plugin package called ``name``.

    The package appears whole or not at all: its files are written (each atomically) into a
    temporary directory beside the destination, which is then renamed into place.

    Args:
        name: The plugin's name (see :func:`task_plugin_names`).
        directory: Where to write it; ``./NAME`` by default. It must not exist, or be empty.

    Returns:
        The package directory.

    Raises:
        TypeError, ValueError: If ``name`` is invalid.
        FileExistsError: If ``directory`` exists and is not an empty directory.
        FileNotFoundError: If the directory above ``directory`` does not exist.
    """
    names = task_plugin_names(name)
    target = Path(name if directory is None else directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} already exists and is not an empty directory; "
                              "psychcore new never overwrites files: choose another NAME or "
                              "remove it")
    parent = target.absolute().parent
    if not parent.is_dir():
        raise FileNotFoundError(f"directory {parent} does not exist (writing {target})")
    files = _render(names)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, text)
        os.chmod(staging, 0o777 & ~_umask())
        if target.exists():  # an empty directory: os.rename cannot replace it everywhere
            target.rmdir()
        os.rename(staging, target)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
        raise
    return target

