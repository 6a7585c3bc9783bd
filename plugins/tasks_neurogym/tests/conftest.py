"""Shared set-up of the NeuroGym plugin's tests: the helpers module on the path."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # neurogym_helpers


def pytest_configure(config: object) -> None:
    """Silence gymnasium's complaint about NeuroGym's metadata when tests call neurogym.make."""
    config.addinivalue_line(  # type: ignore[attr-defined]
        "filterwarnings", "ignore:.*environment creator metadata:UserWarning"
    )
