"""train_run's run.json: the backend actually used and when the performance cutoff was reached."""

from __future__ import annotations

import json

from numpy_backend import NumpyReadoutBackend
from sign_task import Sign

from psychcore import ModelSpec, train_run

SPEC = ModelSpec(N_rec=20, dale_ratio=0.8)


def run(path, **kwargs):
    return train_run(Sign(), SPEC, path, backend=NumpyReadoutBackend, seed=0,
                     learning_rate=0.05, loss_epoch=5, checkpoint_epoch=10, progress=False,
                     **kwargs)


def test_run_json_records_backend_and_cutoff(tmp_path):
    result = run(tmp_path / "cut", training_iters=16 * 500, performance_cutoff=0.95)
    info = json.loads((tmp_path / "cut" / "run.json").read_text())
    assert info["backend"] == "numpy-readout" == info["versions"]["backend"]
    assert info["status"] == "finished" and result.epochs < 500
    assert info["cutoff_reached"] == {"epoch": result.epochs, "trials": result.epochs * 16}
    assert result.model.last_result.performance >= 0.95


def test_run_json_says_no_cutoff_when_none_was_reached(tmp_path):
    result = run(tmp_path / "plain", training_iters=16 * 20)
    info = json.loads((tmp_path / "plain" / "run.json").read_text())
    assert result.epochs == 20 and info["cutoff_reached"] is None
    result = run(tmp_path / "high", training_iters=16 * 20, performance_cutoff=1.01)
    info = json.loads((tmp_path / "high" / "run.json").read_text())
    assert result.epochs == 20 and info["cutoff_reached"] is None
    assert info["backend"] == "numpy-readout"
