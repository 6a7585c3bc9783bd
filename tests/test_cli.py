"""``psychcore train``: run directories, refusal to overwrite, resume, bad input, the default
backend."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from numpy_backend import NumpyReadoutBackend

import psychcore
from psychcore import _plugins
from psychcore.cli import main

SIGN = f"{Path(__file__).parent / 'sign_task.py'}:Sign"


@pytest.fixture(autouse=True)
def numpy_backend(monkeypatch):
    monkeypatch.setitem(_plugins.registry().backends, "numpy-readout", NumpyReadoutBackend)


def train(out, *extra):
    return main(["train", SIGN, "--backend", "numpy-readout", "-t", "N_batch=16",
                 "--N-rec", "20", "--dale-ratio", "0.8", "--learning-rate", "0.05",
                 "--checkpoint-epoch", "10", "--no-progress", "--out", str(out), *extra])


def test_train_writes_a_complete_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out, "--iters", "640", "--seed", "3") == 0
    assert "finished: 40 steps" in capsys.readouterr().out
    for name in ("spec.json", "run.json", "weights.npz", "weights.json", "checkpoint.npz",
                 "metrics.csv"):
        assert (out / name).exists(), name
    assert (out / "training.png").exists() == (importlib.util.find_spec("matplotlib")
                                                is not None)
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [10, 20, 30, 40]
    assert all(float(r["loss"]) > 0 for r in rows)
    assert float(rows[-1]["accuracy"]) >= 0.9
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "finished" and info["epochs"] == 40 and info["seed"] == 3
    assert info["accuracy"] >= 0.9
    spec = psychcore.ModelSpec.from_json((out / "spec.json").read_text())
    assert (spec.N_rec, spec.dale_ratio, spec.N_in, spec.N_out) == (20, 0.8, 1, 2)
    model = psychcore.Model.load(out / "weights", backend=NumpyReadoutBackend)
    assert model.spec == spec


def test_existing_run_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out, "--iters", "160") == 0
    before = (out / "weights.npz").read_bytes()
    assert train(out, "--iters", "160") == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert (out / "weights.npz").read_bytes() == before


def test_resume_continues_to_the_same_result(tmp_path):
    assert train(tmp_path / "full", "--iters", "640") == 0
    assert train(tmp_path / "part", "--iters", "320") == 0
    assert train(tmp_path / "part", "--iters", "640", "--resume") == 0
    full = np.load(tmp_path / "full" / "weights.npz")
    part = np.load(tmp_path / "part" / "weights.npz")
    np.testing.assert_array_equal(full["W_out"], part["W_out"])
    rows = list(csv.DictReader((tmp_path / "part" / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [10, 20, 30, 40]


def test_bad_input_exits_2_with_a_message(tmp_path, capsys):
    assert train(tmp_path / "a", "-t", "coherence=0.2") == 2
    assert "has no parameter 'coherence'; its parameters: N_batch" in capsys.readouterr().err
    assert main(["train", "NoSuchTask", "--out", str(tmp_path / "b")]) == 2
    assert "unknown task 'NoSuchTask'" in capsys.readouterr().err
    assert train(tmp_path / "c", "-s", "L2_rec=-1") == 2
    assert "L2_rec must be a finite number >= 0" in capsys.readouterr().err
    assert main(["train", SIGN, "--backend", "nope", "--out", str(tmp_path / "d")]) == 2
    assert "unknown backend 'nope'" in capsys.readouterr().err
    assert main(["train", SIGN, "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err


class OtherNumpy(NumpyReadoutBackend):
    name = "numpy-other"


def train_default(out, *extra):
    """``psychcore train`` without --backend."""
    return main(["train", SIGN, "-t", "N_batch=16", "--N-rec", "8", "--iters", "32",
                 "--no-progress", "--out", str(out), *extra])


def test_train_without_backend_uses_the_only_installed_one(tmp_path, monkeypatch):
    monkeypatch.delenv("PSYCHCORE_BACKEND", raising=False)
    monkeypatch.setattr(_plugins.registry(), "backends",
                        {"numpy-readout": NumpyReadoutBackend})
    assert train_default(tmp_path / "run") == 0
    # the resolved name is recorded, never None
    assert json.loads((tmp_path / "run" / "run.json").read_text())["backend"] == "numpy-readout"


def test_train_without_backend_among_several_asks_for_one(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PSYCHCORE_BACKEND", raising=False)
    monkeypatch.setattr(_plugins.registry(), "backends",
                        {"numpy-readout": NumpyReadoutBackend, "numpy-other": OtherNumpy})
    assert train_default(tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert err.startswith("psychcore: error: no backend named and 2 are installed: "
                          "numpy-other, numpy-readout; choose one with")
    assert "--backend numpy-other" in err and not (tmp_path / "run").exists()
    monkeypatch.setenv("PSYCHCORE_BACKEND", "numpy-other")
    assert train_default(tmp_path / "run") == 0
    assert json.loads((tmp_path / "run" / "run.json").read_text())["backend"] == "numpy-other"
    monkeypatch.setenv("PSYCHCORE_BACKEND", "numpy")
    assert train_default(tmp_path / "other") == 2
    assert "PSYCHCORE_BACKEND='numpy' names no installed backend" in capsys.readouterr().err
