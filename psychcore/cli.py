"""The ``psychcore`` command line.

- ``psychcore plugins``: installed plugins, their versions and what each provides;
- ``psychcore tasks``: installed tasks with a one-line description;
- ``psychcore train TASK``: train one network into a run directory (see ``psychcore._run``);
  ``--resume`` continues it (options not given are the run's; only ``--iters``, the new
  total, ``--performance-cutoff``, ``--checkpoint-epoch``, ``--device`` and ``--no-progress``
  may differ); Ctrl-C or SIGTERM stop after the current step and save;
- ``psychcore repro TASK``: train one spec on several backends from identical numbers and
  compare them (see ``psychcore._repro``); exit 0 within tolerance, 1 otherwise, 2 on bad input;
- ``psychcore bench TASK``: time a training step and a forward pass on every installed
  backend (each in its own process), against the floor of the step's matrix products, and
  name the fastest (see ``psychcore.bench``); ``--to-accuracy A`` also trains each backend to
  accuracy A from process start over ``--seeds`` seeds; exit 0, 1 when a backend failed, 2 on
  bad input;
- ``psychcore report RUN_DIR``: the analysis figures of a run as PNG with an ``index.html``
  (see ``psychcore.analysis``); exit 0 when every applicable figure was written, 1 when one
  failed, 2 on bad input (no run, an existing report without ``--overwrite``).
- ``psychcore spiking RUN_DIR``: convert a run's sigmoid rate network to LIF spiking neurons,
  choose the scaling factor lambda by task accuracy and write ``RUN_DIR/spiking/`` (network,
  numbers, figures; see ``psychcore.analysis._spiking``); exit 0, 2 on bad input (no run, a
  network that is not a sigmoid ``rnn``, a task without an accuracy function, an existing
  ``spiking/`` without ``--overwrite``).
- ``psychcore sweep FILE --out DIR``: every combination of a sweep description as its own run
  directory, locally or on Ray, resumable (see ``psychcore.sweep``); exit 0 when every run
  finished, 1 when one failed, 2 on bad input (every problem of the file listed), 130 when
  interrupted.
- ``psychcore sweep-report DIR --metric M --x AXIS``: a metric against a swept axis, mean ± SEM
  over seeds, as a figure and a CSV of the numbers plotted.
- ``psychcore new task-plugin NAME``: write a task plugin package ``./NAME`` that installs,
  passes its own tests and trains at once (see ``psychcore.scaffold``); exit 2 when the
  directory exists and is not empty or NAME is invalid.

Exit status (:data:`EXIT_CODES`, also in ``psychcore --help``): 0 success; 1 training or a
check failed (training diverged, a file could not be written, a mismatch, a failed figure or
sweep run); 2 bad input or usage (options, files, names, plugins, a run directory in use,
existing, or differing from the options given with ``--resume``); 3 an internal error (a bug:
the traceback is printed with a request to report it); 130 interrupted by Ctrl-C (SIGINT);
141 stdout closed by its reader, as ``head`` does (quietly); 143 terminated by SIGTERM (a run
is saved in both cases). Every error is one line,
``psychcore: error: ...``, naming the file or argument; ``psychcore --debug COMMAND`` (or
``PSYCHCORE_DEBUG=1``) adds the traceback. A run directory that failed or was interrupted
says so in its ``run.json`` (``status``, ``message``, ``error``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from . import _plugins

_T = TypeVar("_T")

EXIT_CODES = """\
exit status:
  0    success
  1    training or a check failed: training diverged (NaN loss), a file could not be
       written (disk full), `repro` found a mismatch, a `report` figure or a sweep run failed
  2    bad input or usage: an option, a file, a task or plugin name, a run directory that
       is in use, exists already, or differs from the options given with --resume
  3    internal error: a bug in psychcore or a plugin (the traceback is printed; report it)
  130  interrupted by Ctrl-C (SIGINT); a run is saved: continue it with --resume
  141  stdout was closed by its reader (`psychcore tasks | head -1`); nothing is printed
  143  terminated (SIGTERM, e.g. by a cluster scheduler); saved, as for 130
Errors print one line, `psychcore: error: ...`; --debug (or PSYCHCORE_DEBUG=1) adds the
traceback."""


def _checked(convert: Callable[[str], _T], ok: Callable[[_T], bool], what: str,
             example: str = "") -> Callable[[str], _T]:
    """An argparse ``type``: the option's text converted by ``convert`` and checked by ``ok``.

    Either failure raises ``argparse.ArgumentTypeError``, which argparse prefixes with the
    option (``argument --N-rec: must be a positive integer; received 0``): text that does not
    convert, ``expected WHAT[, e.g. EXAMPLE]; received 'TEXT'``; a value ``ok`` refuses,
    ``must be WHAT; received TEXT``.
    """
    hint = f", e.g. {example}" if example else ""

    def parse(text: str) -> _T:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {what}{hint}; received {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}; received {text}")
        return value

    return parse


def _ints(text: str) -> list[int]:
    return [int(item) for item in text.split(",")]


def _floats(text: str) -> list[float]:
    values = [float(item) for item in text.replace(",", " ").split()]
    if not values:
        raise ValueError("no number")
    return values


def _finite_positive(value: float) -> bool:
    return 0 < value < math.inf


_positive_int = _checked(int, lambda v: v > 0, "a positive integer")
_non_negative_int = _checked(int, lambda v: v >= 0, "a non-negative integer")
_positive_float = _checked(float, _finite_positive, "a positive number")
_accuracy = _checked(float, lambda v: 0 < v <= 1, "an accuracy in (0, 1]", "0.9")
_positive_int_list = _checked(_ints, lambda values: all(v > 0 for v in values),
                              "comma-separated positive integers", "50,256,1024")
_positive_float_list = _checked(_floats, lambda values: all(map(_finite_positive, values)),
                                "positive numbers separated by commas", "20,30,40")


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


def _spec_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ModelSpec fields that ``--spec FILE``, ``-s KEY=VALUE`` and ``--N-rec``... give."""
    from ._spec import ModelSpec

    base: dict[str, Any] = {}
    if args.spec:
        base = ModelSpec.from_file(args.spec).to_dict()
    base.update(_key_values(args.spec_option, "--spec-option"))
    for key in ("N_rec", "dale_ratio", "architecture", "rec_noise"):
        value = getattr(args, key)
        if value is not None:
            base[key] = value
    return base


def build_spec(args: argparse.Namespace) -> Any:
    """The ModelSpec from ``--spec FILE`` and ``-s KEY=VALUE`` options."""
    from ._spec import ModelSpec

    return ModelSpec.from_dict(_spec_options(args))


def _recorded(out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A run directory's ``run.json`` and its spec (without the task-bound keys)."""
    from ._run import RunDirectoryError, check_run_directory

    check_run_directory(out, resume=True)
    try:
        info = json.loads((out / "run.json").read_text(encoding="utf-8"))
        spec = (json.loads((out / "spec.json").read_text(encoding="utf-8"))
                if (out / "spec.json").exists() else {})  # killed before writing it
    except (OSError, ValueError) as exc:
        raise RunDirectoryError(f"cannot read the run in {out}: {exc}") from None
    if not isinstance(info, dict) or not isinstance(spec, dict):
        raise RunDirectoryError(f"{out}: run.json or spec.json is not a JSON object")
    return info, {k: v for k, v in spec.items() if k not in ("N_in", "N_out", "dt", "tau")}


def _cmd_train(args: argparse.Namespace) -> int:
    from ._run import ResumeMismatchError, UsageError, train_run
    from ._spec import ModelSpec

    if args.resume and args.out is None:
        raise ValueError("--resume needs --out, the run directory to continue")
    explicit_params = _key_values(args.task_param, "--task-param")
    # validates the task's name and the explicit -t options
    task = _plugins.build_task(args.task, explicit_params, seed=args.seed)
    if args.resume:  # every option not given is the run's
        info, recorded_spec = _recorded(args.out)
        training = info.get("training") or {}
        for name, key, default in (("seed", "seed", 0), ("backend", "backend", None)):
            if getattr(args, name) is None:
                setattr(args, name, info.get(key, default))
        for name in ("learning_rate", "loss_epoch"):
            if getattr(args, name) is None:
                setattr(args, name, training.get(name))
        if args.iters is None:
            args.iters = training.get("training_iters")
        task = _plugins.build_task(args.task, {**(info.get("task_params") or {}),
                                               **explicit_params},
                                   seed=args.seed, ignore_unknown=True)
        spec = ModelSpec.from_dict({**recorded_spec, **_spec_options(args)})
    else:
        spec = build_spec(args)
    for name, default in (("seed", 0), ("learning_rate", 1e-3), ("loss_epoch", 10),
                          ("iters", 50000)):
        if getattr(args, name) is None:
            setattr(args, name, default)
    # the backend's name is recorded (run.json, the directory name): resolve the default here
    backend = _plugins.resolve_backend(args.backend)
    out = args.out or Path("runs") / f"{Path(args.task).stem.split(':')[-1]}-" \
        f"{backend}-seed{args.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        result = train_run(
            task, spec, out, backend=backend, seed=args.seed, resume=args.resume,
            training_iters=args.iters, learning_rate=args.learning_rate,
            loss_epoch=args.loss_epoch, checkpoint_epoch=args.checkpoint_epoch,
            performance_cutoff=args.performance_cutoff, device=args.device,
            progress=None if args.progress else False, task_name=args.task,
        )
    except ResumeMismatchError as exc:
        raise UsageError(
            f"--resume: these options differ from the run's: {', '.join(exc.differences)} "
            f"(only --iters, --performance-cutoff, --checkpoint-epoch, --device and "
            f"--no-progress may change)") from None
    acc = "n/a" if result.accuracy is None else f"{result.accuracy:.4f}"
    loss = "n/a" if result.final_loss is None else f"{result.final_loss:.6g}"
    if result.interrupted:
        print(f"interrupted{f' by {result.signal}' if result.signal else ''}, saved: "
              f"{result.epochs} steps, final loss {loss}; run directory {result.path}\n"
              f"continue it with: psychcore train {args.task} --out {result.path} --resume")
        return 143 if result.signal == "SIGTERM" else 130
    print(f"finished: {result.epochs} steps, final loss {loss}, validation accuracy {acc}, "
          f"{result.training_time:.1f} s training; run directory {result.path}")
    cutoff = result.cutoff
    if cutoff is not None:
        print(f"performance cutoff {cutoff['value']:g} reached at step {cutoff['epoch']} "
              f"({cutoff['trials']} trials)" if cutoff["reached"] else
              f"performance cutoff {cutoff['value']:g} not reached")
    if result.plot_skipped:
        print(result.plot_skipped.replace("RUN_DIR", str(result.path)))
    return 0


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
    report = check_reproducibility(task, spec, backends, steps=args.steps, seed=args.seed,
                                   seeds=seeds, learning_rate=args.learning_rate,
                                   loss_epoch=args.loss_epoch, sync_every=args.sync_every,
                                   sensitivity=args.sensitivity)
    print(report.format())
    if args.json:
        from ._io import atomic_write_text

        atomic_write_text(args.json, report_json(report), overwrite=True)
    return 0 if report.ok else 1


class _DeprecatedAlias(argparse.Action):
    """An old option name kept working: stores into the new one's ``dest`` and says so once on
    stderr (``psychcore: warning: ...``), naming the option to use instead."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        new = "--" + self.dest.replace("_", "-")
        print(f"psychcore: warning: {parser.prog} {option_string} is deprecated; use {new} "
              f"(same meaning)", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench, write_json

    if args.to_accuracy is None:
        for option, value in (("--seeds", args.seeds), ("--max-trials", args.max_trials)):
            if value is not None:
                raise ValueError(f"{option} applies to the training runs of --to-accuracy; "
                                 "give --to-accuracy too")
    params = _key_values(args.task_param, "--task-param")
    if args.N_batch is not None:
        if "N_batch" in params and params["N_batch"] != args.N_batch:
            raise ValueError(f"--N-batch {args.N_batch} and -t N_batch={params['N_batch']} "
                             "differ; give one")
        params["N_batch"] = args.N_batch
    task = _plugins.build_task(args.task, params, seed=args.seed)
    spec = build_spec(args)
    if args.float64:
        spec = spec.replace(dtype="float64")
    backends = (None if args.backends is None
                else [b.strip() for b in args.backends.split(",") if b.strip()])
    if backends is not None and not backends:
        raise ValueError(f"--backends names no backend; received {args.backends!r}")
    result = run_bench(task, spec, backends, N_rec=args.N_rec_list, repeats=args.repeats,
                       warmup=args.warmup, budget=args.budget, seed=args.seed,
                       device=args.device, threads=args.threads,
                       learning_rate=args.learning_rate, to_accuracy=args.to_accuracy,
                       seeds=5 if args.seeds is None else args.seeds,
                       max_trials=100_000 if args.max_trials is None else args.max_trials,
                       progress=(lambda line: print(f"measuring {line}", file=sys.stderr,
                                                    flush=True)) if args.progress else None)
    print(result.format())
    if args.json:
        write_json(result, args.json)
    return 0 if result.ok else 1


def _add_network_options(p: argparse.ArgumentParser, for_bench: bool = False) -> None:
    """Task, spec and training options; for `bench`, --N-rec takes a list and there is no
    --loss-epoch."""
    _add_task_and_spec_options(p, for_bench)
    p.add_argument("--learning-rate", type=_positive_float, default=1e-3)
    if not for_bench:
        p.add_argument("--loss-epoch", type=_positive_int, default=10,
                       help="record every N steps")
    p.add_argument("--seed", type=int, default=0)


def _add_task_and_spec_options(p: argparse.ArgumentParser, n_rec_list: bool = False) -> None:
    p.add_argument("task", help="task name (see `psychcore tasks`) or path/to/file.py:Class")
    p.add_argument("-t", "--task-param", action="append", metavar="KEY=VALUE",
                   help="task constructor argument (JSON value), e.g. -t T=1500 -t coherence=0.2;"
                        " dt=10 tau=100 T=2000 N_batch=128 by default")
    p.add_argument("--spec", metavar="FILE", help="ModelSpec JSON file")
    p.add_argument("-s", "--spec-option", action="append", metavar="KEY=VALUE",
                   help="ModelSpec field (JSON value), e.g. -s autapses=false -s L2_rec=0.01")
    if n_rec_list:
        p.add_argument("--N-rec", dest="N_rec_list", type=_positive_int_list,
                       metavar="N[,N...]",
                       help="recurrent units, one or several sizes, e.g. 50,256,1024")
        p.set_defaults(N_rec=None)
    else:
        p.add_argument("--N-rec", dest="N_rec", type=_positive_int, help="recurrent units")
    p.add_argument("--dale-ratio", type=float, help="fraction of excitatory units")
    p.add_argument("--architecture", choices=("rnn", "lstm", "gru"))
    p.add_argument("--rec-noise", type=float, help="recurrent noise")


def _figures_without_a_display(needs: tuple[str, ...], why: str) -> None:
    """Check that the modules a figure-writing command ``needs`` are installed, then draw with
    matplotlib's Agg backend (no display) unless pyplot is in use already.

    Raises:
        ImportError: ``why`` and how to install them, if one of ``needs`` is missing.
    """
    import importlib.util

    if any(importlib.util.find_spec(name) is None for name in needs):
        raise ImportError(f'{why}: pip install "psychcore[analysis]"')
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")


def _cmd_report(args: argparse.Namespace) -> int:
    _figures_without_a_display(("matplotlib", "scipy"),
                               "psychcore report needs matplotlib and scipy")
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


def _cmd_spiking(args: argparse.Namespace) -> int:
    _figures_without_a_display(("matplotlib",),
                               "psychcore spiking draws its figures with matplotlib")
    from .analysis import write_spiking

    result = write_spiking(
        args.run_dir, lambdas=args.lambdas, n_trials=args.trials,
        eval_trials=args.eval_trials, workers=args.workers, seed=args.seed,
        overwrite=args.overwrite, progress=None if args.progress else False)
    s = result.search
    print("lambda   " + " ".join(f"{lam:6g}" for lam in s.lambdas))
    print("accuracy " + " ".join(f"{a:6.3f}" for a in s.accuracy))
    print(f"chosen lambda {result.best_lambda:g} ({s.n_trials} trials per lambda); on "
          f"{result.eval_trials} fresh trials: rate network {result.rate_accuracy:.3f}, "
          f"spiking network {result.spiking_accuracy:.3f}; written to {result.path}")
    return 0


def _cmd_new_task_plugin(args: argparse.Namespace) -> int:
    from .scaffold import task_plugin_names, write_task_plugin

    path = write_task_plugin(args.name, args.dir)
    names = task_plugin_names(args.name)
    shown = str(path)  # pip reads a bare name as a distribution's: show ./NAME
    if not path.is_absolute() and not shown.startswith("."):
        shown = f"./{path.as_posix()}"
    print(f"wrote the task plugin {names['distribution']} in {shown}/ (task "
          f"{names['class_name']} in {names['package']}/tasks.py)\nnext: pip install -e {shown} "
          f"&& pytest {shown} && "
          f"psychcore train {names['class_name']} --iters 40000")
    return 0


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


class _Parser(argparse.ArgumentParser):
    """argparse with psychcore's error format: ``psychcore: error: ...`` and exit status 2,
    the same as for every other bad input (argparse's own is ``psychcore train: error:``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"psychcore: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``psychcore`` command."""
    parser = _Parser(
        prog="psychcore",
        description="Train biologically constrained RNNs on cognitive tasks.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of every error (also PSYCHCORE_DEBUG=1)")
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
    p.add_argument("--iters", type=_positive_int,
                   help="training trials in all, like PsychRNN's training_iters (default 50000;"
                        " on --resume, the run's); the steps are this / N_batch")
    p.add_argument("--checkpoint-epoch", type=_positive_int, default=100,
                   help="checkpoint every N steps (default 100)")
    p.add_argument("--performance-cutoff", type=float,
                   help="stop when the task's accuracy reaches this value")
    p.add_argument("--device", help="backend device, e.g. cpu or cuda")
    p.add_argument("--out", type=Path, help="run directory (must not exist)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out; options not given are the run's, and only "
                        "--iters (the new total), --performance-cutoff, --checkpoint-epoch, "
                        "--device and --no-progress may differ from them")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")
    # None: not given (on --resume, the run's value; otherwise the default)
    p.set_defaults(func=_cmd_train, seed=None, learning_rate=None, loss_epoch=None)
    p = sub.add_parser("repro", help="train on several backends from identical numbers and "
                                     "compare (exit 0 when they agree)")
    _add_network_options(p)
    p.add_argument("--backends",
                   help="comma-separated backend names, the first the reference (default: "
                        "every installed backend that can run here)")
    p.add_argument("--steps", type=_positive_int, default=200,
                   help="Adam steps (training batches) per backend (default 200)")
    p.add_argument("--iters", dest="steps", type=_positive_int, action=_DeprecatedAlias,
                   default=argparse.SUPPRESS,
                   help="deprecated alias of --steps (it counts Adam steps, while train's "
                        "--iters counts trials)")
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
    p = sub.add_parser("bench", help="time a training step and a forward pass on every "
                                     "backend and name the fastest")
    _add_network_options(p, for_bench=True)
    p.add_argument("--backends",
                   help="comma-separated backend names (default: every installed backend that "
                        "can run here)")
    p.add_argument("--repeats", type=_positive_int, default=10,
                   help="timed steps and forward passes, at most (default 10)")
    p.add_argument("--warmup", type=_non_negative_int, default=1,
                   help="untimed steps after the first (default 1)")
    p.add_argument("--budget", type=_positive_float, default=10.0, metavar="SECONDS",
                   help="stop repeating a measurement after this long, with at least 3 "
                        "repetitions (default 10)")
    p.add_argument("--N-batch", dest="N_batch", type=_positive_int,
                   help="trials per batch (the task's N_batch; default 128)")
    p.add_argument("--float64", action="store_true", help="measure in float64")
    p.add_argument("--device", help="backend device, e.g. cpu or cuda (default: each "
                                    "backend's own)")
    p.add_argument("--threads", type=_positive_int,
                   help="threads for every backend and the floor (default: each framework's "
                        "own; the floor's products each at the faster of 1 thread and every "
                        "usable core)")
    p.add_argument("--to-accuracy", type=_accuracy, metavar="A",
                   help="also train each backend to accuracy A (e.g. 0.9) from process start,"
                        " one process per seed, at the first --N-rec")
    p.add_argument("--seeds", type=_positive_int,
                   help="training runs per backend for --to-accuracy (default 5; seeds --seed "
                        "to --seed + SEEDS - 1)")
    p.add_argument("--max-trials", type=_positive_int,
                   help="trials each --to-accuracy run may take at most (default 100000)")
    p.add_argument("--json", type=Path, help="also write every number as JSON")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress lines on stderr")
    p.set_defaults(func=_cmd_bench)
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
    p = sub.add_parser(
        "spiking", help="convert a run's sigmoid rate network to LIF spiking neurons, choose "
                        "lambda by task accuracy, write RUN_DIR/spiking/",
        description="Convert the sigmoid rate network of a run to leaky integrate-and-fire "
                    "neurons (Kim, Li & Sejnowski 2019; docs/spiking.md), score every scaling "
                    "factor lambda on the run's task (all on the same trials), and write "
                    "RUN_DIR/spiking/: network.npz, spiking.json, and the figures "
                    "accuracy.png, raster.png, outputs.png, firing_rates.png. `psychcore "
                    "report RUN_DIR` then includes them.")
    p.add_argument("run_dir", type=Path, help="run directory written by `psychcore train`")
    p.add_argument("--lambdas", type=_positive_float_list, metavar="L1,L2,...",
                   help="scaling factors to try (default spikeRNN's 20,25,...,75)")
    p.add_argument("--trials", type=_positive_int, default=100,
                   help="trials per lambda in the search (default 100)")
    p.add_argument("--eval-trials", type=_positive_int, default=200,
                   help="fresh trials scoring the rate and the spiking network at the chosen "
                        "lambda (default 200)")
    p.add_argument("--workers", type=_positive_int, default=1,
                   help="processes sharing the lambdas (default 1: one stacked simulation)")
    p.add_argument("--seed", type=_non_negative_int, default=0,
                   help="seed of the trials and every draw (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing RUN_DIR/spiking")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")
    p.set_defaults(func=_cmd_spiking)
    p = sub.add_parser("new", help="write a starting point: `psychcore new task-plugin NAME`")
    new = p.add_subparsers(dest="what", metavar="WHAT")
    new.required = True
    p = new.add_parser(
        "task-plugin", help="write a task plugin package ./NAME that installs and passes its "
                            "tests at once",
        description="Write a task plugin package: pyproject.toml with the psychcore entry "
                    "point, plugin.py, one example task (interval reproduction) with both batch "
                    "paths and an accuracy_function, tests running psychcore.testing's "
                    "conformance suite, and a README. See docs/writing-a-task-plugin.md.")
    p.add_argument("name", metavar="NAME",
                   help="plugin name, e.g. timing: distribution psychcore-NAME, package "
                        "psychcore_NAME, task class Name")
    p.add_argument("--dir", type=Path,
                   help="directory to write (default ./NAME; must not exist or be empty)")
    p.set_defaults(func=_cmd_new_task_plugin)
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


#: Exceptions caused by input (options, files, names, plugins): exit 2.
_INPUT_ERRORS = (ValueError, TypeError, LookupError, FileExistsError, FileNotFoundError,
                 NotADirectoryError, IsADirectoryError, PermissionError, ImportError)


def _describe(exc: BaseException) -> str:
    from ._run import PsychcoreError

    if isinstance(exc, OSError) and exc.strerror and exc.filename and not isinstance(
            exc, PsychcoreError):
        return f"{exc.filename}: {exc.strerror}"
    return str(exc) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``psychcore`` command; returns the exit status (see EXIT_CODES)."""
    from ._run import PsychcoreError  # imported here, as every command imports its modules

    _quiet_frameworks()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed)
        return exc.code if isinstance(exc.code, int) else 2
    debug = args.debug or os.environ.get("PSYCHCORE_DEBUG", "") not in ("", "0")
    try:
        code = int(args.func(args))
        if sys.stdout is not None:  # a reader that went away shows here, not at shutdown
            sys.stdout.flush()
        return code
    except BrokenPipeError:
        # the reader of stdout went away (`| head -1`): stop quietly, as a Unix tool killed by
        # SIGPIPE does, and keep Python from failing again when it flushes stdout at exit
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print("psychcore: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the one error boundary of the command line
        if isinstance(exc, PsychcoreError):
            code = exc.exit_code
        elif isinstance(exc, _INPUT_ERRORS):
            code = 2
        elif isinstance(exc, FloatingPointError | OSError | MemoryError) \
                or type(exc).__name__ == "OutOfMemoryError":
            code = 1
        else:
            traceback.print_exc()
            print(f"psychcore: internal error: {type(exc).__name__}: {exc}\n"
                  "This is a bug in psychcore or a plugin; please report it with the "
                  "traceback above and the command you ran.", file=sys.stderr)
            return 3
        if debug:
            traceback.print_exc()
        print(f"psychcore: error: {_describe(exc)}", file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
