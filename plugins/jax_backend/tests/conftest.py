"""Shared set-up of the JAX backend's tests: the helpers module on the path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # jax_helpers

# no persistent compilation cache in ~/.cache from the tests (test_jax_specific checks it in a
# directory of its own)
os.environ.setdefault("PSYCHCORE_JAX_CACHE", "0")
