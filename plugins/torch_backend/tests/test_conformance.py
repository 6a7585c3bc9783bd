"""The core's backend conformance suite, and how the plugin registers itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("torch")

from psychcore_torch import TorchBackend  # noqa: E402

import psychcore  # noqa: E402
from psychcore.testing import parametrize_with_checks  # noqa: E402


@parametrize_with_checks([TorchBackend])
def test_conformance(check):
    check()


def test_registered_under_torch():
    assert psychcore.get_backend("torch") is TorchBackend
    assert TorchBackend.is_available() == (True, "")


def test_listing_plugins_never_imports_torch():
    code = (
        "import sys, psychcore, psychcore_torch, psychcore_torch.plugin\n"
        "psychcore.backends(); psychcore.tasks()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def test_unavailable_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    ok, why = TorchBackend.is_available()
    assert not ok
    assert "torch" in why
