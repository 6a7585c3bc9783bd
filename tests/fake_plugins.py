"""In-memory plugins for the plugin tests: modules written to a temporary folder and announced
as the only ``psychcore`` entry points."""

from __future__ import annotations

import importlib.metadata as md
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from psychcore import _plugins

TASK_PLUGIN = """
import numpy as np
from psychcore import Task
from psychcore.plugins import hookimpl

class {cls}(Task):
    description = "a task from {mod}"
    def __init__(self, dt=10, tau=100, T=100, N_batch=4):
        super().__init__(1, 1, dt, tau, T, N_batch)
    def generate_trial_params(self, batch, trial):
        return {{}}
    def trial_function(self, t, params):
        return np.zeros(1), np.zeros(1), np.ones(1)

@hookimpl
def psychcore_register_tasks():
    return [{cls}]
"""
"""A plugin module providing one task class ``{cls}``, described as coming from ``{mod}``."""


class FakePlugins:
    """Writes plugin modules under ``folder`` and makes them the only entry points."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = folder
        self.entry_points: list[md.EntryPoint] = []
        monkeypatch.syspath_prepend(str(folder))
        monkeypatch.setattr(_plugins.md, "entry_points", self._entry_points)

    def _entry_points(self, *, group: str) -> list[md.EntryPoint]:
        assert group == "psychcore"
        return list(self.entry_points)

    def add(self, name: str, source: str, dist: tuple[str, str] | None = None) -> None:
        """Write module ``name`` with ``source`` and announce it as entry point ``name``.

        Args:
            name: The module and entry point name.
            source: The module's code (dedented).
            dist: ``(distribution name, version)`` of the distribution announcing it; none
                by default (listed as ``?``).
        """
        (self.folder / f"{name}.py").write_text(textwrap.dedent(source))
        ep = md.EntryPoint(name=name, value=name, group="psychcore")
        if dist is not None:
            ep = ep._for(SimpleNamespace(name=dist[0], version=dist[1]))
        self.entry_points.append(ep)

    def forget(self) -> None:
        """Drop the imported plugin modules."""
        for ep in self.entry_points:
            sys.modules.pop(ep.value, None)
