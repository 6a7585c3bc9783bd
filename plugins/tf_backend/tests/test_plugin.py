"""Registration through the entry point, lazily: listing backends never imports TensorFlow."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("tensorflow")

import psychcore  # noqa: E402


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_listing_backends_does_not_import_tensorflow():
    out = _run("""
        import sys
        import psychcore_tf, psychcore_tf.plugin
        import psychcore
        cls = psychcore.get_backend("tensorflow")
        print(cls.__name__, sorted(psychcore.backends()), psychcore_tf.TensorFlowBackend is cls)
        print("tensorflow" in sys.modules, "keras" in sys.modules)
    """)
    first, second = out.strip().splitlines()
    assert first.startswith("TensorFlowBackend") and "'tensorflow'" in first
    assert first.endswith("True")
    assert second == "False False"


def test_cli_plugins_lists_the_backend_without_importing_tensorflow():
    out = _run("""
        import sys, contextlib, io
        from psychcore.cli import main
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            main(["plugins"])
        print("tensorflow" in buf.getvalue(), "tensorflow" in sys.modules)
    """)
    assert out.strip() == "True False"


def test_is_available_and_quiet_import():
    out = subprocess.run(
        [sys.executable, "-c", "from psychcore_tf import TensorFlowBackend as B; "
         "print(B.is_available())"],
        capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "(True, '')"
    assert "oneDNN" not in out.stderr and "absl::InitializeLog" not in out.stderr, out.stderr


def test_registered_class_attributes():
    cls = psychcore.get_backend("tensorflow")
    assert cls.name == "tensorflow" and cls.architectures == ("rnn", "lstm", "gru")
    assert cls.description
