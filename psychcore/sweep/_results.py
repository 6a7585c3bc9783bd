"""The results table of a sweep: one row per run, from the run directories.

Columns: ``run`` (directory name), ``status``, one column per axis (``seed``, ``spec.N_rec``,
...), ``final_loss``, ``accuracy`` (final validation accuracy), ``epochs``, ``trials``,
``stopped_early`` (training stopped before its budget: performance cutoff reached or
curriculum complete), ``trials_to_criterion`` (the trials at which the validation accuracy
in ``metrics.csv`` first reached ``criterion``; empty when it never did), ``criterion``,
``training_time_s``, ``wall_time_s`` (the last attempt, imports included), ``attempts``,
``backend``, ``error``, and ``version.NAME`` for every version ``run.json`` records. Written
as ``results.csv`` and, when pyarrow is installed, ``results.parquet``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from .._io import atomic_write_text
from ._worker import STATUS_FILE, read_json

RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
METRIC_COLUMNS = ("final_loss", "accuracy", "epochs", "trials", "stopped_early",
                  "trials_to_criterion", "criterion", "training_time_s", "wall_time_s",
                  "attempts")
TIME_COLUMNS = ("training_time_s", "wall_time_s")


def trials_to_criterion(run_dir: Path, criterion: float | None) -> int | None:
    """The ``trials`` of the first ``metrics.csv`` row whose accuracy is >= ``criterion``."""
    if criterion is None or not (run_dir / "metrics.csv").exists():
        return None
    with (run_dir / "metrics.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            acc = row.get("accuracy")
            if acc not in (None, "") and float(acc) >= criterion:
                return int(row["trials"])
    return None


def _stopped_early(info: dict[str, Any]) -> bool | None:
    """Whether training stopped before its budget (cutoff reached, or curriculum complete)."""
    budget = (info.get("training") or {}).get("training_iters")
    if budget is None or info.get("trials") is None:
        return None
    return int(info["trials"]) < int(budget)


def run_status(run_dir: Path) -> str:
    """``finished``, ``failed``, ``interrupted`` (started, not finished) or ``pending``."""
    info = read_json(run_dir / "run.json")
    if info is not None and info.get("status") == "finished":
        return "finished"
    status = read_json(run_dir / STATUS_FILE)
    if status is not None and status.get("status") in ("failed", "interrupted"):
        return str(status["status"])
    if run_dir.exists() and any(run_dir.iterdir()):
        return "interrupted"
    return "pending"


def result_row(run: Any, run_dir: Path, criterion: float | None) -> dict[str, Any]:
    """The results row of one run (a :class:`RunConfig`) from its directory."""
    info = read_json(run_dir / "run.json") or {}
    status = read_json(run_dir / STATUS_FILE) or {}
    row: dict[str, Any] = {"run": run.name, "status": run_status(run_dir)}
    row.update(run.values)
    finished = row["status"] == "finished"
    row.update({
        "final_loss": info.get("final_loss") if finished else None,
        "accuracy": info.get("accuracy") if finished else None,
        "epochs": info.get("epochs"),
        "trials": info.get("trials"),
        "stopped_early": _stopped_early(info) if finished else None,
        "trials_to_criterion": trials_to_criterion(run_dir, criterion),
        "criterion": criterion,
        "training_time_s": info.get("training_time_s"),
        "wall_time_s": status.get("wall_time_s"),
        "attempts": status.get("attempt"),
        "backend": info.get("backend", run.backend),
        "error": None if finished else (status.get("error") or info.get("error")),
    })
    for name, version in sorted((info.get("versions") or {}).items()):
        if name != "backend":
            row[f"version.{name}"] = version
    return row


def columns_of(rows: Sequence[Mapping[str, Any]], axes: Sequence[str]) -> list[str]:
    """Column order: run, status, the axes, the metrics, backend, error, versions."""
    versions = sorted({k for r in rows for k in r if k.startswith("version.")})
    return ["run", "status", *axes, *METRIC_COLUMNS, "backend", "error", *versions]


def cell(value: Any) -> str:
    """A value as CSV text: empty for None, ``true``/``false``, full-precision floats."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        return repr(float(value))
    if isinstance(value, str):
        return value
    return json.dumps(value)


def write_results(out: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
                  parquet: bool = True) -> list[Path]:
    """Write ``results.csv`` (and ``results.parquet`` when pyarrow imports and ``parquet``);
    returns the paths written."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    written = [atomic_write_text(out / RESULTS_CSV, buf.getvalue(), overwrite=True)]
    if parquet:
        path = write_parquet(out / RESULTS_PARQUET, rows, columns)
        if path is not None:
            written.append(path)
    return written


def write_parquet(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
                  ) -> Path | None:
    """Write the rows with pyarrow (numbers as numbers, the rest as text); None without it."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    arrays = {}
    for col in columns:
        values = [r.get(col) for r in rows]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, bool) for v in present):
            arrays[col] = pa.array(values, type=pa.bool_())
        elif present and all(isinstance(v, Integral) and not isinstance(v, bool)
                             for v in present):
            arrays[col] = pa.array(values, type=pa.int64())
        elif present and all(isinstance(v, Real) and not isinstance(v, bool) for v in present):
            arrays[col] = pa.array([None if v is None else float(v) for v in values],
                                   type=pa.float64())
        else:
            arrays[col] = pa.array([None if v is None else cell(v) for v in values],
                                   type=pa.string())
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.table(arrays), tmp)
    os.replace(tmp, path)
    return path


def read_results(out: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of ``OUT/results.csv`` (text values).

    Raises:
        FileNotFoundError: If the sweep directory has no results table.
    """
    path = Path(out) / RESULTS_CSV
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: is {out} a sweep directory (written "
                                "by psychcore sweep)?")
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
