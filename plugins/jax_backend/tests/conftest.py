"""Shared set-up of the JAX backend's tests: the helpers module on the path."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # jax_helpers
