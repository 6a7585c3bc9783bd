"""One check of a conformance suite, and the report of a whole run outside pytest."""

from __future__ import annotations

import unittest
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Check:
    """One conformance check bound to the task or backend it checks.

    Calling it runs the check; a check that does not apply (``skip_reason`` set) raises
    ``unittest.SkipTest`` instead, which pytest reports as skipped, so it never passes vacuously.

    Attributes:
        name: The check function's name, e.g. ``"check_batch_shapes"``.
        function: Runs the check; raises AssertionError on a failure.
        skip_reason: Why the check does not apply to this object, or ``None``.
    """

    name: str
    function: Callable[[], None]
    skip_reason: str | None = None

    def __call__(self) -> None:
        if self.skip_reason is not None:
            raise unittest.SkipTest(f"{self.name}: {self.skip_reason}")
        self.function()


@dataclass
class CheckReport:
    """What :func:`psychcore.testing.check_task` / ``check_backend`` ran.

    Attributes:
        subject: The task class or backend name.
        passed: Names of the checks that passed.
        skipped: Check name -> why it does not apply.
        failed: Check name -> the assertion message.
    """

    subject: str
    passed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.subject}: {len(self.passed)} passed, {len(self.skipped)} skipped, "
                 f"{len(self.failed)} failed"]
        lines += [f"  FAILED {name}: {message}" for name, message in self.failed.items()]
        lines += [f"  skipped {name}: {reason}" for name, reason in self.skipped.items()]
        return "\n".join(lines)


def run_checks(subject: str, checks: list[Check]) -> CheckReport:
    """Run every check that applies; raise AssertionError (with the whole report) if one
    fails or raises another error, else return the report."""
    report = CheckReport(subject)
    for check in checks:
        if check.skip_reason is not None:
            report.skipped[check.name] = check.skip_reason
            continue
        try:
            check.function()
        except AssertionError as exc:
            report.failed[check.name] = str(exc) or type(exc).__name__
        except unittest.SkipTest as exc:
            report.skipped[check.name] = str(exc)
        except Exception as exc:  # the object crashed under the check: a failure too
            report.failed[check.name] = f"raised {type(exc).__name__}: {exc}"
        else:
            report.passed.append(check.name)
    if report.failed:
        raise AssertionError(f"{subject} fails {len(report.failed)} check(s):\n{report}")
    return report
