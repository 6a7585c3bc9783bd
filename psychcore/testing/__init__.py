"""Conformance suites that third-party tasks and backends run on themselves.

One line in a plugin's test suite runs every check, each as its own pytest test::

    from psychcore.testing import parametrize_with_checks
    from my_tasks import MyTask

    @parametrize_with_checks([MyTask(dt=10, tau=100, T=1000, N_batch=16)])
    def test_conformance(check):
        check()

or, without pytest's parametrisation, ``check_task(MyTask(...))`` /
``check_backend(MyBackend)``, which run all checks and raise one ``AssertionError`` listing
every failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .._repro import TOLERANCES as REPRO_TOLERANCES
from .._task import Task
from ..backend import Backend
from ._task_checks import TASK_CHECKS, task_checks

__all__ = [
    "REPRO_TOLERANCES",
    "TASK_CHECKS",
    "backend_checks",
    "check_backend",
    "check_task",
    "parametrize_with_checks",
    "task_checks",
]


def backend_checks(backend_cls: type[Backend]) -> Iterator[tuple[str, Callable[[], None]]]:
    """Yield ``(name, check)`` pairs for a Backend subclass (see ``_backend_checks``)."""
    from ._backend_checks import backend_checks as _checks

    return _checks(backend_cls)


def _checks_for(obj: Any) -> Iterator[tuple[str, Callable[[], None]]]:
    if isinstance(obj, Task):
        return task_checks(obj)
    if isinstance(obj, type) and issubclass(obj, Backend):
        return backend_checks(obj)
    raise TypeError(
        f"expected a Task instance or a Backend subclass; received {type(obj).__name__}"
    )


def _run_all(obj: Any, label: str) -> None:
    failures = []
    for name, check in _checks_for(obj):
        try:
            check()
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    if failures:
        raise AssertionError(f"{label} fails {len(failures)} check(s):\n" + "\n".join(failures))


def check_task(task: Task) -> None:
    """Run every task check on a Task instance; raise AssertionError listing failures."""
    _run_all(task, type(task).__name__)


def check_backend(backend_cls: type[Backend]) -> None:
    """Run every backend check on a Backend subclass; raise AssertionError listing failures."""
    _run_all(backend_cls, getattr(backend_cls, "name", backend_cls.__name__))


def parametrize_with_checks(objects: Iterable[Any]) -> Callable[[Callable], Callable]:
    """A pytest decorator that makes one test per (object, check) pair.

    Args:
        objects: Task instances and/or Backend subclasses.

    Returns:
        ``pytest.mark.parametrize("check", ...)`` with readable ids such as
        ``PerceptualDiscrimination-check_batch_shapes``.
    """
    import pytest

    params = []
    for obj in objects:
        label = obj.__name__ if isinstance(obj, type) else type(obj).__name__
        for name, check in _checks_for(obj):
            params.append(pytest.param(check, id=f"{label}-{name}"))
    return pytest.mark.parametrize("check", params)
