"""Marks the slowest test modules ``slow`` (long trainings, subprocesses, compilations).

``python -m pytest -m "not slow"`` is the fast subset for the edit-test loop (README); the
whole suite, which CI runs, includes them. A module is listed here rather than marked in its
own file so that the list of what the fast subset leaves out is in one place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SLOW_MODULES = frozenset({
    "plugins/torch_backend/tests/test_cross_backend.py",
    "plugins/torch_backend/tests/test_training.py",
    "plugins/torch_backend/tests/test_resume.py",
    "plugins/tf_backend/tests/test_training.py",
    "plugins/tf_backend/tests/test_equivalence.py",
    "plugins/tf_backend/tests/test_resume.py",
    "plugins/tf_backend/tests/test_plugin.py",
    "plugins/tf_backend/tests/test_conformance.py",
    "plugins/tf_backend/tests/test_gradients.py",
    "plugins/jax_backend/tests/test_training.py",
    "plugins/jax_backend/tests/test_forward.py",
    "plugins/jax_backend/tests/test_resume.py",
    "plugins/jax_backend/tests/test_conformance.py",
    "plugins/jax_backend/tests/test_jax_specific.py",
    "tests/test_sweep_run.py",
    "tests/test_faults.py",
    "tests/test_task_plugin_kit.py",
    "tests/test_bench.py",
    "tests/test_analysis_report.py",
    "tests/test_prefetch.py",
    "tests/test_spiking_cli.py",
    "tests/test_dale_options.py",
    "tests/test_spikernn_import.py",
})
_ROOT = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        try:
            name = Path(item.fspath).resolve().relative_to(_ROOT).as_posix()
        except ValueError:
            continue
        if name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
