"""Sweep descriptions: parsing, validation (every problem at once, located), expansion into
runs, planning of resumed sweeps, the results table and the report. No training here (see
``test_sweep_run.py``)."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from psychcore import _plugins
from psychcore.cli import main
from psychcore.sweep import Sweep, SweepValidationError, aggregate, plot_sweep, run_sweep
from psychcore.sweep._problems import locate
from psychcore.sweep._results import trials_to_criterion
from psychcore.sweep._runner import _plan

EXAMPLES = Path(__file__).parent.parent / "examples" / "sweeps"

GOOD = """
name = "demo"
backend = "torch"

[task]
name = "PerceptualDiscrimination"
params = { T = 300, N_batch = 8 }

[spec]
N_rec = 8
dale_ratio = 0.8

[training]
training_iters = 160
loss_epoch = 5
performance_cutoff = 0.9

[curricula.coh]
param = "coherence"
values = [0.5, 0.1]

[axes]
seeds = { start = 1, count = 2 }

[axes.grid]
spec.N_rec = [8, 16]
training.curriculum = ["coh", "none"]

[axes.zip]
training.learning_rate = [0.01, 0.001]
task.coherence = [0.2, 0.1]
"""

BAD = """\
backnd = "torch"

[task]
name = "PerceptualDiscrimination"
params = { T = 300, N_batch = 8, coherenc = 0.1 }

[spec]
N_rec = 8
dale_ratio = 1.5
tau = 100

[training]
training_iters = -5
learning_rate = "fast"

[curricula.coh]
param = "coherence"
values = [0.7, -0.5]

[axes]
seeds = [0, 0]

[axes.grid]
spec.N_rec = [8, "ten"]
task.coherence = [0.1, -1]
N_batch = [8]
training.curriculum = ["coh", "hard"]

[axes.zip]
training.learning_rate = [0.01, 0.1]
spec.rec_noise = [0.1]

[resources]
num_cpus = 0
"""


@pytest.fixture(autouse=True)
def _default_backend(monkeypatch):
    """Descriptions here name no backend unless the test is about it: the user's default
    (``PSYCHCORE_BACKEND``) is torch, as in ``GOOD``."""
    monkeypatch.setenv("PSYCHCORE_BACKEND", "torch")


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_description_expands_into_named_runs(tmp_path):
    sweep = Sweep.from_file(write(tmp_path, GOOD))
    runs = sweep.runs()
    assert len(runs) == 2 * 2 * 2 * 2  # seeds x N_rec x curriculum x zipped pair
    assert sweep.axes == ["seed", "spec.N_rec", "training.curriculum",
                          "training.learning_rate", "task.coherence"]
    first = runs[0]
    assert first.name == "seed=1,N_rec=8,curriculum=coh,learning_rate=0.01,coherence=0.2"
    assert [r.seed for r in runs[:8]] == [1] * 8  # seeds outermost
    assert first.spec == {"N_rec": 8, "dale_ratio": 0.8}
    assert first.task_params == {"T": 300, "N_batch": 8, "coherence": 0.2}
    assert first.training["learning_rate"] == 0.01
    assert first.training["performance_cutoff"] == 0.9
    assert first.curriculum == {"name": "coh", "stages": [{"coherence": 0.5},
                                                          {"coherence": 0.1}],
                                "thresholds": [0.9, 0.9], "metric_epoch": 10}
    none = next(r for r in runs if r.values["training.curriculum"] == "none")
    assert none.curriculum is None
    assert len({r.name for r in runs}) == len(runs)
    assert len({r.config_hash() for r in runs}) == len(runs)
    # zipped axes vary together: never (0.01, 0.1)
    assert {(r.training["learning_rate"], r.task_params["coherence"]) for r in runs} == {
        (0.01, 0.2), (0.001, 0.1)}
    assert sweep.criterion_value == 0.9


def test_the_python_api_is_the_file_format(tmp_path):
    from_file = Sweep.from_file(write(tmp_path, GOOD))
    api = Sweep(task="PerceptualDiscrimination", task_params={"T": 300, "N_batch": 8},
                spec={"N_rec": 8, "dale_ratio": 0.8},
                training={"training_iters": 160, "loss_epoch": 5, "performance_cutoff": 0.9},
                curricula={"coh": {"param": "coherence", "values": [0.5, 0.1]}},
                seeds=range(1, 3),
                grid={"spec.N_rec": [8, 16], "training.curriculum": ["coh", "none"]},
                zipped={"training.learning_rate": [0.01, 0.001], "task.coherence": [0.2, 0.1]},
                name="demo")
    assert [r.to_dict() for r in api.runs()] == [r.to_dict() for r in from_file.runs()]
    again = Sweep.from_dict(json.loads(json.dumps(api.to_dict())))
    assert [r.to_dict() for r in again.runs()] == [r.to_dict() for r in api.runs()]


def test_validation_lists_every_problem_with_its_location(tmp_path):
    path = write(tmp_path, BAD)
    with pytest.raises(SweepValidationError) as info:
        Sweep.from_file(path)
    found = {(p.location, p.line) for p in info.value.problems}
    text = str(info.value)
    expected = {
        ("backnd", 1),
        ("[task.params] coherenc", 5),
        ("[spec] dale_ratio", 9),
        ("[spec] tau", 10),
        ("[training] training_iters", 13),
        ("[training] learning_rate", 14),
        ("[curricula.coh] values", 18),
        ("[axes] seeds", 21),
        ("[axes.grid] spec.N_rec", 24),
        ("[axes.grid] task.coherence", 25),
        ("[axes.grid] N_batch", 26),
        ("[axes.grid] training.curriculum", 27),
        ("[axes.zip]", 29),
        ("[resources] num_cpus", 34),
    }
    assert expected <= found, expected - found
    assert len(info.value.problems) == len(expected)
    assert f"invalid sweep description {path} ({len(expected)} problems)" in text
    assert f"{path}:24: [axes.grid] spec.N_rec: value 'ten': ModelSpec: N_rec must be a " \
           "positive int" in text
    assert "did you mean 'backend'" in text and "did you mean 'coherence'" in text
    assert "write task.N_batch" in text
    assert "no curriculum named 'hard'" in text
    assert "coherence must be a finite number >= 0; received -1" in text
    assert "stage 1 ({'coherence': -0.5})" in text
    # the problems are in file order
    lines = [p.line for p in info.value.problems]
    assert lines == sorted(lines)


def test_validation_of_the_python_api_and_of_combinations():
    with pytest.raises(SweepValidationError) as info:
        Sweep(task="NoSuchTask", seeds=[-1])
    text = str(info.value)
    assert "[task] name: unknown task 'NoSuchTask'" in text
    assert "[axes] seeds: expected a non-empty list of ints >= 0" in text
    # each value is valid alone, the combination is not (recurrent noise is for rate RNNs)
    with pytest.raises(SweepValidationError) as info:
        Sweep(task="PerceptualDiscrimination", seeds=[0, 1],
              grid={"spec.architecture": ["rnn", "lstm"], "spec.rec_noise": [0, 0.1]})
    problems = info.value.problems
    assert len(problems) == 1, problems
    assert problems[0].location == "[axes] run seed=0,architecture=lstm,rec_noise=0.1"
    assert "rec_noise > 0 is only defined for architecture 'rnn'" in problems[0].message
    # the base spec is bound to the task of every combination: tau_range vs tau
    with pytest.raises(SweepValidationError, match=r"run seed=0,tau=500"):
        Sweep(task="PerceptualDiscrimination",
              spec={"train_tau": True, "tau_range": [20, 400]},
              grid={"task.tau": [100, 500]})
    # two runs may not share a directory
    with pytest.raises(SweepValidationError, match="share the directory name"):
        Sweep(task="PerceptualDiscrimination", grid={"task.coherence": [0.1, "0.1"]})


def test_none_stands_for_none_where_none_is_allowed():
    sweep = Sweep(task="PerceptualDiscrimination", spec={"dale_ratio": "none"},
                  grid={"task.coherence": ["none", 0.2]},
                  training={"performance_cutoff": "none"})
    runs = sweep.runs()
    assert runs[0].name == "seed=0,coherence=none"
    assert runs[0].task_params["coherence"] is None
    assert runs[0].spec["dale_ratio"] is None
    assert runs[0].training["performance_cutoff"] is None
    assert sweep.criterion_value is None


def test_yaml_and_json_descriptions(tmp_path):
    pytest.importorskip("yaml")
    toml = Sweep.from_file(write(tmp_path, GOOD))
    (tmp_path / "sweep.json").write_text(json.dumps(toml.to_dict()), encoding="utf-8")
    assert [r.name for r in Sweep.from_file(tmp_path / "sweep.json").runs()] == [
        r.name for r in toml.runs()]
    bad = write(tmp_path, "task:\n  name: PerceptualDiscrimination\naxes:\n  grid:\n"
                          "    spec.N_rec: [8, ten]\n", "bad.yaml")
    with pytest.raises(SweepValidationError, match=r"bad.yaml:5: \[axes.grid\] spec.N_rec"):
        Sweep.from_file(bad)


def test_a_file_that_does_not_parse(tmp_path):
    with pytest.raises(SweepValidationError, match="does not parse"):
        Sweep.from_file(write(tmp_path, "[task\nname = 1"))


def test_locate_finds_dotted_keys_and_headers():
    text = "[axes]\nseeds = [1]\n[axes.grid]\nspec.N_rec = [1]\n'task'.coherence = [2]\n"
    assert locate(text, "axes.grid", "spec.N_rec") == 4
    assert locate(text, "axes.grid", "task.coherence") == 5
    assert locate(text, "axes", "seeds") == 2
    assert locate(text, "axes.zip", "x") == 1  # falls back on the enclosing [axes]
    assert locate(None, "axes", "seeds") is None


def test_task_files_resolve_relative_to_the_description(tmp_path):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "sign.py").write_text(
        (Path(__file__).parent / "sign_task.py").read_text(), encoding="utf-8")
    path = write(tmp_path, '[task]\nname = "tasks/sign.py:Sign"\nparams = {N_batch = 8}\n'
                           '[axes.grid]\ntask.level = [0.5, 1.0]\n')
    runs = Sweep.from_file(path).runs()
    assert runs[0].task == f"{(tmp_path / 'tasks' / 'sign.py').resolve()}:Sign"
    assert [r.name for r in runs] == ["seed=0,level=0.5", "seed=0,level=1"]


def test_dry_run_and_bad_files_on_the_command_line(tmp_path, capsys):
    assert main(["sweep", str(write(tmp_path, GOOD)), "--out", str(tmp_path / "o"),
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("16 runs (seed, spec.N_rec, training.curriculum, ")
    assert "  seed=2,N_rec=16,curriculum=none,learning_rate=0.001,coherence=0.1" in out
    assert not (tmp_path / "o").exists()
    assert main(["sweep", str(write(tmp_path, BAD, "bad.toml")), "--out",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "(14 problems)" in err and err.count("\n  ") == 14


def _fake_run(run_dir: Path, status: str, config_hash: str | None, accuracies=()) -> None:
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"status": status, "final_loss": 0.5,
                                                  "accuracy": 0.75, "backend": "torch"}))
    if config_hash is not None:
        (run_dir / "status.json").write_text(json.dumps({"status": status,
                                                         "config_hash": config_hash}))
    rows = [{"epoch": i + 1, "trials": 8 * (i + 1), "loss": 1, "accuracy": a, "stage": "",
             "elapsed_s": 0} for i, a in enumerate(accuracies)]
    with (run_dir / "metrics.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["epoch", "trials", "loss", "accuracy",
                                                "stage", "elapsed_s"])
        writer.writeheader()
        writer.writerows(rows)


def test_plans_of_a_resumed_sweep(tmp_path):
    run = Sweep(task="PerceptualDiscrimination").runs()[0]
    h = run.config_hash()
    assert _plan(run, tmp_path / "new", None) == ("fresh", None)
    _fake_run(tmp_path / "done", "finished", h)
    assert _plan(run, tmp_path / "done", None) == ("skip", None)
    _fake_run(tmp_path / "other", "finished", "0" * 16)
    assert _plan(run, tmp_path / "other", None)[0] == "conflict"
    _fake_run(tmp_path / "killed", "running", None)
    assert _plan(run, tmp_path / "killed", None) == ("clean", None)
    (tmp_path / "killed" / "checkpoint.npz").write_bytes(b"")
    assert _plan(run, tmp_path / "killed", None) == ("resume", None)
    assert _plan(run, tmp_path / "killed", {"config_hash": "1" * 16})[0] == "clean"


def test_a_finished_run_of_another_configuration_is_refused(tmp_path):
    sweep = Sweep(task="PerceptualDiscrimination", seeds=[0, 1])
    name = sweep.runs()[0].name
    _fake_run(tmp_path / name, "finished", "0" * 16)
    before = (tmp_path / name / "run.json").read_bytes()
    with pytest.raises(ValueError, match=r"1 finished run\(s\) .* another configuration"):
        run_sweep(sweep, tmp_path, progress=False)
    assert (tmp_path / name / "run.json").read_bytes() == before
    assert not (tmp_path / "seed=1").exists()


def test_trials_to_criterion(tmp_path):
    _fake_run(tmp_path / "r", "finished", None, accuracies=[0.5, 0.91, 0.85, 0.95])
    assert trials_to_criterion(tmp_path / "r", 0.9) == 16
    assert trials_to_criterion(tmp_path / "r", 0.99) is None
    assert trials_to_criterion(tmp_path / "r", None) is None


def _results(tmp_path: Path) -> Path:
    """A sweep directory with a hand-written results table: 3 seeds x 2 sizes x 2 curricula."""
    rows = []
    for seed in range(3):
        for n in (8, 16):
            for cur in ("coh", "none"):
                value = n * 10 + (0 if cur == "coh" else 100) + seed
                missing = cur == "none" and n == 16 and seed == 2
                rows.append({"run": f"seed={seed},N_rec={n},curriculum={cur}",
                             "status": "finished", "seed": seed, "spec.N_rec": n,
                             "training.curriculum": cur, "final_loss": 0.1,
                             "accuracy": 0.9, "trials_to_criterion": "" if missing else value})
    rows.append({**rows[0], "run": "x", "status": "failed", "trials_to_criterion": 1e9})
    with (tmp_path / "results.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "sweep.json").write_text(json.dumps(
        {"axes": ["seed", "spec.N_rec", "training.curriculum"]}))
    return tmp_path


def test_aggregate_mean_and_sem_over_seeds(tmp_path):
    from psychcore.sweep import read_results

    rows = [r for r in read_results(_results(tmp_path)) if r["status"] == "finished"]
    table = aggregate(rows, "trials_to_criterion", "spec.N_rec", "training.curriculum")
    by = {(r["group"], r["x"]): r for r in table}
    assert [(r["group"], r["x"]) for r in table] == [("coh", "8"), ("coh", "16"),
                                                     ("none", "8"), ("none", "16")]
    assert by[("coh", "8")]["mean"] == pytest.approx(81.0)
    assert by[("coh", "8")]["sem"] == pytest.approx(1.0 / 3 ** 0.5)
    assert by[("none", "16")]["n"] == 2 and by[("none", "16")]["n_missing"] == 1
    assert by[("none", "16")]["mean"] == pytest.approx(260.5)


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                    reason="matplotlib is not installed")
def test_sweep_report_writes_the_figure_and_its_numbers(tmp_path, capsys):
    d = _results(tmp_path)
    report = plot_sweep(d, "trials_to_criterion", x="curriculum")
    assert report.figure == d / "trials_to_criterion-by-curriculum.png"
    assert report.figure.stat().st_size > 1000
    assert report.pooled == ["spec.N_rec"]
    assert main(["sweep-report", str(d), "--metric", "trials_to_criterion", "--x", "N_rec",
                 "--group", "curriculum", "--out", str(d / "fig.png")]) == 0
    assert "coh, 8: mean 81 ±" in capsys.readouterr().out
    rows = list(csv.DictReader((d / "fig.csv").open()))
    assert rows[0]["training.curriculum"] == "coh" and rows[0]["spec.N_rec"] == "8"
    assert float(rows[0]["mean"]) == 81.0 and rows[3]["n_missing"] == "1"
    assert main(["sweep-report", str(d), "--metric", "nope", "--x", "N_rec"]) == 2
    assert "unknown metric 'nope'" in capsys.readouterr().err
    assert main(["sweep-report", str(d), "--x", "coherence"]) == 2
    assert "no swept axis 'coherence'" in capsys.readouterr().err


def test_the_examples_are_valid():
    for path in sorted(EXAMPLES.glob("*.toml")):
        sweep = Sweep.from_file(path)
        assert sweep.runs(), path
    full = Sweep.from_file(EXAMPLES / "curriculum.toml")
    runs = full.runs()
    assert len(runs) == 20
    assert {r.values["training.curriculum"] for r in runs} == {"coherence", "none"}
    assert sorted({r.seed for r in runs}) == list(range(10))
    cur = next(r.curriculum for r in runs if r.curriculum is not None)
    assert [s["coherence"] for s in cur["stages"]] == [0.7, 0.5, 0.3, 0.1]
    assert cur["thresholds"] == [0.9, 0.9, 0.9, 0.9]
    assert runs[0].task_params["coherence"] == 0.1 and full.criterion_value == 0.9
    assert runs[0].training["performance_cutoff"] == 0.9


def test_the_sweep_waits_for_queued_runs_that_have_not_started(tmp_path, monkeypatch):
    """Ray queues tasks: a run submitted but not started is still outstanding."""
    import psychcore.sweep._runner as runner

    class QueueingPool:
        kind, slots = "ray", 1

        def __init__(self):
            self.submitted, self.polls = [], 0

        def free(self):
            return True

        def running(self):
            return 0  # nothing has started yet, for a while

        def outstanding(self):
            return len(self.submitted)

        def submit(self, payload):
            self.submitted.append(payload)

        def poll(self, timeout):
            self.polls += 1
            if self.polls < 3:
                return []
            done, self.submitted = self.submitted, []
            return [(p, {"name": p["run"]["name"], "status": "failed", "crashed": True,
                         "error": "fake failure"}) for p in done]

        def interrupt(self):
            pass

        def close(self):
            pass

    pool = QueueingPool()
    monkeypatch.setattr(runner, "_make_pool", lambda *a: pool)
    sweep = Sweep(task="PerceptualDiscrimination", seeds=[0, 1, 2])
    result = run_sweep(sweep, tmp_path, use_ray=True, ray_address="fake", progress=False)
    assert pool.polls == 3
    assert [r["status"] for r in result.rows] == ["failed"] * 3
    assert {r["error"] for r in result.rows} == {"fake failure"}
    status = json.loads((tmp_path / "seed=0" / "status.json").read_text())
    assert status["error"] == "fake failure" and status["attempt"] == 1


def test_a_description_without_backend_records_the_default(tmp_path, monkeypatch):
    from numpy_backend import NumpyReadoutBackend

    monkeypatch.delenv("PSYCHCORE_BACKEND")
    monkeypatch.setattr(_plugins.registry(), "backends", {"numpy-readout": NumpyReadoutBackend})
    text = GOOD.replace('backend = "torch"\n', "")
    sweep = Sweep.from_file(write(tmp_path, text))
    assert sweep.backend is None and "backend" not in sweep.to_dict()
    assert {r.backend for r in sweep.runs()} == {"numpy-readout"}
    # a run's identity holds the resolved name: resuming compares names, never None
    assert sweep.runs()[0].identity()["backend"] == "numpy-readout"
    # among several, PSYCHCORE_BACKEND names the default
    monkeypatch.setitem(_plugins.registry().backends, "numpy-other", NumpyReadoutBackend)
    monkeypatch.setenv("PSYCHCORE_BACKEND", "numpy-other")
    assert {r.backend for r in Sweep.from_file(write(tmp_path, text)).runs()} == {"numpy-other"}
    # a swept backend axis names its backends itself
    swept = Sweep(task="PerceptualDiscrimination", grid={"backend": ["a", "b"]})
    assert [r.backend for r in swept.runs()] == ["a", "b"]


def test_a_description_without_backend_among_several_asks_for_one(tmp_path, monkeypatch,
                                                                  capsys):
    from numpy_backend import NumpyReadoutBackend

    class Other(NumpyReadoutBackend):
        name = "numpy-other"

    monkeypatch.delenv("PSYCHCORE_BACKEND")
    monkeypatch.setattr(_plugins.registry(), "backends",
                        {"numpy-readout": NumpyReadoutBackend, "numpy-other": Other})
    path = write(tmp_path, GOOD.replace('backend = "torch"\n', ""))
    with pytest.raises(ValueError, match="no backend named and 2 are installed: numpy-other, "
                                         "numpy-readout"):
        Sweep.from_file(path).runs()
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("psychcore: error: no backend named") and "--backend" in err
    with pytest.raises(SweepValidationError, match=r"backend: expected a backend name"):
        Sweep(task="PerceptualDiscrimination", backend="")
