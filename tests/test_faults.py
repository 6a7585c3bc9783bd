"""Fault injection: interrupts, kills, SIGTERM and concurrent resumes never change a run's result.

(a) In-process, through :func:`psychcore.train_run` and the NumPy test double: a
KeyboardInterrupt raised at a random call (batch generation, training step, validation forward
pass: inside and between steps), 20 seeds, then resumed (and interrupted again) until finished:
the metrics rows and the final weights equal an uninterrupted run's, bit for bit.
(b) Real ``psychcore train --backend torch`` processes killed (SIGKILL, and some SIGINT) at
random instants and resumed: metrics.csv and weights.npz equal an uninterrupted run's, no row
missing. (c) SIGTERM: saved, exit 143, run.json "interrupted". (d) A second ``--resume`` on a
directory in use is refused, naming the holder.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from numpy_backend import NumpyReadoutBackend
from sign_task import Sign

from psychcore import ModelSpec, train_run
from psychcore.cli import main

SPEC = ModelSpec(N_rec=12, rec_noise=0.05)  # noise: the backend's generator must resume too
STEPS = 24
_countdown = {"left": None}


def _tick() -> None:
    left = _countdown["left"]
    if left is not None:
        _countdown["left"] = left - 1
        if left == 1:
            _countdown["left"] = None
            raise KeyboardInterrupt


class FlakyBackend(NumpyReadoutBackend):
    """The NumPy double, interrupted at the chosen call of train_step or forward."""

    name = "numpy-flaky"

    def train_step(self, x, y, mask, noise=None):
        _tick()
        return super().train_step(x, y, mask, noise)

    def forward(self, x, noise=None):
        _tick()
        return super().forward(x, noise)


class FlakySign(Sign):
    """Sign whose batch generation can be interrupted."""

    def get_trial_batch(self, *args, **kwargs):
        _tick()
        return super().get_trial_batch(*args, **kwargs)


def _train(out, resume=False):
    return train_run(FlakySign(N_batch=8), SPEC, out, backend=FlakyBackend, seed=5,
                     resume=resume, training_iters=8 * STEPS, learning_rate=0.05, loss_epoch=2,
                     checkpoint_epoch=5, validation_trials=32, progress=False,
                     task_name="FlakySign")


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in csv.DictReader(fh)]


def _weights(path):
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def _assert_same_run(a: Path, b: Path) -> None:
    assert _rows(a / "metrics.csv") == _rows(b / "metrics.csv")
    wa, wb = _weights(a / "weights.npz"), _weights(b / "weights.npz")
    assert wa.keys() == wb.keys()
    for key in wa:
        np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)


def test_interrupts_anywhere_then_resume_give_the_uninterrupted_run(tmp_path, monkeypatch):
    monkeypatch.setattr("psychcore._run.plot_metrics", lambda rows, path: False)  # speed
    _countdown["left"] = None
    calls = {"n": 0}
    global _tick
    plain = _tick

    def counting() -> None:
        calls["n"] += 1
        plain()

    _tick = counting
    try:
        _train(tmp_path / "reference")
    finally:
        _tick = plain
    reference = tmp_path / "reference"
    assert len(_rows(reference / "metrics.csv")) == STEPS // 2
    interrupted_runs = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        out = tmp_path / f"seed{seed}"
        resume = False
        for attempt in range(3):  # interrupted twice at random calls, then to the end
            _countdown["left"] = int(rng.integers(1, calls["n"])) if attempt < 2 else None
            try:
                result = _train(out, resume=resume)
                interrupted_runs += result.interrupted
            except KeyboardInterrupt:  # outside the loop: run.json says so
                assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
                interrupted_runs += 1
            resume = (out / "run.json").exists()
        _countdown["left"] = None
        info = json.loads((out / "run.json").read_text())
        assert info["status"] == "finished" and info["epochs"] == STEPS, seed
        _assert_same_run(reference, out)
    assert interrupted_runs >= 20  # every first attempt is interrupted


# ---------------------------------------------------------------- real processes (torch)
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None
                                 or importlib.util.find_spec("psychcore_torch") is None,
                                 reason="the torch backend is not installed")
SIGN = f"{Path(__file__).parent / 'sign_task.py'}:Sign"
TORCH_ARGS = ["train", SIGN, "--backend", "torch", "-t", "N_batch=8", "--N-rec", "8",
              "--learning-rate", "0.01", "--loss-epoch", "1", "--checkpoint-epoch", "3",
              "--no-progress"]


def _launch(out: Path, iters: int, resume: bool) -> subprocess.Popen:
    args = [*TORCH_ARGS, "--iters", str(iters), "--out", str(out)]
    if resume:
        args = [*args, "--resume"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "psychcore.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_new_checkpoint(proc: subprocess.Popen, out: Path, since: int) -> bool:
    """Wait until ``proc`` replaced the checkpoint (True) or ended (False)."""
    path = out / "checkpoint.npz"
    while proc.poll() is None:
        if path.exists() and path.stat().st_mtime_ns > since:
            return True
        time.sleep(0.01)
    return False


@needs_torch
def test_killed_and_interrupted_processes_resume_to_the_uninterrupted_run(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    iters = 8 * 240
    reference = tmp_path / "reference"
    proc = _launch(reference, iters, resume=False)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    rng = np.random.default_rng(12)
    plan = ["KILL"] * 10 + ["INT"] * 2
    rng.shuffle(plan)
    chain, kills, k = 0, 0, 0
    out = tmp_path / "chain0"
    while k < len(plan):
        sig = plan[k]
        since = time.time_ns()
        proc = _launch(out, iters, resume=(out / "run.json").exists())
        if sig == "KILL" and k % 5 == 0:  # some kills while it starts (before its first step)
            time.sleep(float(rng.uniform(0.0, 2.0)))
            started = proc.poll() is None
        else:
            started = _wait_for_new_checkpoint(proc, out, since)
            time.sleep(float(rng.uniform(0.0, 0.25)))
        if not started or proc.poll() is not None:  # it finished first: a new chain
            assert proc.wait(timeout=300) == 0, proc.stderr.read()
            _assert_same_run(reference, out)
            chain += 1
            out = tmp_path / f"chain{chain}"
            continue
        proc.send_signal(signal.SIGKILL if sig == "KILL" else signal.SIGINT)
        code = proc.wait(timeout=300)
        stdout, stderr = proc.communicate()
        if sig == "KILL":
            assert code == -signal.SIGKILL
            kills += 1
        else:
            assert code == 130, stderr
            assert "interrupted by SIGINT, saved" in stdout and "--resume" in stdout
            assert "Traceback" not in stderr
            assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
        if (out / "checkpoint.npz").exists():  # metrics.csv never lags its checkpoint's rows
            rows = _rows(out / "metrics.csv") if (out / "metrics.csv").exists() else []
            assert [int(r["epoch"]) for r in rows] == list(range(1, len(rows) + 1))
        k += 1
    assert kills == 10
    proc = _launch(out, iters, resume=(out / "run.json").exists())
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert [int(r["epoch"]) for r in _rows(out / "metrics.csv")] == list(range(1, 241))
    _assert_same_run(reference, out)


@needs_torch
def test_sigterm_saves_and_a_second_resume_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    proc = _launch(out, 8 * 100000, resume=False)
    assert _wait_for_new_checkpoint(proc, out, 0), proc.communicate()
    assert main([*TORCH_ARGS, "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"psychcore: error: run directory {out} is in use by pid {proc.pid} "
                          f"on {platform.node()} since ")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    stdout, stderr = proc.communicate()
    assert "interrupted by SIGTERM, saved" in stdout and "Traceback" not in stderr
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "interrupted" and "SIGTERM" in info["message"]
    rows = _rows(out / "metrics.csv")
    assert len(rows) == info["epochs"] > 0 and (out / "weights.npz").exists()
    assert not (out / ".psychcore.lock.json").exists()  # the holder is gone with the lock
