"""Importing TensorFlow quietly, once, and only when a backend is actually used.

TensorFlow 2.16+ writes a few lines to the process's stderr while it loads (``WARNING: All log
messages before absl::InitializeLog() ...`` and oneDNN / CPU-feature notices) before its own
``TF_CPP_MIN_LOG_LEVEL`` filter is in place, so the variable alone does not silence them.
:func:`import_tensorflow` therefore sets the variable (unless the user did), captures file
descriptor 2 during the import, and writes back every captured line except those notices.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType

_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IW]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\]"  # absl INFO / WARNING records
    r"|To enable the following instructions:.*rebuild TensorFlow"
    r"|\S+: [IW] (tensorflow|external)/)"  # classic TF INFO / WARNING records
)


def _is_noise(line: str) -> bool:
    return bool(_NOISE.match(line))


@contextlib.contextmanager
def _filtered_stderr() -> Iterator[None]:
    """Capture fd 2 for the duration of the block; re-emit all but TF's start-up notices."""
    try:
        fd = sys.stderr.fileno() if sys.stderr is not None else 2
        saved = os.dup(fd)
    except (OSError, ValueError, AttributeError):  # no real stderr (e.g. captured by a tool)
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as buf:
        if sys.stderr is not None:
            sys.stderr.flush()
        os.dup2(buf.fileno(), fd)
        try:
            yield
        finally:
            if sys.stderr is not None:
                sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            buf.seek(0)
            text = buf.read().decode("utf-8", "replace")
            kept = [ln for ln in text.splitlines(keepends=True) if not _is_noise(ln)]
            if kept and sys.stderr is not None:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def _quiet_python_loggers(tf: ModuleType) -> None:
    import logging

    tf.get_logger().setLevel(logging.ERROR)
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)


def import_tensorflow() -> ModuleType:
    """Import and return ``tensorflow`` with its start-up log noise silenced.

    Raises:
        ImportError: If TensorFlow is not installed or fails to import.
    """
    tf = sys.modules.get("tensorflow")
    if tf is not None and hasattr(tf, "function"):
        return tf
    level = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3").strip()
    if level == "0":  # the user asked for TensorFlow's INFO logs
        tf = importlib.import_module("tensorflow")
    else:
        with _filtered_stderr():
            tf = importlib.import_module("tensorflow")
    _quiet_python_loggers(tf)
    return tf


def tensorflow_status() -> tuple[bool, str]:
    """``(True, "")`` when TensorFlow imports, else ``(False, reason)``."""
    if "tensorflow" not in sys.modules and importlib.util.find_spec("tensorflow") is None:
        return False, (
            'TensorFlow is not installed; install it with pip install "psychcore-tf[tensorflow]" '
            '(or pip install "psychcore-tf[cpu]" for the CPU-only tensorflow-cpu build)'
        )
    try:
        tf = import_tensorflow()
    except Exception as exc:  # a broken install: report it, never crash discovery
        return False, f"TensorFlow failed to import: {type(exc).__name__}: {exc}"
    major, minor = (int(p) for p in tf.__version__.split(".")[:2])
    if (major, minor) < (2, 16):
        return False, f"TensorFlow >= 2.16 is required; found {tf.__version__}"
    return True, ""
