"""Conformance suites that third-party tasks and backends run on themselves.

One line in a plugin's test suite runs every check, each as its own pytest test::

    from psychcore.testing import parametrize_with_checks
    from my_tasks import MyTask

    @parametrize_with_checks([MyTask(dt=10, tau=100, T=1000, N_batch=16)])
    def test_conformance(check):
        check()

or, without pytest's parametrisation, ``check_task(MyTask(...))`` /
``check_backend(MyBackend)``, which run all checks, raise one ``AssertionError`` listing every
failure, and otherwise return a :class:`CheckReport` (``print(report)`` lists the checks skipped
and why).

A check that does not apply (a task without ``accuracy_function``, a backend without the
optional portable Adam state) is reported as *skipped* with the reason, never as passed: pytest
shows it as skipped, the report lists it, and calling it raises ``unittest.SkipTest``. The
suites' own tests give each check a deliberately broken task or backend that it must catch
(``tests/test_task_conformance.py``, ``tests/test_backend_conformance.py``).

Task checks (on a Task instance):

- ``check_task_params``: ``get_task_params()`` has ``N_in, N_out, dt, tau, T, N_batch, alpha,
  N_steps`` with ``alpha = dt/tau`` and ``N_steps = ceil(T/dt)``, and returns a copy.
- ``check_batch_shapes``: ``get_trial_batch`` gives float, finite ``x, y, mask`` of shapes
  ``(N_batch, N_steps, N_in | N_out)``, a mask in [0, 1] that is not all zero, an object array
  of per-trial dicts, and honours ``N_batch=``.
- ``check_reproducible``: one seed gives byte-identical batches (also after ``set_seed``), and
  numpy's global random state is left untouched.
- ``check_batch_counter``: consecutive calls continue the batch counter.
- ``check_paths_agree``: the vectorised and per-step paths build the same trials (skipped for
  tasks with one path only).
- ``check_accuracy``: ``accuracy_function`` lies in [0, 1], is 1 on the target and below 1 on
  noise (skipped for tasks without one).
- ``check_bad_input``: ``N_batch=0`` and ``N_batch=2.5`` raise ValueError / TypeError naming
  ``N_batch``.

Backend checks (on a Backend subclass), against the NumPy reference:

- ``check_forward_matches_simulator``: outputs and states equal the Simulator's for every
  supported architecture and constraint combination.
- ``check_any_number_of_trials``: ``forward`` takes 1 or 7 trials.
- ``check_weights_round_trip``: ``get_weights`` returns what was given; ``set_weights``
  replaces it exactly.
- ``check_loss_matches_reference``: the loss ``train_step`` reports equals the NumPy loss plus
  regularisation.
- ``check_training_reduces_loss``: Adam steps reduce the loss of a batch.
- ``check_constraints_hold``: Dale signs, masked and fixed entries, frozen arrays survive
  training.
- ``check_seeded_determinism``: one seed, identical losses and weights (noise included).
- ``check_resume_exact``: weights plus ``get_training_state`` continue identically elsewhere.
- ``check_train_step_needs_optimizer``: ``train_step`` before ``configure_optimizer`` raises
  RuntimeError and moves nothing.
- ``check_optimizer_arguments``: bad optimiser names, objects, bounds and rates are refused.
- ``check_clipping_by_global_norm``: ``clip_grads=c`` bounds the step's global norm by ``c``.
- ``check_set_weights_contract``: ``set_weights`` takes subsets and refuses unknown keys and
  wrong shapes.
- ``check_training_state_before_optimizer``: a state set before ``configure_optimizer`` is
  loaded by it.
- ``check_adam_state_portable`` (optional: skipped unless the backend implements
  ``get_adam_state``/``set_adam_state``): the portable Adam state has the documented keys and
  shapes and moves training exactly between backends.

Building blocks for a backend's own deeper tests: :func:`constraint_variants` (ModelSpec
keywords covering every constraint), :func:`reference_objective` and
:func:`central_differences` (gradients of the NumPy reference, for float64 checks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .._repro import TOLERANCES as REPRO_TOLERANCES
from .._task import Task
from ..backend import Backend
from ._report import Check, CheckReport, run_checks
from ._task_checks import TASK_CHECKS, task_checks
from ._variants import central_differences, constraint_variants, reference_objective

__all__ = [
    "REPRO_TOLERANCES",
    "TASK_CHECKS",
    "Check",
    "CheckReport",
    "backend_checks",
    "central_differences",
    "check_backend",
    "check_task",
    "constraint_variants",
    "parametrize_with_checks",
    "reference_objective",
    "task_checks",
]


def backend_checks(backend_cls: type[Backend]) -> Iterator[tuple[str, Check]]:
    """Yield ``(name, check)`` pairs for a Backend subclass (see ``_backend_checks``)."""
    from ._backend_checks import backend_checks as _checks

    return _checks(backend_cls)


def _checks_for(obj: Any) -> Iterator[tuple[str, Check]]:
    if isinstance(obj, Task):
        return task_checks(obj)
    if isinstance(obj, type) and issubclass(obj, Backend):
        return backend_checks(obj)
    raise TypeError(
        f"expected a Task instance or a Backend subclass; received {type(obj).__name__}"
    )


def check_task(task: Task) -> CheckReport:
    """Run every task check on a Task instance.

    Returns:
        The report: checks passed, and checks skipped with the reason.

    Raises:
        AssertionError: Listing every failed check (and the skipped ones).
    """
    return run_checks(type(task).__name__, [c for _, c in _checks_for(task)])


def check_backend(backend_cls: type[Backend]) -> CheckReport:
    """Run every backend check on a Backend subclass.

    Returns:
        The report: checks passed, and checks skipped with the reason.

    Raises:
        AssertionError: Listing every failed check (and the skipped ones).
    """
    label = getattr(backend_cls, "name", backend_cls.__name__)
    return run_checks(label, [c for _, c in _checks_for(backend_cls)])


def parametrize_with_checks(objects: Iterable[Any]) -> Callable[[Callable], Callable]:
    """A pytest decorator that makes one test per (object, check) pair.

    Args:
        objects: Task instances and/or Backend subclasses.

    Returns:
        ``pytest.mark.parametrize("check", ...)`` with readable ids such as
        ``PerceptualDiscrimination-check_batch_shapes``; a check that does not apply carries
        ``pytest.mark.skip(reason=...)`` saying why.
    """
    import pytest

    params = []
    for obj in objects:
        label = obj.__name__ if isinstance(obj, type) else type(obj).__name__
        for name, check in _checks_for(obj):
            marks = () if check.skip_reason is None else pytest.mark.skip(
                reason=f"{name} does not apply: {check.skip_reason}")
            params.append(pytest.param(check, id=f"{label}-{name}", marks=marks))
    return pytest.mark.parametrize("check", params)
