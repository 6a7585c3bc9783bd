"""run_bench: time one task and spec on every backend, each in its own child process."""

from __future__ import annotations

import json
import os
import pickle
import platform
import site
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_text
from .._plugins import backends as installed_backends
from .._plugins import get_backend, resolve_backend
from .._spec import ModelSpec
from .._task import Task
from ._floor import combine_floors, step_flops, step_products
from ._worker import _stats, timed

#: Environment variables that set the thread pools of BLAS, OpenMP and the frameworks.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "XLA_FLAGS")


@dataclass
class BackendTiming:
    """One backend's measurements at one ``N_rec`` (seconds; see :func:`run_bench`)."""

    backend: str
    first_step_s: float | None = None
    step: dict[str, Any] | None = None
    forward: dict[str, Any] | None = None
    x_floor: float | None = None
    forward_x_floor: float | None = None
    peak_rss_mb: float | None = None
    build_s: float | None = None
    first_step_call_s: float | None = None
    first_forward_call_s: float | None = None
    losses: dict[str, Any] | None = None
    error: str | None = None
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ToAccuracy:
    """Training to a performance cutoff from process start, several seeds per backend (see
    :func:`run_bench`'s ``to_accuracy``); ``runs`` maps each backend to one dict per seed
    (``{"error": ...}`` for a seed whose child failed), ``skipped`` the backends not run."""

    cutoff: float
    N_rec: int
    seeds: list[int]
    max_trials: int
    test_trials: int
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every child ran (a seed that did not reach the cutoff is still ok)."""
        return not any("error" in r for runs in self.runs.values() for r in runs)

    def summary(self, backend: str) -> dict[str, Any]:
        """Median, min and max seconds and median trials over the seeds that reached the
        cutoff, how many did, and the test accuracies of all that ran."""
        runs = [r for r in self.runs.get(backend, []) if "error" not in r]
        reached = [r for r in runs if r["reached"]]
        out: dict[str, Any] = {"seeds": len(self.runs.get(backend, [])), "ran": len(runs),
                               "reached": len(reached),
                               "not_reached_seeds": [r["seed"] for r in runs
                                                     if not r["reached"]],
                               "failed_seeds": [r["seed"] for r in self.runs.get(backend, [])
                                                if "error" in r]}
        if reached:
            seconds = [r["seconds"] for r in reached]
            out.update(median_s=statistics.median(seconds), min_s=min(seconds),
                       max_s=max(seconds),
                       median_trials=statistics.median(r["trials"] for r in reached))
        if runs:
            acc = [r["test_accuracy"] for r in runs]
            out.update(min_test_accuracy=min(acc), max_test_accuracy=max(acc))
            peaks = [r["peak_rss_mb"] for r in runs if r.get("peak_rss_mb") is not None]
            out["peak_rss_mb"] = max(peaks) if peaks else None
        return out

    @property
    def fastest(self) -> str | None:
        """The backend with the smallest median seconds among those that reached the cutoff
        in every seed (None if none did)."""
        done = {}
        for name in self.runs:
            summary = self.summary(name)
            if summary["seeds"] and summary["reached"] == summary["seeds"]:
                done[name] = summary["median_s"]
        return min(done, key=done.get) if done else None

    def to_dict(self) -> dict[str, Any]:
        """Every run and each backend's summary, JSON-serialisable."""
        return {
            "cutoff": self.cutoff, "N_rec": self.N_rec, "seeds": self.seeds,
            "max_trials": self.max_trials, "test_trials": self.test_trials,
            "timing": "seconds from the parent's clock just before it starts each child "
                      "process to the training's return in the child",
            "fastest": self.fastest, "skipped": self.skipped,
            "backends": {name: {"summary": self.summary(name), "runs": runs}
                         for name, runs in self.runs.items()},
        }

    def format(self) -> list[str]:
        """The lines ``psychcore bench`` prints."""
        seeds = (f"seed {self.seeds[0]}" if len(self.seeds) == 1
                 else f"seeds {self.seeds[0]}-{self.seeds[-1]}")
        lines = [f"time to {self.cutoff:g} accuracy from process start, N_rec={self.N_rec} "
                 f"({seeds}, one process each; at most {self.max_trials} trials; cutoff "
                 f"checked on the model's validation set; test accuracy on "
                 f"{self.test_trials} fresh trials):"]
        width = max([len(n) for n in [*self.runs, *self.skipped]] or [0])
        for name, why in self.skipped.items():
            lines.append(f"  {name:<{width}}  not run: {why}")
        for name, runs in self.runs.items():
            s = self.summary(name)
            parts = []
            if s["reached"]:
                parts.append(f"median {s['median_s']:.1f} s [{s['min_s']:.1f}-"
                             f"{s['max_s']:.1f}], median {s['median_trials']:.0f} trials, "
                             f"reached {self.cutoff:g} in {s['reached']} of {s['seeds']} seeds")
            for r in runs:
                if "error" in r:
                    parts.append(f"seed {r['seed']} FAILED: {r['error']}")
                elif not r["reached"]:
                    parts.append(f"seed {r['seed']} did NOT reach {self.cutoff:g} within "
                                 f"{self.max_trials} trials (test accuracy "
                                 f"{r['test_accuracy']:.3f} after {r['trials']} trials, "
                                 f"{r['seconds']:.1f} s)")
            if s["ran"]:
                parts.append(f"test accuracy {s['min_test_accuracy']:.3f}-"
                             f"{s['max_test_accuracy']:.3f}")
                if s["peak_rss_mb"] is not None:
                    parts.append(f"peak memory {s['peak_rss_mb']:.0f} MB")
            lines.append(f"  {name:<{width}}  " + "; ".join(parts))
        fastest = self.fastest
        if fastest is not None:
            lines.append(f"fastest to {self.cutoff:g} accuracy (median over seeds, every seed "
                         f"reaching it): {fastest} ({self.summary(fastest)['median_s']:.1f} s)")
        else:
            lines.append(f"no backend reached {self.cutoff:g} accuracy in every seed")
        return lines


@dataclass
class SizeResult:
    """Every backend at one ``N_rec``, with the floor."""

    N_rec: int
    floor: dict[str, Any]
    timings: list[BackendTiming]

    @property
    def fastest(self) -> str | None:
        """The backend with the smallest median training step (None if none ran)."""
        done = [t for t in self.timings if t.ok and t.step]
        return min(done, key=lambda t: t.step["median"]).backend if done else None

    def ratios(self) -> dict[str, float]:
        """Each backend's median step over the fastest one's."""
        done = {t.backend: t.step["median"] for t in self.timings if t.ok and t.step}
        if not done:
            return {}
        best = min(done.values())
        return {name: value / best for name, value in done.items()}


@dataclass
class BenchResult:
    """The result of :func:`run_bench`; :meth:`format` is the table ``psychcore bench``
    prints, :meth:`to_dict` what ``--json`` writes."""

    task: str
    task_params: dict[str, Any]
    spec: dict[str, Any]
    N_batch: int
    N_steps: int
    dtype: str
    device: str | None
    repeats: int
    warmup: int
    budget_s: float
    batch_generation: dict[str, Any]
    sizes: list[SizeResult]
    machine: dict[str, Any]
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    to_accuracy: ToAccuracy | None = None

    @property
    def ok(self) -> bool:
        """Whether every measurement (floors and training runs included) succeeded."""
        return all(t.ok for s in self.sizes for t in s.timings) and not any(
            "error" in s.floor for s in self.sizes) and (
            self.to_accuracy is None or self.to_accuracy.ok)

    def to_dict(self) -> dict[str, Any]:
        """Every number, JSON-serialisable."""
        return {
            "ok": self.ok,
            "task": self.task,
            "task_params": self.task_params,
            "spec": self.spec,
            "N_batch": self.N_batch,
            "N_steps": self.N_steps,
            "dtype": self.dtype,
            "device": self.device,
            "repeats": self.repeats,
            "warmup": self.warmup,
            "budget_s": self.budget_s,
            "batch_generation": self.batch_generation,
            "machine": self.machine,
            "versions": self.versions,
            "results": [{
                "N_rec": s.N_rec,
                "floor": s.floor,
                "fastest": s.fastest,
                "ratios": s.ratios(),
                "backends": {t.backend: {k: v for k, v in vars(t).items() if k != "backend"}
                             for t in s.timings},
            } for s in self.sizes],
            "to_accuracy": None if self.to_accuracy is None else self.to_accuracy.to_dict(),
        }

    def format(self) -> str:
        """The human-readable tables and verdicts."""
        m = self.machine
        shown = {k: self.task_params[k] for k in ("dt", "tau", "T") if k in self.task_params}
        lines = [
            f"psychcore bench: {self.task} ({_params(shown)}), N_batch="
            f"{self.N_batch}, {self.N_steps} time steps, {self.spec.get('architecture')}, "
            f"{self.dtype}, device {self.device or 'default'}",
            f"training step: Adam with clipping on one fixed batch; median [min-max] of up to "
            f"{self.repeats} steps after the first and {self.warmup} warm-up, at most "
            f"{self.budget_s:g} s each measurement; forward pass on the same batch",
            f"batch generation (task.get_trial_batch, same for every backend): "
            f"{_ms(self.batch_generation['median'])} ms median",
        ]
        for size in self.sizes:
            f = size.floor
            if "error" in f:
                lines += ["", f"N_rec={size.N_rec}: floor FAILED: {f['error']}"]
            else:
                lines += ["", f"N_rec={size.N_rec}: floor {_ms(f['step_s'])} ms "
                              f"({f['gflop']:.3g} GFLOP of matrix products as NumPy GEMMs of "
                              f"the step's shapes, {_floor_threads(f['threads'])}; at the "
                              f"{f['peak_gflops']:.0f} GFLOP/s peak of a large GEMM: "
                              f"{_ms(f['floor_at_peak_s'])} ms)"]
            header = ("backend", "first step from start", "step median [min-max]",
                      "forward median", "x floor", "peak memory")
            rows = [header]
            for t in size.timings:
                if t.skipped is not None:
                    rows.append((t.backend, f"SKIPPED, cannot run here: {t.skipped}",
                                 "", "", "", ""))
                    continue
                if not t.ok:
                    rows.append((t.backend, f"FAILED: {t.error}", "", "", "", ""))
                    continue
                rows.append((
                    t.backend, f"{t.first_step_s:.2f} s",
                    f"{_ms(t.step['median'])} [{_ms(t.step['min'])}-{_ms(t.step['max'])}] ms",
                    f"{_ms(t.forward['median'])} ms",
                    "n/a" if t.x_floor is None else f"{t.x_floor:.1f}x",
                    "n/a" if t.peak_rss_mb is None else f"{t.peak_rss_mb:.0f} MB"))
            width = [max(len(r[i]) for r in rows if not r[1].startswith(("FAILED", "SKIP")))
                     for i in range(len(header))]
            for r in rows:
                if r[1].startswith(("FAILED", "SKIP")):
                    lines.append(f"  {r[0]:<{width[0]}}  {r[1]}")
                else:
                    lines.append("  " + "  ".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}"
                                                  for i, (c, w) in enumerate(zip(r, width,
                                                                                 strict=True))))
        lines.append("")
        for size in self.sizes:
            lines.append(_verdict(size))
        if self.to_accuracy is not None:
            lines += ["", *self.to_accuracy.format()]
        lines += [
            "",
            f"load average (1, 5, 15 min): start {_load(m['load_start'])}, end "
            f"{_load(m['load_end'])}; {m['cpu_count']} CPUs ({m['cpus_usable']} usable)",
            f"threads: {m['threads']}",
            "versions: " + "; ".join(
                [f"python {m['python']}", f"numpy {m['numpy']}", f"psychcore {m['psychcore']}"]
                + [f"{b}: " + ", ".join(f"{k} {v}" for k, v in vs.items())
                   for b, vs in self.versions.items()]),
        ]
        return "\n".join(lines)


def _floor_threads(threads: int | Sequence[int]) -> str:
    counts = [threads] if isinstance(threads, int) else list(threads)
    if len(counts) == 1:
        return f"{counts[0]} thread{'s' if counts[0] != 1 else ''}"
    return (f"each product at its faster of {', '.join(map(str, counts[:-1]))} and "
            f"{counts[-1]} threads")


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def _load(load: Sequence[float] | None) -> str:
    return "n/a" if load is None else " ".join(f"{v:.2f}" for v in load)


def _verdict(size: SizeResult) -> str:
    fastest = size.fastest
    if fastest is None:
        return f"N_rec={size.N_rec}: no backend ran"
    ratios = size.ratios()
    step = next(t.step["median"] for t in size.timings if t.backend == fastest)
    others = ", ".join(f"{name} {ratio:.2f}x slower" for name, ratio in
                       sorted(ratios.items(), key=lambda kv: kv[1]) if name != fastest)
    return (f"N_rec={size.N_rec}: fastest training step: {fastest} ({_ms(step)} ms)"
            + (f"; {others}" if others else ""))


def _getloadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):  # Windows
        return None


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _thread_settings(threads: int | None) -> str:
    given = {k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ}
    env = ", ".join(f"{k}={v}" for k, v in given.items()) or "no thread variables set"
    if threads:
        return (f"--threads {threads}: OMP/MKL/OpenBLAS variables set to {threads} in every "
                f"child and each backend's limit_threads({threads}) (here: {env})")
    floor = _floor_threads(sorted({1, _usable_cpus()}))
    return f"each framework's default ({env}); the floor: {floor}"


def _child_env(threads: int | None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # the child imports this psychcore: a source checkout's is put first on its path (an
    # installed one is found anyway, and site-packages must not go ahead of the stdlib)
    here = str(Path(__file__).resolve().parents[2])
    installed = {str(Path(p).resolve()) for p in
                 [*site.getsitepackages(), site.getusersitepackages()]}
    if here not in installed:
        env["PYTHONPATH"] = os.pathsep.join([here, *filter(None, [env.get("PYTHONPATH")])])
    if threads:
        for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[key] = str(threads)
    return env


def _run_child(config: dict[str, Any], workdir: Path, name: str,
               env: dict[str, str]) -> tuple[dict[str, Any], float]:
    """Run one worker; returns its result and the wall-clock time it was started."""
    cfg, out = workdir / f"{name}.json", workdir / f"{name}.result.json"
    cfg.write_text(json.dumps(config), encoding="utf-8")
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "psychcore.bench._worker", str(cfg), str(out)],
                          env=env, capture_output=True, text=True)
    if out.exists():
        result = json.loads(out.read_text(encoding="utf-8"))
    else:
        tail = (proc.stderr or "").strip().splitlines()
        result = {"error": f"the child process exited with status {proc.returncode}"
                           + (f": {tail[-1]}" if tail else "")}
    return result, started


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"{name} must be {kind} int; received {value!r}")
    return int(value)


def run_bench(
    task: Task,
    spec: ModelSpec,
    backends: Sequence[str] | None = None,
    *,
    N_rec: Sequence[int] | None = None,
    repeats: int = 10,
    warmup: int = 1,
    budget: float = 10.0,
    seed: int = 0,
    device: str | None = None,
    threads: int | None = None,
    learning_rate: float = 1e-3,
    to_accuracy: float | None = None,
    seeds: int = 5,
    max_trials: int = 100_000,
    test_trials: int = 512,
    progress: Callable[[str], None] | None = None,
) -> BenchResult:
    """Time a training step and a forward pass of ``spec`` on ``task`` on several backends.

    For each ``N_rec`` and each backend, one after another (never two at once), a fresh
    Python process (``python -m psychcore.bench._worker``) builds the backend from weights
    drawn from ``seed``, configures ``"adam"`` with clipping, and runs on one fixed batch
    drawn once from ``seed`` in this process:

    - the first training step; *first step from start* is the wall-clock time from starting
      the child to that step done: interpreter start, imports, plugin lookup, weights,
      building the backend, compiling and the step (not the batch, timed on its own);
    - ``warmup`` more steps, untimed; then up to ``repeats`` timed steps (median, min, max,
      quartiles), stopping early once ``budget`` seconds are spent (at least 3 steps);
    - one untimed forward pass (compilation), then forward passes timed in the same way;
    - the child's peak resident memory (``VmHWM`` on Linux, else ``ru_maxrss``).

    Before the backends, children measure the floor (:mod:`psychcore.bench._floor`): the
    step's matrix products as NumPy GEMMs of their shapes, each product at its faster of 1
    thread and every usable core (two children, the BLAS thread count set in their
    environment; with ``threads``, one child on that many); each backend's median step is
    reported as a multiple of it (``x_floor``). Batch generation (``task.get_trial_batch``)
    is timed here, once, as it is the same for every backend.

    With ``to_accuracy``, after the timings, for the first ``N_rec`` only and each backend
    that ran there: ``seeds`` children one after another, seed ``seed + i`` each, each
    training ``psychcore.Model(task, spec, backend=name, seed=seed + i).train(task,
    training_iters=max_trials, performance_cutoff=to_accuracy, learning_rate=learning_rate,
    verbosity=False)`` (the cutoff checked every 10 steps on the model's 512-trial validation
    set). Each run reports the seconds from process start -- the wall-clock time in this
    process just before it starts the child, to the child's ``train`` returning: interpreter
    start, imports, building, the validation set and the training -- the epochs and trials it
    took, whether the cutoff was reached within ``max_trials`` and the accuracy
    (``task.accuracy_function``) on a fresh batch of ``test_trials`` trials drawn from
    ``numpy.random.default_rng([seed, 2])``. The task reaches the children pickled (a task
    class from a ``path.py:Class`` file is imported from that file there).

    Args:
        task: The task; its ``N_batch`` is the batch size.
        spec: The network; bound to ``task`` here. Its ``dtype`` is used throughout.
        backends: Backend names; ``None``: every installed backend that builds
            ``spec.architecture`` (one that cannot run here, ``Backend.is_available()``,
            is listed as skipped; asked in its child process, so this process imports no
            framework).
        N_rec: Network sizes to measure; ``None``: ``spec.N_rec``.
        repeats: Timed training steps (and forward passes), at most.
        warmup: Untimed training steps after the first.
        budget: Seconds per measurement after which the repetitions stop (at least 3).
        seed: Seed of the weights and the batch.
        device: Passed to every backend (``"cpu"``, ``"cuda"``, ...); None: its default.
        threads: Thread count for every child (BLAS/OpenMP variables and the backend's
            ``limit_threads``) and for the floor; None: the frameworks' defaults, floor on 1.
        learning_rate: Adam's step size (also of the training to ``to_accuracy``).
        to_accuracy: A performance cutoff in (0, 1] to train to from process start (see
            above); None: no training runs.
        seeds: Training runs per backend (seeds ``seed`` to ``seed + seeds - 1``).
        max_trials: Trials each training run may take at most (``training_iters``).
        test_trials: Trials of the test batch scored after each training run.
        progress: Called with a line before each measurement (e.g. ``print``).

    Returns:
        A :class:`BenchResult`. A backend that fails is reported with its error
        (``BenchResult.ok`` is then False); the others are still measured. A training run
        that does not reach ``to_accuracy`` is a result, not a failure.

    Raises:
        TypeError: If ``task`` or ``spec`` have the wrong types.
        ValueError: For an unknown backend, a named one that cannot run here, none to run,
            a backend that cannot build the architecture, bad counts, an ``N_rec`` the
            spec refuses, a ``to_accuracy`` outside (0, 1], or (with ``to_accuracy``) a task
            that cannot be pickled.
    """
    from .. import __version__

    if not isinstance(task, Task):
        raise TypeError(f"task must be a psychcore Task; received {type(task).__name__}")
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"spec must be a ModelSpec; received {type(spec).__name__}")
    repeats = _check_count("repeats", repeats, 1)
    warmup = _check_count("warmup", warmup, 0)
    seed = _check_count("seed", seed, 0)
    if threads is not None:
        threads = _check_count("threads", threads, 1)
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not 0 < budget < 1e9:
        raise ValueError(f"budget must be a positive number of seconds; received {budget!r}")
    seeds = _check_count("seeds", seeds, 1)
    max_trials = _check_count("max_trials", max_trials, 1)
    test_trials = _check_count("test_trials", test_trials, 1)
    if to_accuracy is not None and (
            isinstance(to_accuracy, bool) or not isinstance(to_accuracy, int | float)
            or not 0 < to_accuracy <= 1):
        raise ValueError(f"to_accuracy must be an accuracy in (0, 1]; received "
                         f"{to_accuracy!r}")
    sizes = [spec.N_rec] if N_rec is None else list(N_rec)
    if not sizes:
        raise ValueError("N_rec must name at least one network size; received an empty list")
    for n in sizes:
        _check_count("N_rec", n, 1)
    specs = [spec.replace(N_rec=int(n)).bind(task) for n in sizes]  # validates each size
    # whether a backend can run here (which imports its framework) is asked in its child,
    # so that this process stays free of frameworks
    if backends is None:
        names = [b for b, cls in sorted(installed_backends().items())
                 if spec.architecture in cls.architectures]
        if not names:
            raise ValueError(f"no installed backend builds a {spec.architecture!r} network; "
                             "see `psychcore plugins`")
    else:
        if isinstance(backends, str) or not backends:
            raise ValueError(f"backends must be a non-empty list of backend names; received "
                             f"{backends!r}")
        names = []
        for b in backends:
            name = resolve_backend(b)
            builds = get_backend(name).architectures
            if spec.architecture not in builds:
                raise ValueError(f"backend {name!r} cannot build a {spec.architecture!r} "
                                 f"network (it builds {', '.join(builds)})")
            if name in names:
                raise ValueError(f"backends names {name!r} twice")
            names.append(name)
    say = progress or (lambda line: None)
    load_start = _getloadavg()
    env = _child_env(threads)
    floor_threads = [threads] if threads else sorted({1, _usable_cpus()})
    floor_envs = {}
    for count in floor_threads:
        floor_envs[count] = dict(env)
        for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            floor_envs[count][key] = str(count)

    batch_rng = np.random.default_rng([seed, 1])
    x, y, mask, _ = task.get_trial_batch(batch_rng)
    generation = _stats(timed(lambda: task.get_trial_batch(batch_rng), repeats, budget))
    N_batch, N_steps = int(x.shape[0]), int(x.shape[1])
    versions: dict[str, dict[str, str]] = {}
    unavailable: dict[str, str] = {}
    results: list[SizeResult] = []
    with tempfile.TemporaryDirectory(prefix="psychcore-bench-") as tmp:
        workdir = Path(tmp)
        batch_path = workdir / "batch.npz"
        np.savez(batch_path, x=x, y=y, mask=mask)
        task_ref = _dump_task(task, workdir / "task.pickle") if to_accuracy is not None \
            else None
        for bound in specs:
            products = step_products(bound.architecture, bound.N_rec, bound.N_in, bound.N_out,
                                     N_batch, N_steps)
            floors = {}
            for count in floor_threads:
                say(f"N_rec={bound.N_rec}: floor (NumPy GEMMs, {_floor_threads(count)})")
                floors[count], _ = _run_child(
                    {"mode": "floor", "dtype": bound.dtype,
                     "products": [vars(p) for p in products]},
                    workdir, f"floor-{bound.N_rec}-{count}", floor_envs[count])
            floor = combine_floors(floors)
            flops = step_flops(products)
            floor.update(gflop=flops / 1e9, gflop_forward=step_flops(products, True) / 1e9,
                         dtype=bound.dtype)
            if "error" not in floor:
                floor.update(peak_gflops=floor["peak_flops"] / 1e9,
                             floor_at_peak_s=flops / floor["peak_flops"])
            timings = []
            for name in names:
                if name in unavailable:
                    timings.append(BackendTiming(name, skipped=unavailable[name]))
                    continue
                say(f"N_rec={bound.N_rec}: {name}")
                config = {"mode": "backend", "backend": name, "spec": bound.to_json(None),
                          "batch": str(batch_path), "seed": seed, "device": device,
                          "repeats": repeats, "warmup": warmup, "budget": float(budget),
                          "learning_rate": float(learning_rate), "threads": threads}
                got, started = _run_child(config, workdir, f"{name}-{bound.N_rec}", env)
                if "unavailable" in got:
                    if backends is not None:
                        raise ValueError(f"backend {name!r} cannot run here: "
                                         f"{got['unavailable']}")
                    unavailable[name] = got["unavailable"]
                    timings.append(BackendTiming(name, skipped=got["unavailable"]))
                    continue
                if "error" in got:
                    timings.append(BackendTiming(name, peak_rss_mb=got.get("peak_rss_mb"),
                                                 error=got["error"]))
                    continue
                versions.setdefault(name, got["versions"])
                timings.append(BackendTiming(
                    name, first_step_s=got["first_step_done"] - started, step=got["step"],
                    forward=got["forward"],
                    x_floor=got["step"]["median"] / floor["step_s"] if "step_s" in floor
                    else None,
                    forward_x_floor=got["forward"]["median"] / floor["forward_s"]
                    if "forward_s" in floor else None,
                    peak_rss_mb=got["peak_rss_mb"], build_s=got["build_s"],
                    first_step_call_s=got["first_step_call_s"],
                    first_forward_call_s=got["first_forward_call_s"], losses=got["losses"]))
            results.append(SizeResult(bound.N_rec, floor, timings))
        accuracy = None
        if to_accuracy is not None:
            accuracy = _train_to_accuracy(
                results[0], specs[0], task_ref, workdir, env, say, cutoff=float(to_accuracy),
                seeds=list(range(seed, seed + seeds)), max_trials=max_trials,
                test_trials=test_trials, device=device, threads=threads,
                learning_rate=float(learning_rate))
    machine = {
        "load_start": load_start, "load_end": _getloadavg(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": _usable_cpus(),
        "threads": _thread_settings(threads),
        "thread_variables": {k: os.environ.get(k) for k in THREAD_VARIABLES},
        "python": platform.python_version(), "numpy": np.__version__,
        "psychcore": __version__, "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }
    return BenchResult(
        task=type(task).__name__, task_params=_task_params(task), spec=json.loads(
            specs[0].to_json(None)), N_batch=N_batch, N_steps=N_steps, dtype=spec.dtype,
        device=device, repeats=repeats, warmup=warmup, budget_s=float(budget),
        batch_generation=generation, sizes=results, machine=machine, versions=versions,
        to_accuracy=accuracy)


def _dump_task(task: Task, path: Path) -> dict[str, Any]:
    """Pickle ``task`` to ``path`` for the training children; a class from a task file (or a
    script) is named by its file, as its module name does not exist in another process."""
    cls = type(task)
    try:
        path.write_bytes(pickle.dumps(task))
    except Exception as exc:
        raise ValueError(f"to_accuracy: the task {cls.__name__} cannot be sent to the child "
                         f"processes (pickle says: {type(exc).__name__}: {exc})") from None
    ref: dict[str, Any] = {"path": str(path)}
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    if file and (cls.__module__.startswith("psychcore_user_task_")
                 or cls.__module__ == "__main__"):
        ref.update(module=cls.__module__, source=f"{file}:{cls.__qualname__}")
    return ref


def _train_to_accuracy(size: SizeResult, spec: ModelSpec, task_ref: dict[str, Any] | None,
                       workdir: Path, env: dict[str, str], say: Callable[[str], None], *,
                       cutoff: float, seeds: list[int], max_trials: int, test_trials: int,
                       device: str | None, threads: int | None,
                       learning_rate: float) -> ToAccuracy:
    """The training runs of :func:`run_bench`'s ``to_accuracy``, one child per seed."""
    out = ToAccuracy(cutoff, spec.N_rec, seeds, max_trials, test_trials)
    for timing in size.timings:
        name = timing.backend
        if timing.skipped is not None:
            out.skipped[name] = f"cannot run here: {timing.skipped}"
            continue
        if not timing.ok:
            out.skipped[name] = "its step measurement failed"
            continue
        runs = out.runs.setdefault(name, [])
        for s in seeds:
            say(f"N_rec={spec.N_rec}: {name} to {cutoff:g} accuracy, seed {s}")
            config = {"mode": "accuracy", "backend": name, "spec": spec.to_json(None),
                      "task": task_ref, "seed": s, "device": device, "threads": threads,
                      "learning_rate": learning_rate, "cutoff": cutoff,
                      "max_trials": max_trials, "test_trials": test_trials}
            got, started = _run_child(config, workdir, f"{name}-accuracy-{s}", env)
            if "unavailable" in got:
                got = {"error": f"cannot run here: {got['unavailable']}"}
            if "error" in got:
                runs.append({"seed": s, "error": got["error"],
                             "peak_rss_mb": got.get("peak_rss_mb")})
                continue
            got["seconds"] = got.pop("done") - started
            runs.append(got)
    return out


def _task_params(task: Task) -> dict[str, Any]:
    """The task's scalar parameters (``get_task_params()``), for the report."""
    params = {}
    for key, value in task.get_task_params().items():
        if isinstance(value, bool | int | float | str | np.generic):
            params[key] = value.item() if isinstance(value, np.generic) else value
    return params


def write_json(result: BenchResult, path: str | os.PathLike) -> Path:
    """Write ``result.to_dict()`` to ``path`` atomically (temp file beside it, then rename)."""
    return atomic_write_text(path, json.dumps(result.to_dict(), indent=1), overwrite=True)
