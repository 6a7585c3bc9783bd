"""The ``psychcore`` command line.

- ``psychcore plugins``: installed plugins, their versions and what each provides;
- ``psychcore tasks``: installed tasks with a one-line description;
- ``psychcore train TASK``: train one network into a run directory (see ``psychcore._run``);
- ``psychcore repro TASK``: train one spec on several backends from identical numbers and
  compare them (see ``psychcore._repro``); exit 0 within tolerance, 1 otherwise, 2 on bad input;
- ``psychcore report RUN_DIR``: the analysis figures of a run as PNG with an ``index.html``
  (see ``psychcore.analysis``); exit 0 when every applicable figure was written, 1 when one
  failed, 2 on bad input (no run, an existing report without ``--overwrite``).
- ``psychcore sweep FILE --out DIR``: every combination of a sweep description as its own run
  directory, locally or on Ray, resumable (see ``psychcore.sweep``); exit 0 when every run
  finished, 1 when one failed, 2 on bad input (every problem of the file listed), 130 when
  interrupted.
- ``psychcore sweep-report DIR --metric M --x AXIS``: a metric against a swept axis, mean ± SEM
  over seeds, as a figure and a CSV of the numbers plotted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import _plugins


def _quiet_frameworks() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def describe(cls: type) -> str:
    """One line describing a registered class: its ``description`` or docstring's first line."""
    text = getattr(cls, "description", "") or (cls.__doc__ or "").strip()
    return text.strip().splitlines()[0] if text.strip() else ""


def _conflict_lines(reg: _plugins.Registry, kind: str | None = None) -> list[str]:
    return [f"CONFLICT: {reg.conflict_message(k, n)}"
            for (k, n) in sorted(reg.conflicts) if kind is None or k == kind]


def _cmd_plugins(args: argparse.Namespace) -> int:
    """List every plugin found; exit 1 when one was skipped or two claim one name."""
    reg = _plugins.registry()
    rows = []
    for info in _plugins.plugin_infos():
        if info.error is not None:
            provides = info.error.summary
        else:
            found = _plugins.provided(info.name)
            for (kind, name), owners in reg.conflicts.items():
                if info.name in owners:
                    found.setdefault(kind, []).append(f"{name} (CONFLICT)")
            parts = [f"{kind}s: {', '.join(names)}" for kind, names in sorted(found.items())]
            provides = "; ".join(parts) or "nothing"
        rows.append((info.name, f"{info.distribution} {info.version}", provides))
    width = [max(len(r[i]) for r in rows + [("plugin", "distribution", "")]) for i in range(2)]
    print(f"{'plugin':<{width[0]}}  {'distribution':<{width[1]}}  provides")
    for name, dist, provides in rows:
        print(f"{name:<{width[0]}}  {dist:<{width[1]}}  {provides}")
    for line in _conflict_lines(reg):
        print(line)
    blocked = sorted(_plugins._env_list(_plugins.ENV_BLOCK))
    if blocked:
        print(f"blocked by {_plugins.ENV_BLOCK}: {', '.join(blocked)}")
    if _plugins.autoload_disabled():
        print(_plugins.autoload_message())
    elif not reg.backends:
        print(f"no training backend installed: {_plugins.INSTALL_HINTS['backend']}")
    return 1 if reg.failed or reg.conflicts else 0


def _cmd_tasks(args: argparse.Namespace) -> int:
    """List the installed tasks; exit 1 when a plugin was skipped or two claim one name."""
    reg = _plugins.registry()
    found = _plugins.tasks()
    width = max((len(n) for n in found), default=0)
    for name in sorted(found):
        print(f"{name:<{width}}  {describe(found[name])}")
    for line in _conflict_lines(reg, "task"):
        print(line)
    for name, err in sorted(reg.failed.items()):
        print(f"plugin {name} ({err.distribution}) was skipped, {err.summary}; see "
              "`psychcore plugins`")
    if _plugins.autoload_disabled():
        print(_plugins.autoload_message())
    elif not found and not reg.conflicts:
        print(f"no tasks installed: {_plugins.INSTALL_HINTS['task']}")
    return 1 if reg.failed or any(k == "task" for k, _ in reg.conflicts) else 0


def _key_values(items: list[str] | None, flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} expects KEY=VALUE; received {item!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def build_spec(args: argparse.Namespace) -> Any:
    """The ModelSpec from ``--spec FILE`` and ``-s KEY=VALUE`` options."""
    from ._spec import ModelSpec

    base: dict[str, Any] = {}
    if args.spec:
        base = ModelSpec.from_file(args.spec).to_dict()
    base.update(_key_values(args.spec_option, "--spec-option"))
    for key in ("N_rec", "dale_ratio", "architecture", "rec_noise"):
        value = getattr(args, key)
        if value is not None:
            base[key] = value
    return ModelSpec.from_dict(base)


def _cmd_train(args: argparse.Namespace) -> int:
    from ._run import train_run

    if args.resume and args.out is None:
        raise ValueError("--resume needs --out, the run directory to continue")
    task = _plugins.build_task(args.task, _key_values(args.task_param, "--task-param"),
                               seed=args.seed)
    spec = build_spec(args)
    # the backend's name is recorded (run.json, the directory name): resolve the default here
    backend = _plugins.resolve_backend(args.backend)
    out = args.out or Path("runs") / f"{Path(args.task).stem.split(':')[-1]}-" \
        f"{backend}-seed{args.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    result = train_run(
        task, spec, out, backend=backend, seed=args.seed, resume=args.resume,
        training_iters=args.iters, learning_rate=args.learning_rate,
        loss_epoch=args.loss_epoch, checkpoint_epoch=args.checkpoint_epoch,
        performance_cutoff=args.performance_cutoff, device=args.device,
        progress=None if args.progress else False, task_name=args.task,
    )
    acc = "n/a" if result.accuracy is None else f"{result.accuracy:.4f}"
    loss = "n/a" if result.final_loss is None else f"{result.final_loss:.6g}"
    status = "interrupted, saved" if result.interrupted else "finished"
    print(f"{status}: {result.epochs} steps, final loss {loss}, validation accuracy {acc}, "
          f"{result.training_time:.1f} s training; run directory {result.path}")
    return 130 if result.interrupted else 0


def _cmd_repro(args: argparse.Namespace) -> int:
    from ._repro import check_reproducibility, report_json

    task = _plugins.build_task(args.task, _key_values(args.task_param, "--task-param"),
                               seed=args.seed)
    spec = build_spec(args)
    if args.float64:
        spec = spec.replace(dtype="float64")
    backends = (None if args.backends is None
                else [b.strip() for b in args.backends.split(",") if b.strip()])
    seeds = {k: int(v) for k, v in _key_values(args.seed_for, "--seed-for").items()}
    report = check_reproducibility(task, spec, backends, steps=args.iters, seed=args.seed,
                                   seeds=seeds, learning_rate=args.learning_rate,
                                   loss_epoch=args.loss_epoch, sync_every=args.sync_every,
                                   sensitivity=args.sensitivity)
    print(report.format())
    if args.json:
        from ._io import atomic_write_text

        atomic_write_text(args.json, report_json(report), overwrite=True)
    return 0 if report.ok else 1


def _add_network_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", help="task name (see `psychcore tasks`) or path/to/file.py:Class")
    p.add_argument("-t", "--task-param", action="append", metavar="KEY=VALUE",
                   help="task constructor argument (JSON value), e.g. -t T=1500 -t coherence=0.2;"
                        " dt=10 tau=100 T=2000 N_batch=128 by default")
    p.add_argument("--spec", metavar="FILE", help="ModelSpec JSON file")
    p.add_argument("-s", "--spec-option", action="append", metavar="KEY=VALUE",
                   help="ModelSpec field (JSON value), e.g. -s autapses=false -s L2_rec=0.01")
    p.add_argument("--N-rec", dest="N_rec", type=int, help="recurrent units")
    p.add_argument("--dale-ratio", type=float, help="fraction of excitatory units")
    p.add_argument("--architecture", choices=("rnn", "lstm", "gru"))
    p.add_argument("--rec-noise", type=float, help="recurrent noise")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--loss-epoch", type=int, default=10, help="record every N steps")
    p.add_argument("--seed", type=int, default=0)


def _cmd_report(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None or importlib.util.find_spec("scipy") is None:
        raise ImportError("psychcore report needs matplotlib and scipy: "
                          "pip install 'psychcore[analysis]'")
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")
    from .analysis import write_report

    result = write_report(
        args.run_dir, overwrite=args.overwrite, n_trials=args.trials, seed=args.seed,
        fixed_point_inits=args.fixed_point_inits, progress=None if args.progress else False,
    )
    print(f"report: {len(result.figures)} figures in {result.path} "
          f"(open {result.path / 'index.html'})")
    for name, reason in result.skipped.items():
        print(f"  skipped {name}: {reason}")
    for name, error in result.failed.items():
        print(f"  FAILED {name}: {error.splitlines()[0]}", file=sys.stderr)
    return 1 if result.failed else 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import Sweep, SweepBusyError, run_sweep

    if args.workers is not None and args.workers < 0:
        raise ValueError(f"--workers must be >= 0; received {args.workers}")
    if args.ray_address and not args.ray:
        args.ray = True
    sweep = Sweep.from_file(args.file)
    runs = sweep.runs()
    if args.dry_run:
        print(f"{len(runs)} runs ({', '.join(sweep.axes)}) into {args.out}:")
        for run in runs:
            print(f"  {run.name}")
        return 0
    try:
        result = run_sweep(sweep, args.out, workers=args.workers, use_ray=args.ray,
                           ray_address=args.ray_address, progress=args.progress)
    except SweepBusyError as exc:
        print(f"psychcore: error: {exc}", file=sys.stderr)
        return 2
    c = result.counts
    print(f"{c['finished']}/{c['total']} runs finished ({c['skipped']} earlier), {c['failed']} "
          f"failed, {c['interrupted']} interrupted; results: "
          f"{', '.join(str(p) for p in result.files)}")
    if result.interrupted:
        return 130
    return 0 if result.ok else 1


def _cmd_sweep_report(args: argparse.Namespace) -> int:
    from .sweep import plot_sweep

    report = plot_sweep(args.sweep_dir, metric=args.metric, x=args.x, group=args.group,
                        out=args.out)
    for row in report.rows:
        group = f"{row['group']}, " if row["group"] != "" else ""
        print(f"  {group}{row['x']}: mean {row['mean']:.6g} ± {row['sem']:.3g} (SEM), "
              f"n={row['n']}" + (f", {row['n_missing']} without a value"
                                 if row["n_missing"] else ""))
    if report.pooled:
        print(f"  (pooled over {', '.join(report.pooled)})")
    print(f"figure: {report.figure}; numbers: {report.table}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``psychcore`` command."""
    parser = argparse.ArgumentParser(
        prog="psychcore",
        description="Train biologically constrained RNNs on cognitive tasks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("plugins", help="list installed plugins and what each provides")
    p.set_defaults(func=_cmd_plugins)
    p = sub.add_parser("tasks", help="list installed tasks")
    p.set_defaults(func=_cmd_tasks)
    p = sub.add_parser("train", help="train a network on a task into a run directory")
    _add_network_options(p)
    p.add_argument("--backend",
                   help="backend name (default: $PSYCHCORE_BACKEND, else the only installed "
                        "backend; see `psychcore plugins`)")
    p.add_argument("--iters", type=int, default=50000, help="training trials (default 50000)")
    p.add_argument("--checkpoint-epoch", type=int, default=100)
    p.add_argument("--performance-cutoff", type=float,
                   help="stop when the task's accuracy reaches this value")
    p.add_argument("--device", help="backend device, e.g. cpu or cuda")
    p.add_argument("--out", type=Path, help="run directory (must not exist)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")
    p.set_defaults(func=_cmd_train)
    p = sub.add_parser("repro", help="train on several backends from identical numbers and "
                                     "compare (exit 0 when they agree)")
    _add_network_options(p)
    p.add_argument("--backends",
                   help="comma-separated backend names, the first the reference (default: "
                        "every installed backend that can run here)")
    p.add_argument("--iters", type=int, default=200, help="Adam steps per backend (default 200)")
    p.add_argument("--float64", action="store_true", help="run in float64 (tolerance 1e-9)")
    p.add_argument("--sync-every", type=int, default=1, metavar="N",
                   help="every N steps, restart every backend from the first one's weights and "
                        "Adam state (default 1: every step starts from identical numbers; 0: "
                        "compare free-running trainings, which training's own sensitivity to "
                        "rounding drives apart on long runs)")
    p.add_argument("--no-sensitivity", dest="sensitivity", action="store_false",
                   help="skip the extra run that measures training's own sensitivity")
    p.add_argument("--seed-for", action="append", metavar="BACKEND=SEED",
                   help="use another seed on one backend (to see a mismatch detected)")
    p.add_argument("--json", type=Path, help="also write the report as JSON")
    p.set_defaults(func=_cmd_repro)
    p = sub.add_parser("report", help="write the analysis figures of a run as PNG + index.html")
    p.add_argument("run_dir", type=Path, help="run directory written by `psychcore train`")
    p.add_argument("--overwrite", action="store_true", help="replace an existing RUN_DIR/report")
    p.add_argument("--trials", type=int, default=256, help="simulated trials (default 256)")
    p.add_argument("--fixed-point-inits", type=int, default=64,
                   help="initial states of the fixed-point search (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of trials, noise and search")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")
    p.set_defaults(func=_cmd_report)
    p = sub.add_parser("sweep", help="train every combination of a sweep description "
                                     "(TOML/YAML/JSON), locally or on Ray; resumable")
    p.add_argument("file", type=Path, help="sweep description (see examples/sweeps/README.md)")
    p.add_argument("--out", type=Path, required=True,
                   help="sweep directory (rerun the same command to resume it)")
    p.add_argument("--workers", type=int,
                   help="local worker processes (default: CPUs // resources.num_cpus; "
                        "0: in this process)")
    p.add_argument("--ray", action="store_true", help="run on Ray, one task per run")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="Ray cluster address (implies --ray; default: a local instance)")
    p.add_argument("--dry-run", action="store_true", help="validate and list the runs")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress on stderr")
    p.set_defaults(func=_cmd_sweep)
    p = sub.add_parser("sweep-report", help="plot a metric of a sweep against a swept axis "
                                            "(mean ± SEM over seeds)")
    p.add_argument("sweep_dir", type=Path, help="sweep directory written by psychcore sweep")
    p.add_argument("--metric", default="accuracy",
                   help="results column: accuracy (default), final_loss, trials_to_criterion,"
                        " trials, training_time_s, ...")
    p.add_argument("--x", required=True, help="swept axis on the x axis, e.g. N_rec")
    p.add_argument("--group", help="swept axis drawn as separate lines")
    p.add_argument("--out", type=Path,
                   help="figure path (default SWEEP_DIR/METRIC-by-X.png); the numbers go "
                        "beside it as .csv")
    p.set_defaults(func=_cmd_sweep_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``psychcore`` command; returns the exit status."""
    _quiet_frameworks()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, TypeError, FileExistsError, FileNotFoundError, ImportError) as exc:
        print(f"psychcore: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
