"""Shared set-up of the TensorFlow backend's tests: quiet TensorFlow, the helpers module."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))  # tf_helpers

with contextlib.suppress(ImportError):  # import TensorFlow once, without its start-up notices
    from psychcore_tf import import_tensorflow

    import_tensorflow()


@pytest.fixture
def backend_cls():
    """The TensorFlowBackend class."""
    pytest.importorskip("tensorflow")
    from psychcore_tf import TensorFlowBackend

    return TensorFlowBackend
