"""Cross-backend reproducibility check, on two copies of the NumPy test double."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from numpy_backend import NumpyReadoutBackend
from sign_task import Sign

from psychcore import ModelSpec, _plugins
from psychcore._repro import check_reproducibility, relative_difference
from psychcore.cli import main

SIGN = f"{Path(__file__).parent / 'sign_task.py'}:Sign"


class OtherNumpy(NumpyReadoutBackend):
    name = "numpy-other"


@pytest.fixture(autouse=True)
def two_backends(monkeypatch):
    reg = _plugins.registry()
    monkeypatch.setitem(reg.backends, "numpy-readout", NumpyReadoutBackend)
    monkeypatch.setitem(reg.backends, "numpy-other", OtherNumpy)


def test_identical_inputs_agree_in_float64():
    spec = ModelSpec(N_rec=12, dale_ratio=0.75, rec_noise=0.05, dtype="float64")
    report = check_reproducibility(Sign(N_batch=8), spec, ["numpy-readout", "numpy-other"],
                                   steps=30, loss_epoch=5, n_test=10)
    assert report.ok, report.format()
    assert not report.input_mismatches
    assert len(report.runs[0].losses) == 6
    by_what = {c.what: c for c in report.comparisons if c.pair == "numpy-readout vs numpy-other"}
    assert by_what["loss curve"].difference <= 1e-12
    assert by_what["final weights"].difference <= 1e-12
    assert report.runs[0].inputs == report.runs[1].inputs
    assert report.runs[0].inputs["noise"] != "none"


def test_mismatched_seed_fails_and_names_what_differs():
    spec = ModelSpec(N_rec=12, rec_noise=0.05, dtype="float64")
    report = check_reproducibility(Sign(N_batch=8), spec, ["numpy-readout", "numpy-other"],
                                   steps=10, seeds={"numpy-other": 1}, loss_epoch=2, n_test=4)
    assert not report.ok
    text = report.format()
    assert "INPUTS DIFFER: initial weights of numpy-readout vs numpy-other (seed 0 vs 1)" in text
    assert "batches of" in text and "noise of" in text
    assert "FAIL" in text and "final weights of numpy-readout vs numpy-other" in text


def test_cli_exit_codes_and_json(tmp_path, capsys):
    args = ["repro", SIGN, "-t", "N_batch=8", "--N-rec", "10", "--backends",
            "numpy-readout,numpy-other", "--iters", "12", "--loss-epoch", "3"]
    assert main([*args, "--float64", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "Simulator agreement" in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["ok"] is True and data["dtype"] == "float64" and len(data["runs"]) == 2
    assert main([*args, "--float64", "--seed-for", "numpy-other=3"]) == 1
    assert "seed 0 vs 3" in capsys.readouterr().out
    assert main([*args, "--backends", "numpy-readout"]) == 2
    assert "at least two backends" in capsys.readouterr().err


def test_relative_difference():
    assert relative_difference([1.0, -2.0], [1.0, -2.0]) == 0.0
    assert relative_difference([1.0, -2.0], [1.1, -2.0]) == pytest.approx(0.05)
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3,\)"):
        relative_difference([1.0, 2.0], [1.0, 2.0, 3.0])
