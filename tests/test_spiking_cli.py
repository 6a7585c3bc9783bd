"""``psychcore spiking RUN_DIR`` and the spiking section of ``psychcore report``, on a tiny
hand-made run (12 sigmoid units, 300 ms trials: a few thousand LIF steps)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from psychcore import ModelSpec, initialize_weights
from psychcore.cli import main

pytest.importorskip("matplotlib")
pytest.importorskip("scipy")
pytest.importorskip("psychcore_tasks_classic")  # make_run's task

from run_dirs import FAST, main_checking_layouts, make_run, write_run  # noqa: E402
from sign_task import Sign  # noqa: E402

SIGN = f"{Path(__file__).parent / 'sign_task.py'}:Sign"
TINY = ["--lambdas", "2,6", "--trials", "4", "--eval-trials", "4", "--no-progress"]


def sigmoid_run(path: Path, *, task: str = SIGN) -> Path:
    sign = Sign(N_batch=4)
    spec = ModelSpec(N_rec=12, transfer_function="sigmoid", dale_ratio=0.75, train_tau=True,
                     tau_range=(20.0, 200.0)).bind(sign)
    weights = initialize_weights(spec, 0)
    weights["W_in"] = weights["W_in"] * 20  # strong enough input to make the neurons fire
    info = {"task": task, "task_params": sign.get_task_params(), "backend": "none",
            "seed": 0, "status": "finished"}
    return write_run(path, spec, weights, info)


@pytest.fixture(scope="module")
def spiking_run(tmp_path_factory):
    """A converted tiny run; each figure's layout is checked as it is saved."""
    import psychcore.analysis._spiking as module

    run = sigmoid_run(tmp_path_factory.mktemp("spiking") / "run")
    rc, checked = main_checking_layouts(module, ["spiking", str(run), *TINY])
    return run, rc, checked


def test_spiking_writes_the_network_the_numbers_and_the_figures(spiking_run, capsys):
    from psychcore.analysis import load_spiking_network
    from psychcore.spiking import RateNetwork

    run, rc, checked = spiking_run
    assert rc == 0
    out = run / "spiking"
    assert sorted(p.name for p in out.iterdir()) == [
        "accuracy.png", "firing_rates.png", "network.npz", "outputs.png", "raster.png",
        "spiking.json"]
    assert not list(run.glob(".spiking*"))  # no temporary directory left
    assert {name: problems for name, problems in checked.items() if problems} == {}
    assert set(checked) == {"accuracy", "raster", "outputs", "firing_rates"}
    record = json.loads((out / "spiking.json").read_text())
    assert record["lambdas"] == [2.0, 6.0] and len(record["accuracy"]) == 2
    assert record["best_lambda"] == record["lambdas"][int(np.argmax(record["accuracy"]))]
    assert record["search_trials"] == 4 and record["eval_trials"] == 4
    assert 0 <= record["rate_accuracy"] <= 1 and 0 <= record["spiking_accuracy"] <= 1
    assert record["lif_params"]["lam"] == record["best_lambda"]
    assert record["lif_params"]["tau_m"] == 0.01
    assert all(r > 0 for r in record["firing_rate"])  # the neurons do fire
    with np.load(out / "network.npz", allow_pickle=False) as data:
        assert float(data["lam"]) == record["best_lambda"]
        assert data["W_rec_effective"].shape == (12, 12)
    net, lam = load_spiking_network(out / "network.npz")
    spec = ModelSpec.from_file(run / "spec.json")
    from psychcore import load_weights
    ref = RateNetwork.from_weights(spec, load_weights(run / "weights.npz")[0])
    assert lam == record["best_lambda"] and net.rectify == ref.rectify
    for name in ("w_in", "w_rec", "w_out", "b_out", "tau", "rec_signs", "b_rec"):
        np.testing.assert_array_equal(getattr(net, name), getattr(ref, name))


def test_spiking_refuses_to_overwrite_unless_asked(spiking_run, capsys):
    run, _, _ = spiking_run
    before = (run / "spiking" / "spiking.json").read_bytes()
    assert main(["spiking", str(run), *TINY]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert (run / "spiking" / "spiking.json").read_bytes() == before
    assert main(["spiking", str(run), *TINY, "--seed", "1", "--overwrite"]) == 0
    assert json.loads((run / "spiking" / "spiking.json").read_text())["seed"] == 1
    assert "chosen lambda" in capsys.readouterr().out


def test_report_includes_the_spiking_section(spiking_run):
    run, _, _ = spiking_run
    assert main(["report", str(run), *FAST, "--overwrite"]) == 0
    report = run / "report"
    for name in ("accuracy", "raster", "outputs", "firing_rates"):
        assert (report / f"spiking_{name}.png").read_bytes() == (
            run / "spiking" / f"{name}.png").read_bytes()
    html = (report / "index.html").read_text()
    assert "spiking: chosen lambda" in html and "spiking_raster.png" in html
    notes = json.loads((report / "report.json").read_text())["notes"]
    assert notes["spiking"]["best_lambda"] in (2.0, 6.0)


def test_spiking_bad_input(tmp_path, capsys):
    relu = make_run(tmp_path / "relu")  # a hand-built network of relu units
    assert main(["spiking", str(relu), *TINY]) == 2
    err = capsys.readouterr().err
    assert err.startswith("psychcore: error: spiking: the network of") and str(relu) in err
    assert "sigmoid" in err and not (relu / "spiking").exists()
    assert main(["spiking", str(tmp_path / "missing"), *TINY]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["spiking", str(relu), "--lambdas", "20,-5"]) == 2
    assert "--lambdas" in capsys.readouterr().err
    gone = sigmoid_run(tmp_path / "gone", task="NoSuchTask")
    assert main(["spiking", str(gone), *TINY]) == 2
    assert "could not be rebuilt" in capsys.readouterr().err
