"""Make the spikeRNN reference fixtures in ``tests/data/spikernn/`` by running spikeRNN's own code.

spikeRNN (Kim, Li & Sejnowski, PNAS 2019) is not on the package index: check its source out
somewhere outside this repository and give that directory as ``--spikernn``. This script
contains no spikeRNN code; it imports spikeRNN's modules from that path, runs them, and
replaces their random draws (``torch.rand``/``torch.randn``) with values taken from seeded
NumPy generators, so the tests can regenerate every draw from a seed::

    git -C <mirror> archive 57e4032 | tar -x -C /tmp/spikernn-src
    python benchmarks/spikernn_reference.py --spikernn /tmp/spikernn-src \\
        --out tests/data/spikernn

It needs numpy, scipy and torch (CPU). What it writes is described in
``tests/data/spikernn/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import importlib.util
import os
import runpy
import shutil
import sys
import tempfile

import numpy as np

N_UNITS = 100
LAMBDA = 50.0
RATE_SEEDS = {"go": 101, "nogo": 102}
LIF_SEEDS = {"go": (201, 202), "nogo": (203, 204)}  # (initial voltages, per-step noise)


def go_nogo_input(go: bool, n_cols: int) -> np.ndarray:
    """spikeRNN's Go/NoGo stimulus: one channel, 1.0 on steps 50-74 of a Go trial."""
    u = np.zeros((1, n_cols))
    if go:
        u[0, 50:75] = 1.0
    return u


@contextlib.contextmanager
def replaced(obj, name, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def train(spikernn: str, som_n: int, n_trials: int, out_dir: str, seed: int) -> str:
    """Run spikeRNN's ``rate/main.py`` (its training script) and return the .mat it saved."""
    import torch

    np.random.seed(seed)
    torch.manual_seed(seed)
    rate_dir = os.path.join(spikernn, "rate")
    argv = ["main.py", "--gpu", "0", "--n_trials", str(n_trials), "--mode", "train",
            "--output_dir", out_dir, "--N", str(N_UNITS), "--P_inh", "0.2", "--som_N",
            str(som_n), "--apply_dale", "True", "--gain", "1.5", "--task", "go-nogo",
            "--act", "sigmoid", "--loss_fn", "l2", "--decay_taus", "4", "20"]
    old_argv, old_path, old_cwd = sys.argv, list(sys.path), os.getcwd()
    sys.argv = argv
    sys.path.insert(0, rate_dir)
    os.chdir(rate_dir)
    try:
        with contextlib.redirect_stdout(open(os.devnull, "w")):  # noqa: SIM115
            runpy.run_path("main.py", run_name="__main__")
    finally:
        sys.argv, sys.path[:] = old_argv, old_path
        os.chdir(old_cwd)
    (path,) = glob.glob(os.path.join(out_dir, "models", "go-nogo", "**", "*.mat"),
                        recursive=True)
    return path


def rate_reference(spikernn: str, mat_path: str) -> dict[str, np.ndarray]:
    """spikeRNN's ``FR_RNN_dale.forward`` on a Go and a NoGo trial.

    The first ``torch.randn`` of ``forward`` draws the unit time constants' parameters
    (``taus_gaus``): it is given the saved ``taus_gaus`` so the forward pass uses the network's
    own time constants. The next ones (initial state ``x0 = randn/100``, then one ``randn/10``
    per step) come from ``np.random.default_rng(seed).standard_normal((T, N))`` cast to float32,
    row 0 for ``x0`` and row ``t`` for step ``t``.
    """
    import scipy.io
    import torch

    sys.path.insert(0, os.path.join(spikernn, "rate"))
    try:
        from model import FR_RNN_dale  # spikeRNN's rate model
    finally:
        sys.path.pop(0)
    data = scipy.io.loadmat(mat_path)
    N = int(data["N"].item())
    settings = {"T": 200, "stim_on": 50, "stim_dur": 25, "DeltaT": 1, "taus": [4.0, 20.0]}
    training_params = {"activation": "sigmoid"}
    net = FR_RNN_dale(N, 0.2, 0.2, data["w_in"].astype(np.float32), int(data["som_N"].item()),
                      "gaus", 1.5, True, data["w_out"].astype(np.float32), torch.device("cpu"))
    net.load_net(mat_path)
    out: dict[str, np.ndarray] = {}
    for trial, seed in RATE_SEEDS.items():
        draws = np.random.default_rng(seed).standard_normal((settings["T"], N)).astype(np.float32)
        calls = iter([data["taus_gaus"].astype(np.float32)] + [d[:, None] for d in draws])
        real_randn = torch.randn

        def fake_randn(*shape, calls=calls, **kw):
            value = next(calls)
            assert value.shape == tuple(shape), (value.shape, shape)
            return torch.tensor(value, dtype=torch.float32)

        u = go_nogo_input(trial == "go", settings["T"]).astype(np.float32)
        with replaced(torch, "randn", fake_randn), torch.no_grad():
            _, x, r, o, *_ = net.forward(torch.tensor(u), settings["taus"], training_params,
                                         settings)
        assert torch.randn is real_randn
        out[f"rate_{trial}_u"] = u
        out[f"rate_{trial}_outputs"] = torch.cat(o).numpy().ravel()
        out[f"rate_{trial}_seed"] = np.array(seed)
    return out


def lif_reference(spikernn: str, mat_path: str) -> dict[str, np.ndarray]:
    """spikeRNN's ``LIF_network_fnc`` on a Go and a NoGo trial (201 columns, as its lambda
    search builds them), lambda = LAMBDA, no stimulation, no downsampling.

    ``torch.rand(N)`` (initial voltages) returns ``default_rng(seed_v).random(N)``; the k-th
    ``torch.randn(N)`` (noise of step k) returns row k of
    ``default_rng(seed_n).standard_normal((n_steps, N))``.
    """
    import torch

    spec = importlib.util.spec_from_file_location(
        "spikernn_lif", os.path.join(spikernn, "spiking", "LIF_network_fnc.py"))
    lif = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lif)
    out: dict[str, np.ndarray] = {}
    for trial, (seed_v, seed_n) in LIF_SEEDS.items():
        rng_v, rng_n = np.random.default_rng(seed_v), np.random.default_rng(seed_n)

        def fake_rand(n, rng_v=rng_v, **kw):
            return torch.tensor(rng_v.random(n), dtype=torch.float64)

        def fake_randn(n, rng_n=rng_n, **kw):
            return torch.tensor(rng_n.standard_normal(n), dtype=torch.float64)

        u = go_nogo_input(trial == "go", 201)
        with replaced(torch, "rand", fake_rand), replaced(torch, "randn", fake_randn):
            W, REC, spk, rs, all_fr, o, params = lif.LIF_network_fnc(
                mat_path, LAMBDA, u, {"mode": "none"}, 1, False)
        units, steps = np.nonzero(spk)
        order = np.lexsort((units, steps))
        out[f"lif_{trial}_u"] = u
        out[f"lif_{trial}_seeds"] = np.array([seed_v, seed_n])
        out[f"lif_{trial}_spike_steps"] = steps[order].astype(np.int32)
        out[f"lif_{trial}_spike_units"] = units[order].astype(np.int32)
        out[f"lif_{trial}_outputs"] = o
        # voltages of units 0-4 at every 10th step (REC records +30 mV at a spike)
        out[f"lif_{trial}_voltages_sub"] = REC[:5, ::10]
        out[f"lif_{trial}_n_steps"] = np.array(spk.shape[1])
    out["lif_lambda"] = np.array(LAMBDA)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spikernn", required=True, help="spikeRNN source checkout")
    parser.add_argument("--out", required=True, help="directory to write the fixtures to")
    parser.add_argument("--n-trials", type=int, default=30,
                        help="training trials of spikeRNN's main.py (at least 2)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    # (file name, SOM units, seed of np.random and torch, run the LIF conversion too)
    for name, som_n, seed, lif in (("gonogo_nosom", 0, 11, True), ("gonogo_som", 5, 12, False)):
        with tempfile.TemporaryDirectory() as tmp:
            mat = train(args.spikernn, som_n, args.n_trials, tmp, seed)
            dest = os.path.join(args.out, name + ".mat")
            shutil.copyfile(mat, dest)
        ref = rate_reference(args.spikernn, dest)
        if lif:
            ref.update(lif_reference(args.spikernn, dest))
        np.savez_compressed(os.path.join(args.out, name + "_reference.npz"), **ref)
        print(name, {k: v.shape for k, v in ref.items()})


if __name__ == "__main__":
    main()
