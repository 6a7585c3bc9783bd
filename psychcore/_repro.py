"""Cross-backend reproducibility: train one spec on several backends from identical numbers.

Everything random is drawn in NumPy from one seed and handed to every backend: the initial
weights, every batch, and the recurrent noise of every step (as the ``noise`` input of
:meth:`Backend.train_step`). Each backend then takes the same Adam steps; the report compares
the loss curves, the weight updates, the final weights and the test outputs of every pair, and
each trained network with the NumPy :class:`Simulator`.

Why the backends restart from a common state. Gradient training is itself sensitive to
rounding. On PerceptualDiscrimination (N_rec=50, N_batch=128, Adam 1e-3), one backend started
from initial weights one unit in the last place (ulp) apart follows the same path for about 100
steps; then learning enters a stretch where a difference grows about tenfold every ten steps,
and after 200 steps two float32 runs of the *same* backend end ~0.2 apart in their weights and
loss curves (float64: ~1e-7 and ~1e-6; the report prints this measurement). An LSTM in float32
can turn a 1e-7 difference into 1e-1 within ten steps, and two free-running float64 LSTMs
(N_batch=128) end 0.2 apart. Two backends that round differently drift apart the same way, so
comparing two free-running trainings measures the problem's sensitivity, not the backends. By
default (``sync_every=1``) every backend but the first therefore starts each step from the
first backend's weights and Adam state (:meth:`Backend.get_adam_state`, portable between
backends). Every step of the run, wherever training takes the network, is then computed from
identical numbers, and must give the same loss (the forward pass) and the same weight update
(gradients, clipping and Adam). The first backend is never reset: its run is an ordinary
training. ``sync_every=N`` restarts every N steps; ``sync_every=0`` compares free-running
trainings. The report includes the first backend's own sensitivity (a second run of it from
initial weights nudged by one ulp), so a free-running mismatch can be read against it.

Differences are *normwise relative*: ``max|a - b| / max|a|`` over the compared array (over each
weight matrix, then the largest), which stays meaningful where entries are near zero. "Weight
updates" compares what each backend added to the common starting weights, relative to the
update's own size; "loss curve" compares the losses recorded every ``loss_epoch`` steps.

Tolerances (:data:`TOLERANCES`) and why (measurements: ``benchmarks/bench_repro.py``, 200 steps
on PerceptualDiscrimination, rate RNN with and without Dale's law, LSTM, GRU, N_batch 32 and
128). In float64 both frameworks evaluate the same equations to ~1e-16 per operation; the
largest difference measured with restarts before every step is 2e-12 (a weight update), so 1e-9
leaves room for rounding without hiding a wrong equation, which shows up at 1e-3 or worse. In
float32 the per-operation error is ~1e-7: losses, final weights and outputs are held to 1e-3
(measured: 3e-6 at worst). Weight updates are held to 2e-2: Adam divides every gradient entry
by the root of its running mean square, so an entry whose gradient is near zero still takes a
step of about the learning rate, set by that gradient's rounding error (measured: 2.7e-3 of the
largest update). The Simulator (float64) is compared with each trained float32 network at 1e-4.
To check an equation to rounding precision, use float64 (``--float64``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from ._backend import Backend, implements
from ._init import initialize_weights
from ._plugins import available_backends, get_backend
from ._rng import as_generator
from ._simulator import Simulator
from ._spec import ModelSpec
from ._task import Task
from ._weights import TRAINABLE_ARRAYS

TOLERANCES: dict[str, dict[str, float]] = {
    "float32": {"losses": 1e-3, "weights": 1e-3, "updates": 2e-2, "outputs": 1e-3,
                "simulator": 1e-4},
    "float64": {"losses": 1e-9, "weights": 1e-9, "updates": 1e-9, "outputs": 1e-9,
                "simulator": 1e-9},
}


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
class Sensitivity:
    """How far the first backend's own training moves from initial weights 1 ulp apart."""

    backend: str
    losses: float
    weights: float


@dataclass
class ReproReport:
    """The result of :func:`check_reproducibility`."""

    task: str
    dtype: str
    steps: int
    runs: list[BackendRun]
    comparisons: list[Comparison]
    input_mismatches: list[str]
    sync_every: int = 0
    sensitivity: Sensitivity | None = None

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
            "sync_every": self.sync_every,
            "tolerances": TOLERANCES[self.dtype],
            "input_mismatches": self.input_mismatches,
            "runs": [{"backend": r.backend, "seed": r.seed, "final_loss": r.losses[-1],
                      "simulator_difference": r.simulator_difference, "inputs": r.inputs}
                     for r in self.runs],
            "comparisons": [dict(asdict(c), ok=c.ok) for c in self.comparisons],
            "sensitivity": None if self.sensitivity is None else asdict(self.sensitivity),
        }

    def format(self) -> str:
        """The human-readable report ``psychcore repro`` prints."""
        names = ", ".join(r.backend for r in self.runs)
        when = ("before every step" if self.sync_every == 1 else
                f"every {self.sync_every} steps")
        how = (f"every backend starts from {self.runs[0].backend}'s weights and Adam state "
               f"{when}" if self.sync_every else "free-running (no restarts)")
        lines = [f"reproducibility of {self.task} on {names}: {self.steps} Adam steps, "
                 f"{self.dtype}, {how}", "differences are max|a-b|/max|a|"]
        for msg in self.input_mismatches:
            lines.append(f"  INPUTS DIFFER: {msg}")
        width = max(len(c.pair) for c in self.comparisons) if self.comparisons else 10
        for c in self.comparisons:
            flag = "ok  " if c.ok else "FAIL"
            lines.append(f"  {flag} {c.pair:<{width}}  {c.what:<22} {c.difference:10.3e}  "
                         f"(tolerance {c.tolerance:.0e})")
        if self.sensitivity is not None:
            sens = self.sensitivity
            lines.append(
                f"  training's own sensitivity: {sens.backend} alone, started from initial "
                f"weights 1 ulp apart and run free, ends {sens.weights:.1e} apart in its "
                f"weights ({sens.losses:.1e} in its loss curve)")
            if not self.sync_every and not self.ok:
                lines.append("  (free-running differences of that order come from rounding "
                             "alone; --sync-every 1 compares the backends step by step)")
        lines.append("PASS" if self.ok else "FAIL: " + "; ".join(
            [*self.input_mismatches,
             *(f"{c.what} of {c.pair}" for c in self.comparisons if not c.ok)]))
        return "\n".join(lines)


class _Lane:
    """One backend training on its own NumPy-drawn weights, batches and noise."""

    def __init__(self, name: str, task: Task, spec: ModelSpec, seed: int, learning_rate: float,
                 nudge: bool = False) -> None:
        backend_cls: type[Backend] = get_backend(name)
        self.name, self.task, self.spec, self.seed = name, task, spec, seed
        init_rng, self.batch_seq, self.noise_seq, nudge_rng = as_generator(seed).spawn(4)
        weights = initialize_weights(spec, init_rng)
        self.initial = _fingerprint(*(weights[k] for k in sorted(weights)))
        if nudge:
            weights = _nudged(weights, spec, nudge_rng)
        self.backend = backend_cls(spec, {k: v.copy() for k, v in weights.items()}, seed=seed)
        self.backend.configure_optimizer("adam", learning_rate, True)
        self.noisy = spec.architecture == "rnn" and spec.rec_noise > 0
        self.losses: list[float] = []
        self.batch_hash, self.noise_hash = hashlib.sha256(), hashlib.sha256()
        self.step = 0

    def advance(self, n: int, loss_epoch: int) -> None:
        for _ in range(n):
            x, y, mask, _ = self.task.get_trial_batch(self.batch_seq)
            self.batch_hash.update(x.tobytes() + y.tobytes() + mask.tobytes())
            noise = None
            if self.noisy:
                noise = self.noise_seq.standard_normal((x.shape[0], x.shape[1], self.spec.N_rec))
                self.noise_hash.update(noise.tobytes())
            loss = self.backend.train_step(x, y, mask, noise)
            self.step += 1
            if self.step % loss_epoch == 0:
                self.losses.append(float(loss))

    def result(self, x_test: np.ndarray) -> BackendRun:
        final = self.backend.get_weights()
        zeros = (np.zeros((x_test.shape[0], x_test.shape[1], self.spec.N_rec))
                 if self.noisy else None)
        outputs, _ = self.backend.forward(x_test, zeros)
        reference, _ = Simulator(self.spec, final).run_trials(x_test.astype(np.float64))
        return BackendRun(
            backend=self.name, seed=self.seed, losses=self.losses, weights=final,
            outputs=np.asarray(outputs),
            simulator_difference=relative_difference(reference, outputs),
            inputs={"initial_weights": self.initial,
                    "batches": self.batch_hash.hexdigest()[:16],
                    "noise": self.noise_hash.hexdigest()[:16] if self.noisy else "none"},
        )


def _nudged(weights: dict[str, np.ndarray], spec: ModelSpec,
            rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every trained array moved by about one unit in the last place, in random directions."""
    eps = float(np.finfo(np.dtype(spec.dtype)).eps)
    out = dict(weights)
    for key in TRAINABLE_ARRAYS:
        if key in out:
            arr = np.asarray(out[key], dtype=np.float64)
            signs = rng.choice((-1.0, 1.0), size=arr.shape)
            out[key] = (arr * (1.0 + eps * signs)).astype(np.asarray(out[key]).dtype)
    return out


def _weights_difference(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    return max(relative_difference(a[k], b[k]) for k in TRAINABLE_ARRAYS if k in a)


def check_reproducibility(
    task: Task,
    spec: ModelSpec,
    backends: list[str] | tuple[str, ...] | None = None,
    *,
    steps: int = 200,
    seed: int = 0,
    seeds: dict[str, int] | None = None,
    learning_rate: float = 1e-3,
    loss_epoch: int = 10,
    sync_every: int = 1,
    sensitivity: bool = True,
    n_test: int = 64,
) -> ReproReport:
    """Train ``spec`` on every backend from identical numbers and compare the results.

    Args:
        task: The task whose batches are drawn (its own generator is not used).
        spec: The network; ``spec.dtype`` selects the tolerances.
        backends: Backend names (at least two; a name may repeat). The first is the
            reference the others restart from. ``None``: every installed backend that can
            run here (:func:`psychcore.plugins.available_backends`), in name order.
        steps: Adam steps per backend.
        seed: The one seed of weights, batches and noise.
        seeds: Per-backend seed overrides (for checking that a mismatch is detected).
        learning_rate: Adam's step size.
        loss_epoch: Record the loss every this many steps.
        sync_every: Every this many steps (1: before every step), every backend but the
            first restarts from the first one's weights and Adam state (see the module
            docstring); 0 never.
        sensitivity: Also train the first backend from initial weights nudged by one unit
            in the last place and report how far its free run ends from the first run.
        n_test: Trials in the test batch whose outputs are compared.

    Returns:
        A :class:`ReproReport`; ``report.ok`` tells whether everything is within tolerance.

    Raises:
        ValueError: For fewer than two backends (with ``None``: fewer than two installed and
            able to run here), negative or zero counts, or a backend without a portable Adam
            state when ``sync_every`` is not 0.
        TypeError: If ``task`` or ``spec`` have the wrong types.
    """
    if not isinstance(task, Task):
        raise TypeError(f"task must be a psychcore Task; received {type(task).__name__}")
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"spec must be a ModelSpec; received {type(spec).__name__}")
    if backends is None:
        backends = available_backends()
        if len(backends) < 2:
            raise ValueError(
                "check_reproducibility compares at least two backends; installed and able to "
                f"run here: {', '.join(backends) or 'none'}. Install another backend plugin, "
                "or name one twice to compare a backend with itself (backends=[...], "
                "--backends a,a)"
            )
    backends = list(backends)
    if len(backends) < 2:
        raise ValueError(f"backends must name at least two backends; received {backends}")
    for name, value in (("steps", steps), ("loss_epoch", loss_epoch), ("n_test", n_test),
                        ("sync_every", sync_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or \
                (value == 0 and name != "sync_every"):
            kind = "a non-negative" if name == "sync_every" else "a positive"
            raise ValueError(f"{name} must be {kind} int; received {value!r}")
    if loss_epoch > steps:
        raise ValueError(f"loss_epoch must not exceed steps ({steps}); received {loss_epoch}")
    seeds = dict(seeds or {})
    unknown = set(seeds) - set(backends)
    if unknown:
        raise ValueError(f"seeds names backends not in the run: {sorted(unknown)}")
    spec = spec.bind(task)
    lanes = [_Lane(name, task, spec, seeds.get(name, seed), learning_rate) for name in backends]
    if sync_every:
        for lane in lanes:
            if not implements(type(lane.backend), "get_adam_state", "set_adam_state"):
                raise ValueError(
                    f"backend '{lane.name}' does not export a portable Adam state "
                    "(Backend.get_adam_state / set_adam_state), which restarting needs; "
                    "compare free-running trainings with sync_every=0 (--sync-every 0)")
    control = (_Lane(backends[0], task, spec, seeds.get(backends[0], seed), learning_rate,
                     nudge=True) if sensitivity else None)
    labels = [f"{name}#{i}" if backends.count(name) > 1 else name
              for i, name in enumerate(backends)]
    pairs = list(combinations(range(len(lanes)), 2))
    updates = dict.fromkeys(pairs, 0.0)
    done = 0
    starts = [lane.backend.get_weights() for lane in lanes]
    while done < steps:
        n = min(sync_every or steps, steps - done)
        for lane in [*lanes, *([control] if control else [])]:
            lane.advance(n, loss_epoch)
        done += n
        if sync_every:
            weights = [lane.backend.get_weights() for lane in lanes]
            moved = [{k: w[k] - s[k] for k in TRAINABLE_ARRAYS if k in w}
                     for w, s in zip(weights, starts, strict=True)]
            for i, j in pairs:
                updates[i, j] = max(updates[i, j], _weights_difference(moved[i], moved[j]))
            if done < steps:
                adam = lanes[0].backend.get_adam_state()
                for lane in lanes[1:]:
                    lane.backend.set_weights(weights[0])
                    lane.backend.set_adam_state(adam)
                starts = [weights[0]] * len(lanes)
    x_test, _, _, _ = task.get_trial_batch(np.random.default_rng([seed, 1]), N_batch=n_test)
    runs = [lane.result(x_test) for lane in lanes]
    tol = TOLERANCES[spec.dtype]
    comparisons: list[Comparison] = []
    mismatches: list[str] = []
    for i, j in pairs:
        a, b = runs[i], runs[j]
        pair = f"{labels[i]} vs {labels[j]}"
        for item in ("initial_weights", "batches", "noise"):
            if a.inputs[item] != b.inputs[item]:
                mismatches.append(f"{item.replace('_', ' ')} of {pair} "
                                  f"(seed {a.seed} vs {b.seed})")
        comparisons.append(Comparison("loss curve", pair,
                                      relative_difference(a.losses, b.losses), tol["losses"]))
        if sync_every:
            comparisons.append(Comparison("weight updates", pair, updates[i, j],
                                          tol["updates"]))
        comparisons.append(Comparison("final weights", pair,
                                      _weights_difference(a.weights, b.weights),
                                      tol["weights"]))
        comparisons.append(Comparison("test outputs", pair,
                                      relative_difference(a.outputs, b.outputs), tol["outputs"]))
    for label, run in zip(labels, runs, strict=True):
        comparisons.append(Comparison("Simulator agreement", label, run.simulator_difference,
                                      tol["simulator"]))
    sens = None
    if control is not None:
        sens = Sensitivity(labels[0], relative_difference(runs[0].losses, control.losses),
                           _weights_difference(runs[0].weights, control.backend.get_weights()))
    return ReproReport(type(task).__name__, spec.dtype, steps, runs, comparisons, mismatches,
                       sync_every, sens)


def report_json(report: ReproReport) -> str:
    """The report as JSON text."""
    return json.dumps(report.to_dict(), indent=1)
