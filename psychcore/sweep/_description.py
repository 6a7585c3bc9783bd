"""The sweep description: :class:`SweepDescription` (Python API, TOML/YAML/JSON files) and its
runs. The public :class:`psychcore.sweep.Sweep` is this description plus :meth:`~Sweep.run`,
which sits above the runner (:mod:`psychcore.sweep._runner`, which reads descriptions).

The file format and the Python API have the same parts (see ``examples/sweeps/README.md``):

=====================  ===================================  =================================
file                   ``Sweep(...)``                       meaning
=====================  ===================================  =================================
``[task] name``        ``task``                             task name or ``file.py:Class``
``[task.params]``      ``task_params``                      task constructor arguments
``[spec]``             ``spec``                             ModelSpec fields
``[training]``         ``training``                         train_run options + curriculum
``backend``/``device`` ``backend``/``device``               backend name and device
``[curricula.NAME]``   ``curricula``                        named curricula
``[axes] seeds``       ``seeds``                            seeds (list or {start, count})
``[axes.grid]``        ``grid``                             axes crossed (product)
``[axes.zip]``         ``zipped`` (list of groups)          axes varied together (zip)
``[resources]``        ``resources``                        num_cpus, num_gpus, workers
``[results]``          ``criterion``                        accuracy criterion
=====================  ===================================  =================================

A description need not name a backend: its runs then use the default backend, resolved when
they are listed (:meth:`Sweep.runs`): ``PSYCHCORE_BACKEND``, else the only installed backend
(:func:`psychcore.plugins.resolve_backend`). Every run records the resolved name.

Validation collects every problem and raises one :class:`SweepValidationError` listing each
with its location (``[axes.grid] spec.N_rec: ...``), including the ModelSpec and task errors of
every combination the axes produce.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .._plugins import build_task, get_task, resolve_backend
from ._problems import Problem, Problems, SweepValidationError, expected, locate
from ._values import (
    NAMESPACES,
    NONE,
    TRAINING_DEFAULTS,
    digest,
    flatten,
    is_int,
    is_number,
    run_name,
    short_names,
    split_axis,
    suggest,
    training_problem,
)

TOP_KEYS = ("name", "backend", "device", "task", "spec", "training", "curricula", "axes",
            "resources", "results")
RESOURCE_KEYS = ("num_cpus", "num_gpus", "workers")
CURRICULUM_KEYS = ("param", "values", "stages", "threshold", "thresholds", "metric_epoch")


@dataclass(frozen=True)
class RunConfig:
    """One combination of a sweep: everything a worker needs to train it.

    Attributes:
        index: Position in the sweep (the order runs are started in).
        name: Directory name, from the swept values (``seed=3,N_rec=64``).
        values: Axis -> value of this run (``seed`` first, then the other axes in order).
        seed: The run's seed.
        task: Task name, or ``/absolute/path/file.py:Class``.
        task_params: Task constructor arguments.
        spec: ModelSpec fields (unbound; the task binds them).
        training: ``train_run`` options: training_iters, learning_rate, loss_epoch,
            checkpoint_epoch, performance_cutoff, validation_trials.
        curriculum: None, or ``{"name", "stages": [task params per stage], "thresholds",
            "metric_epoch"}``.
        backend: Backend name (the sweep's, the ``backend`` axis's or, when neither names
            one, the default backend's: always a name).
        device: Backend device or None.
        threads: Threads the run may use (``resources.num_cpus``, at least 1).
    """

    index: int
    name: str
    values: dict[str, Any]
    seed: int
    task: str
    task_params: dict[str, Any]
    spec: dict[str, Any]
    training: dict[str, Any]
    curriculum: dict[str, Any] | None
    backend: str
    device: str | None
    threads: int

    def identity(self) -> dict[str, Any]:
        """What the run computes (not where or with how many threads): compared on resume."""
        return {"task": self.task, "task_params": self.task_params, "spec": self.spec,
                "training": self.training, "curriculum": self.curriculum,
                "backend": self.backend, "seed": self.seed}

    def config_hash(self) -> str:
        """Digest of :meth:`identity`."""
        return digest(self.identity())[:16]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        return dataclasses.asdict(self)


_S = TypeVar("_S", bound="SweepDescription")


@dataclass
class SweepDescription:
    """A sweep: one task, spec and training setup, and the axes that vary across runs.

    Args:
        task: Task name (see ``psychcore tasks``) or ``path/to/file.py:Class`` (relative to
            ``base_dir``, else to the working directory).
        task_params: Task constructor arguments (``dt=10, tau=100, T=2000, N_batch=128`` by
            default, as ``psychcore train``).
        spec: ModelSpec fields.
        training: ``training_iters``, ``learning_rate``, ``loss_epoch``, ``checkpoint_epoch``,
            ``performance_cutoff``, ``validation_trials``, ``curriculum`` (a name of
            ``curricula`` or ``"none"``).
        backend: Backend name; ``None`` (the default): the default backend, resolved when the
            runs are listed (``PSYCHCORE_BACKEND``, else the only installed backend).
        device: Backend device (``"cpu"``, ``"cuda"``); the backend's default when None.
        seeds: Seeds (a list, a ``range`` or ``{"start": 0, "count": 10}``); ``[0]`` by default.
        grid: Axis name -> list of values; every combination of the grid axes is run.
        zipped: Groups of axes varied together: each a dict axis name -> list of values, all
            of the same length (a single dict is one group).
        curricula: Name -> ``{"param", "values"}`` or ``{"stages"}``, with ``threshold`` (or
            ``thresholds``) and ``metric_epoch``.
        resources: ``num_cpus`` (per run; also its thread count, default 1), ``num_gpus`` (per
            run on Ray, default 0), ``workers`` (local worker processes; default
            ``cpu_count // num_cpus``).
        criterion: Validation accuracy that counts as learned in the results table's
            ``trials_to_criterion`` (default ``training.performance_cutoff``).
        name: A name for the sweep (recorded in ``sweep.json``).
        base_dir: Directory that relative task files are found in.

    Axis names are ``task.PARAM``, ``spec.FIELD``, ``training.OPTION`` or ``backend``. The
    string ``"none"`` stands for None where None is allowed (TOML has no null).

    Raises:
        SweepValidationError: A ``ValueError`` listing every problem at once.
    """

    task: str
    task_params: dict[str, Any] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    backend: str | None = None
    device: str | None = None
    seeds: Any = field(default_factory=lambda: [0])
    grid: dict[str, Any] = field(default_factory=dict)
    zipped: Any = field(default_factory=list)
    curricula: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    criterion: float | None = None
    name: str | None = None
    base_dir: str | os.PathLike | None = None
    problems: InitVar[list[Problem] | None] = None
    source: InitVar[str | None] = None
    text: InitVar[str | None] = None

    def __post_init__(self, problems: list[Problem] | None, source: str | None,
                      text: str | None) -> None:
        self.source_file = source
        found = Problems()
        for p in problems or []:
            found.add(p.table, p.key, p.message)
        self._normalise(found)
        _validate(self, found)
        if found.items:
            located = [dataclasses.replace(p, line=locate(text, p.table, p.key))
                       for p in found.items]
            located.sort(key=lambda p: float("inf") if p.line is None else p.line)
            raise SweepValidationError(located, source)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_file(cls: type[_S], path: str | os.PathLike) -> _S:
        """Read a ``.toml``, ``.yaml``/``.yml`` (needs pyyaml) or ``.json`` description.

        Relative task files (``file.py:Class``) are found relative to the file's directory.

        Raises:
            FileNotFoundError: If the file does not exist.
            SweepValidationError: For a file that does not parse, or any invalid part.
            ImportError: For YAML without pyyaml, or TOML on Python 3.10 without tomli.
        """
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        suffix = path.suffix.lower()
        try:
            if suffix == ".toml":
                data = _toml().loads(text)
            elif suffix in (".yaml", ".yml"):
                data = _yaml().safe_load(text)
            elif suffix == ".json":
                data = json.loads(text)
            else:
                raise SweepValidationError(
                    [Problem("", "(file)", f"unknown file type '{suffix}': use .toml, .yaml, "
                                           ".yml or .json")], str(path))
        except (ValueError, TypeError) as exc:
            if isinstance(exc, SweepValidationError):
                raise
            raise SweepValidationError(
                [Problem("", "(file)", f"does not parse: {exc}")], str(path)) from exc
        except Exception as exc:  # yaml.YAMLError is no ValueError
            if type(exc).__module__.split(".")[0] != "yaml":
                raise
            raise SweepValidationError(
                [Problem("", "(file)", f"does not parse: {exc}")], str(path)) from exc
        return cls.from_dict(data, source=str(path), text=text, base_dir=path.parent)

    @classmethod
    def from_dict(cls: type[_S], data: Any, *, source: str | None = None,
                  text: str | None = None, base_dir: str | os.PathLike | None = None) -> _S:
        """Build from the file structure (``{"task": {"name", "params"}, "axes": ...}``).

        Args:
            data: The parsed file.
            source: The file's name, for messages.
            text: The file's text, to give problems their line numbers.
            base_dir: Directory that relative task files are found in.

        Raises:
            SweepValidationError: Listing every problem at once.
        """
        found = Problems()
        if not isinstance(data, Mapping):
            raise SweepValidationError(
                [Problem("", "(file)", expected("a table of sections", data))], source)
        for key in data:
            if key not in TOP_KEYS:
                found.add("", str(key), f"unknown key{suggest(str(key), TOP_KEYS)}; valid "
                                        f"top-level keys: {', '.join(TOP_KEYS)}")

        def table(where: tuple[str, str], value: Any) -> dict[str, Any]:
            if value is None:
                return {}
            if not isinstance(value, Mapping):
                found.add(*where, expected("a table", value))
                return {}
            return dict(value)

        task_name: Any = ""
        task_params: dict[str, Any] = {}
        task = data.get("task")
        if task is None:
            found.add("", "task", "missing: add a [task] table with name = TASK")
        elif not isinstance(task, Mapping):
            found.add("", "task", expected("a table with name (and params)", task))
        else:
            for key in task:
                if key not in ("name", "params"):
                    found.add("task", str(key), "unknown key; [task] has name and params")
            task_name = task.get("name", "")
            if "name" not in task:
                found.add("task", "name", "missing: the task name or file.py:Class")
            task_params = table(("task", "params"), task.get("params"))
        axes = table(("", "axes"), data.get("axes"))
        for key in axes:
            if key not in ("seeds", "grid", "zip"):
                found.add("axes", str(key), f"unknown key{suggest(str(key), ['seeds'])}; "
                          "[axes] has seeds, grid (a table) and zip (a table or an array of "
                          "tables); put axes such as spec.N_rec in [axes.grid] or [axes.zip]")
        grid = flatten(table(("axes", "grid"), axes.get("grid")))
        raw_zip = axes.get("zip", [])
        zipped: list[dict[str, Any]] = []
        if isinstance(raw_zip, Mapping):
            zipped = [flatten(raw_zip)]
        elif isinstance(raw_zip, list) and all(isinstance(g, Mapping) for g in raw_zip):
            zipped = [flatten(g) for g in raw_zip]
        else:
            found.add("axes", "zip", expected("a table or an array of tables", raw_zip))
        results = table(("", "results"), data.get("results"))
        for key in results:
            if key != "criterion":
                found.add("results", str(key), "unknown key; [results] has criterion")
        kwargs = {
            "task": task_name,
            "task_params": task_params,
            "spec": table(("", "spec"), data.get("spec")),
            "training": table(("", "training"), data.get("training")),
            "backend": data.get("backend"),
            "device": data.get("device"),
            "seeds": axes.get("seeds", [0]),
            "grid": grid,
            "zipped": zipped,
            "curricula": table(("", "curricula"), data.get("curricula")),
            "resources": table(("", "resources"), data.get("resources")),
            "criterion": results.get("criterion"),
            "name": data.get("name"),
            "base_dir": base_dir,
        }
        return cls(**kwargs, problems=found.items, source=source, text=text)

    def to_dict(self) -> dict[str, Any]:
        """The file structure (``Sweep.from_dict(s.to_dict())`` is an equal sweep)."""
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        if self.backend is not None:
            out["backend"] = self.backend
        if self.device is not None:
            out["device"] = self.device
        out["task"] = {"name": self.task, "params": dict(self.task_params)}
        out["spec"] = dict(self.spec)
        out["training"] = dict(self.training)
        if self.curricula:
            out["curricula"] = {k: dict(v) for k, v in self.curricula.items()}
        out["axes"] = {"seeds": list(self.seeds), "grid": dict(self.grid),
                       "zip": [dict(g) for g in self.zipped]}
        out["resources"] = dict(self.resources)
        out["results"] = {} if self.criterion is None else {"criterion": self.criterion}
        return out

    # ------------------------------------------------------------------ derived
    @property
    def axes(self) -> list[str]:
        """Axis names in run-name order: ``seed``, the grid axes, then the zipped axes."""
        return ["seed", *self.grid, *(k for g in self.zipped for k in g)]

    @property
    def num_cpus(self) -> float:
        """CPUs per run (``resources.num_cpus``, default 1)."""
        return float(self.resources.get("num_cpus", 1))

    @property
    def num_gpus(self) -> float:
        """GPUs per run on Ray (``resources.num_gpus``, default 0)."""
        return float(self.resources.get("num_gpus", 0))

    @property
    def criterion_value(self) -> float | None:
        """``criterion``, else ``training.performance_cutoff``, else None."""
        if self.criterion is not None:
            return float(self.criterion)
        cutoff = self.training.get("performance_cutoff")
        return None if cutoff in (None, NONE) else float(cutoff)

    def default_workers(self) -> int:
        """``resources.workers``, else ``cpu_count // num_cpus`` (at least 1)."""
        if "workers" in self.resources:
            return int(self.resources["workers"])
        return max(1, int((os.cpu_count() or 1) // max(self.num_cpus, 1)))

    def resolved_task(self) -> str:
        """The task name, or ``file.py:Class`` with the file's absolute path."""
        return _resolve_task(self.task, self.base_dir)

    def runs(self) -> list[RunConfig]:
        """Every combination, seeds outermost (so early runs cover every condition).

        Raises:
            ValueError: If a run names no backend and no default can be picked (see
                :func:`psychcore.plugins.resolve_backend`; the message lists the installed
                backends and how to choose one).
        """
        task = self.resolved_task()
        cls = _task_class(task)
        threads = max(1, int(round(self.num_cpus)))
        short = short_names(self.axes)
        out = []
        default: str | None = None
        for index, values in enumerate(self._combinations()):
            task_params, spec, training, backend = self._merged(values, cls)
            if backend is None:
                default = default or resolve_backend(None)
                backend = default
            cur_name = training.pop("curriculum")
            curriculum = None
            if cur_name is not None:
                curriculum = {"name": cur_name, **_curriculum_stages(self.curricula[cur_name])}
            out.append(RunConfig(
                index=index, name=run_name(values, short), values=values,
                seed=int(values["seed"]), task=task, task_params=task_params, spec=spec,
                training=training, curriculum=curriculum, backend=backend,
                device=None if self.device in (None, NONE) else self.device, threads=threads,
            ))
        return out

    # ------------------------------------------------------------------ internals
    def _combinations(self, skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
        """Axis -> value for every run (seed first); axes in ``skip`` (found invalid) and
        zipped groups of unequal lengths are left out."""
        factors: list[list[dict[str, Any]]] = [[{"seed": s} for s in self.seeds]]
        factors += [[{k: v} for v in values] for k, values in self.grid.items()
                    if k not in skip and isinstance(values, list) and values]
        for group in self.zipped:
            keys = [k for k, v in group.items()
                    if k not in skip and isinstance(v, list) and v]
            if len({len(group[k]) for k in keys}) != 1:
                continue
            factors.append([dict(zip(keys, row, strict=True))
                            for row in zip(*(group[k] for k in keys), strict=True)])
        combos = []
        for parts in itertools.product(*factors):
            merged: dict[str, Any] = {}
            for part in parts:
                merged.update(part)
            combos.append(merged)
        return combos

    def _merged(self, values: Mapping[str, Any], cls: type | None
                ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], str | None]:
        """Task params, spec, training options and backend of one combination."""
        task_params = dict(self.task_params)
        spec = dict(self.spec)
        training = dict(TRAINING_DEFAULTS)
        training.update(self.training)
        backend = self.backend
        for axis, value in values.items():
            ns, key = split_axis(axis)
            if ns == "task":
                task_params[key] = value
            elif ns == "spec":
                spec[key] = value
            elif ns == "training":
                training[key] = value
            elif ns == "backend":
                backend = value
        task_params = {k: (None if v == NONE and _none_default(cls, k) else v)
                       for k, v in task_params.items()}
        spec = {k: (None if v == NONE and _spec_default(k) is None else v)
                for k, v in spec.items()}
        for key in ("performance_cutoff", "curriculum"):
            if training[key] == NONE:
                training[key] = None
        return task_params, spec, training, backend

    def _normalise(self, found: Problems) -> None:
        seeds = self.seeds
        if isinstance(seeds, range):
            seeds = list(seeds)
        elif isinstance(seeds, Mapping):
            start, count = seeds.get("start", 0), seeds.get("count")
            extra = sorted(set(seeds) - {"start", "count"})
            if extra or not is_int(start) or not is_int(count, 1):
                found.add("axes", "seeds", expected(
                    "a list of ints >= 0 or {start = INT, count = INT}", dict(seeds)))
                seeds = [0]
            else:
                seeds = list(range(start, start + count))
        self.seeds = seeds
        if isinstance(self.zipped, Mapping):
            self.zipped = [flatten(self.zipped)]
        if isinstance(self.grid, Mapping):
            self.grid = flatten(self.grid)
        if isinstance(self.zipped, list):
            self.zipped = [flatten(g) if isinstance(g, Mapping) else g for g in self.zipped]


# ---------------------------------------------------------------------- validation
def _validate(sweep: SweepDescription, found: Problems) -> None:
    """Add every problem of ``sweep`` to ``found``."""
    cls = _check_top(sweep, found)
    _check_params(sweep, cls, found)
    _check_training(sweep, found)
    _check_resources(sweep, found)
    _check_curricula(sweep, cls, found)
    axis_table = _check_axes(sweep, cls, found)
    if cls is None:
        return
    # the combinations are checked with what is valid so far: every value error of every
    # valid axis is reported together with the structural problems
    skip = frozenset(p.key for p in found.items if p.table in ("axes.grid", "axes.zip"))
    bad = {p.table.split(".", 1)[1] if p.table.startswith("curricula.") else p.key
           for p in found.items if p.table.startswith("curricula")}
    bad |= {p.key for p in found.items if p.table == "training" and p.key == "curriculum"}
    _check_names(sweep, skip, found)
    _check_combinations(sweep, cls, axis_table, skip, bad, found)


def _check_top(sweep: SweepDescription, found: Problems) -> type | None:
    if sweep.name is not None and not isinstance(sweep.name, str):
        found.add("", "name", expected("a string", sweep.name))
    if sweep.backend is not None and (not isinstance(sweep.backend, str) or not sweep.backend):
        found.add("", "backend", expected('a backend name (e.g. "torch"), or no backend key '
                                          "for the default backend", sweep.backend))
    if sweep.device is not None and not isinstance(sweep.device, str):
        found.add("", "device", expected('a device name (e.g. "cpu", "cuda")', sweep.device))
    if sweep.criterion is not None and not (is_number(sweep.criterion)
                                            and 0 < sweep.criterion <= 1):
        found.add("results", "criterion", expected("an accuracy in (0, 1]", sweep.criterion))
    for attr, table in (("task_params", "task.params"), ("spec", "spec"),
                        ("training", "training"), ("curricula", "curricula"),
                        ("resources", "resources"), ("grid", "axes.grid")):
        if not isinstance(getattr(sweep, attr), Mapping):
            found.add(table, "", expected("a table", getattr(sweep, attr)))
            setattr(sweep, attr, {})
    if not isinstance(sweep.zipped, list) or not all(isinstance(g, Mapping)
                                                     for g in sweep.zipped):
        found.add("axes", "zip", expected("a table or a list of tables", sweep.zipped))
        sweep.zipped = []
    if not isinstance(sweep.task, str) or not sweep.task:
        if sweep.task != "":
            found.add("task", "name", expected("a task name or file.py:Class", sweep.task))
        return None
    task = _resolve_task(sweep.task, sweep.base_dir)
    try:
        return _task_class(task, strict=True)
    except (ValueError, TypeError, ImportError, SyntaxError) as exc:
        found.add("task", "name", str(exc).splitlines()[0])
        return None


def _accepted(cls: type) -> tuple[list[str], bool]:
    params = inspect.signature(cls).parameters
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
    names = [n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    return names, var_kw


def _check_params(sweep: SweepDescription, cls: type | None, found: Problems) -> None:
    from .._spec import BOUND_KEYS

    fields = [f.name for f in dataclasses.fields(_spec_class())]
    for key in sweep.spec:
        if key in BOUND_KEYS:
            found.add("spec", key, "is set by the task (N_in, N_out, dt, tau come from it); "
                                   "set dt and tau in [task.params]")
        elif key not in fields:
            found.add("spec", key, f"unknown ModelSpec field{suggest(key, fields)}")
    if cls is None:
        return
    names, var_kw = _accepted(cls)
    for key in sweep.task_params:
        if key == "seed":
            found.add("task.params", key, "the task's seed is the run's seed: use [axes] seeds")
        elif key not in names and not var_kw:
            found.add("task.params", key, f"{cls.__name__} has no parameter '{key}'"
                      f"{suggest(key, names)}; its parameters: {', '.join(names)}")


def _check_training(sweep: SweepDescription, found: Problems) -> None:
    for key, value in sweep.training.items():
        problem = training_problem(key, value)
        if problem is not None:
            found.add("training", key, problem + (suggest(key, list(TRAINING_DEFAULTS))
                                                  if key not in TRAINING_DEFAULTS else ""))


def _check_resources(sweep: SweepDescription, found: Problems) -> None:
    for key, value in sweep.resources.items():
        if key not in RESOURCE_KEYS:
            found.add("resources", key, f"unknown key{suggest(key, RESOURCE_KEYS)}; valid: "
                                        f"{', '.join(RESOURCE_KEYS)}")
        elif key == "workers" and not is_int(value, 1):
            found.add("resources", key, expected("a positive int", value))
        elif key == "num_cpus" and not (is_number(value) and value > 0):
            found.add("resources", key, expected("a positive number", value))
        elif key == "num_gpus" and not (is_number(value) and value >= 0):
            found.add("resources", key, expected("a number >= 0", value))


def _check_curricula(sweep: SweepDescription, cls: type | None, found: Problems) -> None:
    names = _accepted(cls) if cls is not None else None
    for name, cur in sweep.curricula.items():
        table = f"curricula.{name}"
        if name == NONE:
            found.add("curricula", name, '"none" means no curriculum; choose another name')
            continue
        if not isinstance(cur, Mapping):
            found.add("curricula", name, expected("a table with param and values, or stages",
                                                  cur))
            continue
        for key in cur:
            if key not in CURRICULUM_KEYS:
                found.add(table, key, f"unknown key{suggest(key, CURRICULUM_KEYS)}; valid: "
                                      f"{', '.join(CURRICULUM_KEYS)}")
        n = 0
        if "stages" in cur:
            stages = cur["stages"]
            if not (isinstance(stages, list) and stages
                    and all(isinstance(s, Mapping) for s in stages)):
                found.add(table, "stages", expected("a non-empty list of tables of task "
                                                    "parameters", stages))
            else:
                n = len(stages)
                for stage in stages:
                    for key in stage:
                        _check_task_key(key, names, cls, table, "stages", found)
            if "param" in cur or "values" in cur:
                found.add(table, "stages", "give either stages or param and values, not both")
        elif "param" in cur or "values" in cur:
            param, values = cur.get("param"), cur.get("values")
            if not isinstance(param, str):
                found.add(table, "param", expected("the name of a task parameter", param))
            else:
                _check_task_key(param, names, cls, table, "param", found)
            if not (isinstance(values, list) and values):
                found.add(table, "values", expected("a non-empty list of values", values))
            else:
                n = len(values)
        else:
            found.add("curricula", name, "needs param and values (one task parameter per "
                                         "stage) or stages (a table of task parameters each)")
        if "threshold" in cur and "thresholds" in cur:
            found.add(table, "thresholds", "give threshold or thresholds, not both")
        if "threshold" in cur and not is_number(cur["threshold"]):
            found.add(table, "threshold", expected("a number", cur["threshold"]))
        if "thresholds" in cur:
            th = cur["thresholds"]
            if not (isinstance(th, list) and all(is_number(t) for t in th)) or (
                    n and len(th) != n):
                found.add(table, "thresholds", expected(f"a list of {n or 'stage'} numbers "
                                                        "(one per stage)", th))
        if "metric_epoch" in cur and not is_int(cur["metric_epoch"], 1):
            found.add(table, "metric_epoch", expected("a positive int", cur["metric_epoch"]))
    used = [(("training", "curriculum"), sweep.training.get("curriculum"))]
    for table, group in _axis_groups(sweep):
        if isinstance(group.get("training.curriculum"), list):
            used += [((table, "training.curriculum"), v) for v in group["training.curriculum"]]
    for (table, key), value in used:
        if value is None or value == NONE or not isinstance(value, str):
            continue
        if value not in sweep.curricula:
            known = ", ".join(sorted(sweep.curricula)) or "none defined"
            found.add(table, key, f"no curriculum named '{value}' in [curricula] ({known}); "
                                  'write "none" for no curriculum')


def _check_task_key(key: str, names: Any, cls: type | None, table: str, where: str,
                    found: Problems) -> None:
    if names is None or cls is None:
        return
    accepted, var_kw = names
    if key not in accepted and not var_kw:
        found.add(table, where, f"{cls.__name__} has no parameter '{key}'"
                                f"{suggest(key, accepted)}")


def _axis_groups(sweep: SweepDescription) -> list[tuple[str, Mapping[str, Any]]]:
    return [("axes.grid", sweep.grid)] + [("axes.zip", g) for g in sweep.zipped]


def _check_axes(sweep: SweepDescription, cls: type | None, found: Problems) -> dict[str, str]:
    seeds = sweep.seeds
    if not isinstance(seeds, list) or not seeds or not all(is_int(s) for s in seeds):
        found.add("axes", "seeds", expected("a non-empty list of ints >= 0 (or {start = 0, "
                                            "count = N})", seeds))
        sweep.seeds = [0]
    elif len(set(seeds)) != len(seeds):
        found.add("axes", "seeds", f"repeats a seed: {seeds}")
    spec_fields = [f.name for f in dataclasses.fields(_spec_class())]
    names = _accepted(cls) if cls is not None else None
    where: dict[str, str] = {}
    for index, (table, group) in enumerate(_axis_groups(sweep)):
        lengths = set()
        for axis, values in group.items():
            if axis in where:
                found.add(table, axis, f"is already an axis in [{where[axis]}]; an axis "
                                       "appears once")
            where[axis] = table
            if not isinstance(values, list) or not values:
                found.add(table, axis, expected("a non-empty list of values", values))
                continue
            lengths.add(len(values))
            ns, key = split_axis(axis)
            if axis in ("seed", "seeds"):
                found.add(table, axis, "seeds are set by [axes] seeds")
            elif ns == "backend":
                for v in values:
                    if not isinstance(v, str):
                        found.add(table, axis, expected("a list of backend names", values))
                        break
            elif ns not in NAMESPACES or not key:
                found.add(table, axis, _unnamespaced(axis, spec_fields, names))
            elif ns == "spec" and key not in spec_fields:
                found.add(table, axis, f"unknown ModelSpec field{suggest(key, spec_fields)}")
            elif ns == "spec" and key in ("N_in", "N_out", "dt", "tau"):
                found.add(table, axis, "is set by the task; sweep task.dt or task.tau instead")
            elif ns == "task":
                if key == "seed":
                    found.add(table, axis, "seeds are set by [axes] seeds")
                else:
                    _check_task_key(key, names, cls, table, axis, found)
            elif ns == "training":
                for v in values:
                    problem = training_problem(key, v)
                    if problem is not None:
                        found.add(table, axis, problem if key not in TRAINING_DEFAULTS
                                  else f"value {v!r}: {problem}")
        if table == "axes.zip" and len(lengths) > 1:
            sizes = ", ".join(f"{k} has {len(v)}" for k, v in group.items()
                              if isinstance(v, list))
            label = f"group {index}" if len(sweep.zipped) > 1 else "the group"
            found.add(table, "", f"zipped axes must have the same number of values ({label}: "
                                 f"{sizes}); use [axes.grid] for every combination")
    return where


def _unnamespaced(axis: str, spec_fields: list[str], names: Any) -> str:
    options = []
    if axis in spec_fields:
        options.append(f"spec.{axis}")
    if names is not None and (axis in names[0]):
        options.append(f"task.{axis}")
    if axis in TRAINING_DEFAULTS:
        options.append(f"training.{axis}")
    hint = f"; write {' or '.join(options)}" if options else ""
    return ("unknown axis: an axis is task.PARAM, spec.FIELD, training.OPTION or backend"
            + hint)


def _check_names(sweep: SweepDescription, skip: frozenset[str], found: Problems) -> None:
    short = short_names(sweep.axes)
    seen: dict[str, dict[str, Any]] = {}
    for values in sweep._combinations(skip):
        name = run_name(values, short)
        if name in seen and seen[name] != values:
            found.add("axes", "", f"two runs would share the directory name '{name}' "
                                  f"({seen[name]} and {values}); make the values distinct")
        seen[name] = values


def _check_combinations(sweep: SweepDescription, cls: type, axis_table: Mapping[str, str],
                        skip: frozenset[str], bad_curricula: set[str], found: Problems
                        ) -> None:
    """Build the task and bind the spec of every distinct combination; attribute each error
    to the base table, to one axis value, or to the combination."""
    from .._spec import ModelSpec

    task_name = sweep.resolved_task()
    short = short_names(sweep.axes)
    task_cache: dict[str, tuple[Any, str | None]] = {}
    spec_cache: dict[str, tuple[Any, str | None]] = {}

    def build(params: dict[str, Any]) -> tuple[Any, str | None]:
        key = digest(params)
        if key not in task_cache:
            try:
                task_cache[key] = (build_task(task_name, params, seed=0), None)
            except Exception as exc:  # the task's own validation: any exception
                task_cache[key] = (None, _message(exc))
        return task_cache[key]

    def make_spec(fields: dict[str, Any], task: Any) -> tuple[Any, str | None]:
        key = digest([fields, None if task is None else digest(task.get_task_params())])
        if key not in spec_cache:
            try:
                spec = ModelSpec.from_dict(fields)
                spec_cache[key] = (spec if task is None else spec.bind(task), None)
            except (TypeError, ValueError) as exc:
                spec_cache[key] = (None, _message(exc))
        return spec_cache[key]

    spec_names = {f.name for f in dataclasses.fields(ModelSpec)} - {"N_in", "N_out", "dt",
                                                                       "tau"}
    accepted, var_kw = _accepted(cls)

    def merged(values: Mapping[str, Any]) -> tuple[dict, dict, dict]:
        params, fields, training, _ = sweep._merged(values, cls)
        params = {k: v for k, v in params.items() if var_kw or k in accepted and k != "seed"}
        fields = {k: v for k, v in fields.items() if k in spec_names}
        return params, fields, training

    base_params, base_spec, _ = merged({"seed": 0})

    def keys_of(ns: str) -> set[str]:
        return set(sweep.task_params if ns == "task" else sweep.spec)
    by_message: dict[tuple[str, str], list[str]] = {}
    done: set[str] = set()
    for values in sweep._combinations(skip):
        params, spec_fields, training = merged(values)
        key = digest([params, spec_fields, training.get("curriculum")])
        if key in done:
            continue
        done.add(key)
        name = run_name(values, short)
        task, error = build(params)
        if error is not None:
            _attribute(error, "task", "task.params", values, axis_table, found, by_message,
                       name, lambda p: build({**base_params, **p})[1], keys_of)
        spec, serr = make_spec(spec_fields, None)
        if serr is not None:
            _attribute(serr, "spec", "spec", values, axis_table, found, by_message, name,
                       lambda p: make_spec({**base_spec, **p}, None)[1], keys_of)
        elif task is not None:
            _, berr = make_spec(spec_fields, task)
            if berr is not None:
                by_message.setdefault(("", berr), []).append(name)
        cur = training.get("curriculum")
        if task is not None and cur in sweep.curricula and cur not in bad_curricula:
            _check_stages(sweep, cur, params, task, build, found)
    for (_, message), names in by_message.items():
        more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
        found.add("axes", f"run {names[0]}{more}", message)
    base_task, error = build(base_params)
    if base_task is not None:
        for cur in sweep.curricula:  # also the curricula that no run uses (yet)
            if cur not in bad_curricula and isinstance(sweep.curricula[cur], Mapping):
                _check_stages(sweep, cur, base_params, base_task, build, found)


def _message(exc: BaseException) -> str:
    """The exception's message (with its type unless a ValueError or TypeError)."""
    if type(exc) in (ValueError, TypeError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _attribute(error: str, ns: str, base_table: str, values: Mapping[str, Any],
               axis_table: Mapping[str, str], found: Problems,
               by_message: dict[tuple[str, str], list[str]], name: str, retry: Any,
               base_keys_of: Any) -> None:
    swept = {a: v for a, v in values.items() if split_axis(a)[0] == ns}
    if retry({}) == error:
        # "ModelSpec: dale_ratio must be ..." -> the key dale_ratio of the base table
        head = error.split(":", 1)[-1]
        words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", head)
        base_keys = base_keys_of(ns)
        key = next((w for w in words[:3] if w in base_keys), "")
        found.add(base_table, key, error)
        return
    for axis, value in swept.items():
        if retry({split_axis(axis)[1]: value}) == error:
            found.add(axis_table.get(axis, "axes"), axis, f"value {value!r}: {error}")
            return
    by_message.setdefault((ns, error), []).append(name)


def _check_stages(sweep: SweepDescription, cur: str, params: dict[str, Any], task: Any, build: Any,
                  found: Problems) -> None:
    table = f"curricula.{cur}"
    definition = sweep.curricula[cur]
    where = "stages" if "stages" in definition else "values"
    for i, stage in enumerate(_curriculum_stages(definition)["stages"]):
        stage_task, error = build({**params, **stage})
        if error is not None:
            found.add(table, where, f"stage {i} ({stage}): {error}")
            continue
        mismatched = [k for k in ("N_in", "N_out", "dt", "tau")
                      if getattr(stage_task, k) != getattr(task, k)]
        if mismatched:
            found.add(table, where, f"stage {i} ({stage}) changes {', '.join(mismatched)}; "
                                    "every stage must fit the same network")


def _curriculum_stages(definition: Mapping[str, Any]) -> dict[str, Any]:
    """``{"stages": [params per stage], "thresholds": [...], "metric_epoch": int}``."""
    if "stages" in definition:
        stages = [dict(s) for s in definition["stages"]]
    else:
        stages = [{definition["param"]: v} for v in definition["values"]]
    if "thresholds" in definition:
        thresholds = [float(t) for t in definition["thresholds"]]
    else:
        thresholds = [float(definition.get("threshold", 0.9))] * len(stages)
    return {"stages": stages, "thresholds": thresholds,
            "metric_epoch": int(definition.get("metric_epoch", 10))}


# ---------------------------------------------------------------------- helpers
def _spec_class() -> type:
    from .._spec import ModelSpec

    return ModelSpec


def _spec_default(key: str) -> Any:
    for f in dataclasses.fields(_spec_class()):
        if f.name == key:
            return f.default if f.default is not dataclasses.MISSING else ()
    return ()


def _none_default(cls: type | None, key: str) -> bool:
    if cls is None:
        return False
    param = inspect.signature(cls).parameters.get(key)
    return param is not None and param.default is None


def _resolve_task(task: str, base_dir: str | os.PathLike | None) -> str:
    """``file.py:Class`` with an absolute path (relative to ``base_dir``, else the working
    directory); a task name unchanged."""
    if not isinstance(task, str) or ":" not in task:
        return task
    path_text, _, cls_name = task.partition(":")
    if not path_text.endswith(".py"):
        return task
    path = Path(path_text)
    if not path.is_absolute():
        candidates = ([Path(base_dir) / path] if base_dir is not None else []) + [path]
        path = next((c for c in candidates if c.is_file()), candidates[0])
    return f"{path.resolve()}:{cls_name}"


def _task_class(task: str, strict: bool = False) -> type | None:
    try:
        return get_task(task)
    except (ValueError, TypeError):
        if strict:
            raise
        return None


def _toml() -> Any:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError as exc:
            raise ImportError('reading TOML on Python 3.10 needs tomli: pip install '
                              '"psychcore[sweep]" (or tomli); or write the sweep as JSON') from exc
    return tomllib


def _yaml() -> Any:
    try:
        import yaml
    except ModuleNotFoundError as exc:
        raise ImportError("YAML sweep files need pyyaml: pip install pyyaml; or use TOML"
                          ) from exc
    return yaml
