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
    assert info["performance_cutoff"] == {"value": 0.95, "reached": True, "epoch": result.epochs,
                                          "trials": result.epochs * 16}
    assert result.model.last_result.performance >= 0.95


def test_run_json_says_no_cutoff_when_none_was_reached(tmp_path):
    result = run(tmp_path / "plain", training_iters=16 * 20)
    info = json.loads((tmp_path / "plain" / "run.json").read_text())
    assert result.epochs == 20 and info["cutoff_reached"] is None
    assert info["performance_cutoff"] is None
    result = run(tmp_path / "high", training_iters=16 * 20, performance_cutoff=1.01)
    info = json.loads((tmp_path / "high" / "run.json").read_text())
    assert result.epochs == 20 and info["cutoff_reached"] is None
    assert info["performance_cutoff"] == {"value": 1.01, "reached": False, "epoch": None,
                                          "trials": None}
    assert info["backend"] == "numpy-readout"


def test_a_run_shorter_than_loss_epoch_still_has_a_final_loss(tmp_path):
    """3 steps with loss_epoch=5 record no metrics row, yet run.json has the last step's loss."""
    result = run(tmp_path / "short", training_iters=16 * 3)
    info = json.loads((tmp_path / "short" / "run.json").read_text())
    assert result.epochs == 3 and result.model.losses == []
    assert result.final_loss is not None and result.final_loss > 0
    assert info["final_loss"] == result.final_loss
