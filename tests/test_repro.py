"""Cross-backend reproducibility check, on two copies of the NumPy test double."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy_backend import NumpyReadoutBackend
from sign_task import Sign

from psychcore import ModelSpec, _plugins
from psychcore._repro import check_reproducibility, relative_difference
from psychcore.backend import FrameworkBackend, check_adam_state
from psychcore.cli import main

SIGN = f"{Path(__file__).parent / 'sign_task.py'}:Sign"


class OtherNumpy(NumpyReadoutBackend):
    name = "numpy-other"


class Restarted(NumpyReadoutBackend):
    """Records every portable Adam state it is given."""

    name = "numpy-restarted"
    loaded: list[int] = []

    def set_adam_state(self, state):
        type(self).loaded.append(int(state["step"]))
        super().set_adam_state(state)


class SlightlyWrong(NumpyReadoutBackend):
    """Adam's step size 0.1% too large: the kind of error the check must catch."""

    name = "numpy-wrong"

    def configure_optimizer(self, optimizer="adam", learning_rate=1e-3, clip_grads=True, **kw):
        super().configure_optimizer(optimizer, learning_rate * 1.001, clip_grads, **kw)


class NoAdamState(NumpyReadoutBackend):
    name = "numpy-no-adam-state"
    _get_adam = FrameworkBackend._get_adam
    _set_adam = FrameworkBackend._set_adam


@pytest.fixture(autouse=True)
def two_backends(monkeypatch):
    reg = _plugins.registry()
    for cls in (NumpyReadoutBackend, OtherNumpy, Restarted, SlightlyWrong, NoAdamState):
        monkeypatch.setitem(reg.backends, cls.name, cls)


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
    assert by_what["weight updates"].difference <= 1e-12
    assert report.runs[0].inputs == report.runs[1].inputs
    assert report.runs[0].inputs["noise"] != "none"
    assert report.sync_every == 1
    # the first backend's own sensitivity: nudged by one ulp, it ends a little apart
    assert 0 < report.sensitivity.weights < 1e-10
    assert "training's own sensitivity: numpy-readout alone" in report.format()


def test_restarts_load_the_first_backends_state_and_leave_it_alone():
    spec = ModelSpec(N_rec=12, dtype="float64")
    Restarted.loaded = []
    synced = check_reproducibility(Sign(N_batch=8), spec, ["numpy-restarted", "numpy-restarted"],
                                   steps=30, sync_every=10, loss_epoch=5, n_test=4,
                                   sensitivity=False)
    # the second lane restarts at steps 10 and 20 (not after the last), the first never
    assert Restarted.loaded == [10, 20]
    assert synced.ok and synced.sensitivity is None
    free = check_reproducibility(Sign(N_batch=8), spec, ["numpy-readout", "numpy-other"],
                                 steps=30, sync_every=0, loss_epoch=5, n_test=4)
    assert free.runs[0].losses == synced.runs[0].losses
    np.testing.assert_array_equal(free.runs[0].weights["W_out"], synced.runs[0].weights["W_out"])
    assert "free-running" in free.format()
    assert "weight updates" not in {c.what for c in free.comparisons}


@pytest.mark.parametrize("sync_every, caught", [
    (1, {"weight updates", "final weights"}),  # every loss is computed from the same state
    (10, {"weight updates", "loss curve", "final weights"}),
    (0, {"loss curve", "final weights"}),
])
def test_a_slightly_wrong_update_fails_with_or_without_restarts(sync_every, caught):
    spec = ModelSpec(N_rec=12, dtype="float64")
    report = check_reproducibility(Sign(N_batch=8), spec, ["numpy-readout", "numpy-wrong"],
                                   steps=30, sync_every=sync_every, loss_epoch=5, n_test=4)
    assert not report.ok and not report.input_mismatches
    failed = {c.what for c in report.comparisons if not c.ok}
    assert caught <= failed, report.format()
    if sync_every:  # Adam's steps differ by the 0.1% of the step size
        update = next(c for c in report.comparisons if c.what == "weight updates")
        assert 5e-4 < update.difference < 2e-3
    assert "final weights of numpy-readout vs numpy-wrong" in report.format()


def test_restarts_need_a_portable_adam_state():
    spec = ModelSpec(N_rec=8, dtype="float64")
    with pytest.raises(ValueError, match="'numpy-no-adam-state' does not export a portable "
                                         "Adam state.*sync_every=0"):
        check_reproducibility(Sign(N_batch=4), spec, ["numpy-readout", "numpy-no-adam-state"],
                              steps=4, loss_epoch=2)
    report = check_reproducibility(Sign(N_batch=4), spec,
                                   ["numpy-readout", "numpy-no-adam-state"], steps=4,
                                   loss_epoch=2, sync_every=0, n_test=2)
    assert report.ok, report.format()


@pytest.mark.parametrize("kw, message", [
    ({"steps": 0}, "steps must be a positive int; received 0"),
    ({"sync_every": -1}, "sync_every must be a non-negative int; received -1"),
    ({"loss_epoch": 50, "steps": 10}, "loss_epoch must not exceed steps"),
    ({"seeds": {"jax": 1}}, "seeds names backends not in the run"),
])
def test_bad_arguments(kw, message):
    with pytest.raises(ValueError, match=message):
        check_reproducibility(Sign(N_batch=4), ModelSpec(N_rec=4),
                              ["numpy-readout", "numpy-other"], **kw)


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
            "numpy-readout,numpy-other", "--steps", "12", "--loss-epoch", "3"]
    assert main([*args, "--float64", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "Simulator agreement" in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["ok"] is True and data["dtype"] == "float64" and len(data["runs"]) == 2
    assert data["sync_every"] == 1 and data["sensitivity"]["backend"] == "numpy-readout"
    assert main([*args, "--float64", "--sync-every", "0", "--no-sensitivity"]) == 0
    out = capsys.readouterr().out
    assert "free-running" in out and "sensitivity" not in out
    assert main([*args, "--sync-every", "-2"]) == 2
    assert "sync_every must be a non-negative int" in capsys.readouterr().err
    assert main([*args, "--float64", "--seed-for", "numpy-other=3"]) == 1
    assert "seed 0 vs 3" in capsys.readouterr().out
    assert main([*args, "--backends", "numpy-readout"]) == 2
    assert "at least two backends" in capsys.readouterr().err


def test_relative_difference():
    assert relative_difference([1.0, -2.0], [1.0, -2.0]) == 0.0
    assert relative_difference([1.0, -2.0], [1.1, -2.0]) == pytest.approx(0.05)
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3,\)"):
        relative_difference([1.0, 2.0], [1.0, 2.0, 3.0])


def test_check_adam_state():
    shapes = {"W_out": (2, 3), "b_out": (2,)}
    state = {"step": np.array(4), "m/W_out": np.zeros((2, 3)), "v/W_out": np.ones((2, 3)),
             "m/b_out": np.zeros(2), "v/b_out": np.ones(2)}
    step, m, v = check_adam_state(state, shapes)
    assert step == 4 and set(m) == set(v) == {"W_out", "b_out"}
    np.testing.assert_array_equal(v["W_out"], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"missing \['v/b_out'\], unexpected \['v/b_rec'\]"):
        check_adam_state({**{k: a for k, a in state.items() if k != "v/b_out"},
                          "v/b_rec": np.ones(2)}, shapes)
    with pytest.raises(ValueError, match=r"state\['m/W_out'\] has shape \(3, 2\); expected "
                                         r"\(2, 3\)"):
        check_adam_state({**state, "m/W_out": np.zeros((3, 2))}, shapes)
    for step in (-1, 2.5, np.ones(2)):
        with pytest.raises(ValueError, match="non-negative integer scalar"):
            check_adam_state({**state, "step": step}, shapes)
    with pytest.raises(TypeError, match="state must be a dict of arrays; received list"):
        check_adam_state([], shapes)


class Unavailable(NumpyReadoutBackend):
    name = "numpy-unavailable"

    @classmethod
    def is_available(cls):
        return False, "not here"


def test_by_default_every_installed_backend_that_can_run_is_compared(monkeypatch, capsys):
    monkeypatch.setattr(_plugins.registry(), "backends", {
        c.name: c for c in (NumpyReadoutBackend, OtherNumpy, Unavailable)})
    spec = ModelSpec(N_rec=8, dtype="float64")
    report = check_reproducibility(Sign(N_batch=4), spec, steps=4, loss_epoch=2, n_test=4,
                                   sensitivity=False)
    assert [r.backend for r in report.runs] == ["numpy-other", "numpy-readout"]
    assert report.ok, report.format()
    # --iters: the old name of --steps, still accepted with a warning
    assert main(["repro", SIGN, "-t", "N_batch=4", "--N-rec", "8", "--iters", "4",
                 "--loss-epoch", "2", "--float64", "--no-sensitivity"]) == 0
    captured = capsys.readouterr()
    assert "numpy-other vs numpy-readout" in captured.out
    assert "repro --iters is deprecated; use --steps" in captured.err
    assert ": 4 Adam steps," in captured.out
    monkeypatch.setattr(_plugins.registry(), "backends", {
        c.name: c for c in (NumpyReadoutBackend, Unavailable)})
    with pytest.raises(ValueError, match="compares at least two backends; installed and able "
                                         "to run here: numpy-readout. Install another"):
        check_reproducibility(Sign(N_batch=4), spec, steps=4)
