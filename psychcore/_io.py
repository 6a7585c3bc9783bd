"""Atomic file writes: a file is either the old one or the complete new one, never half written."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np


def _check_target(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path} already exists; psychcore never overwrites a saved file silently. "
            "Choose another path or pass overwrite=True."
        )
    if not path.parent.exists():
        raise FileNotFoundError(f"directory {path.parent} does not exist (writing {path})")


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename.

    Args:
        path: Destination.
        data: Bytes to write.
        overwrite: Replace an existing file (otherwise ``FileExistsError``).

    Returns:
        The destination path.
    """
    path = Path(path)
    _check_target(path, overwrite)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; give the file the permissions a plain open() would
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str, *, overwrite: bool = False) -> Path:
    """Write UTF-8 ``text`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def atomic_savez(
    path: str | os.PathLike, arrays: dict[str, np.ndarray], *, overwrite: bool = False
) -> Path:
    """Save ``arrays`` as an uncompressed ``.npz`` atomically; object arrays are refused.

    Raises:
        TypeError: If an array has dtype ``object`` (it could only be read back with pickle).
    """
    clean = {}
    for key, value in arrays.items():
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(
                f"cannot save '{key}': object arrays need pickle to load; "
                "convert it to a numeric array"
            )
        clean[key] = arr
    buf = io.BytesIO()
    np.savez(buf, **clean)
    return atomic_write_bytes(path, buf.getvalue(), overwrite=overwrite)


def replace_dir(tmp: Path, final: Path) -> None:
    """Move the finished directory ``tmp`` to ``final``, replacing a previous ``final``.

    The old directory is renamed aside first and deleted only once ``tmp`` is in place, so
    a failure leaves either the old or the new directory, never neither.
    """
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)
