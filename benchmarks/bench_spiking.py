"""Speed of psychcore's LIF simulator against spikeRNN's, and of the lambda search.

    python benchmarks/bench_spiking.py [--spikernn /tmp/spikernn-src] [--trials 100]

A random spikeRNN-style network (N=200, 20 % inhibitory, 20 % connectivity, gain 1.5, time
constants in 4-20 steps of 5 ms) on 1 s Go/NoGo trials (201 input columns, 20,000 steps of
0.05 ms): psychcore simulates ``--trials`` trials in one batch (float32, then float32 with
the noise drawn in a worker thread, ``noise_thread=True``, then the reference loop of
``spikernn_compat``); with ``--spikernn`` (a source
checkout of spikeRNN, which needs torch and scipy) spikeRNN's ``LIF_network_fnc`` runs
``--spikernn-trials`` trials one by one on the same network, saved as the .mat file its
training script writes; without it, the speed-up is against ``--spikernn-seconds`` per trial
(default 12.1 s, issue 15's measurement of spikeRNN on this machine). Then the 12-lambda (20,
25, ..., 75) x ``--trials`` search (all lambdas stacked in one simulation, sharing the noise),
with 1 and 2 worker processes. Wall time, CPU time of this process (``process_time``: what the
work costs, less sensitive to other jobs on a shared machine) and the load average are printed
beside every timing.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time

import numpy as np

from psychcore import Task
from psychcore.spiking import LIFParams, RateNetwork, lambda_search, simulate_lif


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def random_network(rng: np.random.Generator, N: int = 200) -> dict[str, np.ndarray]:
    """Variables of a spikeRNN model file for a random network (as its initialiser draws)."""
    inh = rng.random((N, 1)) < 0.2
    w = np.zeros((N, N))
    idx = np.nonzero(rng.random((N, N)) < 0.2)
    w[idx] = np.abs(rng.normal(0, 1, idx[0].size)) / np.sqrt(N * 0.2) * 1.5
    m = np.eye(N)
    m[inh[:, 0], inh[:, 0]] = -1
    taus_gaus = rng.standard_normal((N, 1))
    return {"w": w, "w0": w, "m": m, "som_m": np.ones((N, N)), "N": np.array(N),
            "w_in": rng.standard_normal((N, 1)), "w_out": rng.standard_normal((1, N)) / 100,
            "b_out": np.zeros((1, 1)), "inh": inh.astype(float), "exc": (~inh).astype(float),
            "taus": np.array([[4.0, 20.0]]), "taus_gaus": taus_gaus, "taus_gaus0": taus_gaus}


class GoNoGo(Task):
    """spikeRNN's Go/NoGo for the benchmark: 200 steps of 5 ms, pulse at steps 50-74."""

    def __init__(self) -> None:
        super().__init__(N_in=1, N_out=1, dt=5, tau=50, T=1000, N_batch=100)

    def generate_batch_params(self, batch: int, N: int, rng: np.random.Generator) -> dict:
        return {"go": rng.random(N) >= 0.5}

    def batch_function(self, time: np.ndarray, params: dict, rng: np.random.Generator):
        go = params["go"][:, None, None]
        x = np.zeros((go.shape[0], time.size, 1))
        x[:, 50:75] = go
        y = np.zeros_like(x)
        y[:, 75:] = go
        return x, y, np.ones_like(x)

    def accuracy_function(self, correct_output, test_output, output_mask):
        go = correct_output[:, -1, 0] > 0.5
        peak = np.max(test_output[:, 75:, 0], axis=1)
        return float(np.mean(np.where(go, peak > 0.7, peak < 0.3)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spikernn", help="spikeRNN source checkout (optional)")
    parser.add_argument("--spikernn-trials", type=int, default=2)
    parser.add_argument("--spikernn-seconds", type=float, default=12.1,
                        help="spikeRNN's time per trial without --spikernn (default 12.1 s)")
    parser.add_argument("--float64", action="store_true", help="also time dtype float64")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--skip-search", action="store_true")
    args = parser.parse_args(argv)

    cpus = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count())
    print(f"{cpus} usable CPUs  [{load()}]", flush=True)
    rng = np.random.default_rng(0)
    data = random_network(rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.mat")
        import scipy.io
        scipy.io.savemat(path, data)
        net = RateNetwork.from_spikernn(path)
        # 20,000 LIF steps either way: N_steps * 100 (fixed) or (N_steps - 1) * 100 (compat)
        u = np.zeros((args.trials, 201, 1))
        u[::2, 50:75] = 1.0
        per_trial = {}
        runs = [("float32", False, False), ("float32", False, True), ("float64", True, False)]
        if args.float64:
            runs.insert(2, ("float64", False, False))
        for dtype, compat, thread in runs:
            params = LIFParams(lam=50.0, spikernn_compat=compat)
            t0, c0 = time.perf_counter(), time.process_time()
            res = simulate_lif(net, u if compat else u[:, :200], params, rng=1, dtype=dtype,
                               noise_thread=thread)
            el, cpu = time.perf_counter() - t0, time.process_time() - c0
            rate = res.spike_step.size / (args.trials * 200 * res.n_steps * params.dt)
            print(f"psychcore simulate_lif {dtype} compat={compat} noise_thread={thread}: "
                  f"{args.trials} trials x {res.n_steps} steps, N=200: {el:.2f} s wall, "
                  f"{cpu:.2f} s CPU = {el / args.trials * 1000:.1f} ms wall, "
                  f"{cpu / args.trials * 1000:.1f} ms CPU per trial, mean rate {rate:.1f} Hz  "
                  f"[{load()}]", flush=True)
            per_trial[(dtype, compat, thread)] = (el / args.trials, cpu / args.trials)
        if not args.spikernn:
            ref = args.spikernn_seconds
            for (dtype, compat, thread), (el, cpu) in per_trial.items():
                print(f"against spikeRNN's {ref:g} s per trial: {dtype} compat={compat} "
                      f"noise_thread={thread} {ref / el:.0f}x (wall), {ref / cpu:.0f}x (CPU)")
        if args.spikernn:
            spec = importlib.util.spec_from_file_location(
                "spikernn_lif", os.path.join(args.spikernn, "spiking", "LIF_network_fnc.py"))
            lif = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(lif)
            import torch
            torch.set_num_threads(1)
            t0 = time.perf_counter()
            for k in range(args.spikernn_trials):
                lif.LIF_network_fnc(path, 50.0, u[k].T, {"mode": "none"}, 1, False)
            el = (time.perf_counter() - t0) / args.spikernn_trials
            fast = per_trial[("float32", False, False)][0]
            threaded = per_trial[("float32", False, True)][0]
            compat = per_trial[("float64", True, False)][0]
            print(f"spikeRNN LIF_network_fnc: {el:.2f} s per trial (mean of "
                  f"{args.spikernn_trials}); psychcore is {el / fast:.0f}x faster per trial "
                  f"({el / threaded:.0f}x with noise_thread=True, {el / compat:.0f}x with "
                  f"spikernn_compat)  [{load()}]", flush=True)
    if args.skip_search:
        return
    task = GoNoGo()
    lambdas = list(range(20, 76, 5))
    for workers in (1, 2):
        t0, c0 = time.perf_counter(), time.process_time()
        out = lambda_search(net, task, lambdas, args.trials, workers=workers, rng=2,
                            progress=sys.stderr.isatty())
        el, cpu = time.perf_counter() - t0, time.process_time() - c0
        cpu_text = f", {cpu:.1f} s CPU" if workers == 1 else ""
        print(f"lambda_search {len(lambdas)} lambdas x {args.trials} trials, workers={workers}:"
              f" {el:.1f} s wall{cpu_text}  [{load()}]  accuracy "
              f"{np.round(out.accuracy, 2).tolist()}", flush=True)


if __name__ == "__main__":
    main()
