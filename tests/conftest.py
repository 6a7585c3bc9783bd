"""Shared fixtures for the core's tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PSYCHCORE_JAX_CACHE", "0")  # the jax backend's disk cache: off in tests


@pytest.fixture(autouse=True)
def _fresh_registry():
    """Each test sees a registry built from the environment it sets up."""
    import psychcore._plugins as plugins

    plugins._REGISTRY = None
    yield
    plugins._REGISTRY = None
