"""The documentation site's API reference covers every public name.

Every public module of psychcore (no underscore in its name) lists its public names in
``__all__``; each must appear on the API pages ``docs/api/*.md`` as a mkdocstrings directive,
either its own (``::: psychcore.analysis.pca``) or in the ``members`` list of its module's
directive. A new public name without documentation fails here, without building the site
(``mkdocs build --strict`` then checks that each documented name renders).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
from pathlib import Path

import pytest

import psychcore

API_DIR = Path(__file__).resolve().parents[1] / "docs" / "api"
#: Public modules without ``__all__``, and where they are documented instead.
PLUGIN_PACKAGES = ("psychcore_torch", "psychcore_tf", "psychcore_jax", "psychcore_tasks_classic")
NOT_IN_API = {"psychcore.cli": "docs/cli.md, generated from its argument parser"}
_DIRECTIVE = re.compile(r"^::: *([\w.]+) *$")
_MEMBER = re.compile(r"^ +- +([\w]+) *$")


def public_modules() -> list[str]:
    """psychcore and its submodules whose dotted names have no part starting with ``_``."""
    names = ["psychcore"]
    for info in pkgutil.walk_packages(psychcore.__path__, "psychcore.",
                                      onerror=lambda name: None):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    # the plugins of this repository that are installed (each plugin's public API)
    for plugin in PLUGIN_PACKAGES:
        if importlib.util.find_spec(plugin) is not None:
            names.append(plugin)
    return names


def parse_directives(text: str) -> dict[str, list[str] | None]:
    """``::: target`` -> its ``members`` list (None when the directive gives none)."""
    out: dict[str, list[str] | None] = {}
    target = None
    in_members = False
    for line in text.splitlines():
        m = _DIRECTIVE.match(line)
        if m:
            target, in_members = m.group(1), False
            out[target] = None
            continue
        if target is None:
            continue
        if not line.startswith(" ") and line.strip():
            target = None
            continue
        if line.strip() == "members:":
            in_members = True
            out[target] = []
        elif in_members and _MEMBER.match(line):
            out[target].append(_MEMBER.match(line).group(1))
        elif in_members and line.strip() and not line.strip().startswith("- "):
            in_members = False
    return out


def documented() -> dict[str, set[str]]:
    """Module -> the names the API pages document in it."""
    out: dict[str, set[str]] = {}
    for page in sorted(API_DIR.glob("*.md")):
        for target, members in parse_directives(page.read_text(encoding="utf-8")).items():
            if members is not None:
                out.setdefault(target, set()).update(members)
            else:
                module, _, name = target.rpartition(".")
                out.setdefault(module, set()).add(name)
    return out


def test_parse_directives() -> None:
    text = ("# x\n\n::: psychcore.sweep\n    options:\n      members:\n        - Sweep\n"
            "        - run_sweep\n      show_source: false\n\n::: psychcore.analysis.pca\n")
    assert parse_directives(text) == {"psychcore.sweep": ["Sweep", "run_sweep"],
                                      "psychcore.analysis.pca": None}


@pytest.mark.parametrize("module", public_modules())
def test_every_public_name_is_documented(module: str) -> None:
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None)
    if names is None:
        assert module in NOT_IN_API, (
            f"{module} is public but has no __all__: give it one (and document it in "
            "docs/api/) or name it in NOT_IN_API")
        return
    missing = sorted(set(names) - documented().get(module, set()))
    assert not missing, (f"public names of {module} missing from docs/api/*.md: {missing}; add "
                         f"them to the members of its '::: {module}' directive")


def test_documented_names_exist() -> None:
    for module, names in documented().items():
        mod = importlib.import_module(module)
        unknown = sorted(n for n in names if n not in getattr(mod, "__all__", ()))
        assert not unknown, f"docs/api/*.md documents names not in {module}.__all__: {unknown}"
