"""Progress of a whole sweep on stderr: finished, running, failed, elapsed, time left.

On a terminal (or in Jupyter) a ``tqdm`` bar counts the runs and each finished or failed run
is printed above it; otherwise (a log file, CI) one line per event, status included.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from .._progress import is_live, progress_bar


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h04m``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class SweepProgress:
    """Counts and the estimate of the time left.

    Args:
        total: Runs in the sweep.
        skipped: Runs already finished before this invocation.
        slots: Runs that can run at once (for the estimate).
        enabled: Print at all.
        stream: Where to print (stderr).
    """

    def __init__(self, total: int, skipped: int, slots: int, enabled: bool,
                 stream: TextIO | None = None) -> None:
        self.total = total
        self.skipped = skipped
        self.slots = max(1, slots)
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = is_live(self.stream)
        self.start = time.monotonic()
        self.finished = 0
        self.failed = 0
        self.interrupted = 0
        self.running = 0
        self.durations: list[float] = []
        self._last_draw = 0.0
        self._bar: Any = None

    @property
    def pending(self) -> int:
        """Runs neither done nor running."""
        return (self.total - self.skipped - self.finished - self.failed - self.interrupted
                - self.running)

    def eta(self) -> float | None:
        """Seconds left: mean run time so far x runs left / slots (None before one ends)."""
        if not self.durations:
            return None
        mean = sum(self.durations) / len(self.durations)
        return mean * (self.pending + self.running) / min(self.slots, max(
            1, self.pending + self.running))

    def status(self) -> str:
        """``8/20 finished (4 earlier), 2 running, 1 failed, 9 pending | 1m02s, ~3m left``."""
        done = self.skipped + self.finished
        earlier = f" ({self.skipped} earlier)" if self.skipped else ""
        eta = self.eta()
        left = "" if self.pending + self.running == 0 else (
            ", estimating time left" if eta is None else f", ~{duration(eta)} left")
        stopped = f", {self.interrupted} interrupted" if self.interrupted else ""
        return (f"{done}/{self.total} finished{earlier}, {self.running} running, "
                f"{self.failed} failed{stopped}, {self.pending} pending | "
                f"{duration(time.monotonic() - self.start)} elapsed{left}")

    def event(self, text: str, final: bool = False) -> None:
        """Print one event (a run finished or failed) with the status (``final``: the last
        line, after which no bar is drawn)."""
        if not self.enabled:
            return
        if self.tty:
            if final:
                self.close()
                self.stream.write(f"sweep: {text}\n")
                self.stream.flush()
            else:
                self._live().write(f"sweep: {text}", file=self.stream)
                self.draw(force=True)
            return
        self.stream.write(f"sweep: {text} [{self.status()}]\n")
        self.stream.flush()

    def _live(self) -> Any:
        if self._bar is None:
            self._bar = progress_bar(self.total, True, desc="sweep", unit="run",
                                     initial=self.skipped, stream=self.stream)
        return self._bar

    def draw(self, force: bool = False) -> None:
        """Bring the bar up to date (terminals and notebooks only, at most once a second)."""
        if not (self.enabled and self.tty):
            return
        now = time.monotonic()
        if force or now - self._last_draw >= 1.0:
            bar = self._live()
            stopped = f", {self.interrupted} interrupted" if self.interrupted else ""
            bar.set_postfix_str(f"{self.running} running, {self.failed} failed{stopped}",
                                refresh=False)
            done = self.skipped + self.finished + self.failed + self.interrupted
            bar.update(max(done - bar.n, 0))
            bar.refresh()
            self._last_draw = now

    def close(self) -> None:
        """End the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
