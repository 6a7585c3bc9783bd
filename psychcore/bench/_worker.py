"""The child process of ``psychcore bench``: ``python -m psychcore.bench._worker CONFIG RESULT``.

``CONFIG`` is a JSON file written by :func:`psychcore.bench.run_bench`; the child writes its
measurements to ``RESULT`` (JSON) and exits 0, or writes ``{"error": ...}`` and exits 1. Two
kinds of job (``config["mode"]``):

- ``"backend"``: check that the backend can run here (``{"unavailable": why}`` if not), build
  it on the spec and time its first training step, the warm-up,
  the timed steps and forward passes on the fixed batch in ``config["batch"]`` (an ``.npz``);
  report the wall-clock time the first step finished (the parent subtracts the time it
  started this process), the child's peak resident memory and the versions of the backend
  plugin's distribution and of what it requires.
- ``"floor"``: time the step's matrix products as NumPy GEMMs (:mod:`psychcore.bench._floor`),
  with the thread count set in the environment by the parent before NumPy loads.
- ``"accuracy"``: train ``psychcore.Model(task, spec, backend, seed)`` up to a performance
  cutoff (the task pickled by the parent in ``config["task"]``) and report the wall-clock time
  the training returned (the parent subtracts the time it started this process), the epochs,
  whether the cutoff was reached, the accuracy on a fresh seeded test batch and the peak memory.

Only the parent reads these files; they are not a public format.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np


def peak_rss_mb() -> float | None:
    """This process's peak resident set size in MB (None where it cannot be read).

    On Linux, ``VmHWM`` of ``/proc/self/status``: the peak of this process's own memory
    since it started. Not ``ru_maxrss``, which Linux carries over an ``exec`` from the
    parent's memory at the time it started the child (a parent that imported a framework
    would make every child look as large). Elsewhere ``ru_maxrss`` (bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def timed(fn: Any, repeats: int, budget: float) -> list[float]:
    """Seconds of ``repeats`` calls of ``fn``, fewer when ``budget`` seconds run out (at
    least ``min(repeats, 3)``)."""
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < repeats:
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget and len(samples) >= min(repeats, 3):
            break
    return samples


def _requirement_versions(distribution: str) -> dict[str, str]:
    """Versions of what ``distribution`` requires (extras included), as imported here."""
    import importlib.metadata as md

    out: dict[str, str] = {}
    try:
        requires = md.requires(distribution) or []
    except md.PackageNotFoundError:
        return out
    for line in requires:
        name = re.split(r"[\s<>=!~;\[(]", line.strip(), maxsplit=1)[0]
        if not name or name.lower().startswith("psychcore") or name.lower() == "numpy":
            continue
        module = sys.modules.get(name.replace("-", "_").lower())
        version = getattr(module, "__version__", None)
        if version is None:
            try:
                version = md.version(name)
            except md.PackageNotFoundError:
                continue
        out[name] = str(version)
    return out


def framework_versions(backend: str) -> dict[str, str]:
    """The backend plugin's distribution and version, and its requirements' versions."""
    from ..plugins import plugin_infos, provided

    for info in plugin_infos():
        if info.error is None and backend in provided(info.name).get("backend", []):
            return {info.distribution: info.version,
                    **_requirement_versions(info.distribution)}
    return {}


def _stats(samples: list[float]) -> dict[str, Any]:
    arr = np.asarray(samples, dtype=float)
    q1, median, q3 = np.percentile(arr, [25, 50, 75])
    return {"median": float(median), "min": float(arr.min()), "max": float(arr.max()),
            "q1": float(q1), "q3": float(q3), "n": len(samples), "samples": samples}


def run_backend(config: dict[str, Any]) -> dict[str, Any]:
    """Measure one backend (see the module docstring)."""
    from .._init import initialize_weights
    from .._plugins import get_backend
    from .._spec import ModelSpec

    cls = get_backend(config["backend"])
    ok, why = cls.is_available()  # imports the framework
    if not ok:
        return {"unavailable": why or "is_available() says no"}
    threads = config.get("threads")
    limit = cls.limit_threads(threads) if threads else contextlib.nullcontext()
    with np.load(config["batch"]) as data:
        x, y, mask = data["x"], data["y"], data["mask"]
    with limit:
        spec = ModelSpec.from_json(config["spec"])
        weights = initialize_weights(spec, np.random.default_rng(config["seed"]))
        t0 = time.perf_counter()
        backend = cls(spec, weights, seed=config["seed"], device=config.get("device"))
        backend.configure_optimizer("adam", config["learning_rate"], True)
        built = time.perf_counter()
        losses = [float(backend.train_step(x, y, mask))]
        first_done = time.time()
        first_call = time.perf_counter() - built
        for _ in range(config["warmup"]):
            losses.append(float(backend.train_step(x, y, mask)))

        def step() -> None:
            losses.append(float(backend.train_step(x, y, mask)))

        steps = timed(step, config["repeats"], config["budget"])
        f0 = time.perf_counter()
        backend.forward(x)
        first_forward = time.perf_counter() - f0
        forwards = timed(lambda: backend.forward(x), config["repeats"], config["budget"])
    return {
        "first_step_done": first_done,
        "build_s": built - t0,
        "first_step_call_s": first_call,
        "first_forward_call_s": first_forward,
        "step": _stats(steps),
        "forward": _stats(forwards),
        "peak_rss_mb": peak_rss_mb(),
        "losses": {"first": losses[0], "last": losses[-1],
                   "finite": bool(np.all(np.isfinite(losses)))},
        "versions": framework_versions(config["backend"]),
    }


def run_floor(config: dict[str, Any]) -> dict[str, Any]:
    """Time the step's products as GEMMs, and the BLAS's peak rate."""
    from ._floor import Product, measure_floor, measure_peak

    products = [Product(**p) for p in config["products"]]
    floor = measure_floor(products, config["dtype"], config.get("shape_budget", 0.2))
    floor["peak_flops"] = measure_peak(config["dtype"])
    return floor


class _TaskUnpickler(pickle.Unpickler):
    """Unpickles the parent's task; a class from a task file (``path.py:Class``, imported
    under a per-process module name, or a script's ``__main__``) is taken from that file."""

    def __init__(self, file: Any, module: str | None, source: str | None) -> None:
        super().__init__(file)
        self._module, self._loaded = module, None
        if source is not None:
            from .._plugins import load_task_file

            self._loaded = sys.modules[load_task_file(source).__module__]

    def find_class(self, module: str, name: str) -> Any:
        if self._loaded is not None and module == self._module:
            return getattr(self._loaded, name)
        return super().find_class(module, name)


def load_task(config: dict[str, Any]) -> Any:
    """The task the parent pickled (see :func:`psychcore.bench._bench._dump_task`)."""
    task = config["task"]
    with open(task["path"], "rb") as file:
        try:
            return _TaskUnpickler(file, task.get("module"), task.get("source")).load()
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"the task cannot be rebuilt in a child process ({exc}); give a "
                             "task installed as a plugin or one in a file "
                             "(path/to/file.py:Class)") from None


def run_accuracy(config: dict[str, Any]) -> dict[str, Any]:
    """Train to the performance cutoff (see the module docstring)."""
    from .._model import Model
    from .._plugins import get_backend
    from .._spec import ModelSpec

    task = load_task(config)
    cls = get_backend(config["backend"])
    ok, why = cls.is_available()
    if not ok:
        return {"unavailable": why or "is_available() says no"}
    spec = ModelSpec.from_json(config["spec"])
    seed = config["seed"]
    threads = config.get("threads")
    with cls.limit_threads(threads) if threads else contextlib.nullcontext():
        model = Model(task, spec, backend=config["backend"], seed=seed,
                      device=config.get("device"))
        _, training_time, init_time = model.train(
            task, training_iters=config["max_trials"], learning_rate=config["learning_rate"],
            performance_cutoff=config["cutoff"], verbosity=False)
        done = time.time()
        result = model.last_result
        x, y, mask, _ = task.get_trial_batch(np.random.default_rng([seed, 2]),
                                             N_batch=config["test_trials"])
        outputs, _ = model.test(x)
        accuracy = float(task.accuracy_function(y, outputs, mask))
    return {
        "seed": seed,
        "done": done,
        "reached": bool(result is not None and result.cutoff_reached),
        "epochs": model.epoch,
        "trials": model.epoch * task.N_batch,
        "validation_accuracy": None if result is None or result.performance is None
        else float(result.performance),
        "test_accuracy": accuracy,
        "training_time_s": training_time,
        "init_time_s": init_time,
        "peak_rss_mb": peak_rss_mb(),
    }


_MODES = {"floor": run_floor, "backend": run_backend, "accuracy": run_accuracy}


def main(argv: list[str]) -> int:
    """Run the job in ``argv[0]`` and write its result to ``argv[1]``."""
    if len(argv) != 2:
        print("usage: python -m psychcore.bench._worker CONFIG RESULT", file=sys.stderr)
        return 2
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    try:
        result = _MODES[config["mode"]](config)
        code = 0
    except BaseException as exc:  # reported to the parent, which goes on with the others
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0],
                  "peak_rss_mb": peak_rss_mb()}
        code = 1
    Path(argv[1]).write_text(json.dumps(result), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
