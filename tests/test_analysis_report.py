"""``psychcore report RUN_DIR`` on run directories written without a backend."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import psychcore
from psychcore import ModelSpec, initialize_weights, save_weights
from psychcore.analysis import write_report
from psychcore.cli import main

pytest.importorskip("matplotlib")
pytest.importorskip("scipy")
pytest.importorskip("psychcore_tasks_classic")

from run_dirs import (  # noqa: E402
    FAST,
    layout_problems,
    main_checking_layouts,
    make_run,
    write_run,
)

SIGN = f"{Path(__file__).parent / 'sign_task.py'}:Sign"
ALL_FIGURES = ("training", "weights", "spectrum", "example_trial", "psychometric",
               "unit_traces", "pca", "fixed_points", "lesions")


@pytest.fixture(scope="module")
def report_run(tmp_path_factory):
    """The report of a hand-built network; each figure's layout is checked as it is saved."""
    import psychcore.analysis._report as report_module

    run = make_run(tmp_path_factory.mktemp("report") / "run")
    rc, run_layout[run] = main_checking_layouts(report_module, ["report", str(run), *FAST])
    return run, rc


run_layout: dict[Path, dict[str, list[str]]] = {}


def test_every_report_figure_fits_its_canvas_without_overlapping_labels(report_run):
    run, rc = report_run
    checked = run_layout[run]
    assert rc == 0 and set(checked) == set(ALL_FIGURES)
    assert {name: problems for name, problems in checked.items() if problems} == {}


def test_the_training_plot_ticks_stay_apart_on_long_runs():
    """10k-20k trials (a resumed run): the default ticks read "10000125001500017500 20000"."""
    import matplotlib.pyplot as plt

    from psychcore._run import metrics_figure

    rows = [{"epoch": e, "trials": 64 * e, "loss": 0.5 / e, "accuracy": min(1.0, e / 300)}
            for e in range(160, 320, 10)]
    fig = metrics_figure(rows)
    try:
        assert layout_problems(fig) == []
        low, high = fig.axes[0].get_xlim()
        labels = [t.get_text() for t in fig.axes[0].get_xticklabels()
                  if t.get_text() and low <= t.get_position()[0] <= high]
        assert 3 <= len(labels) <= 6 and all(len(t) <= 5 for t in labels), labels
    finally:
        plt.close(fig)
    # the check sees the problem it guards against: 5-digit labels every 2500 trials, narrow
    fig, ax = plt.subplots(figsize=(2.2, 2))
    ax.plot([10000, 20000], [0, 1])
    ax.set_xticks(np.arange(10000, 20001, 2500))
    try:
        assert any("tick labels" in p and "overlap" in p for p in layout_problems(fig))
    finally:
        plt.close(fig)


def test_example_trial_titles_write_numbers_as_people_do():
    from psychcore.analysis._report import _value_text

    assert [_value_text(v) for v in (1400.0, 1400, 0.2041, 2.5e-05, 1234.5, -0.0, True,
                                     "go", [100.0, 0.5], np.float32(0.1))] == [
        "1400", "1400", "0.204", "2.5e-05", "1234", "0", "True", "go", "[100, 0.5]", "0.1"]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_report_writes_every_figure_and_an_index(report_run):
    run, rc = report_run
    assert rc == 0
    report = run / "report"
    html = (report / "index.html").read_text()
    for name in ALL_FIGURES:
        png = report / f"{name}.png"
        assert png.stat().st_size > 10_000, name
        width, height = png_size(png)
        assert width >= 300 and height >= 300, (name, width, height)
        assert f'src="{name}.png"' in html
    assert html.count("<figcaption>") == len(ALL_FIGURES)
    assert "PerceptualDiscrimination" in html and "Not applicable" not in html
    assert not list(run.glob(".report*"))  # no temporary directory left behind


def test_report_numbers_describe_the_network(report_run):
    run, _ = report_run
    info = json.loads((run / "report" / "report.json").read_text())
    assert info["failed"] == {} and info["skipped"] == {}
    notes = info["notes"]
    assert notes["accuracy"] > 0.8
    slope, low, high = notes["psychometric"]["slope"]
    assert 0 < low < slope < high  # choices of output 1 rise with signed coherence
    # at zero input: silent, pool-1 and pool-2 attractors, and saddles between them
    fixed = notes["fixed_points"]
    assert fixed["stability"].count("stable") == 3 and "saddle" in fixed["stability"]
    assert notes["pca_explained_variance_ratio"][0] > 0.5


def test_report_refuses_to_overwrite_unless_asked(report_run, tmp_path, capsys):
    run, _ = report_run
    report = run / "report"
    before = {p.name: p.read_bytes() for p in report.iterdir()}
    assert main(["report", str(run), *FAST]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in report.iterdir()} == before
    # --overwrite replaces the whole directory (a network-only run keeps this test fast)
    bare = make_run(tmp_path / "bare", run_json=False, metrics=False)
    assert main(["report", str(bare), *FAST]) == 0
    names = {p.name for p in (bare / "report").iterdir()}
    (bare / "report" / "stale.txt").write_text("from an older report")
    assert main(["report", str(bare), *FAST]) == 2
    assert main(["report", str(bare), *FAST, "--overwrite"]) == 0
    assert {p.name for p in (bare / "report").iterdir()} == names


def test_report_without_run_json_draws_the_network_figures_only(tmp_path, capsys):
    run = make_run(tmp_path / "bare", run_json=False, metrics=False)
    assert main(["report", str(run), *FAST]) == 0
    out = capsys.readouterr().out
    assert "skipped psychometric: the run has no run.json naming its task" in out
    written = sorted(p.stem for p in (run / "report").glob("*.png"))
    assert written == ["spectrum", "weights"]
    html = (run / "report" / "index.html").read_text()
    assert "Not applicable" in html and "no metrics.csv records" in html


def test_report_of_an_lstm_on_a_task_without_coherence(tmp_path):
    task = psychcore.get_task(SIGN)(N_batch=8)
    spec = ModelSpec(N_rec=6, architecture="lstm").bind(task)
    run = write_run(tmp_path / "lstm", spec, initialize_weights(spec, rng=0),
                    {"task": SIGN, "task_params": task.get_task_params()})
    result = write_report(run, n_trials=16, fixed_point_inits=4, progress=False)
    assert result.failed == {}
    assert set(result.skipped) == {"training", "spectrum", "psychometric", "fixed_points"}
    assert set(result.figures) == {"weights", "example_trial", "unit_traces", "pca", "lesions"}
    assert 0.0 <= result.notes["accuracy"] <= 1.0


def test_report_progress_bar_and_failed_figures(tmp_path, monkeypatch, capsys):
    import psychcore.analysis._report as report_module

    def broken(spec, weights, path):
        raise RuntimeError("spectrum exploded")

    monkeypatch.setattr(report_module, "_spectrum", broken)
    run = make_run(tmp_path / "bare", run_json=False, metrics=False)
    result = write_report(run, progress=True)
    err = capsys.readouterr().err
    assert "report: 100%" in err and "3/3" in err and "done" in err and "weights" in err
    assert list(result.failed) == ["spectrum"] and "spectrum exploded" in result.failed["spectrum"]
    html = (run / "report" / "index.html").read_text()
    assert "<h2>Failed</h2>" in html and "spectrum exploded" in html
    assert main(["report", str(run), "--overwrite", "--no-progress"]) == 1  # exit 1: a failure
    assert "FAILED spectrum: RuntimeError: spectrum exploded" in capsys.readouterr().err


class _DrawnCoherence(psychcore.get_task("PerceptualDiscrimination")):
    """Coherence drawn per trial and not a constructor argument: the report bins it."""

    def __init__(self, dt, tau, T, N_batch):
        super().__init__(dt, tau, T, N_batch)


class _OneOutput(psychcore.Task):
    """One input, one output, no accuracy function."""

    def __init__(self, N_batch=8):
        super().__init__(1, 1, 10, 100, 200, N_batch)

    def generate_batch_params(self, batch, N, rng):
        return {"level": rng.normal(size=N)}

    def batch_function(self, t, params, rng):
        x = np.broadcast_to(params["level"][:, None, None], (len(params["level"]), t.size, 1))
        return x, np.array(x), np.ones_like(x)


def test_report_on_other_kinds_of_task(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    import psychcore.analysis._report as report_module

    def no_render(fig, path):  # the figures are built but not rasterised (keeps this fast)
        plt.close(fig)
        path.write_bytes(b"not rendered")

    monkeypatch.setattr(report_module, "_save", no_render)
    run = make_run(tmp_path / "drawn", metrics=False)
    monkeypatch.setattr(report_module, "rebuild_task",
                        lambda info, seed=0: _DrawnCoherence(10, 100, 2000, 16))
    result = write_report(run, n_trials=48, fixed_point_inits=8, progress=False)
    assert result.failed == {} and "psychometric" in result.figures
    assert "signed coherence (binned)" in result.captions["pca"]
    assert result.notes["psychometric"]["slope"][0] > 0

    task = _OneOutput()
    spec = ModelSpec(N_rec=5).bind(task)
    run = tmp_path / "one"
    run.mkdir()
    save_weights(run / "weights", initialize_weights(spec, rng=0), spec)
    monkeypatch.setattr(report_module, "rebuild_task", lambda info, seed=0: _OneOutput())
    (run / "run.json").write_text(json.dumps({"task": "OneOutput"}))
    result = write_report(run, n_trials=8, fixed_point_inits=4, progress=False)
    assert result.failed == {}
    assert {"psychometric", "lesions", "training"} <= set(result.skipped)
    assert {"weights", "spectrum", "example_trial", "unit_traces", "pca", "fixed_points"} == \
        set(result.figures)
    assert result.captions["unit_traces"].endswith("averaged over all trials.")
    assert "units 0, 1, 2, 3, 4" in result.captions["unit_traces"]


def test_report_bad_input(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing"), "--no-progress"]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "--no-progress"]) == 2
    assert "has no weights.npz" in capsys.readouterr().err
    with pytest.raises(TypeError, match="run_dir must be a path"):
        write_report(3)
    with pytest.raises(ValueError, match="n_trials must be an int >= 2"):
        write_report(tmp_path, n_trials=1)


def test_importing_psychcore_imports_neither_scipy_nor_matplotlib():
    code = ("import sys, psychcore, psychcore.analysis, psychcore.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('scipy', 'matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
