"""``psychcore sweep-report``: a metric against a swept axis, mean ± SEM over seeds.

The rows of ``results.csv`` that finished are grouped by the ``x`` axis (and the ``group``
axis when given); each point is the mean over the group's runs (the seeds, and any other
axis, which the report names as pooled), with the standard error of the mean as error bar and
every run drawn as a faint dot. Runs whose metric is empty (e.g. ``trials_to_criterion`` of a
run that never reached the criterion) are left out of the mean and counted in ``n_missing``.
The numbers plotted are written to a CSV beside the figure.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import atomic_write_text
from ._results import read_results
from ._worker import read_json

AGGREGATE_FIELDS = ("group", "x", "n", "n_missing", "mean", "sem", "std", "min", "max")


@dataclass
class SweepReport:
    """What :func:`plot_sweep` returns: the figure, its CSV, the aggregated rows and the
    axes other than seed, ``x`` and ``group`` that the means pool over."""

    figure: Path
    table: Path
    rows: list[dict[str, Any]]
    pooled: list[str]


def _axes_of(sweep_dir: Path, columns: list[str]) -> list[str]:
    info = read_json(sweep_dir / "sweep.json") or {}
    axes = info.get("axes")
    if isinstance(axes, list) and all(a in columns for a in axes):
        return list(axes)
    end = columns.index("final_loss") if "final_loss" in columns else len(columns)
    return columns[2:end]


def resolve_axis(name: str, axes: list[str]) -> str:
    """An axis by its full name (``spec.N_rec``) or the part after the namespace (``N_rec``).

    Raises:
        ValueError: If no axis (or more than one) has that name.
    """
    if name in axes:
        return name
    matches = [a for a in axes if a.split(".", 1)[-1] == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValueError(f"axis '{name}' is ambiguous: {', '.join(matches)}")
    raise ValueError(f"no swept axis '{name}'; the sweep's axes: {', '.join(axes)}")


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def aggregate(rows: list[dict[str, str]], metric: str, x: str, group: str | None = None
              ) -> list[dict[str, Any]]:
    """Mean, SEM (std / sqrt(n), ``ddof=1``), std, min, max of ``metric`` per (group, x).

    Args:
        rows: Results rows (text values, as :func:`read_results` gives them).
        metric: Column to aggregate.
        x: Axis column of the x values.
        group: Axis column of the groups (one line each), or None.

    Returns:
        One dict per (group, x) with :data:`AGGREGATE_FIELDS`, in order of first appearance
        (numeric x values sorted).
    """
    cells: dict[tuple[str, str], list[float | None]] = {}
    for row in rows:
        key = (row.get(group, "") if group else "", row[x])
        cells.setdefault(key, []).append(_number(row.get(metric, "")))
    keys = list(cells)
    if all(_number(k[1]) is not None for k in keys):
        order = {g: i for i, g in enumerate(dict.fromkeys(k[0] for k in keys))}
        keys.sort(key=lambda k: (order[k[0]], _number(k[1])))
    out = []
    for g, xv in keys:
        values = [v for v in cells[(g, xv)] if v is not None]
        n = len(values)
        mean = sum(values) / n if n else math.nan
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
        out.append({"group": g, "x": xv, "n": n, "n_missing": len(cells[(g, xv)]) - n,
                    "mean": mean, "sem": std / math.sqrt(n) if n > 1 else math.nan,
                    "std": std, "min": min(values) if values else math.nan,
                    "max": max(values) if values else math.nan, "values": values})
    return out


def plot_sweep(
    sweep_dir: str | os.PathLike,
    metric: str = "accuracy",
    x: str = "seed",
    group: str | None = None,
    out: str | os.PathLike | None = None,
) -> SweepReport:
    """Plot ``metric`` against the swept axis ``x`` (one line per ``group`` value).

    Args:
        sweep_dir: A sweep directory (with ``results.csv``).
        metric: A numeric column: ``accuracy``, ``final_loss``, ``trials_to_criterion``,
            ``trials``, ``epochs``, ``training_time_s``, ``wall_time_s``.
        x: Swept axis for the x axis (full or short name, e.g. ``spec.N_rec`` or ``N_rec``).
        group: Swept axis drawn as separate lines, or None.
        out: Figure path (PNG, PDF or SVG; PNG without a suffix);
            ``SWEEP_DIR/METRIC-by-X.png`` by default. The numbers go to the same path with
            the suffix ``.csv``.

    Returns:
        A :class:`SweepReport`.

    Raises:
        FileNotFoundError: If ``sweep_dir`` has no ``results.csv``.
        ValueError: For an unknown axis or metric, or no finished run.
        ImportError: Without matplotlib.
    """
    sweep_dir = Path(sweep_dir)
    all_rows = read_results(sweep_dir)
    columns = list(all_rows[0]) if all_rows else []
    axes = _axes_of(sweep_dir, columns)
    x = resolve_axis(x, axes)
    group = resolve_axis(group, axes) if group else None
    if group == x:
        raise ValueError("--group must be another axis than --x")
    if metric not in columns or metric in axes or metric in ("run", "status", "backend",
                                                             "error"):
        numeric = [c for c in columns if c not in axes and c not in ("run", "status",
                                                                     "backend", "error")
                   and not c.startswith("version.")]
        raise ValueError(f"unknown metric '{metric}'; numeric columns: {', '.join(numeric)}")
    rows = [r for r in all_rows if r["status"] == "finished"]
    if not rows:
        raise ValueError(f"no finished run in {sweep_dir} to plot")
    pooled = [a for a in axes if a not in ("seed", x, group)
              and len({r[a] for r in rows}) > 1]
    table = aggregate(rows, metric, x, group)
    short = x.split(".", 1)[-1]
    figure = Path(out) if out is not None else sweep_dir / f"{metric}-by-{short}.png"
    if not figure.suffix:
        figure = figure.with_suffix(".png")
    figure.parent.mkdir(parents=True, exist_ok=True)
    csv_path = figure.with_suffix(".csv")
    _write_table(csv_path, table, x, group)
    _draw(figure, table, metric, x, group, pooled, len(rows))
    return SweepReport(figure, csv_path, [{k: r[k] for k in AGGREGATE_FIELDS} for r in table],
                       pooled)


def _write_table(path: Path, table: list[dict[str, Any]], x: str, group: str | None) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = [group or "group", x, *AGGREGATE_FIELDS[2:]]
    writer.writerow(header)
    for r in table:
        writer.writerow([r["group"], r["x"], r["n"], r["n_missing"],
                         *("" if math.isnan(r[k]) else repr(r[k])
                           for k in ("mean", "sem", "std", "min", "max"))])
    atomic_write_text(path, buf.getvalue(), overwrite=True)


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("psychcore sweep-report needs matplotlib: "
                          'pip install "psychcore[analysis]"') from exc
    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _draw(path: Path, table: list[dict[str, Any]], metric: str, x: str, group: str | None,
          pooled: list[str], n_runs: int) -> None:
    plt = _pyplot()
    xs = list(dict.fromkeys(r["x"] for r in table))
    numeric = all(_number(v) is not None for v in xs)
    groups = list(dict.fromkeys(r["group"] for r in table))
    fig, ax = plt.subplots(figsize=(5.0, 3.8), layout="constrained")
    width = 0.5 / max(len(groups), 1)
    span = (max(_number(v) for v in xs) - min(_number(v) for v in xs)) if numeric else 0.0
    for gi, g in enumerate(groups):
        part = [r for r in table if r["group"] == g]
        color = f"C{gi % 10}"
        if numeric:
            pos = [_number(r["x"]) for r in part]
        else:
            pos = [xs.index(r["x"]) + (gi - (len(groups) - 1) / 2) * width for r in part]
        means = [r["mean"] for r in part]
        sems = [0.0 if math.isnan(r["sem"]) else r["sem"] for r in part]
        label = f"{group.split('.', 1)[-1]}={g}" if group else None
        ax.errorbar(pos, means, yerr=sems, fmt="o-" if numeric else "o", color=color,
                    capsize=4, lw=1.5, ms=6, label=label, zorder=3)
        for p, r in zip(pos, part, strict=True):
            # every run as a faint dot, beside its mean
            jitter = (0.03 * span if numeric else 0.3 * width) or 0.03
            shift = 0.0 if numeric else 0.4 * width
            n = len(r["values"])
            offsets = [shift + jitter * ((i + 0.5) / n - 0.5) for i in range(n)]
            ax.plot([p + o for o in offsets], r["values"], ".", color=color, alpha=0.35,
                    ms=5, zorder=2)
    if not numeric:
        ax.set_xticks(range(len(xs)), xs)
        ax.set_xlim(-0.6, len(xs) - 0.4)
    if all(v >= 0 for r in table for v in r["values"]):
        ax.set_ylim(bottom=0)
    label = metric.replace("_", " ")
    ax.set_xlabel(x.split(".", 1)[-1])
    ax.set_ylabel(f"{label} (mean ± SEM)")
    title = f"{label} by {x.split('.', 1)[-1]} ({n_runs} runs)"
    ax.set_title(title, fontsize=10)
    notes = []
    missing = sum(r["n_missing"] for r in table)
    if missing:
        notes.append(f"{missing} run(s) without a value left out")
    if pooled:
        notes.append(f"pooled over {', '.join(pooled)}")
    if notes:
        ax.text(0.01, 0.01, "; ".join(notes), transform=ax.transAxes, fontsize=7,
                color="0.4", va="bottom")
    if group:
        ax.legend(fontsize=8, frameon=False)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)
