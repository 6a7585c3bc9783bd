"""Devices and intra-op threads: the two places where the backend meets torch's global state."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

#: On the CPU, steps whose recurrent product (``G * N_rec**2 * N_batch`` multiply-adds) is at
#: most this run on one intra-op thread (see ``TorchBackend.num_threads``): up to N_rec=256 at
#: N_batch=128 for the rate RNN. Measured on the 2-core machine: one thread is 20-45% slower
#: than two at N_rec=50 and 256 on a quiet machine, but 5-10x faster whenever other jobs hold
#: the cores; a fixed choice keeps results reproducible (they differ in the last bits between
#: thread counts). From N_rec=1024 two threads win clearly.
SMALL_STEP = 2**23


@contextlib.contextmanager
def intra_op_threads(n: int | None) -> Iterator[None]:
    """Run a block with ``n`` torch intra-op threads (None: unchanged), then restore."""
    import torch

    old = torch.get_num_threads()
    if n is None or n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def resolve_device(device: Any) -> str:
    """``"cuda"`` when available and ``device`` is None, else ``"cpu"``; checks a given one.

    Raises:
        ValueError: If ``device`` is not a usable torch device here.
        TypeError: If it is neither None, a string nor a ``torch.device``.
    """
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(device, str | torch.device):
        raise TypeError(f"device must be None, a str or a torch.device; received "
                        f"{type(device).__name__}")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device {device!r} is not a torch device ({exc}); use 'cpu', "
                         "'cuda', 'cuda:1', ...") from exc
    if dev.type == "meta":
        raise ValueError("device 'meta' holds no data; use 'cpu' or 'cuda'")
    try:
        torch.zeros(1, device=dev)
        torch.Generator(device=dev)
    except (RuntimeError, AssertionError) as exc:
        raise ValueError(f"device {device!r} cannot be used here: {exc}") from exc
    return str(dev)
