"""``psychcore bench``: the command runs end to end and writes its numbers, the floor counts
the step's products right, bad input exits 2, and the verdict agrees with the numbers.

Nothing here asserts a timing. The end-to-end run uses one real backend (torch when
installed, the quickest to start; else the first installed) on a tiny network, so the test
starts a few child processes on the 2-core CI machine: the floor (one per thread count), that
backend, and two training runs to the easy cutoff of 0.5 (``--to-accuracy``).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from psychcore import ModelSpec, _plugins
from psychcore.bench import (
    BackendTiming,
    BenchResult,
    SizeResult,
    ToAccuracy,
    combine_floors,
    measure_floor,
    run_bench,
    step_flops,
    step_products,
)
from psychcore.cli import main

SIGN = f"{Path(__file__).parent / 'sign_task.py'}:Sign"


def _one_backend() -> str:
    installed = sorted(_plugins.backends())
    if not installed:
        pytest.skip("no backend plugin installed")
    return "torch" if "torch" in installed else installed[0]


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    """One `psychcore bench` run: (backend, exit status, stdout, the JSON written)."""
    _plugins._REGISTRY = None
    backend = _one_backend()
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["bench", SIGN, "--N-batch", "8", "--N-rec", "8", "--repeats", "2",
                     "--warmup", "1", "--backends", backend, "--json", str(path),
                     "--to-accuracy", "0.5", "--seeds", "2", "--no-progress"])
    return backend, code, out.getvalue(), json.loads(path.read_text(encoding="utf-8"))


def test_the_command_writes_every_number(bench_run):
    backend, code, text, data = bench_run
    assert code == 0, text
    assert data["ok"] and data["task"] == "Sign" and data["N_batch"] == 8
    assert data["N_steps"] == 30 and data["repeats"] == 2 and data["dtype"] == "float32"
    assert data["machine"]["load_start"] is None or len(data["machine"]["load_start"]) == 3
    assert data["batch_generation"]["median"] > 0
    [size] = data["results"]
    assert size["N_rec"] == 8 and list(size["backends"]) == [backend]
    floor = size["floor"]
    assert floor["step_s"] > floor["forward_s"] > 0 and floor["peak_gflops"] > 0
    assert len(floor["products"]) == 8
    got = size["backends"][backend]
    assert got["error"] is None and got["skipped"] is None
    for key in ("first_step_s", "x_floor", "peak_rss_mb", "build_s", "first_step_call_s"):
        assert got[key] > 0, key
    for kind in ("step", "forward"):
        stats = got[kind]
        assert stats["n"] == 2 and len(stats["samples"]) == 2
        assert 0 < stats["min"] <= stats["median"] <= stats["max"]
    assert got["x_floor"] == pytest.approx(got["step"]["median"] / floor["step_s"])
    assert got["losses"]["finite"]
    assert backend in data["versions"] and data["versions"][backend]
    assert f"N_rec=8: fastest training step: {backend}" in text
    assert "load average" in text and "floor" in text


def test_the_floor_takes_each_product_at_its_faster_thread_count(bench_run):
    _, _, text, data = bench_run
    floor = data["results"][0]["floor"]
    counts = sorted({1, data["machine"]["cpus_usable"]})
    assert floor["threads"] == counts and sorted(floor["by_threads"]) == [str(c) for c in counts]
    for row in floor["products"]:
        assert row["seconds"] == min(row["seconds_by_threads"].values())
        assert row["seconds_by_threads"][str(row["threads"])] == row["seconds"]
    if len(counts) == 2:
        assert f"each product at its faster of 1 and {counts[1]} threads" in text


def test_to_accuracy_reports_every_run(bench_run):
    backend, _, text, data = bench_run
    acc = data["to_accuracy"]
    assert acc["cutoff"] == 0.5 and acc["seeds"] == [0, 1] and acc["N_rec"] == 8
    assert acc["max_trials"] == 100_000 and acc["test_trials"] == 512
    runs = acc["backends"][backend]["runs"]
    assert [r["seed"] for r in runs] == [0, 1]
    for r in runs:
        assert "error" not in r, r
        assert r["reached"] and r["validation_accuracy"] >= 0.5
        assert r["epochs"] > 0 and r["epochs"] % 10 == 0 and r["trials"] == 8 * r["epochs"]
        assert 0 <= r["test_accuracy"] <= 1 and r["peak_rss_mb"] > 0
        # from process start: the training is a part of it
        assert r["seconds"] > r["training_time_s"] > 0
    summary = acc["backends"][backend]["summary"]
    assert summary["reached"] == summary["seeds"] == 2 and acc["fastest"] == backend
    assert summary["median_s"] == pytest.approx(np.median([r["seconds"] for r in runs]))
    assert "time to 0.5 accuracy from process start, N_rec=8 (seeds 0-1" in text
    assert "reached 0.5 in 2 of 2 seeds" in text


def _run(seed, seconds, reached, trials=1280, accuracy=0.93):
    return {"seed": seed, "seconds": seconds, "reached": reached, "epochs": trials // 128,
            "trials": trials, "test_accuracy": accuracy, "peak_rss_mb": 400.0}


def test_to_accuracy_says_plainly_which_seeds_did_not_reach_the_cutoff():
    acc = ToAccuracy(0.9, 50, [0, 1, 2], 100_000, 512, runs={
        "alpha": [_run(0, 12.0, True), _run(1, 10.0, True, 2560), _run(2, 14.0, True)],
        "beta": [_run(0, 8.0, True), _run(1, 90.0, False, 100_096, 0.81),
                 {"seed": 2, "error": "RuntimeError: boom"}],
        "gamma": [_run(0, 60.0, False, 100_096, 0.7), _run(1, 61.0, False, 100_096, 0.6),
                  _run(2, 62.0, False, 100_096, 0.65)],
    }, skipped={"omega": "cannot run here: no GPU"})
    assert acc.summary("alpha") | {"median_s": 12.0, "min_s": 10.0, "max_s": 14.0,
                                   "median_trials": 1280, "reached": 3} == acc.summary("alpha")
    beta = acc.summary("beta")
    assert beta["reached"] == 1 and beta["not_reached_seeds"] == [1]
    assert beta["failed_seeds"] == [2] and beta["median_s"] == 8.0
    assert acc.fastest == "alpha"  # beta is quicker in its one seed but not in all
    assert not acc.ok
    text = "\n".join(acc.format())
    assert "alpha  median 12.0 s [10.0-14.0], median 1280 trials, reached 0.9 in 3 of 3" in text
    assert ("seed 1 did NOT reach 0.9 within 100000 trials (test accuracy 0.810 after 100096 "
            "trials, 90.0 s)") in text
    assert "seed 2 FAILED: RuntimeError: boom" in text
    gamma = next(line for line in text.splitlines() if line.startswith("  gamma"))
    assert "median" not in gamma and gamma.count("did NOT reach 0.9") == 3
    assert "omega  not run: cannot run here: no GPU" in text
    assert "fastest to 0.9 accuracy (median over seeds, every seed reaching it): alpha" in text
    data = json.loads(json.dumps(acc.to_dict()))
    assert len(data["backends"]["beta"]["runs"]) == 3 and data["fastest"] == "alpha"


def test_the_training_children_rebuild_the_task(tmp_path, monkeypatch):
    import pickle
    import sys
    import types

    from psychcore._plugins import load_task_file
    from psychcore.bench._bench import _dump_task
    from psychcore.bench._worker import load_task

    task = load_task_file(SIGN)(N_batch=5, level=0.25)
    ref = _dump_task(task, tmp_path / "task.pickle")
    assert ref["source"] == f"{Path(SIGN.split(':')[0]).resolve()}:Sign"
    # another process imports the file under another module name: the class comes from the file
    monkeypatch.delitem(sys.modules, ref["module"])
    back = load_task({"task": ref})
    assert type(back).__name__ == "Sign" and type(back) is not type(task)
    assert back.N_batch == 5 and back.level == 0.25
    gone = types.ModuleType("psychcore_bench_gone")

    class Gone:
        pass

    Gone.__module__, Gone.__qualname__ = gone.__name__, "Gone"
    gone.Gone = Gone
    monkeypatch.setitem(sys.modules, gone.__name__, gone)
    (tmp_path / "gone.pickle").write_bytes(pickle.dumps(Gone()))
    monkeypatch.delitem(sys.modules, gone.__name__)
    with pytest.raises(ValueError, match="cannot be rebuilt in a child process"):
        load_task({"task": {"path": str(tmp_path / "gone.pickle")}})
    with pytest.raises(ValueError, match="the task Sign cannot be sent to the child processes"):
        task.unpicklable = lambda: None
        _dump_task(task, tmp_path / "lambda.pickle")


def _floor(seconds, peak):
    names = ["forward recurrent", "backward recurrent dW"]
    return {"products": [{"name": n, "shape": [4, 4, 4], "count": 10, "flops": 128,
                          "seconds": t, "forward": n.startswith("forward")}
                         for n, t in zip(names, seconds, strict=True)],
            "step_s": 10 * sum(seconds), "forward_s": 10 * seconds[0], "peak_flops": peak}


def test_the_floor_takes_the_faster_thread_count_per_product():
    combined = combine_floors({1: _floor([1e-6, 8e-6], 2e10), 2: _floor([3e-6, 5e-6], 4e10)})
    assert [r["threads"] for r in combined["products"]] == [1, 2]
    assert [r["seconds"] for r in combined["products"]] == [1e-6, 5e-6]
    assert combined["products"][1]["seconds_by_threads"] == {"1": 8e-6, "2": 5e-6}
    assert combined["step_s"] == pytest.approx(10 * (1e-6 + 5e-6))
    assert combined["forward_s"] == pytest.approx(10 * 1e-6)
    assert combined["peak_flops"] == 4e10 and combined["threads"] == [1, 2]
    # each product at its best is faster than either count alone
    assert combined["step_s"] < min(f["step_s"] for f in combined["by_threads"].values())
    one = combine_floors({3: _floor([1e-6, 2e-6], 1e10)})
    assert one["threads"] == [3] and one["step_s"] == pytest.approx(3e-5)
    failed = combine_floors({1: _floor([1e-6, 2e-6], 1e10), 2: {"error": "MemoryError: x"}})
    assert failed["error"] == "at 2 thread(s): MemoryError: x"
    other = _floor([1e-6, 2e-6], 1e10)
    other["products"][1]["name"] = "backward input dW"
    with pytest.raises(ValueError, match="timed different products"):
        combine_floors({1: _floor([1e-6, 2e-6], 1e10), 2: other})
    with pytest.raises(ValueError, match="at least one"):
        combine_floors({})


def test_the_verdict_names_the_backend_with_the_smallest_median(bench_run):
    _, _, text, data = bench_run
    for size in data["results"]:
        medians = {name: b["step"]["median"] for name, b in size["backends"].items()}
        fastest = min(medians, key=medians.get)
        assert size["fastest"] == fastest
        assert f"N_rec={size['N_rec']}: fastest training step: {fastest} " in text
        assert size["ratios"][fastest] == 1.0


def _stats(median):
    return {"median": median, "min": median * 0.9, "max": median * 1.2, "q1": median,
            "q3": median, "n": 3, "samples": [median] * 3}


def test_the_table_and_the_verdict_agree_with_the_numbers():
    floor = {"step_s": 0.002, "forward_s": 0.001, "gflop": 0.1, "peak_gflops": 50.0,
             "floor_at_peak_s": 0.001, "threads": [1, 2], "products": []}
    timings = [BackendTiming(name, first_step_s=3.0, step=_stats(m), forward=_stats(m / 3),
                             x_floor=m / 0.002, peak_rss_mb=400.0)
               for name, m in (("alpha", 0.030), ("beta", 0.010), ("gamma", 0.025))]
    timings.append(BackendTiming("delta", error="RuntimeError: out of memory"))
    timings.append(BackendTiming("omega", skipped="its framework is not installed"))
    size = SizeResult(64, floor, timings)
    result = BenchResult(
        task="Sign", task_params={"dt": 10, "tau": 50, "T": 300}, spec={"architecture": "rnn"},
        N_batch=16, N_steps=30, dtype="float32", device=None, repeats=3, warmup=1,
        budget_s=10.0, batch_generation=_stats(0.001), sizes=[size],
        machine={"load_start": [0.1, 0.2, 0.3], "load_end": None, "cpu_count": 2,
                 "cpus_usable": 2, "threads": "defaults", "python": "3", "numpy": "2",
                 "psychcore": "0.1.0"})
    assert size.fastest == "beta"
    assert size.ratios() == pytest.approx({"alpha": 3.0, "beta": 1.0, "gamma": 2.5})
    assert not result.ok
    text = result.format()
    assert ("N_rec=64: fastest training step: beta (10 ms); gamma 2.50x slower, alpha 3.00x "
            "slower") in text
    assert "delta" in text and "FAILED: RuntimeError: out of memory" in text
    assert "SKIPPED, cannot run here: its framework is not installed" in text
    assert "15.0x" in text  # alpha: 30 ms over a 2 ms floor
    assert "each product at its faster of 1 and 2 threads" in text
    assert "time to" not in text and result.to_dict()["to_accuracy"] is None
    data = json.loads(json.dumps(result.to_dict()))
    assert data["results"][0]["fastest"] == "beta" and not data["ok"]


@pytest.mark.parametrize("architecture,gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_the_floor_counts_the_step_products(architecture, gates):
    N, N_in, N_out, B, T = 6, 3, 2, 5, 7
    products = step_products(architecture, N, N_in, N_out, B, T)
    # forward, per time step: h @ W_rec (B,N)x(N,GN), u @ W_in (B,N_in)x(N_in,GN),
    # h @ W_out (B,N)x(N,N_out); each multiply-add counts 2
    forward = T * 2 * (B * N * gates * N + B * N_in * gates * N + B * N * N_out)
    # backward: the recurrent and output products twice (to the state and to the weights),
    # the input product once (to W_in only)
    backward = T * 2 * (2 * B * N * gates * N + B * N_in * gates * N + 2 * B * N * N_out)
    assert step_flops(products, forward_only=True) == forward
    assert step_flops(products) == forward + backward
    for p in products:  # every shape is one that a real product of these arrays has
        a, b = np.ones((p.m, p.k)), np.ones((p.k, p.n))
        assert (a @ b).sum() == p.m * p.n * p.k == p.flops // 2


def test_the_floor_adds_up_the_timed_shapes():
    products = step_products("rnn", 8, 2, 2, 4, 5)
    floor = measure_floor(products, "float32", budget=0.01)
    rows = floor["products"]
    assert [r["name"] for r in rows] == [p.name for p in products]
    assert all(r["seconds"] > 0 and r["count"] == 5 for r in rows)
    assert floor["step_s"] == pytest.approx(sum(r["seconds"] * 5 for r in rows))
    assert floor["forward_s"] == pytest.approx(sum(r["seconds"] * 5 for r in rows[:3]))


@pytest.mark.parametrize("args,message", [
    (["--backends", "no-such-backend"], "no-such-backend"),
    (["--backends", ","], "--backends names no backend"),
    (["--N-rec", "50,x"], "argument --N-rec: expected comma-separated positive integers"),
    (["--N-rec", "50,0"],
     "argument --N-rec: must be comma-separated positive integers; received 50,0"),
    (["--N-rec", ""], "argument --N-rec"),
    (["--repeats", "0"], "argument --repeats: must be a positive integer; received 0"),
    (["--warmup", "-1"], "argument --warmup: must be a non-negative integer"),
    (["--budget", "0"], "argument --budget: must be a positive number"),
    (["--N-batch", "8", "-t", "N_batch=16"], "--N-batch 8 and -t N_batch=16 differ"),
    (["-t", "nope=1"], "has no parameter 'nope'"),
    (["-s", "N_rec=-3"], "N_rec"),
    (["--to-accuracy", "1.5"], "argument --to-accuracy: must be an accuracy in (0, 1]"),
    (["--to-accuracy", "0"], "argument --to-accuracy: must be an accuracy in (0, 1]"),
    (["--to-accuracy", "high"], "argument --to-accuracy: expected an accuracy in (0, 1]"),
    (["--to-accuracy", "0.9", "--seeds", "0"], "argument --seeds: must be a positive integer"),
    (["--seeds", "3"], "--seeds applies to the training runs of --to-accuracy"),
    (["--max-trials", "100"], "--max-trials applies to the training runs of --to-accuracy"),
    (["--to-accuracy", "0.9", "--max-trials", "0"], "argument --max-trials: must be a positive"),
])
def test_bad_input_exits_2_before_measuring(capsys, monkeypatch, args, message):
    import psychcore.bench._bench as bench

    def refuse(*a, **k):
        raise AssertionError("a child process was started")

    monkeypatch.setattr(bench, "_run_child", refuse)
    assert main(["bench", SIGN, "--no-progress", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("psychcore: error: ") and message in err, err
    assert "Traceback" not in err


def test_the_python_api_checks_its_arguments(monkeypatch):
    from sign_task import Sign

    import psychcore.bench._bench as bench

    monkeypatch.setattr(bench, "_run_child", lambda *a, **k: pytest.fail("child started"))
    task, spec = Sign(N_batch=4), ModelSpec(N_rec=8)
    with pytest.raises(TypeError, match="task must be a psychcore Task"):
        run_bench("Sign", spec)
    with pytest.raises(ValueError, match="repeats must be a positive int; received 0"):
        run_bench(task, spec, repeats=0)
    with pytest.raises(ValueError, match="N_rec must name at least one network size"):
        run_bench(task, spec, N_rec=[])
    with pytest.raises(ValueError, match="backends must be a non-empty list"):
        run_bench(task, spec, "torch")
    with pytest.raises(ValueError, match="budget must be a positive number"):
        run_bench(task, spec, budget=0)
    with pytest.raises(ValueError, match=r"to_accuracy must be an accuracy in \(0, 1\]"):
        run_bench(task, spec, to_accuracy=1.5)
    with pytest.raises(ValueError, match="seeds must be a positive int; received 0"):
        run_bench(task, spec, to_accuracy=0.9, seeds=0)
    with pytest.raises(ValueError, match="max_trials must be a positive int"):
        run_bench(task, spec, to_accuracy=0.9, max_trials=-1)
