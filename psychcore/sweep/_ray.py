"""Execution on Ray: one remote task per run, with the run's CPU/GPU request.

Ray is optional (``pip install ray``). :class:`RayPool` uses the Ray instance this process is
already connected to, else connects to ``address`` (``ray.init(address=...)``), else starts a
local instance bound to the loopback interface (its usage statistics off unless the
``RAY_USAGE_STATS_ENABLED`` variable says otherwise), and shuts down only what it started.

On a cluster, every node needs psychcore, the backend and the task installed, and the sweep
directory (and a ``file.py:Class`` task) on a file system that every node sees: each task
writes its run directory itself.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from ._worker import execute_run


def _import_ray(local: bool) -> Any:
    if local and "ray" not in sys.modules:
        # a local instance: loopback only, no usage statistics (unless asked for)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError as exc:
        raise ImportError('--ray needs Ray: pip install ray (or pip install '
                          '"psychcore[ray]")') from exc
    return ray


class RayPool:
    """Runs as Ray tasks.

    Args:
        address: Ray address (``auto``, ``ray://host:10001``, ``host:6379``); None: the
            instance this process is connected to, else a new local one.
        num_cpus: CPUs each run requests.
        num_gpus: GPUs each run requests.
    """

    kind = "ray"

    def __init__(self, address: str | None, num_cpus: float, num_gpus: float) -> None:
        ray = _import_ray(local=address is None)
        self._ray = ray
        self._owned = False
        if not ray.is_initialized():
            if address is None:
                ray.init(include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
            self._owned = True
        self._remote = ray.remote(execute_run).options(
            num_cpus=num_cpus, num_gpus=num_gpus, max_retries=0)
        resources = ray.cluster_resources()
        slots = resources.get("CPU", 1) / num_cpus if num_cpus else float("inf")
        if num_gpus:
            slots = min(slots, resources.get("GPU", 0) / num_gpus)
        self.slots = max(1, int(slots)) if slots != float("inf") else 1
        self._pending: dict[Any, tuple[dict[str, Any], float]] = {}

    def free(self) -> bool:
        """Always: Ray queues the tasks and starts them as resources free up."""
        return True

    def outstanding(self) -> int:
        """Runs submitted and not ended (queued by Ray or running)."""
        return len(self._pending)

    def running(self) -> int:
        """Runs that have started (their log was written since they were submitted)."""
        count = 0
        for payload, submitted in self._pending.values():
            with contextlib.suppress(OSError):
                if Path(payload["log"]).stat().st_mtime >= submitted - 1:
                    count += 1
        return count

    def submit(self, payload: dict[str, Any]) -> None:
        """Submit one run as a Ray task."""
        self._pending[self._remote.remote(payload)] = (payload, time.time())

    def poll(self, timeout: float) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Wait up to ``timeout`` s; the ``(payload, result)`` of every run that ended."""
        if not self._pending:
            time.sleep(timeout)
            return []
        ray = self._ray
        refs = list(self._pending)
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        done = []
        for ref in ready:
            payload, _ = self._pending.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as exc:  # the task's worker died, or Ray failed it
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                cancelled = type(exc).__name__ == "TaskCancelledError"
                result = {"name": payload["run"]["name"], "crashed": True,
                          "status": "interrupted" if cancelled else "failed",
                          "error": f"Ray task failed: {type(exc).__name__}: {first}"}
            done.append((payload, result))
        return done

    def interrupt(self) -> None:
        """Cancel every pending task (running ones get a KeyboardInterrupt: they save)."""
        for ref in list(self._pending):
            with contextlib.suppress(Exception):
                self._ray.cancel(ref)

    def close(self) -> None:
        """Shut down the Ray instance if this pool started it."""
        if self._owned:
            self._ray.shutdown()
