"""Local execution: a pool of worker processes (``spawn``), each running one run at a time.

Each worker is a fresh interpreter that imports psychcore and the backend itself, and keeps
them between runs. The pool is our own rather than ``concurrent.futures``: a worker that
dies (killed, out of memory, a crash in native code) fails only the run it was running,
which is recorded as failed, and a new worker takes its place; ``ProcessPoolExecutor`` would
break and fail every pending run.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

from ._worker import THREAD_VARIABLES, execute_run

_STOP = getattr(signal, "SIGUSR1", None)
_busy = False


def _stop_handler(signum: int, frame: Any) -> None:
    if _busy:
        raise KeyboardInterrupt


# train_run defers a handler so marked: the run stops after its current step and saves
_stop_handler.psychcore_stop = True  # type: ignore[attr-defined]


def _worker_main(conn: Connection) -> None:
    """Worker loop: receive a payload, run it, send back the result; None stops.

    Ctrl-C in a terminal reaches the whole process group: workers ignore SIGINT and stop
    their run (it saves a checkpoint) on the SIGUSR1 that the pool sends when interrupted.
    """
    global _busy
    if _STOP is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(_STOP, _stop_handler)
    while True:
        try:
            payload = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if payload is None:
            return
        _busy = True
        try:
            result = execute_run(payload)
        finally:
            _busy = False
        try:
            conn.send(result)
        except (OSError, KeyboardInterrupt):
            return


@contextlib.contextmanager
def _thread_environment(threads: int) -> Iterator[None]:
    """Set the BLAS/OpenMP thread variables while a worker starts (it inherits them, before
    numpy or torch are imported there)."""
    saved = {var: os.environ.get(var) for var in THREAD_VARIABLES}
    os.environ.update({var: str(threads) for var in THREAD_VARIABLES})
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def describe_exit(code: int | None) -> str:
    """``exit code 1`` or ``killed by SIGKILL``."""
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@contextlib.contextmanager
def _importable_main() -> Iterator[None]:
    """Hide a ``__main__.__file__`` that is no file (``python - < script``): ``spawn`` would
    try to run it in the worker, which needs nothing from ``__main__``."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or os.path.exists(path):
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


class _Worker:
    def __init__(self, ctx: Any, threads: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True,
                                   name="psychcore-sweep-worker")
        with _thread_environment(threads), _importable_main():
            self.process.start()
        child.close()
        self.payload: dict[str, Any] | None = None


class LocalPool:
    """Up to ``workers`` runs at a time in worker processes.

    Args:
        workers: Number of worker processes.
        threads: Threads per run (BLAS/OpenMP variables of the workers).
    """

    kind = "local"

    def __init__(self, workers: int, threads: int) -> None:
        self.size = max(1, int(workers))
        self.threads = threads
        self.slots = self.size
        self._ctx = mp.get_context("spawn")
        self._workers: list[_Worker] = []

    def free(self) -> bool:
        """Whether a run can start now."""
        return self.running() < self.size

    def running(self) -> int:
        """Runs in progress."""
        return sum(w.payload is not None for w in self._workers)

    def outstanding(self) -> int:
        """Runs submitted and not ended (all running: the pool queues none)."""
        return self.running()

    def submit(self, payload: dict[str, Any]) -> None:
        """Start ``payload`` on an idle worker (a new one when none is idle)."""
        self._workers = [w for w in self._workers
                         if w.payload is not None or w.process.is_alive()]
        idle = next((w for w in self._workers if w.payload is None), None)
        if idle is None:
            idle = _Worker(self._ctx, self.threads)
            self._workers.append(idle)
        idle.payload = payload
        idle.conn.send(payload)

    def poll(self, timeout: float) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Wait up to ``timeout`` s; the ``(payload, result)`` of every run that ended."""
        busy = [w for w in self._workers if w.payload is not None]
        if not busy:
            time.sleep(timeout)
            return []
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                         timeout))
        done = []
        for w in busy:
            payload = w.payload
            assert payload is not None
            result = None
            if w.conn in ready:
                with contextlib.suppress(EOFError, OSError):
                    result = w.conn.recv()
            if result is None and (w.conn in ready or w.process.sentinel in ready):
                w.process.join(timeout=5)
                result = {"name": payload["run"]["name"], "status": "failed", "crashed": True,
                          "error": "the worker process died "
                                   f"({describe_exit(w.process.exitcode)})"}
                self._workers.remove(w)
            if result is not None:
                w.payload = None
                done.append((payload, result))
        return done

    def interrupt(self) -> None:
        """Ask running workers to stop (the run saves a checkpoint and returns)."""
        for w in self._workers:
            if w.payload is not None and w.process.is_alive() and w.process.pid:
                with contextlib.suppress(ProcessLookupError):
                    if _STOP is not None:
                        os.kill(w.process.pid, _STOP)
                    else:  # pragma: no cover - Windows
                        w.process.terminate()

    def close(self) -> None:
        """Stop every worker: asked to exit, then terminated after a second (an idle worker
        holds nothing; tearing down an interpreter with torch loaded can take seconds)."""
        for w in self._workers:
            with contextlib.suppress(OSError, ValueError):
                w.conn.send(None)
        deadline = time.monotonic() + 1
        for w in self._workers:
            w.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.terminate()
                w.process.join(timeout=5)
            w.conn.close()
        self._workers = []
