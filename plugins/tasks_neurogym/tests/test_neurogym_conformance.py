"""psychcore's task conformance suite on every registered NeuroGym task, and on wrappings."""

from __future__ import annotations

import pytest

neurogym = pytest.importorskip("neurogym")

from neurogym_helpers import N_BATCH, TUTORIAL_TIMING  # noqa: E402
from psychcore_tasks_neurogym import NeuroGymTask, registered_classes  # noqa: E402

from psychcore.testing import parametrize_with_checks  # noqa: E402


@parametrize_with_checks([cls(N_batch=N_BATCH, seed=0) for cls in registered_classes()])
def test_registered_tasks(check):
    check()


@parametrize_with_checks([
    NeuroGymTask("DelayComparison-v0", dt=100, timing=TUTORIAL_TIMING, N_batch=N_BATCH),
    NeuroGymTask("GoNogo-v0", mask_fixation=True, N_batch=N_BATCH, T=2000),
    NeuroGymTask("AnnubesEnv-v0", session={"v": 0.5, "a": 0.5}, catch_prob=0.5,
                 N_batch=N_BATCH),
    NeuroGymTask(neurogym.make("PerceptualDecisionMaking-v0", dt=50), N_batch=N_BATCH),
])
def test_wrapped_environments(check):
    check()
