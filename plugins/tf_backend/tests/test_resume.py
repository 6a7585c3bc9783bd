"""Kill-and-resume: a run killed with SIGKILL after a checkpoint resumes with identical losses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from psychcore import Model, ModelSpec, get_task  # noqa: E402

TOTAL, KILL_AT, EVERY = 20, 12, 5
SCRIPT = f"""
import json, sys, time
from pathlib import Path
from psychcore import Model, ModelSpec, get_task

mode, ckpt, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
task = get_task("PerceptualDiscrimination")(dt=10, tau=100, T=500, N_batch=32)
opts = dict(loss_epoch=1, checkpoint_path=ckpt, checkpoint_epoch={EVERY}, verbosity=False,
            optimizer="adam", learning_rate=0.01)
if mode == "fresh":
    def stall(status):
        if status.epoch == {KILL_AT}:
            out.write_text("ready")
            time.sleep(600)
    model = Model(task, ModelSpec(N_rec=20, dale_ratio=0.8, rec_noise=0.05),
                  backend="tensorflow", seed=7)
    model.train(task, training_iters=32 * {TOTAL}, callback=stall, **opts)
else:
    model = Model.from_checkpoint(ckpt, backend="tensorflow")
    assert model.epoch == {KILL_AT // EVERY * EVERY}, model.epoch
    model.train(task, training_iters=32 * ({TOTAL} - model.epoch), **opts)
    out.write_text(json.dumps(model.losses))
"""


def _child(*args: str) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill_and_resume_gives_the_uninterrupted_losses(tmp_path: Path):
    ckpt, marker, out = str(tmp_path / "ckpt"), tmp_path / "ready", tmp_path / "losses.json"
    proc = _child("fresh", ckpt, str(marker))
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the run never reached the kill point"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    resumed = _child("resume", ckpt, str(out))
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-3000:]
    resumed_losses = json.loads(out.read_text())

    task = get_task("PerceptualDiscrimination")(dt=10, tau=100, T=500, N_batch=32)
    model = Model(task, ModelSpec(N_rec=20, dale_ratio=0.8, rec_noise=0.05),
                  backend="tensorflow", seed=7)
    model.train(task, training_iters=32 * TOTAL, loss_epoch=1, verbosity=False,
                optimizer="adam", learning_rate=0.01)
    assert len(resumed_losses) == TOTAL
    assert resumed_losses == model.losses  # bit-identical, across processes too
