"""Helpers shared by the TensorFlow backend's tests (imported as ``tf_helpers``)."""

from __future__ import annotations

import numpy as np

from psychcore import ModelSpec, initialize_weights


def bound(N_rec: int = 8, N_in: int = 3, N_out: int = 2, dt: float = 10.0, tau: float = 50.0,
          **kw) -> ModelSpec:
    """A ModelSpec bound to task sizes without a task."""
    return ModelSpec(N_rec=N_rec, **kw).bind({"N_in": N_in, "N_out": N_out, "dt": dt,
                                              "tau": tau})


def lively_weights(spec: ModelSpec, seed: int = 0) -> dict[str, np.ndarray]:
    """Initial weights with non-zero biases, initial states and per-unit time constants, and
    raw weights kept away from 0 (so |w| is differentiable there)."""
    rng = np.random.default_rng(seed + 100)
    w = initialize_weights(spec, np.random.default_rng(seed))
    for key in ("b_rec", "b_out", "init_state", "init_cell"):
        if key in w:
            w[key] = w[key] + 0.3 * rng.standard_normal(w[key].shape)
    if "tau_raw" in w:
        w["tau_raw"] = w["tau_raw"] + rng.standard_normal(w["tau_raw"].shape)
    for key in ("W_in", "W_rec", "W_out"):
        w[key] = np.where(np.abs(w[key]) < 1e-3, 1e-3, w[key])
    return {k: np.asarray(v, dtype=spec.dtype) for k, v in w.items()}


def data(spec: ModelSpec, n: int = 4, steps: int = 12, seed: int = 0):
    """Random ``(x, y, mask, noise)`` in the spec's dtype."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, steps, spec.N_in))
    y = rng.uniform(0.0, 1.0, (n, steps, spec.N_out))
    mask = (rng.uniform(size=(n, steps, spec.N_out)) > 0.3).astype(float)
    noise = rng.standard_normal((n, steps, spec.N_rec))
    return tuple(a.astype(spec.dtype) for a in (x, y, mask, noise))
