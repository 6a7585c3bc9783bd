"""The core's backend conformance suite, and how the plugin registers itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("jax")

from psychcore_jax import JaxBackend  # noqa: E402

import psychcore  # noqa: E402
from psychcore.testing import parametrize_with_checks  # noqa: E402


@parametrize_with_checks([JaxBackend])
def test_conformance(check):
    check()


def test_registered_under_jax():
    assert psychcore.get_backend("jax") is JaxBackend
    assert JaxBackend.is_available() == (True, "")


def test_listing_plugins_never_imports_jax():
    code = (
        "import sys, psychcore, psychcore_jax, psychcore_jax.plugin\n"
        "psychcore.backends(); psychcore.tasks()\n"
        "print('jax' in sys.modules, 'optax' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False False", out.stdout + out.stderr


def test_unavailable_without_jax(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # makes `import jax` raise ImportError
    ok, why = JaxBackend.is_available()
    assert not ok
    assert "jax" in why and "pip install" in why
