"""The core's backend conformance suite."""

from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")

from psychcore_tf import TensorFlowBackend  # noqa: E402

from psychcore.testing import parametrize_with_checks  # noqa: E402


@parametrize_with_checks([TensorFlowBackend])
def test_conformance(check):
    check()
