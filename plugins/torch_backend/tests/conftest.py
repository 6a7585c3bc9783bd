"""Shared set-up of the PyTorch backend's tests: the helpers module on the path.

Torch's thread count is left at its default, so the tests run the backend's default path
(``num_threads="auto"``: the small networks here train single-threaded inside the backend's
calls). ``PSYCHCORE_TEST_TORCH_THREADS`` sets the count for the test process and, through
``OMP_NUM_THREADS``, for the subprocesses the tests start.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # torch_helpers

if "PSYCHCORE_TEST_TORCH_THREADS" in os.environ:
    THREADS = int(os.environ["PSYCHCORE_TEST_TORCH_THREADS"])
    os.environ["OMP_NUM_THREADS"] = str(THREADS)
    with contextlib.suppress(ImportError):
        import torch

        torch.set_num_threads(THREADS)
