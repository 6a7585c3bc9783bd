"""Running a sweep: plan (skip, resume or start each run), execute, record, tabulate.

The sweep directory holds one run directory per combination (named from the swept values),
``sweep.json`` (the description and every run's status), ``results.csv`` (and
``results.parquet``) and ``.sweep/`` (the lock and the live logs). Rerunning the same
description skips finished runs (``run.json`` status ``finished``; their files are never
touched), resumes unfinished ones from their checkpoint when it loads, and restarts the others
in a cleaned directory. A finished run whose configuration differs from the description's is
an error: the sweep refuses to mix configurations in one directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import atomic_write_text
from .._run import _jsonable
from ._description import RunConfig, SweepDescription
from ._progress import SweepProgress
from ._results import columns_of, result_row, write_results
from ._worker import STATUS_FILE, clean_run_dir, execute_run, finish_record, is_finished, read_json

SWEEP_JSON = "sweep.json"
STATE_DIR = ".sweep"
FORMAT = "psychcore-sweep-1"


class SweepBusyError(FileExistsError):
    """Another process is running a sweep in the same directory."""


@dataclass
class SweepResult:
    """What :func:`run_sweep` returns.

    Attributes:
        path: The sweep directory.
        rows: The results table, one dict per run (see ``psychcore.sweep._results``).
        counts: ``total``, ``finished`` (``skipped`` of them finished before this call),
            ``failed``, ``interrupted``, ``pending``.
        files: The results files written.
        elapsed_s: Wall time of this call.
        interrupted: Whether the sweep was stopped (Ctrl-C) before every run ended.
    """

    path: Path
    rows: list[dict[str, Any]]
    counts: dict[str, int]
    files: list[Path] = field(default_factory=list)
    elapsed_s: float = 0.0
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """Every run finished."""
        return self.counts["finished"] == self.counts["total"]


class InProcessPool:
    """Runs one at a time in this process (``workers=0``: for debugging; a crash in native
    code takes the sweep down with it)."""

    kind = "in-process"
    slots = 1

    def __init__(self) -> None:
        self._queue: list[dict[str, Any]] = []

    def free(self) -> bool:
        """Whether a run can be queued (one at a time)."""
        return not self._queue

    def running(self) -> int:
        """Runs queued or running."""
        return len(self._queue)

    def outstanding(self) -> int:
        """Runs submitted and not ended."""
        return len(self._queue)

    def submit(self, payload: dict[str, Any]) -> None:
        """Queue a run (it runs in the next :meth:`poll`)."""
        self._queue.append({**payload, "fd_capture": False})

    def poll(self, timeout: float) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Run the queued run now."""
        done = [(p, execute_run(p)) for p in self._queue]
        self._queue = []
        return done

    def interrupt(self) -> None:
        """Nothing to do: Ctrl-C reaches the run directly."""

    def close(self) -> None:
        """Nothing to do."""


@contextlib.contextmanager
def _locked(state: Path) -> Iterator[None]:
    """Hold the sweep's lock (``filelock``: every platform) for the block, or raise."""
    from filelock import FileLock, Timeout

    state.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state / "lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise SweepBusyError(f"another psychcore sweep is running in {state.parent} "
                             f"(it holds {state / 'lock'})") from None
    try:
        yield
    finally:
        lock.release()


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, Mapping):
        return {prefix.rstrip("."): d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}."))
    return out


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    a, b = _flat(_jsonable(dict(old))), _flat(_jsonable(dict(new)))
    diffs = [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b))
             if a.get(k) != b.get(k)]
    return "; ".join(diffs[:4]) + (f"; ... ({len(diffs)} differences)" if len(diffs) > 4
                                   else "") if diffs else "unknown differences"


def _plan(run: RunConfig, run_dir: Path, previous: Mapping[str, Any] | None
          ) -> tuple[str, str | None]:
    """``(action, why)``: ``skip``, ``fresh``, ``resume``, ``clean`` (then fresh) or
    ``conflict`` (a finished run of another configuration)."""
    current = run.config_hash()
    status = read_json(run_dir / STATUS_FILE) or {}
    recorded = status.get("config_hash") or (previous or {}).get("config_hash")
    if is_finished(run_dir):
        if recorded is not None and recorded != current:
            old = status.get("config")
            why = _differences(old, run.identity()) if old else "its configuration hash"
            return "conflict", why
        return "skip", None
    if not run_dir.exists() or not any(run_dir.iterdir()):
        return "fresh", None
    if recorded is not None and recorded != current:
        return "clean", "its configuration changed"
    if (run_dir / "checkpoint.npz").exists():
        return "resume", None
    return "clean", None


def _check_backends(runs: list[RunConfig]) -> None:
    from .._plugins import get_backend

    for name in sorted({r.backend for r in runs}):
        cls = get_backend(name)
        ok, why = cls.is_available()
        if not ok:
            raise ImportError(f"backend '{name}' cannot run here: {why}")


def _make_pool(workers: int, use_ray: bool, ray_address: str | None, sweep: SweepDescription,
               threads: int) -> Any:
    if use_ray:
        from ._ray import RayPool

        return RayPool(ray_address, sweep.num_cpus, sweep.num_gpus)
    if workers == 0:
        return InProcessPool()
    from ._local import LocalPool

    return LocalPool(workers, threads)


def run_sweep(
    sweep: SweepDescription,
    out: str | os.PathLike,
    *,
    workers: int | None = None,
    use_ray: bool = False,
    ray_address: str | None = None,
    progress: bool | None = None,
) -> SweepResult:
    """Run every combination of ``sweep`` into ``out`` (resumable; see the module docstring).

    Args:
        sweep: The description.
        out: The sweep directory (created if needed).
        workers: Local worker processes (default ``sweep.default_workers()``); 0 runs in
            this process, one at a time.
        use_ray: Run on Ray, one task per run (``resources.num_cpus``/``num_gpus`` each).
        ray_address: Ray address; None: the connected instance, else a local one.
        progress: Print progress on stderr (default True).

    Returns:
        A :class:`SweepResult`.

    Raises:
        ValueError: If a finished run in ``out`` has another configuration.
        SweepBusyError: If another sweep is running in ``out``.
        ImportError: If a backend (or Ray) is missing.
    """
    start = time.monotonic()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    state = out / STATE_DIR
    with _locked(state):
        return _run_locked(sweep, out, state, workers, use_ray, ray_address,
                           True if progress is None else progress, start)


def _run_locked(sweep: SweepDescription, out: Path, state: Path, workers: int | None,
                use_ray: bool, ray_address: str | None, show: bool, start: float
                ) -> SweepResult:
    runs = sweep.runs()
    criterion = sweep.criterion_value
    old = read_json(out / SWEEP_JSON) or {}
    previous = {r["name"]: r for r in old.get("runs", []) if isinstance(r, dict)}
    records: dict[str, dict[str, Any]] = {}
    plans: dict[str, str] = {}
    conflicts = []
    for run in runs:
        action, why = _plan(run, out / run.name, previous.get(run.name))
        plans[run.name] = action
        if action == "conflict":
            conflicts.append(f"  {run.name}: {why}")
        prev = previous.get(run.name, {})
        records[run.name] = {"name": run.name, "values": run.values,
                             "config_hash": prev.get("config_hash", run.config_hash()),
                             "status": prev.get("status", "pending"),
                             "attempts": prev.get("attempts", 0),
                             "error": prev.get("error"), "wall_time_s": prev.get("wall_time_s")}
        if action == "skip":
            records[run.name].update(status="finished", error=None)
    if conflicts:
        raise ValueError(
            f"{len(conflicts)} finished run(s) in {out} were trained with another "
            "configuration than this description gives them; a sweep never overwrites a "
            "finished run. Restore the description or use a new --out directory:\n"
            + "\n".join(conflicts[:20]))
    todo = [r for r in runs if plans[r.name] != "skip"]
    if todo and (not use_ray or ray_address is None):
        _check_backends(todo)  # on a cluster the driver may not have the backend
    n_workers = sweep.default_workers() if workers is None else int(workers)
    threads = max(1, int(round(sweep.num_cpus)))
    rows = {r.name: result_row(r, out / r.name, criterion) for r in runs}
    axes = sweep.axes
    info = {"format": FORMAT, "name": sweep.name, "source": sweep.source_file,
            "created": old.get("created", time.strftime("%Y-%m-%dT%H:%M:%S")),
            "psychcore": _version(), "task": sweep.resolved_task(),
            "description": _jsonable(sweep.to_dict()),
            "axes": axes, "criterion": criterion}

    def save_state() -> None:
        doc = {**info, "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "executor": "ray" if use_ray else ("in-process" if n_workers == 0 else "local"),
               "counts": _counts([rows[r.name] for r in runs]),
               "runs": [records[r.name] for r in runs]}
        atomic_write_text(out / SWEEP_JSON, json.dumps(_jsonable(doc), indent=1),
                          overwrite=True)

    def save(final: bool = False) -> list[Path]:
        save_state()
        ordered = [rows[r.name] for r in runs]
        return write_results(out, ordered, columns_of(ordered, axes), parquet=final)

    skipped = sum(a == "skip" for a in plans.values())
    bar = SweepProgress(len(runs), skipped, 1, show)
    save()
    interrupted = False
    pool = None
    if todo:
        pool = _make_pool(n_workers, use_ray, ray_address, sweep, threads)
        bar.slots = pool.slots
        if pool.kind == "local":
            where = (f"in {pool.size} worker process{'es' if pool.size != 1 else ''} "
                     f"({threads} thread{'s' if threads != 1 else ''} each)")
        else:
            where = {"ray": "on Ray", "in-process": "in this process"}[pool.kind]
        bar.event(f"{len(todo)} of {len(runs)} runs to run {where}"
                  + (f"; {skipped} finished earlier" if skipped else ""))
    else:
        bar.event(f"all {len(runs)} runs are finished; nothing to run")
    queue = list(todo)

    def handle(payload: dict[str, Any], result: dict[str, Any]) -> None:
        name = payload["run"]["name"]
        run_dir = Path(payload["dir"])
        if result.get("crashed") and result["status"] == "interrupted" and not (
                Path(payload["log"]).exists() or run_dir.exists()):
            records[name]["status"] = "pending"  # cancelled before it started
            return
        if result.get("crashed"):
            if is_finished(run_dir):
                result = {**result, "status": "finished", "error": None}
            else:
                finish_record(run_dir, Path(payload["log"]), {
                    "name": name, "status": result["status"], "error": result["error"],
                    "traceback": None, "values": payload["run"]["values"],
                    "attempt": payload["attempt"], "config_hash": payload["config_hash"],
                    "config": payload["config"], "mode": payload["mode"],
                    "wall_time_s": round(time.time() - payload["submitted"], 3)})
        status = result["status"]
        records[name].update(status=status, error=result.get("error"),
                             wall_time_s=result.get("wall_time_s"))
        rows[name] = result_row(runs_by_name[name], run_dir, criterion)
        bar.running = pool.running() if pool is not None else 0
        if status == "finished":
            bar.finished += 1
            if result.get("wall_time_s"):
                bar.durations.append(float(result["wall_time_s"]))
            row = rows[name]
            loss = "n/a" if row["final_loss"] is None else f"{row['final_loss']:.4g}"
            acc = "n/a" if row["accuracy"] is None else f"{row['accuracy']:.3f}"
            bar.event(f"finished {name} in {result.get('wall_time_s') or 0:.1f}s "
                      f"(loss {loss}, accuracy {acc})")
        elif status == "interrupted":
            bar.interrupted += 1
            at = f" at epoch {result['epochs']}" if result.get("epochs") else ""
            bar.event(f"interrupted {name}{at}; rerun the sweep to resume it")
        else:
            bar.failed += 1
            bar.event(f"FAILED {name}: {result.get('error')} (log: {run_dir / 'run.log'})")
        save()

    runs_by_name = {r.name: r for r in runs}
    try:
        while pool is not None and (queue or pool.outstanding()):
            while queue and pool.free():
                run = queue.pop(0)
                payload = _payload(run, out, state, plans[run.name], records[run.name])
                records[run.name].update(status="running", config_hash=run.config_hash(),
                                         attempts=payload["attempt"])
                # the attempt and configuration are on disk before the worker starts, so a
                # kill at any instant afterwards still counts this attempt
                save_state()
                pool.submit(payload)
            for payload, result in pool.poll(0.5):
                handle(payload, result)
                if pool.kind == "in-process" and result["status"] == "interrupted":
                    raise KeyboardInterrupt
            bar.running = pool.running()
            bar.draw()
    except KeyboardInterrupt:
        interrupted = True
        bar.event("interrupted: the running runs save a checkpoint and stop (Ctrl-C again "
                  "to stop waiting)")
        if pool is not None:
            pool.interrupt()
            deadline = time.monotonic() + 60
            with contextlib.suppress(KeyboardInterrupt):
                while pool.outstanding() and time.monotonic() < deadline:
                    for payload, result in pool.poll(0.5):
                        handle(payload, result)
    finally:
        if pool is not None:
            pool.close()
        for name, rec in records.items():
            if rec["status"] == "running":
                rec["status"] = "interrupted"
                rows[name] = result_row(runs_by_name[name], out / name, criterion)
        files = save(final=True)
        ordered = [rows[r.name] for r in runs]
        counts = _counts(ordered)
        counts["skipped"] = skipped
        bar.event(f"done in {time.monotonic() - start:.1f}s: {counts['finished']}/"
                  f"{counts['total']} finished, {counts['failed']} failed; results in "
                  f"{files[0]}", final=True)
        bar.close()
    return SweepResult(out, ordered, counts, files, time.monotonic() - start, interrupted)


def _payload(run: RunConfig, out: Path, state: Path, action: str,
             record: Mapping[str, Any]) -> dict[str, Any]:
    run_dir = out / run.name
    if action == "clean":
        clean_run_dir(run_dir)
    return {"run": run.to_dict(), "dir": str(run_dir),
            "log": str(state / "logs" / f"{run.name}.log"),
            "mode": "resume" if action == "resume" else "fresh",
            "attempt": int(record.get("attempts") or 0) + 1,
            "config_hash": run.config_hash(), "config": run.identity(), "fd_capture": True,
            "submitted": time.time()}


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"total": len(rows), "finished": 0, "failed": 0, "interrupted": 0, "pending": 0}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


def _version() -> str:
    from .. import __version__

    return __version__
