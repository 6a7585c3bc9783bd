"""Lesions and perturbations of a rate RNN, run by the NumPy Simulator.

Every function here returns new arrays and never modifies its arguments.

Lesions (PsychRNN-successor semantics of ``lesion_w`` / ``lesion_w_by_type``): a connection
*exists* where the effective recurrent weight (docs/equations.md) is non-zero, which excludes
masked entries, removed autapses and connections already lesioned to 0. A lesion picks
``round(fraction * n_existing)`` existing connections (halves rounded up) uniformly at random
and multiplies their raw ``W_rec`` entries by ``scale`` (0 removes them; with Dale's principle
the effective weight ``|W_rec| * C_rec * D_rec`` is then scaled by ``scale`` as well, since
``scale >= 0``). Connectivity masks are left as they are, so a lesioned network trained again
could regrow a removed connection; input and output weights are never touched.

Perturbations over a time window (:class:`Perturbation`) are run by the Simulator itself
(:func:`run_perturbed`):

- *silencing* a unit removes everything it sends during the window: its column of
  ``W_rec_eff`` is zeroed step by step through the Simulator's ``t_connectivity``, and its
  contribution to the readout is removed by recomputing ``z_t = W_out_eff (g_t * r_t) + b_out``
  with ``g_t`` the per-step output gate (0 for silenced units). The silenced unit's own state
  keeps evolving (its inputs still arrive), as with an optogenetic block of synaptic release;
  nothing it sends reaches anyone until the window ends.
- *stimulating* units adds a current ``I_t`` to their drive,
  ``x_t = (1 - alpha) x_{t-1} + alpha (W_rec f(x_{t-1}) + W_in u_t + b_rec + I_t)``: the
  Simulator runs it as ``N_rec`` extra input channels with an identity input matrix (so the
  current is filtered by the units' time constants exactly as a task input is).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import describe
from .._equations import dale_enabled, get_effective_W_rec
from .._rng import SeedLike, as_generator
from .._simulator import Simulator
from . import _validate as v

PAIRINGS = ("E-E", "E-I", "I-E", "I-I")
"""Type pairings of :func:`lesion_by_type`: ``"X-Y"`` is from an X unit to a Y unit."""

_INPUT_KEYS = ("W_in", "input_connectivity", "W_in_fixed")


def _copy_weights(weights: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (np.array(val, copy=True) if val is not None else None)
            for k, val in weights.items()}


def _existing(weights: Mapping[str, Any], owner: str) -> np.ndarray:
    v.weights_mapping(weights, owner)
    v.array(weights["W_rec"], "weights['W_rec']", owner, ndim=2)
    return np.asarray(get_effective_W_rec(weights)) != 0


def _check_lesion_args(fraction: Any, scale: Any, owner: str) -> tuple[float, float]:
    frac = v.real(fraction, "fraction", owner, low=0.0, high=1.0)
    sc = v.real(scale, "scale", owner, low=0.0)
    return frac, sc


def _n_pick(fraction: float, n: int) -> int:
    return min(n, int(math.floor(fraction * n + 0.5)))


def _apply(weights: Mapping[str, Any], flat_index: np.ndarray, scale: float) -> dict[str, Any]:
    out = _copy_weights(weights)
    W = np.array(out["W_rec"], dtype=np.result_type(out["W_rec"], np.float64), copy=True)
    W.reshape(-1)[flat_index] *= scale
    out["W_rec"] = W.astype(np.asarray(weights["W_rec"]).dtype, copy=False)
    return out


def lesion(
    weights: Mapping[str, Any],
    fraction: float,
    scale: float = 0.0,
    *,
    rng: SeedLike = None,
) -> dict[str, Any]:
    """Scale a random fraction of the existing recurrent connections (module docstring).

    Args:
        weights: Weights dict (docs/equations.md); not modified.
        fraction: Fraction of existing connections to lesion, in ``[0, 1]``.
        scale: Factor applied to the lesioned connections, ``>= 0`` (0 removes them).
        rng: Seed or generator of the choice.

    Returns:
        A new weights dict (every array copied) with the lesioned ``W_rec``.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On a fraction outside ``[0, 1]``, a negative scale or invalid weights.
    """
    owner = "lesion"
    existing = _existing(weights, owner)
    frac, sc = _check_lesion_args(fraction, scale, owner)
    gen = as_generator(rng, name="rng")
    candidates = np.flatnonzero(existing)
    picked = gen.choice(candidates, size=_n_pick(frac, candidates.size), replace=False)
    return _apply(weights, np.sort(picked), sc)


def _pairing_masks(weights: Mapping[str, Any], owner: str) -> dict[str, np.ndarray]:
    if not dale_enabled(weights) or weights.get("Dale_rec") is None:
        raise ValueError(
            f"{owner}: weights must have Dale's principle on (a finite dale_ratio and a "
            f"Dale_rec) to define E and I units; received dale_ratio="
            f"{weights.get('dale_ratio')!r}"
        )
    W = np.asarray(weights["W_rec"])
    n = W.shape[1]
    sign = np.sign(np.diagonal(np.asarray(weights["Dale_rec"])))
    receiving = np.tile(sign, W.shape[0] // n)  # row types (every gate block alike)
    masks = {}
    for pairing in PAIRINGS:
        pre, post = pairing.split("-")
        want_pre = 1 if pre == "E" else -1
        want_post = 1 if post == "E" else -1
        masks[pairing] = (receiving[:, None] == want_post) & (sign[None, :] == want_pre)
    return masks


def lesion_by_type(
    weights: Mapping[str, Any],
    fraction: float,
    scale: float = 0.0,
    *,
    rng: SeedLike = None,
) -> dict[str, Any]:
    """Lesion the same fraction of existing connections in each E/I type pairing.

    For each of ``E-E``, ``E-I``, ``I-E`` and ``I-I`` (``"X-Y"``: from an X unit to a Y unit,
    types from the diagonal of ``Dale_rec``), ``round(fraction * n)`` of the ``n`` existing
    connections of that pairing are picked at random and scaled by ``scale``.

    Args:
        weights: Weights dict with Dale's principle on; not modified.
        fraction: Fraction per pairing, in ``[0, 1]``.
        scale: Factor applied to the lesioned connections, ``>= 0`` (0 removes them).
        rng: Seed or generator of the choice.

    Returns:
        A new weights dict (every array copied) with the lesioned ``W_rec``.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: If Dale's principle is off, or on a bad fraction or scale.
    """
    owner = "lesion_by_type"
    existing = _existing(weights, owner)
    frac, sc = _check_lesion_args(fraction, scale, owner)
    masks = _pairing_masks(weights, owner)
    gen = as_generator(rng, name="rng")
    picked = []
    for pairing in PAIRINGS:
        candidates = np.flatnonzero(existing & masks[pairing])
        picked.append(gen.choice(candidates, size=_n_pick(frac, candidates.size),
                                 replace=False))
    return _apply(weights, np.sort(np.concatenate(picked)).astype(np.intp), sc)


def connection_counts(weights: Mapping[str, Any]) -> dict[str, int]:
    """Existing recurrent connections in total and, with Dale's principle, per type pairing.

    Returns:
        ``{"all": n}`` plus ``{"E-E": ..., "E-I": ..., "I-E": ..., "I-I": ...}`` with Dale.

    Raises:
        TypeError: If ``weights`` is not a mapping.
        ValueError: If it has no valid ``W_rec``.
    """
    existing = _existing(weights, "connection_counts")
    out = {"all": int(existing.sum())}
    if dale_enabled(weights) and weights.get("Dale_rec") is not None:
        for pairing, mask in _pairing_masks(weights, "connection_counts").items():
            out[pairing] = int((existing & mask).sum())
    return out


# --------------------------------------------------------------------------- t_connectivity
def windowed_connectivity(
    n_steps: int, factor: Any, window: Any = None, *, dt: float | None = None
) -> np.ndarray:
    """A ``t_connectivity`` array: ``factor`` inside the window, ones outside.

    ``t_connectivity[t]`` multiplies ``W_rec_eff`` elementwise at step ``t`` in the
    Simulator (docs/equations.md).

    Args:
        n_steps: Steps per trial.
        factor: ``(N_rec, N_rec)`` multiplier applied during the window (e.g. 0/1 mask).
        window: ``(start, end)``, half-open, in steps (or in ms with ``dt``); the whole trial
            when ``None``.
        dt: Time step in ms when ``window`` is in ms.

    Returns:
        float64 array ``(n_steps, N_rec, N_rec)``.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On a non-square factor or a window outside the trial.
    """
    owner = "windowed_connectivity"
    n_steps = v.integer(n_steps, "n_steps", owner)
    fac = v.array(factor, "factor", owner, ndim=2, expected="shape (N_rec, N_rec)")
    if fac.shape[0] != fac.shape[1]:
        raise ValueError(f"{owner}: factor must be square (N_rec, N_rec); received shape "
                         f"{fac.shape}")
    step = None if dt is None else v.real(dt, "dt", owner, low=0.0, low_open=True)
    start, end = v.window(window, "window", owner, n_steps, step)
    out = np.ones((n_steps,) + fac.shape)
    out[start:end] = fac
    return out


def silencing_connectivity(
    n_steps: int, n_rec: int, units: Any, window: Any = None, *, dt: float | None = None
) -> np.ndarray:
    """``t_connectivity`` that removes the outgoing recurrent connections of ``units``.

    Args:
        n_steps: Steps per trial.
        n_rec: Number of recurrent units.
        units: Unit index or indices whose columns are zeroed during the window.
        window: ``(start, end)`` half-open in steps (ms with ``dt``); whole trial if ``None``.
        dt: Time step in ms when ``window`` is in ms.

    Returns:
        float64 array ``(n_steps, n_rec, n_rec)``.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On unit indices out of range or a window outside the trial.
    """
    owner = "silencing_connectivity"
    n_rec = v.integer(n_rec, "n_rec", owner)
    idx = v.units(units, "units", owner, n_rec)
    factor = np.ones((n_rec, n_rec))
    factor[:, idx] = 0.0
    return windowed_connectivity(n_steps, factor, window, dt=dt)


# --------------------------------------------------------------------------- perturbations
@dataclass(frozen=True)
class Perturbation:
    """A time-dependent perturbation of a rate RNN, run by :func:`run_perturbed`.

    Build one with :func:`silence_units` or :func:`stimulate_units` and combine several
    with ``+`` (connectivity factors and output gates multiply, currents add).

    Attributes:
        n_steps: Steps per trial it applies to.
        n_rec: Number of recurrent units.
        t_connectivity: ``(n_steps, n_rec, n_rec)`` multiplier of ``W_rec_eff`` or ``None``.
        current: ``(n_steps, n_rec)`` current added to the drive, or ``None``.
        output_gate: ``(n_steps, n_rec)`` multiplier of the rates entering the readout, or
            ``None``.
    """

    n_steps: int
    n_rec: int
    t_connectivity: np.ndarray | None = None
    current: np.ndarray | None = None
    output_gate: np.ndarray | None = None

    def __post_init__(self) -> None:
        owner = "Perturbation"
        n_steps = v.integer(self.n_steps, "n_steps", owner)
        n_rec = v.integer(self.n_rec, "n_rec", owner)
        expected = {"t_connectivity": (n_steps, n_rec, n_rec), "current": (n_steps, n_rec),
                    "output_gate": (n_steps, n_rec)}
        for name, shape in expected.items():
            value = getattr(self, name)
            if value is not None:
                arr = np.array(v.array(value, name, owner, shape=shape,
                                       expected=f"shape {shape}"), copy=True)
                arr.flags.writeable = False
                object.__setattr__(self, name, arr)

    def __add__(self, other: Perturbation) -> Perturbation:
        if not isinstance(other, Perturbation):
            return NotImplemented
        if (other.n_steps, other.n_rec) != (self.n_steps, self.n_rec):
            raise ValueError(
                f"Perturbation: cannot combine perturbations of (n_steps, n_rec) = "
                f"{(self.n_steps, self.n_rec)} and {(other.n_steps, other.n_rec)}"
            )

        def merge(a: np.ndarray | None, b: np.ndarray | None, add: bool) -> np.ndarray | None:
            if a is None or b is None:
                return b if a is None else a
            return a + b if add else a * b

        return Perturbation(self.n_steps, self.n_rec,
                            merge(self.t_connectivity, other.t_connectivity, False),
                            merge(self.current, other.current, True),
                            merge(self.output_gate, other.output_gate, False))


def silence_units(
    n_steps: int,
    n_rec: int,
    units: Any,
    window: Any = None,
    *,
    dt: float | None = None,
    readout: bool = True,
) -> Perturbation:
    """Silence ``units`` during a window: nothing they send reaches other units or the output.

    See the module docstring for what silencing means here.

    Args:
        n_steps: Steps per trial.
        n_rec: Number of recurrent units.
        units: Unit index or indices.
        window: ``(start, end)`` half-open in steps (ms with ``dt``); whole trial if ``None``.
        dt: Time step in ms when ``window`` is in ms.
        readout: Also remove their contribution to the output (default True).

    Returns:
        A :class:`Perturbation`.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On unit indices out of range or a window outside the trial.
    """
    owner = "silence_units"
    n_steps = v.integer(n_steps, "n_steps", owner)
    n_rec = v.integer(n_rec, "n_rec", owner)
    idx = v.units(units, "units", owner, n_rec)
    step = None if dt is None else v.real(dt, "dt", owner, low=0.0, low_open=True)
    start, end = v.window(window, "window", owner, n_steps, step)
    tc = silencing_connectivity(n_steps, n_rec, idx, (start, end))
    gate = None
    if not isinstance(readout, bool | np.bool_):
        raise TypeError(f"{owner}: readout must be a bool; received {describe(readout)}")
    if readout:
        gate = np.ones((n_steps, n_rec))
        gate[start:end, idx] = 0.0
    return Perturbation(n_steps, n_rec, t_connectivity=tc, output_gate=gate)


def stimulate_units(
    n_steps: int,
    n_rec: int,
    units: Any,
    amplitude: Any,
    window: Any = None,
    *,
    dt: float | None = None,
) -> Perturbation:
    """Add a constant current to ``units`` during a window (negative values inhibit).

    Args:
        n_steps: Steps per trial.
        n_rec: Number of recurrent units.
        units: Unit index or indices.
        amplitude: Current, a number or one per unit in ``units``.
        window: ``(start, end)`` half-open in steps (ms with ``dt``); whole trial if ``None``.
        dt: Time step in ms when ``window`` is in ms.

    Returns:
        A :class:`Perturbation` with a ``current``.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On unit indices out of range, amplitudes of the wrong length or a window
            outside the trial.
    """
    owner = "stimulate_units"
    n_steps = v.integer(n_steps, "n_steps", owner)
    n_rec = v.integer(n_rec, "n_rec", owner)
    idx = v.units(units, "units", owner, n_rec)
    amp = v.array(amplitude, "amplitude", owner, ndim=(0, 1),
                  expected=f"a number or one per unit ({idx.size},)")
    if amp.ndim == 1 and amp.shape != idx.shape:
        raise ValueError(f"{owner}: amplitude must be a number or have shape ({idx.size},) "
                         f"(one per unit); received shape {amp.shape}")
    step = None if dt is None else v.real(dt, "dt", owner, low=0.0, low_open=True)
    start, end = v.window(window, "window", owner, n_steps, step)
    current = np.zeros((n_steps, n_rec))
    current[start:end, idx] = amp
    return Perturbation(n_steps, n_rec, current=current)


def _stimulation_network(spec: Any, weights: Mapping[str, Any], n_rec: int
                         ) -> tuple[Any, dict[str, Any]]:
    """Spec and weights with ``N_rec`` extra inputs wired one-to-one (identity) to the units."""
    w = {k: val for k, val in weights.items() if k not in ("input_connectivity", "W_in_fixed")}
    W_in = np.asarray(weights["W_in"], dtype=np.float64)
    n_in = W_in.shape[1]
    w["W_in"] = np.hstack([W_in, np.eye(n_rec)])
    if weights.get("input_connectivity") is not None:
        C = np.asarray(weights["input_connectivity"], dtype=np.float64)
        w["input_connectivity"] = np.hstack([C, np.eye(n_rec)])
    aug = dataclasses.replace(spec, N_in=n_in + n_rec, input_connectivity=None, constraints=())
    return aug, w


def run_perturbed(
    spec: Any,
    weights: Mapping[str, Any],
    x: Any,
    perturbation: Perturbation | None = None,
    *,
    rec_noise: float = 0.0,
    noise: Any = None,
    seed: SeedLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run trials through the Simulator under a :class:`Perturbation`.

    Args:
        spec: The network's ``ModelSpec`` (bound; rate RNN for currents).
        weights: Weights dict (docs/equations.md); not modified.
        x: Inputs ``(N_batch, N_steps, N_in)``.
        perturbation: What to apply; ``None`` runs the plain network.
        rec_noise: Recurrent noise amplitude (as ``Simulator.run_trials``).
        noise: Pre-drawn standard normals ``(N_batch, N_steps, N_rec)``, or ``None``.
        seed: Seed or generator of the noise when it is drawn.

    Returns:
        ``(outputs, states)`` as ``Simulator.run_trials``.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: If the perturbation does not match the trial length or ``N_rec``, or a
            current is given for a gated architecture.
    """
    owner = "run_perturbed"
    if perturbation is not None and not isinstance(perturbation, Perturbation):
        raise TypeError(f"{owner}: perturbation must be a Perturbation or None; received "
                        f"{describe(perturbation)}")
    sim = Simulator(spec, weights, seed=seed)
    if isinstance(x, str | bytes | Mapping) or x is None:
        raise TypeError(f"{owner}: x must be an array (N_batch, N_steps, N_in); received "
                        f"{describe(x)}")
    xs = sim._check_x(np.asarray(x))
    if perturbation is None:
        return sim.run_trials(xs, rec_noise=rec_noise, noise=noise)
    n_batch, n_steps, _ = xs.shape
    if (perturbation.n_steps, perturbation.n_rec) != (n_steps, sim.N_rec):
        raise ValueError(
            f"{owner}: perturbation is for (n_steps, n_rec) = "
            f"{(perturbation.n_steps, perturbation.n_rec)}; the trials have N_steps = {n_steps} "
            f"and the network N_rec = {sim.N_rec}"
        )
    run_sim = sim
    if perturbation.current is not None:
        if sim.architecture != "rnn":
            raise ValueError(f"{owner}: stimulation currents are defined for architecture "
                             f"'rnn' only; received {sim.architecture!r}")
        aug_spec, aug_w = _stimulation_network(spec, sim.weights, sim.N_rec)
        run_sim = Simulator(aug_spec, aug_w, dt=sim.dt, tau=sim.tau, seed=sim.rng)
        xs = np.concatenate(
            [xs, np.broadcast_to(perturbation.current, (n_batch, n_steps, sim.N_rec))], axis=2
        )
    outputs, states = run_sim.run_trials(xs, t_connectivity=perturbation.t_connectivity,
                                         rec_noise=rec_noise, noise=noise)
    if perturbation.output_gate is not None:
        rates = sim.states_to_rates(states) * perturbation.output_gate[np.newaxis]
        outputs = rates @ np.asarray(sim.W_out_eff).T + sim.weights["b_out"]
    return outputs, states


@dataclass(frozen=True)
class AccuracyDrop:
    """Accuracy before and after a perturbation (what :func:`accuracy_drop` returns).

    Attributes:
        before: Accuracy of the intact network.
        after: Accuracy of the perturbed network on the same trials (and the same noise).
        drop: ``before - after``.
        n_trials: Number of trials.
    """

    before: float
    after: float
    drop: float
    n_trials: int


def accuracy_drop(
    spec: Any,
    weights: Mapping[str, Any],
    perturbed: Mapping[str, Any] | Perturbation,
    task: Any,
    n_trials: int = 256,
    rng: SeedLike = None,
    *,
    rec_noise: float | None = None,
) -> AccuracyDrop:
    """Measure the task accuracy before and after a lesion or perturbation.

    Both networks run the same trials with the same recurrent noise, so the difference is
    due to the perturbation alone.

    Args:
        spec: The network's ``ModelSpec``.
        weights: The intact weights.
        perturbed: Perturbed weights (e.g. from :func:`lesion`) or a :class:`Perturbation`
            applied to ``weights``.
        task: A ``psychcore.Task`` with an ``accuracy_function``.
        n_trials: Trials to simulate.
        rng: Seed or generator of the trials and the noise.
        rec_noise: Recurrent noise amplitude; ``spec.rec_noise`` when ``None``.

    Returns:
        An :class:`AccuracyDrop`.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: If the task does not fit the network or the perturbation the trials.
    """
    owner = "accuracy_drop"
    if not hasattr(task, "get_trial_batch") or not hasattr(task, "accuracy_function"):
        raise TypeError(f"{owner}: task must be a psychcore Task; received {describe(task)}")
    if not isinstance(perturbed, Mapping | Perturbation):
        raise TypeError(f"{owner}: perturbed must be a weights dict or a Perturbation; "
                        f"received {describe(perturbed)}")
    n_trials = v.integer(n_trials, "n_trials", owner)
    noise_amp = float(getattr(spec, "rec_noise", 0.0) or 0.0) if rec_noise is None else v.real(
        rec_noise, "rec_noise", owner, low=0.0)
    gen = as_generator(rng, name="rng")
    x, y, mask, _ = task.get_trial_batch(gen, N_batch=n_trials)
    n_rec = int(spec.N_rec)
    xi = gen.standard_normal((n_trials, x.shape[1], n_rec)) if noise_amp > 0 else None
    out_before, _ = run_perturbed(spec, weights, x, rec_noise=noise_amp, noise=xi)
    if isinstance(perturbed, Perturbation):
        out_after, _ = run_perturbed(spec, weights, x, perturbed, rec_noise=noise_amp, noise=xi)
    else:
        out_after, _ = run_perturbed(spec, perturbed, x, rec_noise=noise_amp, noise=xi)
    before = float(task.accuracy_function(y, out_before, mask))
    after = float(task.accuracy_function(y, out_after, mask))
    return AccuracyDrop(before=before, after=after, drop=before - after, n_trials=n_trials)
