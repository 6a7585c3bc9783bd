"""``psychcore bench``: the command runs end to end and writes its numbers, the floor counts
the step's products right, bad input exits 2, and the verdict agrees with the numbers.

Nothing here asserts a timing. The end-to-end run uses one real backend (torch when
installed, the quickest to start; else the first installed) on a tiny network, so the test
starts two child processes (the floor and that backend) on the 2-core CI machine.
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
                     "--no-progress"])
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
             "floor_at_peak_s": 0.001, "threads": 1, "products": []}
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
    (["--N-rec", "50,0"], "argument --N-rec: expected comma-separated positive integers"),
    (["--N-rec", ""], "argument --N-rec"),
    (["--repeats", "0"], "argument --repeats: must be a positive integer; received 0"),
    (["--warmup", "-1"], "argument --warmup: must be a non-negative integer"),
    (["--budget", "0"], "argument --budget: must be a positive number"),
    (["--N-batch", "8", "-t", "N_batch=16"], "--N-batch 8 and -t N_batch=16 differ"),
    (["-t", "nope=1"], "has no parameter 'nope'"),
    (["-s", "N_rec=-3"], "N_rec"),
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
