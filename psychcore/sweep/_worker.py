"""Running one run of a sweep: what a local worker process or a Ray task executes.

:func:`execute_run` trains one :class:`RunConfig` with :func:`psychcore.train_run` into its
run directory, exactly as ``psychcore train`` does, and never raises: a run that fails is
recorded in ``status.json`` (and ``run.json``) with its error and traceback. Everything the
run prints, and its warnings, go to its log: ``DIR/.sweep/logs/NAME.log`` while it runs
(appended over attempts), copied to ``run.log`` in the run directory when the attempt ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._io import atomic_write_text

STATUS_FILE = "status.json"
LOG_FILE = "run.log"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_finished(run_dir: Path) -> bool:
    """Whether ``run_dir/run.json`` says ``"status": "finished"``."""
    info = read_json(run_dir / "run.json")
    return info is not None and info.get("status") == "finished"


def clean_run_dir(run_dir: Path) -> None:
    """Remove an unfinished run directory (a finished one is refused, never touched).

    Raises:
        FileExistsError: If the run in ``run_dir`` is finished.
    """
    if is_finished(run_dir):
        raise FileExistsError(f"{run_dir} holds a finished run; a sweep never touches it")
    if run_dir.exists():
        shutil.rmtree(run_dir)


def checkpoint_loads(run_dir: Path) -> bool:
    """Whether ``run_dir/checkpoint`` exists and reads back."""
    from .._checkpoint import Checkpoint

    if not (run_dir / "checkpoint.npz").exists():
        return False
    try:
        Checkpoint.load(run_dir / "checkpoint")
    except Exception:  # a checkpoint cut short by a kill: any error means unusable
        return False
    return True


@contextlib.contextmanager
def capture_output(log: Path, fd_level: bool) -> Iterator[Any]:
    """Send stdout, stderr and warnings to ``log`` (appended) for the block.

    Args:
        log: The log file.
        fd_level: Redirect the file descriptors 1 and 2 (also catches what C/C++ code
            prints; for worker processes); otherwise only ``sys.stdout``/``sys.stderr``.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8", buffering=1) as fh:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = (os.dup(1), os.dup(2)) if fd_level else None
        try:
            if saved is not None:
                os.dup2(fh.fileno(), 1)
                os.dup2(fh.fileno(), 2)
            with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh), \
                    warnings.catch_warnings():
                warnings.simplefilter("default")
                yield fh
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            if saved is not None:
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])


@contextlib.contextmanager
def limit_threads(threads: int, backend: str | None) -> Iterator[None]:
    """Let the run use ``threads`` threads: the BLAS/OpenMP variables, and the backend's own
    pool through :meth:`psychcore.Backend.limit_threads` (the core imports no framework);
    the previous settings are restored afterwards. ``backend=None`` is the default backend;
    when there is none to pick, only the variables are set (training then reports why)."""
    saved_env = {var: os.environ.get(var) for var in THREAD_VARIABLES}
    os.environ.update({var: str(threads) for var in THREAD_VARIABLES})
    from .._plugins import backends, resolve_backend

    if backend is None:
        try:
            backend = resolve_backend(None)
        except ValueError:
            backend = None
    backend_cls = backends().get(backend) if backend is not None else None
    pool = (backend_cls.limit_threads(threads) if backend_cls is not None
            and backend_cls.is_available()[0] else contextlib.nullcontext())
    try:
        with pool:
            yield
    finally:
        for var, value in saved_env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def build_curriculum(run: dict[str, Any]) -> Any:
    """The :class:`psychcore.Curriculum` of a run (None without one)."""
    from .._curriculum import Curriculum
    from .._plugins import build_task

    cur = run["curriculum"]
    if cur is None:
        return None
    tasks = [build_task(run["task"], {**run["task_params"], **stage}, seed=run["seed"])
             for stage in cur["stages"]]
    return Curriculum(tasks, thresholds=list(cur["thresholds"]),
                      metric_epoch=int(cur["metric_epoch"]))


def _train(run: dict[str, Any], run_dir: Path, resume: bool) -> Any:
    from .._plugins import build_task
    from .._run import train_run
    from .._spec import ModelSpec

    task = build_task(run["task"], run["task_params"], seed=run["seed"])
    spec = ModelSpec.from_dict(run["spec"])
    curriculum = build_curriculum(run)
    t = run["training"]
    # Sweep.runs() names the backend; a run dict without one passes None on (the default)
    return train_run(
        task, spec, run_dir, backend=run["backend"], seed=run["seed"], resume=resume,
        training_iters=t["training_iters"], learning_rate=t["learning_rate"],
        loss_epoch=t["loss_epoch"], checkpoint_epoch=t["checkpoint_epoch"],
        # a curriculum stops training itself when its last stage passes
        performance_cutoff=None if curriculum is not None else t["performance_cutoff"],
        curriculum=curriculum, device=run["device"], progress=False, task_name=run["task"],
        validation_trials=t["validation_trials"],
    )


def execute_run(payload: dict[str, Any]) -> dict[str, Any]:
    """Train one run; never raises (failures are recorded and returned).

    Args:
        payload: ``run`` (:meth:`RunConfig.to_dict`), ``dir`` (run directory), ``log`` (live
            log file), ``mode`` (``"fresh"`` or ``"resume"``), ``attempt`` (1, 2, ...),
            ``config_hash`` and ``fd_capture`` (redirect file descriptors).

    Returns:
        ``name``, ``status`` (``finished``, ``failed`` or ``interrupted``), ``error``,
        ``wall_time_s``, ``attempt``, ``final_loss``, ``accuracy``, ``epochs``.
    """
    run = payload["run"]
    run_dir = Path(payload["dir"])
    log = Path(payload["log"])
    start = time.time()
    record: dict[str, Any] = {
        "name": run["name"], "status": "failed", "error": None, "traceback": None,
        "values": run["values"], "attempt": payload["attempt"],
        "config_hash": payload["config_hash"], "config": payload.get("config"),
        "mode": payload["mode"],
        "host": platform.node(), "pid": os.getpid(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(start)),
    }
    result: Any = None
    with capture_output(log, bool(payload.get("fd_capture", True))):
        print(f"=== psychcore sweep: run {run['name']}, attempt {payload['attempt']} "
              f"({payload['mode']}), host {record['host']}, pid {record['pid']}, "
              f"{record['started']} ===", flush=True)
        try:
            with limit_threads(int(run["threads"]), run["backend"]):
                resume = payload["mode"] == "resume" and checkpoint_loads(run_dir)
                if payload["mode"] == "resume" and not resume:
                    print("the checkpoint does not load; starting afresh", flush=True)
                    clean_run_dir(run_dir)
                if resume:
                    print("resuming from the checkpoint", flush=True)
                result = _train(run, run_dir, resume)
            record["status"] = "interrupted" if result.interrupted else "finished"
        except KeyboardInterrupt:
            record.update(status="interrupted", error="KeyboardInterrupt",
                          traceback=traceback.format_exc())
        except BaseException as exc:  # noqa: BLE001 - a run's failure never stops a sweep
            record.update(error=f"{type(exc).__name__}: {exc}",
                          traceback=traceback.format_exc())
            print(record["traceback"], file=sys.stderr, flush=True)
        record["wall_time_s"] = round(time.time() - start, 3)
        print(f"=== {record['status']} after {record['wall_time_s']:.1f} s ===", flush=True)
    finish_record(run_dir, log, record)
    out = {k: record[k] for k in ("name", "status", "error", "wall_time_s", "attempt")}
    out.update(final_loss=getattr(result, "final_loss", None),
               accuracy=getattr(result, "accuracy", None), epochs=getattr(result, "epochs", None))
    return out


def finish_record(run_dir: Path, log: Path, record: dict[str, Any]) -> None:
    """Write ``status.json`` and ``run.log`` into ``run_dir``; for a run that did not
    finish, also mark ``run.json`` (when there is one) with the status and error."""
    record = dict(record)
    record["ended"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    if log.exists():
        shutil.copyfile(log, run_dir / LOG_FILE)
    info = read_json(run_dir / "run.json")
    if record["status"] != "finished" and info is not None and info.get("status") != "finished":
        info.update(status=record["status"], error=record["error"])
        atomic_write_text(run_dir / "run.json", json.dumps(info, indent=1), overwrite=True)
    atomic_write_text(run_dir / STATUS_FILE, json.dumps(record, indent=1), overwrite=True)
