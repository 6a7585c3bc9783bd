"""The ``psychcore`` command line.

``psychcore plugins`` lists installed plugins and what each provides; ``psychcore tasks``
lists the installed tasks with a one-line description. Backends add ``psychcore train``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import _plugins


def _quiet_frameworks() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def describe(cls: type) -> str:
    """One line describing a registered class: its ``description`` or docstring's first line."""
    text = getattr(cls, "description", "") or (cls.__doc__ or "").strip()
    return text.strip().splitlines()[0] if text.strip() else ""


def _cmd_plugins(args: argparse.Namespace) -> int:
    reg = _plugins.registry()
    rows = []
    for info in _plugins.plugin_infos():
        if info.error is not None:
            provides = f"FAILED: {info.error}"
        else:
            parts = [f"{kind}s: {', '.join(names)}"
                     for kind, names in sorted(_plugins.provided(info.name).items())]
            provides = "; ".join(parts) or "nothing"
        rows.append((info.name, f"{info.distribution} {info.version}", provides))
    width = [max(len(r[i]) for r in rows + [("plugin", "distribution", "")]) for i in range(2)]
    print(f"{'plugin':<{width[0]}}  {'distribution':<{width[1]}}  provides")
    for name, dist, provides in rows:
        print(f"{name:<{width[0]}}  {dist:<{width[1]}}  {provides}")
    blocked = sorted(_plugins._env_list(_plugins.ENV_BLOCK))
    if blocked:
        print(f"blocked by {_plugins.ENV_BLOCK}: {', '.join(blocked)}")
    if not reg.backends:
        print("no training backend installed: pip install ./plugins/torch_backend "
              "or ./plugins/tf_backend")
    return 1 if any(i.error is not None for i in _plugins.plugin_infos()) else 0


def _cmd_tasks(args: argparse.Namespace) -> int:
    found = _plugins.tasks()
    if not found:
        print("no tasks installed: pip install ./plugins/tasks_classic")
        return 0
    width = max(len(n) for n in found)
    for name in sorted(found):
        print(f"{name:<{width}}  {describe(found[name])}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``psychcore`` command."""
    parser = argparse.ArgumentParser(
        prog="psychcore",
        description="Train biologically constrained RNNs on cognitive tasks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("plugins", help="list installed plugins and what each provides")
    p.set_defaults(func=_cmd_plugins)
    p = sub.add_parser("tasks", help="list installed tasks")
    p.set_defaults(func=_cmd_tasks)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``psychcore`` command; returns the exit status."""
    _quiet_frameworks()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, TypeError, FileExistsError, FileNotFoundError) as exc:
        print(f"psychcore: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
