"""psychcore's task conformance suite, run on every classic task (one line per task list)."""

from __future__ import annotations

from psychcore_tasks_classic import (
    ContextDependentIntegration,
    DelayedDiscrimination,
    GoNoGo,
    MatchToCategory,
    PerceptualDiscrimination,
    SpikeRNNGoNoGo,
    SpikeRNNMante,
    SpikeRNNXOR,
)

from psychcore.testing import parametrize_with_checks

SETTINGS = {"dt": 10, "tau": 100, "T": 2000, "N_batch": 16}


@parametrize_with_checks([
    PerceptualDiscrimination(**SETTINGS),
    PerceptualDiscrimination(**SETTINGS, coherence=0.1, direction=1),
    PerceptualDiscrimination(**SETTINGS, coherences=(0.1, 0.3, 0.5, 0.7)),
    DelayedDiscrimination(**SETTINGS),
    MatchToCategory(**SETTINGS),
    MatchToCategory(**SETTINGS, N_in=12, N_out=4),
    GoNoGo(**SETTINGS),
    ContextDependentIntegration(**SETTINGS),
    SpikeRNNGoNoGo(**SETTINGS),
    SpikeRNNXOR(**SETTINGS),
    SpikeRNNMante(**SETTINGS),
])
def test_conformance(check):
    check()
