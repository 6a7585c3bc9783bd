"""Sweeps that train: 8 tiny torch runs in 2 worker processes, the same on a local Ray
instance (identical results), a sweep killed midway and resumed, and runs that raise or
crash. Each run is a network of 8-16 units trained for 20 steps of 8 trials of 300 ms."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# a local Ray instance started by these tests binds to the loopback interface only and sends
# no usage statistics (both read when ray is imported)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import psychcore  # noqa: E402
from psychcore.cli import main  # noqa: E402
from psychcore.sweep import Sweep, read_results, run_sweep  # noqa: E402

pytestmark = pytest.mark.skipif(
    "torch" not in psychcore.backends(),
    reason="the torch backend is not installed (pip install psychcore-torch)",
)

SWEEP = """
name = "tiny"
backend = "torch"

[task]
name = "PerceptualDiscrimination"
params = {{ T = 300, N_batch = 8 }}

[spec]
dale_ratio = 0.8

[training]
training_iters = {iters}
learning_rate = 0.01
loss_epoch = 5
checkpoint_epoch = 5
validation_trials = 32
performance_cutoff = 0.95

[axes]
seeds = [0, 1, 2, 3]

[axes.grid]
spec.N_rec = [8, 16]
"""

FLAKY = '''
import os
import signal

import numpy as np

from psychcore import Task


class Flaky(Task):
    """Report the sign of an input; mode "raise" raises, "die" kills its own process."""

    def __init__(self, N_batch=8, mode="ok", seed=None):
        super().__init__(1, 2, 10, 50, 200, N_batch, seed=seed)
        self.mode = mode

    def generate_batch_params(self, batch, N, rng):
        return {"sign": rng.choice([-1.0, 1.0], N)}

    def batch_function(self, t, params, rng):
        if self.mode == "raise":
            raise RuntimeError("flaky task: mode=raise")
        if self.mode == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        n = len(params["sign"])
        x = np.broadcast_to(params["sign"][:, None, None], (n, t.size, 1)).copy()
        y = np.zeros((n, t.size, 2))
        y[params["sign"] > 0, :, 0] = 1.0
        y[params["sign"] < 0, :, 1] = 1.0
        return x, y, np.ones_like(y)

    def accuracy_function(self, correct_output, test_output, output_mask):
        return float(np.mean(test_output[:, -1].argmax(1) == correct_output[:, -1].argmax(1)))
'''

TIME_COLUMNS = {"training_time_s", "wall_time_s"}


def description(tmp_path: Path, iters: int = 160) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(SWEEP.format(iters=iters), encoding="utf-8")
    return path


def without_times(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if k not in TIME_COLUMNS} for r in rows]


def launch_sweep(path: Path, out: Path) -> subprocess.Popen:
    """``psychcore sweep`` with 2 workers in a process group of its own (to signal it all)."""
    return subprocess.Popen(
        [sys.executable, "-m", "psychcore.cli", "sweep", str(path), "--out", str(out),
         "--workers", "2", "--no-progress"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def snapshot(run_dir: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in run_dir.iterdir()}


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """The 8-run sweep, run once with 2 local workers (shared by the tests below)."""
    tmp = tmp_path_factory.mktemp("local")
    sweep = Sweep.from_file(description(tmp))
    start = time.monotonic()
    result = run_sweep(sweep, tmp / "out", workers=2, progress=True)
    return sweep, result, time.monotonic() - start


def test_a_sweep_runs_locally_in_two_workers(local_sweep):
    sweep, result, _ = local_sweep
    out = result.path
    assert result.ok and not result.interrupted
    assert result.counts == {"total": 8, "finished": 8, "failed": 0, "interrupted": 0,
                             "pending": 0, "skipped": 0}
    names = [r.name for r in sweep.runs()]
    assert names[:2] == ["seed=0,N_rec=8", "seed=0,N_rec=16"]
    for name in names:
        run = out / name
        for f in ("spec.json", "run.json", "weights.npz", "checkpoint.json", "metrics.csv",
                  "status.json", "run.log"):
            assert (run / f).exists(), (name, f)
        info = json.loads((run / "run.json").read_text())
        assert info["status"] == "finished" and info["backend"] == "torch"
        assert info["task"] == "PerceptualDiscrimination" and info["task_params"]["T"] == 300
        spec = psychcore.ModelSpec.from_json((run / "spec.json").read_text())
        assert spec.N_rec == int(name.split("N_rec=")[1]) and spec.dale_ratio == 0.8
        assert "attempt 1 (fresh)" in (run / "run.log").read_text()
    rows = read_results(out)
    assert [r["run"] for r in rows] == names
    assert [r["seed"] for r in rows] == ["0", "0", "1", "1", "2", "2", "3", "3"]
    assert {r["status"] for r in rows} == {"finished"}
    for row in rows:
        assert float(row["final_loss"]) > 0 and 0 <= float(row["accuracy"]) <= 1
        assert row["criterion"] == "0.95" and row["backend"] == "torch"
        assert row["version.psychcore"] == psychcore.__version__ and row["version.torch"]
        assert int(row["trials"]) <= 160 and float(row["wall_time_s"]) > 0
        assert row["stopped_early"] == ("true" if int(row["trials"]) < 160 else "false")
    # losses differ across seeds and sizes, and each is the run's own
    assert len({r["final_loss"] for r in rows}) == 8
    info = json.loads((out / "sweep.json").read_text())
    assert info["counts"]["finished"] == 8 and info["axes"] == ["seed", "spec.N_rec"]
    assert [r["status"] for r in info["runs"]] == ["finished"] * 8
    assert info["description"]["task"]["name"] == "PerceptualDiscrimination"
    if (out / "results.parquet").exists():
        import pyarrow.parquet as pq

        table = pq.read_table(out / "results.parquet")
        assert table.num_rows == 8 and str(table.schema.field("final_loss").type) == "double"


def test_rerunning_a_finished_sweep_touches_nothing(local_sweep, capsys):
    sweep, result, _ = local_sweep
    before = {p.name: snapshot(p) for p in result.path.iterdir() if p.is_dir()
              and not p.name.startswith(".")}
    table = read_results(result.path)
    again = run_sweep(sweep, result.path, workers=2, progress=True)
    assert again.counts["skipped"] == 8 and again.ok
    assert "all 8 runs are finished; nothing to run" in capsys.readouterr().err
    assert {n: snapshot(result.path / n) for n in before} == before
    assert read_results(result.path) == table


def test_the_same_sweep_on_ray_gives_the_same_results(local_sweep, tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install ray)")
    sweep, result, _ = local_sweep
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        gcs = ray.get_runtime_context().gcs_address
        assert gcs.startswith("127.0.0.1:"), f"Ray listens on {gcs}, not on the loopback"
        on_ray = run_sweep(sweep, tmp_path / "ray", use_ray=True, progress=False)
    finally:
        ray.shutdown()
    assert on_ray.ok
    assert json.loads((tmp_path / "ray" / "sweep.json").read_text())["executor"] == "ray"
    assert without_times(read_results(tmp_path / "ray")) == without_times(
        read_results(result.path))


def test_a_killed_sweep_resumes_only_the_missing_runs(tmp_path):
    path = description(tmp_path, iters=320)  # 40 steps, a checkpoint every 5
    out = tmp_path / "out"
    proc = launch_sweep(path, out)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            finished = [p for p in out.glob("*/run.json")
                        if json.loads(p.read_text() or "{}").get("status") == "finished"]
            if len(finished) >= 2:
                break
            assert proc.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("no run finished in 240 s")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    sweep = Sweep.from_file(path)
    done_before = [r.name for r in sweep.runs()
                   if json.loads((out / r.name / "run.json").read_text()
                                 if (out / r.name / "run.json").exists() else "{}"
                                 ).get("status") == "finished"]
    assert 2 <= len(done_before) < 8
    files_before = {name: snapshot(out / name) for name in done_before}
    with_checkpoint = {r.name for r in sweep.runs() if r.name not in done_before
                       and (out / r.name / "checkpoint.json").exists()}
    result = run_sweep(sweep, out, workers=2, progress=False)
    assert result.ok and result.counts["skipped"] == len(done_before)
    for name in done_before:
        assert snapshot(out / name) == files_before[name], f"{name} was touched"
    rows = {r["run"]: r for r in read_results(out)}
    assert all(r["status"] == "finished" for r in rows.values())
    for name in set(rows) - set(done_before):
        status = json.loads((out / name / "status.json").read_text())
        assert status["status"] == "finished"
        started_before = (out / ".sweep" / "logs" / f"{name}.log").read_text().count(
            "=== psychcore sweep") == 2
        # runs interrupted by the kill were attempted a second time, the others once;
        # those that had written a checkpoint went on from it
        assert status["attempt"] == (2 if started_before else 1)
        assert status["mode"] == ("resume" if name in with_checkpoint else "fresh")
        assert int(rows[name]["epochs"]) == 40
        if name in with_checkpoint:
            assert "resuming from the checkpoint" in (out / name / "run.log").read_text()
    assert json.loads((out / "sweep.json").read_text())["counts"]["finished"] == 8


def test_a_run_that_raises_or_dies_fails_alone(tmp_path, capsys):
    (tmp_path / "flaky.py").write_text(FLAKY, encoding="utf-8")
    path = tmp_path / "flaky.toml"
    path.write_text(
        'backend = "torch"\n[task]\nname = "flaky.py:Flaky"\n[spec]\nN_rec = 8\n'
        '[training]\ntraining_iters = 80\nloss_epoch = 5\nvalidation_trials = 16\n'
        '[axes.grid]\ntask.mode = ["ok", "raise", "die", "fine"]\n', encoding="utf-8")
    code = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "2"])
    assert code == 1
    captured = capsys.readouterr()
    assert "2/4 runs finished (0 earlier), 2 failed" in captured.out
    assert "FAILED seed=0,mode=raise: RuntimeError: flaky task: mode=raise" in captured.err
    rows = {r["task.mode"]: r for r in read_results(tmp_path / "out")}
    assert rows["ok"]["status"] == rows["fine"]["status"] == "finished"
    assert rows["raise"]["status"] == "failed"
    assert rows["raise"]["error"] == "RuntimeError: flaky task: mode=raise"
    assert rows["die"]["status"] == "failed"
    assert rows["die"]["error"] == "the worker process died (killed by SIGKILL)"
    raised = tmp_path / "out" / "seed=0,mode=raise"
    status = json.loads((raised / "status.json").read_text())
    assert status["status"] == "failed" and "Traceback" in status["traceback"]
    assert 'raise RuntimeError("flaky task: mode=raise")' in status["traceback"]
    assert json.loads((raised / "run.json").read_text())["status"] == "failed"
    assert "RuntimeError: flaky task: mode=raise" in (raised / "run.log").read_text()
    died = json.loads((tmp_path / "out" / "seed=0,mode=die" / "status.json").read_text())
    assert died["error"] == "the worker process died (killed by SIGKILL)"
    # rerunning retries only the failed runs
    finished = snapshot(tmp_path / "out" / "seed=0,mode=ok")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "2",
                 "--no-progress"]) == 1
    assert snapshot(tmp_path / "out" / "seed=0,mode=ok") == finished
    assert json.loads((raised / "status.json").read_text())["attempt"] == 2


def test_in_process_runs_and_a_curriculum(tmp_path):
    sweep = Sweep(task="PerceptualDiscrimination", backend="torch",
                  task_params={"T": 300, "N_batch": 8, "coherence": 0.1},
                  spec={"N_rec": 8},
                  training={"training_iters": 160, "loss_epoch": 5, "learning_rate": 0.01,
                            "validation_trials": 16, "performance_cutoff": 0.9},
                  curricula={"easy": {"param": "coherence", "values": [0.7, 0.1],
                                      "threshold": 0.6, "metric_epoch": 5}},
                  grid={"training.curriculum": ["easy", "none"]})
    result = sweep.run(tmp_path, workers=0, progress=False)
    assert result.ok
    def stages(name: str) -> set[str]:
        with (tmp_path / name / "metrics.csv").open() as fh:
            return {row["stage"] for row in csv.DictReader(fh)}

    # the curriculum's stage is recorded (it passed the easy stage), none without one
    assert stages("seed=0,curriculum=easy") & {"1", "2"}
    assert stages("seed=0,curriculum=none") == {""}
    info = json.loads((tmp_path / "seed=0,curriculum=none" / "run.json").read_text())
    assert info["training"]["performance_cutoff"] == 0.9


def _metrics(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "metrics.csv").open(newline="") as fh:
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in csv.DictReader(fh)]


def test_ctrl_c_stops_runs_after_a_step_and_the_resumed_sweep_is_exact(tmp_path):
    """Ctrl-C reaches the sweep's process group; its workers stop their runs after the step in
    progress (SIGUSR1, deferred by train_run), save them as interrupted, and the rerun
    continues each from its checkpoint to the metrics of an uninterrupted sweep."""
    path = description(tmp_path, iters=480)  # 60 steps, a checkpoint every 5
    reference = run_sweep(Sweep.from_file(path), tmp_path / "ref", workers=2, progress=False)
    assert reference.ok
    out = tmp_path / "out"
    proc = launch_sweep(path, out)
    deadline = time.monotonic() + 240
    while not list(out.glob("*/checkpoint.npz")):
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        assert time.monotonic() < deadline, "no run wrote a checkpoint in 240 s"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    stopped = [p.parent for p in out.glob("*/run.json")
               if json.loads(p.read_text())["status"] == "interrupted"]
    assert stopped, "no run was saved as interrupted"
    for run_dir in stopped:
        assert "interrupted by SIGUSR1" in json.loads((run_dir / "run.json").read_text())[
            "message"]
    assert run_sweep(Sweep.from_file(path), out, workers=2, progress=False).ok
    for run_dir in sorted((tmp_path / "ref").glob("*/metrics.csv")):
        name = run_dir.parent.name
        assert _metrics(out / name) == _metrics(run_dir.parent), name
