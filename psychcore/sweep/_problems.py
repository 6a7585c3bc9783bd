"""Validation problems of a sweep description, collected and reported all at once.

A :class:`Problem` names where it is in the description as the file spells it: the table
(``axes.grid``) and the key inside it (``spec.N_rec``), e.g.
``[axes.grid] spec.N_rec: expected a list of values; received 'ten' (str)``. When the
description came from a TOML or YAML file, :func:`locate` adds the line of the key (best
effort: the line where the key, or the nearest enclosing key, is written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .._checks import describe


@dataclass(frozen=True)
class Problem:
    """One bad key or value: ``table`` and ``key`` locate it, ``message`` says what is wrong."""

    table: str
    key: str
    message: str
    line: int | None = None

    @property
    def location(self) -> str:
        """``[table] key`` (or ``key`` for a top-level key, ``[table]`` for a whole table)."""
        if not self.table:
            return self.key
        return f"[{self.table}] {self.key}".rstrip()

    def format(self, source: str | None = None) -> str:
        """One line: ``source:line: [table] key: message`` (parts omitted when unknown)."""
        where = ""
        if source is not None:
            where = f"{source}:{self.line}: " if self.line is not None else f"{source}: "
        elif self.line is not None:
            where = f"line {self.line}: "
        return f"{where}{self.location}: {self.message}"


class SweepValidationError(ValueError):
    """Every problem of a sweep description, in one exception (a ``ValueError``).

    Attributes:
        problems: The :class:`Problem` list, in the order they were found.
        source: The description's file, when it came from one.
    """

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        what = f"sweep description {source}" if source else "sweep description"
        n = len(self.problems)
        lines = [f"invalid {what} ({n} problem{'s' if n != 1 else ''}):"]
        lines += [f"  {p.format(source)}" for p in self.problems]
        super().__init__("\n".join(lines))


class Problems:
    """A collector: ``add`` problems, ``check`` at the end raises them all at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, table: str, key: str, message: str) -> None:
        """Record a problem (an identical one is recorded once)."""
        ident = (table, key, message)
        if ident not in self._seen:
            self._seen.add(ident)
            self.items.append(Problem(table, key, message))

    def __len__(self) -> int:
        return len(self.items)

    def extend(self, other: Problems) -> None:
        """Add the problems of ``other``."""
        for p in other.items:
            self.add(p.table, p.key, p.message)


def expected(what: str, value: Any) -> str:
    """``expected WHAT; received DESCRIPTION`` (the wording of every problem)."""
    return f"expected {what}; received {describe(value)}"


# ------------------------------------------------------------------------ line numbers
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def _norm(key: str) -> str:
    """A dotted TOML key without quotes and spaces around the dots."""
    return ".".join(part.strip().strip("\"'") for part in key.split("."))


def locate(text: str | None, table: str, key: str) -> int | None:
    """The 1-based line of ``key`` in ``[table]`` of a TOML (or YAML) text, or None.

    Looks for the longest dotted prefix of ``table.key`` that is written somewhere: under a
    ``[header]`` that is a prefix of it, as ``rest = ...``; for YAML, as an indented
    ``name:`` line following its parent. Falls back on the line of the table header.
    """
    if not text:
        return None
    full = [p for p in (table.split(".") if table else []) + key.split(".") if p]
    lines = text.splitlines()
    toml_hit = _locate_toml(lines, full)
    if toml_hit is not None:
        return toml_hit
    return _locate_yaml(lines, full)


def _locate_toml(lines: list[str], full: list[str]) -> int | None:
    best: tuple[int, int] | None = None  # (matched parts, line)
    header: list[str] = []
    for number, raw in enumerate(lines, 1):
        m = _HEADER.match(raw)
        if m and "=" not in raw.split("]")[0]:
            header = _norm(m.group(1)).split(".")
            if header == full[: len(header)] and (best is None or len(header) > best[0]):
                best = (len(header), number)
            continue
        k = _KEY.match(raw)
        if not k or header != full[: len(header)]:
            continue
        parts = header + _norm(k.group(1)).split(".")
        n = 0
        while n < min(len(parts), len(full)) and parts[n] == full[n]:
            n += 1
        # a written key counts when it is a prefix of what we look for (or, for an
        # inline table, the enclosing key); more matched parts win
        written = n > len(header) and n in (len(parts), len(full))
        if written and (best is None or n > best[0]):
            best = (n, number)
    return None if best is None else best[1]


def _locate_yaml(lines: list[str], full: list[str]) -> int | None:
    stack: list[tuple[int, str]] = []
    best: tuple[int, int] | None = None
    for number, raw in enumerate(lines, 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        m = re.match(r"^(\s*)([A-Za-z0-9_\-.\"']+)\s*:", raw)
        if not m:
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, _norm(m.group(2))))
        path = ".".join(s for _, s in stack).split(".")
        n = 0
        while n < min(len(path), len(full)) and path[n] == full[n]:
            n += 1
        if n == len(path) and (best is None or n > best[0]):
            best = (n, number)
    return None if best is None else best[1]
