"""Cross-backend reproducibility: train one spec on several backends from identical numbers.

Everything random is drawn in NumPy from one seed and handed to every backend: the initial
weights, every batch, and the recurrent noise of every step (as the ``noise`` input of
:meth:`Backend.train_step`). Each backend then takes the same Adam steps; the report compares
the loss curves, the final weights and the test outputs of every pair, and each trained network
with the NumPy :class:`Simulator`.

Differences are *normwise relative*: ``max|a - b| / max|a|`` over the compared array (over
each weight matrix, then the largest), which stays meaningful where entries are near zero.

Tolerances (:data:`TOLERANCES`) and why: in float64 both frameworks evaluate the same
equations to ~1e-16 per operation (the PyTorch and TensorFlow backends' gradients agree to
1e-15 and five Adam steps to 1e-12, tested), so 1e-9 leaves room for rounding without hiding a
wrong equation, which shows up at 1e-3 or worse. In float32 the per-operation error is ~1e-7,
held to 1e-3 for losses and outputs and 5e-3 for weights; the Simulator (float64) is compared
with each trained float32 network at 1e-4.

Measured limit (PerceptualDiscrimination, N_rec=50, N_batch=128, Adam 1e-3): training itself
amplifies rounding differences. In float32 the two backends' losses agree to ~1e-7 for about
80 steps, then a sensitive stretch of learning drives them apart to ~4e-2 by step 100; in
float64 the same 200 steps end ~6e-8 apart in the weights. Such runs exceed these tolerances
although each step agrees; shorter runs, or float64 over fewer steps, stay within them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from ._backend import Backend
from ._init import initialize_weights
from ._plugins import get_backend
from ._rng import as_generator
from ._simulator import Simulator
from ._spec import ModelSpec
from ._task import Task

TOLERANCES: dict[str, dict[str, float]] = {
    "float32": {"losses": 1e-3, "weights": 5e-3, "outputs": 1e-3, "simulator": 1e-4},
    "float64": {"losses": 1e-9, "weights": 1e-9, "outputs": 1e-9, "simulator": 1e-9},
}
TRAINED_KEYS = ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state", "init_cell", "tau_raw")


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Normwise relative difference ``max|a - b| / max|a|`` (0 when both are zero)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare arrays of shapes {a.shape} and {b.shape}")
    scale = max(float(np.max(np.abs(a))) if a.size else 0.0, 1e-300)
    return float(np.max(np.abs(a - b))) / scale if a.size else 0.0


def _fingerprint(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for arr in arrays:
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:16]


@dataclass
class BackendRun:
    """One backend's run: what it was given and what it produced."""

    backend: str
    seed: int
    losses: list[float]
    weights: dict[str, np.ndarray] = field(repr=False)
    outputs: np.ndarray = field(repr=False)
    simulator_difference: float
    inputs: dict[str, str]


@dataclass
class Comparison:
    """One measured difference against its tolerance."""

    what: str
    pair: str
    difference: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return bool(self.difference <= self.tolerance)


@dataclass
class ReproReport:
    """The result of :func:`check_reproducibility`."""

    task: str
    dtype: str
    steps: int
    runs: list[BackendRun]
    comparisons: list[Comparison]
    input_mismatches: list[str]

    @property
    def ok(self) -> bool:
        return not self.input_mismatches and all(c.ok for c in self.comparisons)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (no arrays)."""
        return {
            "ok": self.ok,
            "task": self.task,
            "dtype": self.dtype,
            "steps": self.steps,
            "tolerances": TOLERANCES[self.dtype],
            "input_mismatches": self.input_mismatches,
            "runs": [{"backend": r.backend, "seed": r.seed, "final_loss": r.losses[-1],
                      "simulator_difference": r.simulator_difference, "inputs": r.inputs}
                     for r in self.runs],
            "comparisons": [dict(asdict(c), ok=c.ok) for c in self.comparisons],
        }

    def format(self) -> str:
        """The human-readable report ``psychcore repro`` prints."""
        lines = [f"reproducibility of {self.task}: {len(self.runs)} backends, {self.steps} Adam "
                 f"steps, {self.dtype} (differences are max|a-b|/max|a|)"]
        for msg in self.input_mismatches:
            lines.append(f"  INPUTS DIFFER: {msg}")
        width = max(len(c.pair) for c in self.comparisons) if self.comparisons else 10
        for c in self.comparisons:
            flag = "ok  " if c.ok else "FAIL"
            lines.append(f"  {flag} {c.pair:<{width}}  {c.what:<22} {c.difference:10.3e}  "
                         f"(tolerance {c.tolerance:.0e})")
        lines.append("PASS" if self.ok else "FAIL: " + "; ".join(
            [*self.input_mismatches,
             *(f"{c.what} of {c.pair}" for c in self.comparisons if not c.ok)]))
        return "\n".join(lines)


def _run_backend(
    name: str, task: Task, spec: ModelSpec, seed: int, steps: int, learning_rate: float,
    loss_epoch: int, x_test: np.ndarray,
) -> BackendRun:
    backend_cls: type[Backend] = get_backend(name)
    rng = as_generator(seed)
    init_rng, batch_seq, noise_seq = rng.spawn(3)
    weights = initialize_weights(spec, init_rng)
    backend = backend_cls(spec, {k: v.copy() for k, v in weights.items()}, seed=seed)
    backend.configure_optimizer("adam", learning_rate, True)
    noisy = spec.architecture == "rnn" and spec.rec_noise > 0
    losses: list[float] = []
    batch_hash, noise_hash = hashlib.sha256(), hashlib.sha256()
    for step in range(1, steps + 1):
        x, y, mask, _ = task.get_trial_batch(batch_seq)
        batch_hash.update(x.tobytes() + y.tobytes() + mask.tobytes())
        noise = None
        if noisy:
            noise = noise_seq.standard_normal((x.shape[0], x.shape[1], spec.N_rec))
            noise_hash.update(noise.tobytes())
        loss = backend.train_step(x, y, mask, noise)
        if step % loss_epoch == 0:
            losses.append(float(loss))
    final = backend.get_weights()
    zeros = np.zeros((x_test.shape[0], x_test.shape[1], spec.N_rec)) if noisy else None
    outputs, _ = backend.forward(x_test, zeros)
    reference, _ = Simulator(spec, final).run_trials(x_test.astype(np.float64))
    return BackendRun(
        backend=name, seed=seed, losses=losses, weights=final, outputs=np.asarray(outputs),
        simulator_difference=relative_difference(reference, outputs),
        inputs={"initial_weights": _fingerprint(*(weights[k] for k in sorted(weights))),
                "batches": batch_hash.hexdigest()[:16],
                "noise": noise_hash.hexdigest()[:16] if noisy else "none"},
    )


def check_reproducibility(
    task: Task,
    spec: ModelSpec,
    backends: list[str] | tuple[str, ...] = ("torch", "tensorflow"),
    *,
    steps: int = 200,
    seed: int = 0,
    seeds: dict[str, int] | None = None,
    learning_rate: float = 1e-3,
    loss_epoch: int = 10,
    n_test: int = 64,
) -> ReproReport:
    """Train ``spec`` on every backend from identical numbers and compare the results.

    Args:
        task: The task whose batches are drawn (its own generator is not used).
        spec: The network; ``spec.dtype`` selects the tolerances.
        backends: Backend names (at least two; a name may repeat).
        steps: Adam steps per backend.
        seed: The one seed of weights, batches and noise.
        seeds: Per-backend seed overrides (for checking that a mismatch is detected).
        learning_rate: Adam's step size.
        loss_epoch: Record the loss every this many steps.
        n_test: Trials in the test batch whose outputs are compared.

    Returns:
        A :class:`ReproReport`; ``report.ok`` tells whether everything is within tolerance.

    Raises:
        ValueError: For fewer than two backends or non-positive counts.
        TypeError: If ``task`` or ``spec`` have the wrong types.
    """
    if not isinstance(task, Task):
        raise TypeError(f"task must be a psychcore Task; received {type(task).__name__}")
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"spec must be a ModelSpec; received {type(spec).__name__}")
    backends = list(backends)
    if len(backends) < 2:
        raise ValueError(f"backends must name at least two backends; received {backends}")
    for name, value in (("steps", steps), ("loss_epoch", loss_epoch), ("n_test", n_test)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int; received {value!r}")
    seeds = dict(seeds or {})
    unknown = set(seeds) - set(backends)
    if unknown:
        raise ValueError(f"seeds names backends not in the run: {sorted(unknown)}")
    spec = spec.bind(task)
    x_test, _, _, _ = task.get_trial_batch(np.random.default_rng([seed, 1]), N_batch=n_test)
    runs = [
        _run_backend(name, task, spec, seeds.get(name, seed), steps, learning_rate, loss_epoch,
                     x_test)
        for name in backends
    ]
    tol = TOLERANCES[spec.dtype]
    labels = [f"{r.backend}#{i}" if backends.count(r.backend) > 1 else r.backend
              for i, r in enumerate(runs)]
    comparisons: list[Comparison] = []
    mismatches: list[str] = []
    for (i, a), (j, b) in combinations(enumerate(runs), 2):
        pair = f"{labels[i]} vs {labels[j]}"
        for item in ("initial_weights", "batches", "noise"):
            if a.inputs[item] != b.inputs[item]:
                mismatches.append(f"{item.replace('_', ' ')} of {pair} "
                                  f"(seed {a.seed} vs {b.seed})")
        comparisons.append(Comparison("loss curve", pair,
                                      relative_difference(a.losses, b.losses), tol["losses"]))
        wdiff = max(relative_difference(a.weights[k], b.weights[k])
                    for k in TRAINED_KEYS if k in a.weights)
        comparisons.append(Comparison("final weights", pair, wdiff, tol["weights"]))
        comparisons.append(Comparison("test outputs", pair,
                                      relative_difference(a.outputs, b.outputs), tol["outputs"]))
    for label, run in zip(labels, runs, strict=True):
        comparisons.append(Comparison("Simulator agreement", label, run.simulator_difference,
                                      tol["simulator"]))
    return ReproReport(type(task).__name__, spec.dtype, steps, runs, comparisons, mismatches)


def report_json(report: ReproReport) -> str:
    """The report as JSON text."""
    return json.dumps(report.to_dict(), indent=1)
