"""The core's import graph, built from the source without any tool: no cycles, layers point down.

Every module of ``psychcore`` is parsed (its AST); every ``import`` / ``from ... import``
anywhere in it counts -- at module level, inside functions and under ``TYPE_CHECKING`` -- so a
cycle cannot hide in a function-level import. ``lint-imports`` (pyproject ``[tool.importlinter]``)
checks the same layers with import-linter; this test needs nothing but the standard library.
"""

from __future__ import annotations

import ast
from pathlib import Path

import psychcore

ROOT = Path(psychcore.__file__).parent

KERNEL_FORBIDDEN = ("psychcore.analysis", "psychcore.sweep", "psychcore.bench", "psychcore.cli")
FRAMEWORKS = ("torch", "tensorflow", "jax", "psychcore_torch", "psychcore_tf",
              "psychcore_tasks_classic", "psychcore_tasks_neurogym", "psychcore_jax")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports (absolute names; ``from pkg import sub`` gives
    ``pkg.sub`` when ``sub`` is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in MODULES else module)
    return found


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}
GRAPH = {name: {m for m in deps if m in MODULES and m != name} for name, deps in IMPORTS.items()}


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def _path(graph: dict[str, set[str]], start: str, goal: str) -> list[str]:
    """A shortest import chain from ``start`` to ``goal`` (for messages)."""
    previous = {start: start}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node]):
            if child not in previous:
                previous[child] = node
                if child == goal:
                    chain = [goal]
                    while chain[-1] != start:
                        chain.append(previous[chain[-1]])
                    return chain[::-1]
                queue.append(child)
    return []


def test_the_graph_sees_every_module_and_function_level_imports():
    assert {"psychcore", "psychcore._spec", "psychcore.analysis._report", "psychcore.cli",
            "psychcore.sweep._worker", "psychcore.plugins"} <= set(MODULES)
    # the CLI imports the run module inside a function only; that import counts
    assert "psychcore._run" in GRAPH["psychcore.cli"]
    top_level = {n.module for n in ast.parse(MODULES["psychcore.cli"].read_text()).body
                 if isinstance(n, ast.ImportFrom)}
    assert "_run" not in top_level


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert _cycles(graph) == [frozenset("abc")]
    assert _path(graph, "d", "c") == ["d", "a", "b", "c"]


def test_the_core_has_no_import_cycles():
    cycles = list(_cycles(GRAPH))
    described = []
    for cycle in cycles:
        first = min(cycle)
        back = next(m for m in sorted(GRAPH[first]) if m in cycle)
        described.append(" -> ".join([first, *_path(GRAPH, back, first)]))
    assert not cycles, "import cycles in psychcore:\n" + "\n".join(described)


def test_the_kernel_imports_neither_analysis_sweeps_bench_nor_the_cli():
    upper = [m for m in MODULES if m.startswith(KERNEL_FORBIDDEN)]
    broken = []
    for name in MODULES:
        if name.startswith(KERNEL_FORBIDDEN):
            continue
        for target in upper:
            if target in GRAPH[name]:
                broken.append(f"{name} imports {target}")
    assert not broken, "\n".join(broken)


def test_nothing_imports_the_cli():
    importers = sorted(m for m, deps in GRAPH.items() if "psychcore.cli" in deps)
    assert importers == []


def test_analysis_and_sweeps_are_independent():
    for a, b in (("psychcore.analysis", "psychcore.sweep"), ("psychcore.sweep",
                                                               "psychcore.analysis")):
        broken = [f"{m} imports {d}" for m in MODULES if m.startswith(a)
                  for d in GRAPH[m] if d.startswith(b)]
        assert not broken, "\n".join(broken)


def test_the_core_imports_no_framework_and_no_plugin():
    broken = sorted(f"{name} imports {module}" for name, deps in IMPORTS.items()
                    for module in deps if module.split(".")[0] in FRAMEWORKS)
    assert not broken, "\n".join(broken)


PLUGINS = ROOT.parent / "plugins"


def _private_core_imports(path: Path) -> list[str]:
    """``psychcore._x`` modules (or private names of psychcore) that a file imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found += [n for n in names if n.split(".")[0] == "psychcore"
                  and any(part.startswith("_") and part != "__future__"
                          for part in n.split(".")[1:])]
    return found


def test_plugins_import_only_public_core_modules():
    """Plugins (their code, tests and helpers) use the core's public API only."""
    files = sorted(PLUGINS.glob("*/**/*.py"))
    assert len(files) > 20, f"found only {len(files)} plugin files under {PLUGINS}"
    offending = {str(f.relative_to(PLUGINS)): bad for f in files
                 if (bad := _private_core_imports(f))}
    assert not offending, f"plugins import private core modules: {offending}"


def test_the_private_import_check_catches_one(tmp_path):
    sample = tmp_path / "plugin.py"
    sample.write_text("from psychcore._rng import as_generator\nimport psychcore._equations\n"
                      "from psychcore import _plugins\nfrom psychcore.backend import Batch\n")
    assert _private_core_imports(sample) == ["psychcore._rng", "psychcore._rng.as_generator",
                                             "psychcore._equations", "psychcore._plugins"]
