"""Drawing the next batch while the backend steps (``TrainingOptions.prefetch``).

:func:`~psychcore._training.train_loop` asks a :class:`Prefetch` for every batch. Drawing
ahead changes only the timing: the batches, their order, the batch generator's state and the
task's batch counter are what the loop would have without it.

Two workers:

- a **process** (``prefetch="process"`` or True; what ``"auto"`` starts): a ``spawn``-ed
  process (not ``fork``: the backends' threads are live in the training process). Each
  request carries a pickled copy of the task and of the generator; the worker draws the batch
  and sends it back with the generator's state and the batch counter after it, which the loop
  installs when it takes the batch. The training process's generator is not touched until
  then, so a checkpoint written while a batch is being drawn saves the right state, and a
  batch that turns out not to be the next one (the curriculum moved on, a test drew from the
  generator, a callback changed the task) is dropped and drawn again in the loop. A pure-Python
  per-step task holds its own GIL there, not the training process's.
- a **thread** (``prefetch="thread"``, and the fallback for a task that cannot be pickled or
  whose class a worker process cannot import): it draws from the loop's own generator and
  task, so it draws ahead only when the next draw is certain (see
  :func:`~psychcore._training.train_loop`), and a per-step task competes with the backend for
  the GIL.

``"auto"`` (the default) draws the first :data:`PROBE_STEPS` batches in the loop, timing them
and the steps, and starts the process only if drawing a batch takes more than
:data:`MIN_BATCH_S` seconds and more than :data:`MIN_SHARE` of a step, and the process may use
two or more CPUs: vectorised tasks (about a millisecond a batch) never start one.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import os
import pickle
import signal
import sys
import time
import traceback
import types
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from ._task import Task

log = logging.getLogger("psychcore")

#: Batches drawn in the loop, and timed, before ``"auto"`` decides.
PROBE_STEPS = 2
#: ``"auto"`` draws ahead only if a batch takes longer than this (seconds) ...
MIN_BATCH_S = 0.02
#: ... and longer than this share of a step.
MIN_SHARE = 0.10
#: Seconds between checks that the worker process is still alive while waiting for it.
POLL_S = 0.2

MODES = ("auto", "process", "thread")
_warned: set[str] = set()
Batch = tuple[np.ndarray, np.ndarray, np.ndarray, Any]


def check_prefetch(value: Any) -> str | bool:
    """``value`` as one of ``"auto"``, ``"process"``, ``"thread"`` or False (True is
    ``"process"``).

    Raises:
        TypeError: For anything but a bool or a string.
        ValueError: For an unknown string.
    """
    if isinstance(value, bool | np.bool_):
        return "process" if value else False
    if not isinstance(value, str):
        raise TypeError(f"prefetch must be 'auto', 'process', 'thread', True or False; "
                        f"received {type(value).__name__} {value!r}")
    if value not in MODES:
        raise ValueError(f"prefetch must be 'auto', 'process', 'thread', True or False; "
                         f"received {value!r}")
    return value


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _warn_once(task: Task, why: str) -> None:
    name = type(task).__name__
    if name not in _warned:
        _warned.add(name)
        log.warning("psychcore: drawing the batches of %s ahead in a thread, not a worker "
                    "process: %s", name, why)


def task_bytes(task: Task) -> bytes:
    """The pickled task without its batch counter (sent separately: it changes every batch).

    Raises:
        Exception: Whatever pickling raises for a task that cannot be pickled.
    """
    state = vars(task)
    index = state.pop("_batch_index", None)
    try:
        return pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        if index is not None:
            state["_batch_index"] = index


# ---------------------------------------------------------------- the process worker
def _worker(conn: Any) -> None:
    """The worker process: answer ``(id, task_bytes | None, rng_bytes, batch_index)`` with
    ``(id, "ok", batch, rng_state, batch_index)``, ``(id, "error", exception, text)`` or
    ``(id, "fallback", why)`` (the task or its batch cannot cross between the processes);
    stop on ``None`` or when the training process goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the training process's to handle
    task = None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        ident, blob, rng_blob, index = request
        try:
            if blob is not None:
                task = None
                task = pickle.loads(blob)
            rng = pickle.loads(rng_blob)
            if task is None:
                raise RuntimeError("no task was loaded")
            task._batch_index = index
        except BaseException:
            conn.send((ident, "fallback", "the worker process could not load the task:\n"
                       + traceback.format_exc()))
            continue
        try:
            batch = task.get_trial_batch(rng)
        except BaseException as exc:
            text = traceback.format_exc()
            try:
                payload = pickle.dumps(exc)
            except Exception:
                payload = None
            conn.send((ident, "error", payload, text))
            continue
        try:
            conn.send((ident, "ok", batch, rng.bit_generator.state, task._batch_index))
        except Exception as exc:  # pickling failed: nothing was sent
            conn.send((ident, "fallback", f"its batch cannot be sent back from the worker "
                       f"process ({type(exc).__name__}: {exc}; are there objects that "
                       "cannot be pickled in its trial parameters?)"))


class _RemoteTracebackError(Exception):
    """The worker process's traceback, chained to a task's exception raised in the loop."""

    def __str__(self) -> str:
        return str(self.args[0])


def _main_is_guarded() -> bool:
    """Whether the training process's ``__main__`` is a script whose running code is inside
    ``if __name__ == "__main__":`` (so a spawned process may import it without training)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or not os.path.exists(path):
        return False
    frame = sys._getframe()
    line = None
    while frame is not None:
        if frame.f_globals is vars(main) and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
        frame = frame.f_back
    if line is None:
        return False
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False
    for node in tree.body:
        if (isinstance(node, ast.If) and _is_main_test(node.test)
                and node.lineno <= line <= (node.end_lineno or node.lineno)):
            return True
    return False


def _is_main_test(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


@contextlib.contextmanager
def _main_hidden():
    """Start a spawned process without importing the training script into it."""
    real = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = real


class ProcessWorker:
    """One spawned worker process and its pipe."""

    def __init__(self, task: Task, needs_main: bool) -> None:
        import multiprocessing

        self.name = type(task).__name__
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child,), daemon=True,
                                   name=f"psychcore-batch-{self.name}")
        with contextlib.nullcontext() if needs_main else _main_hidden():
            self.process.start()
        child.close()
        self.next_id = 0
        self.sent: bytes | None = None

    def request(self, blob: bytes, rng: np.random.Generator, index: int) -> int:
        self.next_id += 1
        send = None if blob == self.sent else blob
        try:
            self.conn.send((self.next_id, send, pickle.dumps(rng), index))
        except (BrokenPipeError, OSError) as exc:
            raise self._died() from exc
        self.sent = blob
        return self.next_id

    def receive(self, ident: int) -> tuple:
        """The answer to request ``ident`` (earlier answers, of dropped batches, skipped)."""
        while True:
            while not self.conn.poll(POLL_S):
                if not self.process.is_alive():
                    raise self._died()
            try:
                answer = self.conn.recv()
            except (EOFError, OSError) as exc:
                raise self._died() from exc
            if answer[0] == ident:
                return answer

    def _died(self) -> RuntimeError:
        self.process.join(1.0)
        return RuntimeError(
            f"the worker process drawing batches of task {self.name} ended unexpectedly "
            f"(exit code {self.process.exitcode}); train with prefetch=False to draw the "
            "batches in the training process and see the task's own error")

    def close(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class _Ahead:
    """A batch being drawn ahead: where the loop stood when it was asked for."""

    def __init__(self, task: Task, rng_state: dict[str, Any], batch_index: int | None) -> None:
        self.task = task
        self.rng_state = rng_state
        self.batch_index = batch_index
        self.future: Future | None = None  # thread
        self.ident = 0  # process
        self.blob = b""


class Prefetch:
    """Gives :func:`~psychcore._training.train_loop` its batches, drawn ahead or not.

    Args:
        mode: A value of :func:`check_prefetch`.
    """

    def __init__(self, mode: str | bool) -> None:
        self.mode = mode
        self.kind: str | None = None  # "process" or "thread" once a worker exists
        self._pool: ThreadPoolExecutor | None = None
        self._process: ProcessWorker | None = None
        self._ahead: _Ahead | None = None
        self._probes: list[tuple[float, float]] = []
        self._draw_s = 0.0

    # ------------------------------------------------------------ the loop's calls
    def state_before_next(self, rng: np.random.Generator) -> dict[str, Any]:
        """The generator's state before the batch :meth:`next_batch` returns next."""
        if self._ahead is not None and self.kind == "thread":
            return self._ahead.rng_state
        return rng.bit_generator.state

    def next_batch(self, task: Task, rng: np.random.Generator) -> Batch:
        """The next batch of ``task`` from ``rng``: the one drawn ahead if it is that, else
        drawn now."""
        if self.kind is None and self.mode in ("process", "thread"):
            self._start(task)  # the process starts up while the loop draws the first batch
        ahead = self._ahead  # kept until taken: close() puts back a draw cut short
        if ahead is not None:
            if self.kind == "thread":
                batch = ahead.future.result()
            else:
                batch = self._take_from_process(ahead, task, rng)
            self._ahead = None
            if batch is not None:
                return batch
        start = time.perf_counter()
        batch = task.get_trial_batch(rng)
        self._draw_s = time.perf_counter() - start
        return batch

    def draw_ahead(self, task: Task, rng: np.random.Generator, certain: bool) -> None:
        """Start drawing the batch after the one just taken, if the mode says so.

        ``certain``: nothing but this draw reads ``rng`` or changes the task before the next
        batch (what a thread needs; a process checks for itself when the batch is taken).
        """
        if self.kind is None and not self._start(task):
            return
        if self.kind == "thread":
            if certain:
                self._ahead = _Ahead(task, rng.bit_generator.state,
                                     getattr(task, "_batch_index", None))
                self._ahead.future = self._pool.submit(task.get_trial_batch, rng)
            return
        ahead = _Ahead(task, rng.bit_generator.state, task._batch_index)
        ahead.blob = task_bytes(task)
        ahead.ident = self._process.request(ahead.blob, rng, task._batch_index)
        self._ahead = ahead

    def step_took(self, seconds: float) -> None:
        """Record the time of the step just run (``"auto"`` decides on it)."""
        if self.mode == "auto" and self.kind is None:
            self._probes.append((self._draw_s, seconds))

    def settle(self) -> None:
        """Wait for a thread's draw to finish, so the loop's bookkeeping runs alone."""
        if self._ahead is not None and self.kind == "thread":
            self._ahead.future.exception()

    def close(self, rng: np.random.Generator) -> None:
        """Stop the worker; a batch drawn ahead is dropped and ``rng`` and the task's batch
        counter put back to before it (a process never moved them)."""
        ahead, self._ahead = self._ahead, None
        if self._pool is not None:
            if ahead is not None and ahead.future is not None and not ahead.future.cancel():
                ahead.future.exception()
            self._pool.shutdown(wait=True)
            self._pool = None
            if ahead is not None:
                rng.bit_generator.state = ahead.rng_state
                if ahead.batch_index is not None:
                    ahead.task._batch_index = ahead.batch_index
        if self._process is not None:
            self._process.close()
            self._process = None

    # ------------------------------------------------------------------ inside
    def _start(self, task: Task) -> bool:
        """Start the worker the mode asks for, now or (``"auto"``) once the probes say so."""
        if self.mode is False:
            return False
        if self.mode == "auto":
            if len(self._probes) < PROBE_STEPS:
                return False
            batch_s = min(p[0] for p in self._probes)
            step_s = min(p[1] for p in self._probes)
            if not (batch_s > MIN_BATCH_S and batch_s > MIN_SHARE * step_s
                    and _usable_cpus() >= 2):
                self.mode = False
                return False
        if self.mode != "thread" and self._start_process(task):
            self.kind = "process"
        else:
            self.kind = "thread"
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="psychcore-batch")
        return True

    def _start_process(self, task: Task) -> bool:
        try:
            blob = task_bytes(task)
        except Exception as exc:
            _warn_once(task, f"the task cannot be pickled ({type(exc).__name__}: {exc})")
            return False
        needs_main = b"__main__" in blob
        if needs_main and not _main_is_guarded():
            _warn_once(task, "its class is defined in the main script or notebook, which a "
                       "worker process would have to run again (put the class in a module, "
                       "or the script's training code under if __name__ == '__main__':)")
            return False
        import multiprocessing

        if multiprocessing.current_process().daemon:
            _warn_once(task, "training runs in a daemon process (a sweep's worker, say), which "
                       "may not start processes of its own")
            return False
        try:
            self._process = ProcessWorker(task, needs_main)
        except Exception as exc:  # no processes on this system, too many open files, ...
            _warn_once(task, f"the worker process did not start ({type(exc).__name__}: {exc})")
            return False
        return True

    def _take_from_process(self, ahead: _Ahead, task: Task,
                           rng: np.random.Generator) -> Batch | None:
        """The batch drawn ahead, its generator state and batch counter installed; None when
        it is not the next batch (then it is dropped)."""
        answer = self._process.receive(ahead.ident)
        if answer[1] == "fallback":
            self._process.close()
            self._process = None
            _warn_once(task, answer[2])
            self.kind = "thread"
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="psychcore-batch")
            return None
        if (task is not ahead.task or rng.bit_generator.state != ahead.rng_state
                or task._batch_index != ahead.batch_index or task_bytes(task) != ahead.blob):
            return None  # not the next batch after all: drawn again in the loop
        if answer[1] == "error":
            _, _, payload, text = answer
            try:
                exc = pickle.loads(payload)
            except Exception:
                exc = RuntimeError(f"task {type(task).__name__} raised an exception that "
                                   f"cannot be sent back from the batch worker process:\n{text}")
            exc.__cause__ = _RemoteTracebackError(f"\n(in the batch worker process)\n{text}")
            raise exc
        _, _, batch, state, index = answer
        rng.bit_generator.state = state
        task._batch_index = index
        return batch
