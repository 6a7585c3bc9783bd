"""Progress of a whole sweep on stderr: finished, running, failed, elapsed, time left.

On a terminal one status line is redrawn every second and each finished or failed run is
printed above it; otherwise (a log file, CI) one line per event, status included.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


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
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.finished = 0
        self.failed = 0
        self.interrupted = 0
        self.running = 0
        self.durations: list[float] = []
        self._last_draw = 0.0
        self._drawn = False

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
        line, after which no status line is drawn)."""
        if not self.enabled:
            return
        if self.tty:
            self._clear()
            self.stream.write(f"sweep: {text}\n")
            if not final:
                self.draw(force=True)
        else:
            self.stream.write(f"sweep: {text} [{self.status()}]\n")
        self.stream.flush()

    def draw(self, force: bool = False) -> None:
        """Redraw the status line (terminals only, at most once a second)."""
        if not (self.enabled and self.tty):
            return
        now = time.monotonic()
        if force or now - self._last_draw >= 1.0:
            self._clear()
            self.stream.write(f"sweep: {self.status()}")
            self.stream.flush()
            self._drawn = True
            self._last_draw = now

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\033[K")
            self._drawn = False

    def close(self) -> None:
        """End the status line."""
        if self.enabled and self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
