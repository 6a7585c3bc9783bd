"""Benchmark the PyTorch backend against PsychRNN's reference numbers and plain PyTorch.

Usage::

    python benchmarks/bench_torch.py [--only iteration,steps,time-to-90,memory]
        [--sizes 50,256,1024] [--repeats 20] [--seeds 5] [--threads N] [--json PATH]

Sections (all by default):

- ``iteration``: one full training iteration of the hello-world configuration
  (PerceptualDiscrimination dt=10, tau=100, T=2000, N_batch=128; N_rec=50, dale_ratio=0.8,
  Adam, clipping): batch generation plus ``train_step``, against PsychRNN 1.0.0's 0.3 s per
  iteration (0.05 s step + 0.25 s batch). Target: at least 4x faster.
- ``steps``: ``train_step`` at each ``--sizes`` N_rec against the fastest plain-PyTorch step
  written here (an eager loop with the same hoisting, and the same loop under
  ``torch.jit.script``; each with torch's thread count and with one thread, ``-1t``).
  Target: within 1.5x. The backend itself runs small networks single-threaded (see
  ``TorchBackend``'s ``num_threads``).
- ``time-to-90``: the README hello world with ``performance_cutoff=0.9`` in a fresh
  interpreter per seed; wall time from launching the interpreter to reaching 0.9, median
  over ``--seeds`` seeds (0, 1, ...). Target: under 10 s (PsychRNN: median 49 s).
- ``memory``: peak RSS of those hello-world processes (``RUSAGE_CHILDREN``). Target:
  under 600 MB (PsychRNN: about 0.9 GB).

Timings are medians of interleaved repeats after warm-up. On a machine shared with other
jobs, compare numbers from one run only (two OpenMP threads slow down many-fold whenever
another process holds a core; ``--threads 1`` runs everything single-threaded).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

PSYCHRNN = {"iteration": 0.30, "step50": 0.05, "step256": 0.24, "time_to_90": 49.0,
            "memory_mb": 900.0}
TARGETS = {"iteration_speedup": 4.0, "step_ratio": 1.5, "time_to_90": 10.0, "memory_mb": 600.0}
HELLO = {"dt": 10, "tau": 100, "T": 2000, "N_batch": 128}

CHILD = """
import json, sys, time
import psychcore
from psychcore import ModelSpec
task = psychcore.get_task("PerceptualDiscrimination")(dt=10, tau=100, T=2000, N_batch=128)
model = psychcore.Model(task, ModelSpec(N_rec=50, dale_ratio=0.8), backend="torch",
                        seed=int(sys.argv[1]))
losses, training_time, initialization_time = model.train(
    task, training_iters=100_000, performance_cutoff=0.9, verbosity=False)
reached = time.time()
x, y, mask, trial_params = task.get_trial_batch()
outputs, states = model.test(x)
print(json.dumps({"reached": reached, "epochs": model.epoch, "training_time": training_time,
                  "accuracy": float(task.accuracy_function(y, outputs, mask))}))
"""

# A fork of a large process counts the parent's pages in the child's ru_maxrss (Linux keeps
# the high-water mark across exec), so each hello world is started from this small wrapper,
# which reports when it launched the child and the child's peak RSS.
WRAPPER = """
import json, resource, subprocess, sys, time
launched = time.time()
out = subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2]], capture_output=True,
                     text=True, check=True)
result = json.loads(out.stdout.strip().splitlines()[-1])
result["launched"] = launched
result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps(result))
"""


def _median_pair(fns: dict[str, Callable[[], Any]], repeats: int, warmup: int) -> dict:
    """Median seconds of each function, calls interleaved so that load affects all alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


# ---------------------------------------------------------------------- plain PyTorch
def _scripted_loop() -> Callable | None:
    import torch

    def loop(drive: torch.Tensor, h: torch.Tensor, w_t: torch.Tensor,
             decay: float) -> torch.Tensor:
        states = []
        for d in drive.unbind(0):
            h = torch.addmm(d, torch.relu(h), w_t).add_(h, alpha=decay)
            states.append(h)
        return torch.stack(states, 1)

    try:
        return torch.jit.script(loop)
    except Exception:  # TorchScript is deprecated; absent or broken builds just skip it
        return None


def plain_step(weights: dict[str, np.ndarray], alpha: float,
               loop: Callable | None = None) -> Callable:
    """The hello-world training step written directly in PyTorch (Dale, masks, Adam, clip)."""
    import torch

    p = {k: torch.tensor(weights[k], requires_grad=True)
         for k in ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")}
    m_in = torch.tensor(weights["input_connectivity"])
    m_rec = torch.tensor(weights["rec_connectivity"] * np.diag(weights["Dale_rec"])[None, :])
    m_out = torch.tensor(weights["output_connectivity"] * np.diag(weights["Dale_out"])[None, :])
    params = list(p.values())
    opt = torch.optim.Adam(params, lr=1e-3)

    def eager(drive: torch.Tensor, h: torch.Tensor, w_t: torch.Tensor,
              decay: float) -> torch.Tensor:
        states = []
        for d in drive.unbind(0):
            h = torch.addmm(d, torch.relu(h), w_t).add_(h, alpha=decay)
            states.append(h)
        return torch.stack(states, 1)

    run = loop or eager

    def step(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
        u = torch.from_numpy(x).transpose(0, 1).contiguous()
        yt, mt = torch.from_numpy(y), torch.from_numpy(mask)
        drive = torch.nn.functional.linear(u, alpha * (p["W_in"].abs() * m_in),
                                           alpha * p["b_rec"])
        w_t = (alpha * (p["W_rec"].abs() * m_rec)).t()
        states = run(drive, p["init_state"].expand(u.shape[1], -1), w_t, 1.0 - alpha)
        z = torch.nn.functional.linear(torch.relu(states), p["W_out"].abs() * m_out, p["b_out"])
        loss = ((mt * (z - yt)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss.item()

    return step


# ---------------------------------------------------------------------- sections
def _hello(n_rec: int = 50) -> tuple[Any, Any]:
    import psychcore
    from psychcore import ModelSpec

    task = psychcore.get_task("PerceptualDiscrimination")(**HELLO, seed=0)
    model = psychcore.Model(task, ModelSpec(N_rec=n_rec, dale_ratio=0.8), backend="torch",
                            seed=0, device="cpu")
    model.backend.configure_optimizer("adam", 1e-3, True)
    return task, model


def bench_iteration(repeats: int) -> dict:
    task, model = _hello()
    rng = np.random.default_rng(0)
    x, y, mask, _ = task.get_trial_batch(rng)

    def iteration() -> None:
        xb, yb, mb, _ = task.get_trial_batch(rng)
        model.backend.train_step(xb, yb, mb)

    t = _median_pair({"iteration": iteration,
                      "batch": lambda: task.get_trial_batch(rng),
                      "step": lambda: model.backend.train_step(x, y, mask)}, repeats, 3)
    t["speedup"] = PSYCHRNN["iteration"] / t["iteration"]
    return t


def _bind(fn: Callable, *args: Any, threads: int | None = None) -> Callable[[], Any]:
    """``fn(*args)`` as a zero-argument call, on ``threads`` intra-op threads if given."""
    import torch

    def call() -> Any:
        old = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            return fn(*args)
        finally:
            torch.set_num_threads(old)

    return call


def bench_steps(sizes: list[int], repeats: int) -> list[dict]:
    rows = []
    loop = _scripted_loop()
    for n in sizes:
        task, model = _hello(n)
        x, y, mask, _ = task.get_trial_batch()
        weights = model.get_weights()
        alpha = task.dt / task.tau
        steps = {"ours": model.backend.train_step, "eager": plain_step(weights, alpha),
                 "eager-1t": plain_step(weights, alpha)}
        if loop is not None:
            steps["jit"] = plain_step(weights, alpha, loop)
            steps["jit-1t"] = plain_step(weights, alpha, loop)
        fns = {k: _bind(fn, x, y, mask, threads=1 if k.endswith("-1t") else None)
               for k, fn in steps.items()}
        reps = repeats if n <= 256 else max(3, repeats // 4)
        t = _median_pair(fns, reps, 2)
        best = min(v for k, v in t.items() if k != "ours")  # fastest plain variant
        rows.append({"N_rec": n, **t, "ratio": t["ours"] / best, "repeats": reps})
    return rows


def bench_time_to_90(seeds: int) -> dict:
    """Run the hello world per seed, each from a small wrapper process (see ``WRAPPER``)."""
    runs = []
    for seed in range(seeds):
        out = subprocess.run([sys.executable, "-c", WRAPPER, CHILD, str(seed)],
                             capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["seconds"] = result["reached"] - result["launched"]
        result["seed"] = seed
        runs.append(result)
        print(f"  seed {seed}: {result['seconds']:.1f} s, {result['epochs']} epochs "
              f"({result['epochs'] * HELLO['N_batch']} trials), test accuracy "
              f"{result['accuracy']:.3f}", flush=True)
    peak_mb = max(r["peak_rss_mb"] for r in runs)
    return {"runs": runs, "median_s": statistics.median(r["seconds"] for r in runs),
            "median_trials": statistics.median(r["epochs"] * HELLO["N_batch"] for r in runs),
            "peak_rss_mb": peak_mb}


# ---------------------------------------------------------------------- report
def _row(name: str, ours: str, ref: str, ratio: str, target: str, ok: bool | None) -> str:
    verdict = "" if ok is None else ("yes" if ok else "NO")
    return f"{name:<34} {ours:>12} {ref:>14} {ratio:>8} {target:>10} {verdict:>4}"


def report(results: dict) -> None:
    print()
    print(_row("measure", "psychcore", "reference", "x", "target", None) + "  met")
    print("-" * 90)
    if "iteration" in results:
        r = results["iteration"]
        print(_row("iteration: batch + step (hello)", f"{r['iteration']:.4f} s",
                   "0.30 s PsychRNN", f"{r['speedup']:.1f}x", ">= 4x",
                   r["speedup"] >= TARGETS["iteration_speedup"]))
        print(_row("  of which batch generation", f"{r['batch']:.4f} s", "0.25 s PsychRNN",
                   f"{0.25 / r['batch']:.0f}x", "", None))
        print(_row("  of which train_step", f"{r['step']:.4f} s", "0.05 s PsychRNN",
                   f"{0.05 / r['step']:.1f}x", "", None))
    for r in results.get("steps", []):
        best = min((k for k in r if k.startswith(("eager", "jit"))), key=lambda k: r[k])
        print(_row(f"step N_rec={r['N_rec']} vs plain torch", f"{r['ours']:.4f} s",
                   f"{r[best]:.4f} s {best}", f"{r['ratio']:.2f}", "<= 1.5", r["ratio"] <= 1.5))
        others = ", ".join(f"{k} {r[k]:.4f}" for k in ("eager", "eager-1t", "jit", "jit-1t")
                           if k in r)
        print(f"  (plain: {others})")
        if f"step{r['N_rec']}" in PSYCHRNN:
            ref = PSYCHRNN[f"step{r['N_rec']}"]
            print(_row("  vs PsychRNN step", "", f"{ref:.2f} s", f"{ref / r['ours']:.1f}x",
                       "", None))
    r = results.get("time_to_90")
    if r is not None and "time-to-90" in results["sections"]:
        print(_row("time to 90% from start (median)", f"{r['median_s']:.1f} s", "49 s PsychRNN",
                   f"{49.0 / r['median_s']:.1f}x", "< 10 s",
                   r["median_s"] < TARGETS["time_to_90"]))
        print(_row("  trials to 90% (median)", f"{r['median_trials']:.0f}", "7000 PsychRNN",
                   "", "", None))
    if r is not None and "memory" in results["sections"]:
        print(_row("peak RSS of the hello-world run", f"{r['peak_rss_mb']:.0f} MB",
                   "~900 MB PsychRNN", "", "< 600 MB", r["peak_rss_mb"] < TARGETS["memory_mb"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="iteration,steps,time-to-90,memory",
                        help="comma-separated sections (default: all)")
    parser.add_argument("--sizes", default="50,256,1024", help="N_rec of the step section")
    parser.add_argument("--repeats", type=int, default=20, help="timed repeats (20)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of time-to-90 (5)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads here and in the subprocesses")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - {"iteration", "steps", "time-to-90", "memory"}
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}")
    if args.threads is not None:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    results: dict[str, Any] = {"threads": torch.get_num_threads(), "sections": sorted(sections)}
    if "iteration" in sections:
        results["iteration"] = bench_iteration(args.repeats)
    if "steps" in sections:
        results["steps"] = bench_steps([int(s) for s in args.sizes.split(",")], args.repeats)
    if sections & {"time-to-90", "memory"}:
        seeds = args.seeds if "time-to-90" in sections else 1
        print(f"hello world to 90% in {seeds} fresh interpreter(s):", flush=True)
        results["time_to_90"] = bench_time_to_90(seeds)
    results["load_average_after"] = os.getloadavg()[0]
    report(results)
    print("x: speed-up over PsychRNN's reference, or for steps our time / the best plain "
          "PyTorch time")
    print(f"load average at the end: {results['load_average_after']:.2f} "
          "(above ~0.5 on 2 CPUs: other jobs were running; timings are noisy)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
