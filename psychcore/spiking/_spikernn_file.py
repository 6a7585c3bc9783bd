"""The ``.mat`` file spikeRNN's training script saves (``rate/main.py``): its variables, its
time step and the one reader that :meth:`RateNetwork.from_spikernn` and
:func:`spikernn_to_psychcore` share."""

from __future__ import annotations

import os
from typing import Any

SPIKERNN_FILE_KEYS = ("N", "w_in", "w", "m", "som_m", "w_out", "b_out", "inh", "taus",
                      "taus_gaus")
"""Variables of spikeRNN's saved ``.mat`` that psychcore reads."""
SPIKERNN_STEP_S = 0.005
"""spikeRNN's rate time step: 5 ms ("NOTE: Each time step is 5 ms", rate/main.py)."""


def read_spikernn_mat(path: str | os.PathLike[str], owner: str) -> dict[str, Any]:
    """The variables of a spikeRNN model file, checked to include :data:`SPIKERNN_FILE_KEYS`.

    Args:
        path: The ``.mat`` file.
        owner: The function reading it, which starts every error message.

    Returns:
        ``scipy.io.loadmat``'s dict (arrays as saved, 2-D).

    Raises:
        ImportError: If SciPy (the ``psychcore[spiking]`` extra) is not installed.
        TypeError: If ``path`` is not a str or os.PathLike.
        FileNotFoundError: If ``path`` does not exist or is not a file.
        ValueError: If the file is not a readable ``.mat`` file or lacks one of the variables.
    """
    try:
        import scipy.io
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{owner} reads .mat files with SciPy; install it with "
                          "`pip install psychcore[spiking]`") from exc
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{owner}: path must be a str or os.PathLike; received "
                        f"{type(path).__name__}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{owner}: path {os.fspath(path)!r} does not exist or is not "
                                "a file")
    try:
        data = scipy.io.loadmat(path)
    except (ValueError, TypeError, OSError, IndexError, scipy.io.matlab.MatReadError) as exc:
        # SciPy's errors for a cut file: MatReadError (empty), IndexError (cut in the header)
        raise ValueError(f"{owner}: {os.fspath(path)!r} is not a readable .mat file ({exc})"
                         ) from exc
    missing = [k for k in SPIKERNN_FILE_KEYS if k not in data]
    if missing:
        raise ValueError(f"{owner}: {os.fspath(path)!r} is not a spikeRNN model file (saved by "
                         f"its rate/main.py); it lacks {missing}")
    return data
