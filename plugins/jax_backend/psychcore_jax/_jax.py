"""Importing JAX, choosing devices, and JAX's process-wide switches, in one place."""

from __future__ import annotations

import re
import sys
from typing import Any

_DEVICE_RE = re.compile(r"(cpu|gpu|cuda)(?::(\d+))?", re.IGNORECASE)
_DEVICE_FORMS = ("None (the first GPU JAX sees, else the CPU), 'cpu', 'gpu', 'cuda', 'gpu:N', "
                 "'cuda:N'")


def jax_status() -> tuple[bool, str]:
    """Whether JAX imports here and optax is installed (and why not).

    optax is only looked up, not imported (0.1 s at start-up): the backend's default
    ``"adam"`` does not use it, and the other optimisers import it when they are configured.
    """
    import importlib.util

    try:
        import jax  # noqa: F401
    except Exception as exc:  # an ImportError, or a broken install raising anything
        return False, (f"jax cannot be imported ({type(exc).__name__}: {exc}); pip install "
                       '"psychcore-jax" (pulls jax); GPU: pip install "psychcore-jax[cuda]"')
    if "optax" not in sys.modules and importlib.util.find_spec("optax") is None:
        return False, "optax is not installed; pip install optax"
    return True, ""


def resolve_device(device: str | None) -> tuple[str, Any]:
    """``(name, jax device)`` for ``device``: the first GPU when JAX sees one (None), else the
    CPU.

    Raises:
        TypeError: If ``device`` is not a string or None.
        ValueError: For another form, or a GPU that JAX does not see.
    """
    import jax

    if device is None:
        dev = jax.devices()[0]
        platform = "cpu" if dev.platform == "cpu" else "cuda"
        return f"{platform}:{dev.id}" if platform != "cpu" else "cpu", dev
    if not isinstance(device, str):
        raise TypeError(f"device must be a string or None; received {type(device).__name__}")
    match = _DEVICE_RE.fullmatch(device.strip())
    if match is None:
        raise ValueError(f"device {device!r} is not a device the jax backend knows; use "
                         f"{_DEVICE_FORMS}")
    kind, index = match.group(1).lower(), int(match.group(2) or 0)
    if kind == "cpu":
        return "cpu", jax.devices("cpu")[0]
    try:
        gpus = jax.devices("gpu")
    except RuntimeError:
        gpus = []
    if index >= len(gpus):
        seen = f"{len(gpus)} GPU(s)" if gpus else "no GPU"
        raise ValueError(f"device {device!r}: JAX sees {seen} here (install a CUDA build: "
                         'pip install "psychcore-jax[cuda]")')
    return f"cuda:{index}", gpus[index]


def enable_float64() -> None:
    """Switch on JAX's 64-bit mode (``jax_enable_x64``), needed for ``dtype="float64"``.

    The switch is process-wide: afterwards JAX's *default* dtypes are 64-bit. The backend
    passes explicit dtypes everywhere, so float32 networks in the same process are unaffected.
    """
    import jax

    if not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)


#: Environment variable: ``0`` switches the persistent compilation cache off, a path moves it.
ENV_CACHE = "PSYCHCORE_JAX_CACHE"


def cache_directory() -> str | None:
    """Where compiled steps are kept between processes (None: nowhere).

    ``$PSYCHCORE_JAX_CACHE`` if set (``0``, ``off`` or empty: no cache), else
    ``$XDG_CACHE_HOME/psychcore/jax`` (``~/.cache/psychcore/jax``).
    """
    import os

    value = os.environ.get(ENV_CACHE)
    if value is not None:
        return None if value.strip().lower() in ("", "0", "off", "false", "no") else value
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "psychcore", "jax")


def enable_compilation_cache() -> str | None:
    """Switch on JAX's persistent compilation cache in :func:`cache_directory`, unless the
    process already configured one (then that one is used) or it is switched off.

    A training step compiles in 1-2 s on a 2-core CPU; from the cache a later process loads it
    in a fraction of that (``psychcore bench`` run twice shows it in the first-step column).
    Steps that compile in under 0.2 s are not stored.

    Returns:
        The directory in use, or None.
    """
    import jax

    current = jax.config.jax_compilation_cache_dir
    if current:
        return str(current)
    path = cache_directory()
    if path is None:
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    return path
