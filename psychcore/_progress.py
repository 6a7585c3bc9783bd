"""Progress bars through ``tqdm`` (``tqdm.auto``: a widget in Jupyter, a text line elsewhere).

Training, the report and sweeps share one rule for when a bar is shown by default: when stderr
is a terminal or the code runs in a Jupyter kernel. Logs, pipes and CI get no bar (their stderr
stays clean); ``progress=True`` forces a bar, ``progress=False`` (``--no-progress``) hides it.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO


def in_notebook() -> bool:
    """Whether this process is a Jupyter (IPython) kernel, where ``tqdm.auto`` draws widgets.

    Looks only at an IPython already imported (never imports it).
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython too old or too broken to ask: not a kernel we can draw in
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def is_live(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default stderr) is a terminal or the process a notebook kernel."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):  # a closed stream
        tty = False
    return tty or in_notebook()


def show_progress(progress: bool | None, stream: TextIO | None = None) -> bool:
    """``progress`` if given, else :func:`is_live` (a terminal or a notebook)."""
    return is_live(stream) if progress is None else bool(progress)


def progress_bar(total: int, enabled: bool, *, desc: str, unit: str, initial: int = 0,
                 stream: TextIO | None = None) -> Any:
    """A ``tqdm.auto.tqdm`` bar on ``stream`` (default: stderr at call time); inert if disabled.

    Args:
        total: Steps the bar counts to.
        enabled: Draw it at all (a disabled bar accepts every call and prints nothing).
        desc: Its label.
        unit: What one step is (``"step"``, ``"figure"``, ``"run"``).
        initial: Steps already done (a resumed run, runs finished earlier).
        stream: Where to draw it.
    """
    from tqdm.auto import tqdm

    return tqdm(total=max(int(total), 0), initial=int(initial), desc=desc, unit=unit,
                file=sys.stderr if stream is None else stream, disable=not enabled,
                dynamic_ncols=True, leave=True)
