"""Upper bounds of NeuroGym's period durations, as NeuroGym floors them to dt."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("neurogym")

from neurogym.utils.ngym_random import TruncExp  # noqa: E402
from psychcore_tasks_neurogym._timing import max_of_draws, period_max, steps_of  # noqa: E402


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (500, 500.0),
        (450.0, 400.0),  # floored to dt = 100
        ([300, 500, 700], 700.0),
        ((530, 610, 690), 600.0),
        (("uniform", (200, 500)), 500.0),
        (("choice", [200, 400, 3200]), 3200.0),
        (("constant", 500), 500.0),
        (("truncated_exponential", [600, 300, 3000]), 3000.0),
        (("truncated_exponential", [600, 300]), None),  # unbounded
        (("until", 2000), None),  # depends on the periods before it
        (TruncExp(180, 100, 900), 900.0),
        (TruncExp(180), None),
        (lambda: 300, None),  # an unknown callable without a sampler
        ("nonsense", None),
    ],
)
def test_period_max(spec: object, expected: float | None) -> None:
    assert period_max(spec, 100) == expected


def test_callables_are_sampled() -> None:
    rng = np.random.RandomState(0)
    assert period_max(lambda: rng.uniform(300, 600), 80, max_of_draws) == 560.0
    assert period_max(lambda: 250, 100, max_of_draws) == 200.0


def test_steps_of_tolerates_round_off() -> None:
    assert steps_of(36 * 8.3, 8.3) == 36
    assert steps_of(4800, 100) == 48
    assert steps_of(4810, 100) == 49
