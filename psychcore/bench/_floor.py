"""The floor of a training step: its matrix products as plain NumPy GEMMs.

A training step of a recurrent network over ``T`` time steps on a batch of ``B`` trials does,
at every time step, three matrix products forward and five backward (``G`` gate blocks: 1 for
the rate RNN, 4 for the LSTM, 3 for the GRU; ``N = N_rec``):

==========================  =====================================  =========================
product                     shape ``(m, k) @ (k, n)``              what
==========================  =====================================  =========================
``forward recurrent``       ``(B, N) @ (N, G N)``                  ``W_rec`` on the state
``forward input``           ``(B, N_in) @ (N_in, G N)``            ``W_in`` on the input
``forward output``          ``(B, N) @ (N, N_out)``                ``W_out`` on the state
``backward recurrent dh``   ``(B, G N) @ (G N, N)``                gradient to the state
``backward recurrent dW``   ``(N, B) @ (B, G N)``                  gradient of ``W_rec``
``backward input dW``       ``(N_in, B) @ (B, G N)``               gradient of ``W_in``
``backward output dh``      ``(B, N_out) @ (N_out, N)``            gradient to the state
``backward output dW``      ``(N, B) @ (B, N_out)``                gradient of ``W_out``
==========================  =====================================  =========================

A product ``(m, k) @ (k, n)`` is ``2 m k n`` floating-point operations. The inputs are not
trained, so no gradient flows to them; every weight matrix is counted as trained. Elementwise
work (transfer functions, gates, the loss, Adam) is not counted: it is small beside the
products except for tiny networks, and the floor is a lower bound.

The floor is *measured*: each of the eight shapes is timed as back-to-back ``np.matmul`` calls
into a preallocated output, in the spec's dtype, the fastest of several blocks taken, and the
floor is ``T`` times the sum of the eight times (:func:`measure_floor`). This runs in a child
process with the BLAS thread count set in its environment before NumPy loads. By default
:func:`psychcore.bench.run_bench` runs two such children, one on 1 thread and one on every
usable core (``os.sched_getaffinity``), and :func:`combine_floors` takes each product at the
faster of the two: small products are fastest on one thread, large ones on all cores, and a
backend free to use every core is compared with what the machine reaches, not with one core
(with ``threads`` given, one child on that many threads). So the floor is the step's products
at what this machine's BLAS reaches on those shapes, with no framework overhead, no elementwise
work and no memory traffic between them. For context the same children also measure the BLAS's
peak rate on a large square GEMM (the higher of the two counts); ``flops / peak`` is a lower
floor still (small shapes never reach the peak), reported as ``floor_at_peak_s``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Gate blocks of each architecture.
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


@dataclass(frozen=True)
class Product:
    """One matrix product ``(m, k) @ (k, n)`` done ``count`` times per training step."""

    name: str
    m: int
    k: int
    n: int
    count: int
    forward: bool

    @property
    def flops(self) -> int:
        """Floating-point operations of one product (``2 m k n``)."""
        return 2 * self.m * self.k * self.n


def step_products(architecture: str, N_rec: int, N_in: int, N_out: int, N_batch: int,
                  N_steps: int) -> list[Product]:
    """The matrix products of one training step (see the module docstring).

    Args:
        architecture: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        N_rec: Recurrent units of the network.
        N_in: Inputs of the network.
        N_out: Outputs of the network.
        N_batch: Trials in the batch.
        N_steps: Time steps of a trial.

    Returns:
        The eight products, each with its count (``N_steps``) per step.

    Raises:
        ValueError: For an unknown architecture or a size that is not a positive int.
    """
    if architecture not in GATES:
        raise ValueError(f"architecture must be one of {sorted(GATES)}; received "
                         f"{architecture!r}")
    for name, value in (("N_rec", N_rec), ("N_in", N_in), ("N_out", N_out),
                        ("N_batch", N_batch), ("N_steps", N_steps)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive int; received {value!r}")
    G, N, B, T = GATES[architecture], int(N_rec), int(N_batch), int(N_steps)
    return [
        Product("forward recurrent", B, N, G * N, T, True),
        Product("forward input", B, N_in, G * N, T, True),
        Product("forward output", B, N, N_out, T, True),
        Product("backward recurrent dh", B, G * N, N, T, False),
        Product("backward recurrent dW", N, B, G * N, T, False),
        Product("backward input dW", N_in, B, G * N, T, False),
        Product("backward output dh", B, N_out, N, T, False),
        Product("backward output dW", N, B, N_out, T, False),
    ]


def step_flops(products: list[Product], forward_only: bool = False) -> int:
    """Floating-point operations of the products (of the forward ones only if asked)."""
    return sum(p.flops * p.count for p in products if p.forward or not forward_only)


def _time_matmul(m: int, k: int, n: int, dtype: str, budget: float,
                 rng: np.random.Generator, blocks: int = 7) -> float:
    """Seconds of one ``(m, k) @ (k, n)`` product: the fastest of several timed blocks."""
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    out = np.empty((m, n), dtype=dtype)
    np.matmul(a, b, out=out)
    reps = 1
    while True:  # a block long enough for the clock (~2 ms)
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=out)
        elapsed = time.perf_counter() - t0
        if elapsed > 2e-3 or reps >= 1 << 16:
            break
        reps *= 4
    best = elapsed / reps
    deadline = time.perf_counter() + budget
    for _ in range(blocks):
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=out)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def measure_peak(dtype: str = "float32", size: int = 512, budget: float = 1.0) -> float:
    """The BLAS's rate on a square ``size`` GEMM, in FLOP/s: the best of as many products as
    ``budget`` seconds allow (up to 50), so that one quiet moment of a busy machine counts."""
    seconds = _time_matmul(size, size, size, dtype, budget, np.random.default_rng(0), 50)
    return 2.0 * size**3 / seconds


def measure_floor(products: list[Product], dtype: str = "float32",
                  budget: float = 0.2) -> dict[str, Any]:
    """Time each product's shape and add them up (see the module docstring).

    Args:
        products: From :func:`step_products`.
        dtype: ``"float32"`` or ``"float64"``.
        budget: Seconds spent timing each shape, at most (after its first block).

    Returns:
        ``{"step_s", "forward_s", "products": [{name, shape, count, flops, seconds}]}``.
    """
    rng = np.random.default_rng(0)
    rows = []
    for p in products:
        seconds = _time_matmul(p.m, p.k, p.n, dtype, budget, rng)
        rows.append({"name": p.name, "shape": [p.m, p.k, p.n], "count": p.count,
                     "flops": p.flops, "seconds": seconds, "forward": p.forward})
    return {
        "step_s": sum(r["seconds"] * r["count"] for r in rows),
        "forward_s": sum(r["seconds"] * r["count"] for r in rows if r["forward"]),
        "products": rows,
    }


def combine_floors(floors: Mapping[int, dict[str, Any]]) -> dict[str, Any]:
    """Each product at its fastest of several thread counts (see the module docstring).

    Args:
        floors: Thread count -> that count's :func:`measure_floor` result with
            ``peak_flops`` (the floor child's result), all of the same products; or with
            ``"error"`` when that child failed.

    Returns:
        ``{"step_s", "forward_s", "peak_flops", "threads", "products", "by_threads"}``:
        ``products`` rows as :func:`measure_floor`'s with ``seconds`` the fastest count's,
        ``threads`` that count and ``seconds_by_threads`` every count's; ``peak_flops`` the
        highest; ``threads`` the counts measured; ``by_threads`` the results as given (keys
        as strings, for JSON). ``{"error": ..., ...}`` when a count failed.

    Raises:
        ValueError: If ``floors`` is empty or the counts timed different products.
    """
    if not floors:
        raise ValueError("combine_floors needs at least one thread count's floor")
    counts = sorted(floors)
    by_threads = {str(t): floors[t] for t in counts}
    failed = [t for t in counts if "error" in floors[t]]
    if failed:
        return {"error": "; ".join(f"at {t} thread(s): {floors[t]['error']}" for t in failed),
                "threads": counts, "by_threads": by_threads}
    names = [r["name"] for r in floors[counts[0]]["products"]]
    for t in counts[1:]:
        if [r["name"] for r in floors[t]["products"]] != names:
            raise ValueError(f"the floors at {counts[0]} and {t} threads timed different "
                             "products")
    rows = []
    for i in range(len(names)):
        timed = {t: floors[t]["products"][i]["seconds"] for t in counts}
        best = min(counts, key=lambda t: timed[t])  # ties: the fewer threads
        rows.append({**floors[best]["products"][i], "seconds": timed[best], "threads": best,
                     "seconds_by_threads": {str(t): timed[t] for t in counts}})
    return {
        "step_s": sum(r["seconds"] * r["count"] for r in rows),
        "forward_s": sum(r["seconds"] * r["count"] for r in rows if r["forward"]),
        "peak_flops": max(floors[t]["peak_flops"] for t in counts),
        "threads": counts,
        "products": rows,
        "by_threads": by_threads,
    }
