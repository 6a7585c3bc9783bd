"""Tests of psychcore._equations against naive, loop-based re-computations of docs/equations.md."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose

from psychcore._equations import (
    LOSS_FUNCTIONS,
    TRANSFER_FUNCTIONS,
    dale_enabled,
    effective_weights,
    gate_count,
    get_effective_W_in,
    get_effective_W_out,
    get_effective_W_rec,
    get_transfer_function,
    loss,
    regularization,
    unit_alpha,
)
from psychcore._spec import ModelSpec

RTOL, ATOL = 1e-10, 1e-12
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
N_IN, N_REC, N_OUT = 3, 6, 2


# ----------------------------------------------------------------------------- helpers
def make_weights(
    arch: str = "rnn",
    *,
    dale: bool = False,
    masks: bool = False,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """A hand-built weights dict with negative raw weights, optional masks and Dale keys."""
    rng = np.random.default_rng(seed)
    G = GATES[arch]
    w = {
        "W_in": rng.normal(size=(G * N_REC, N_IN)),
        "W_rec": rng.normal(size=(G * N_REC, N_REC)) / math.sqrt(N_REC),
        "W_out": rng.normal(size=(N_OUT, N_REC)),
        "b_rec": 0.1 * rng.normal(size=G * N_REC),
        "b_out": 0.1 * rng.normal(size=N_OUT),
        "init_state": 0.3 * rng.normal(size=(1, N_REC)),
    }
    if masks:
        w["input_connectivity"] = (rng.random((N_REC, N_IN)) < 0.7).astype(float)
        w["input_connectivity"][0, 0] = 0.0
        rec = (rng.random((N_REC, N_REC)) < 0.7).astype(float)
        np.fill_diagonal(rec, 0.0)
        w["rec_connectivity"] = rec
        w["output_connectivity"] = (rng.random((N_OUT, N_REC)) < 0.7).astype(float)
        w["output_connectivity"][0, 0] = 0.0
    if dale:
        n_exc = 4
        w["Dale_rec"] = np.diag([1.0] * n_exc + [-1.0] * (N_REC - n_exc))
        w["Dale_out"] = np.diag([1.0] * n_exc + [0.0] * (N_REC - n_exc))
        w["dale_ratio"] = np.array(n_exc / N_REC)
    return w


def naive_effective(w: dict) -> dict[str, np.ndarray]:
    """Effective weights with explicit loops, straight from the formulas of the doc."""
    ratio = w.get("dale_ratio")
    dale = ratio is not None and not math.isnan(float(ratio))
    n_rec = w["W_rec"].shape[1]
    G = w["W_rec"].shape[0] // n_rec
    n_in, n_out = w["W_in"].shape[1], w["W_out"].shape[0]
    C_in = w.get("input_connectivity", np.ones((n_rec, n_in)))
    C_rec = w.get("rec_connectivity", np.ones((n_rec, n_rec)))
    C_out = w.get("output_connectivity", np.ones((n_out, n_rec)))
    D_rec = w.get("Dale_rec", np.eye(n_rec))
    D_out = w.get("Dale_out", np.eye(n_rec))

    def raw(v: float) -> float:
        return abs(v) if dale else v

    W_in = np.zeros((G * n_rec, n_in))
    A_rec = np.zeros((G * n_rec, n_rec))
    for k in range(G):
        for i in range(n_rec):
            for j in range(n_in):
                W_in[k * n_rec + i, j] = raw(w["W_in"][k * n_rec + i, j]) * C_in[i, j]
            for j in range(n_rec):
                A_rec[k * n_rec + i, j] = raw(w["W_rec"][k * n_rec + i, j]) * C_rec[i, j]
    A_out = np.zeros((n_out, n_rec))
    for o in range(n_out):
        for j in range(n_rec):
            A_out[o, j] = raw(w["W_out"][o, j]) * C_out[o, j]
    if not dale:
        return {"W_in": W_in, "W_rec": A_rec, "W_out": A_out}
    W_rec = np.zeros_like(A_rec)
    for r in range(G * n_rec):
        for j in range(n_rec):
            W_rec[r, j] = sum(A_rec[r, m] * D_rec[m, j] for m in range(n_rec))
    W_out = np.zeros_like(A_out)
    for o in range(n_out):
        for j in range(n_rec):
            W_out[o, j] = sum(A_out[o, m] * D_out[m, j] for m in range(n_rec))
    return {"W_in": W_in, "W_rec": W_rec, "W_out": W_out}


def make_spec(**kwargs) -> ModelSpec:
    base = dict(N_rec=N_REC, N_in=N_IN, N_out=N_OUT, dt=10.0, tau=100.0)
    base.update(kwargs)
    return ModelSpec(**base)


# ----------------------------------------------------------------------------- transfer
SCALAR_F = {
    "relu": lambda v: max(v, 0.0),
    "tanh": math.tanh,
    "sigmoid": lambda v: 1.0 / (1.0 + math.exp(-v)),
    "softplus": lambda v: math.log1p(math.exp(v)),
    "linear": lambda v: v,
}


@pytest.mark.parametrize("name", sorted(SCALAR_F))
def test_transfer_functions_match_scalar_definitions(name):
    x = np.linspace(-6, 6, 41)
    expected = [SCALAR_F[name](float(v)) for v in x]
    assert_allclose(TRANSFER_FUNCTIONS[name](x), expected, rtol=RTOL, atol=ATOL)
    assert get_transfer_function(name) is TRANSFER_FUNCTIONS[name]


def test_transfer_function_keys_and_callable_passthrough():
    assert set(TRANSFER_FUNCTIONS) == {"relu", "tanh", "sigmoid", "softplus", "linear"}
    fn = np.sin
    assert get_transfer_function(fn) is fn
    with pytest.raises(ValueError, match="transfer_function must be one of .* received 'elu'"):
        get_transfer_function("elu")


def test_sigmoid_and_softplus_are_stable_at_extremes():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = TRANSFER_FUNCTIONS["sigmoid"](x)
        sp = TRANSFER_FUNCTIONS["softplus"](x)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    assert_allclose(s[1], math.exp(-50.0), rtol=1e-12)
    assert sp[-1] == 1000.0 and sp[0] == 0.0
    assert_allclose(sp[3], 50.0 + math.log1p(math.exp(-50.0)), rtol=1e-15)


def test_gate_count():
    assert [gate_count(a) for a in ("rnn", "lstm", "gru")] == [1, 4, 3]
    with pytest.raises(ValueError, match=r"architecture must be one of .* received 'transformer'"):
        gate_count("transformer")


# ----------------------------------------------------------------------------- effective weights
@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dale", [False, True])
@pytest.mark.parametrize("masks", [False, True])
def test_effective_weights_match_naive(arch, dale, masks):
    w = make_weights(arch, dale=dale, masks=masks, seed=3)
    eff = effective_weights(w)
    ref = naive_effective(w)
    assert set(eff) == {"W_in", "W_rec", "W_out"}
    for key in eff:
        assert eff[key].shape == w[key].shape
        assert_allclose(eff[key], ref[key], rtol=RTOL, atol=ATOL)
    assert_allclose(get_effective_W_in(w), ref["W_in"], rtol=RTOL, atol=ATOL)
    assert_allclose(get_effective_W_rec(w), ref["W_rec"], rtol=RTOL, atol=ATOL)
    assert_allclose(get_effective_W_out(w), ref["W_out"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_dale_signs_and_masks_are_exact(arch):
    w = make_weights(arch, dale=True, masks=True)
    eff = effective_weights(w)
    G = GATES[arch]
    assert dale_enabled(w)
    assert np.all(eff["W_rec"][:, :4] >= 0) and np.all(eff["W_rec"][:, 4:] <= 0)
    assert np.all(eff["W_in"] >= 0)
    assert np.all(eff["W_out"][:, 4:] == 0) and np.all(eff["W_out"][:, :4] >= 0)
    for k in range(G):
        block = slice(k * N_REC, (k + 1) * N_REC)
        assert np.all(eff["W_rec"][block][w["rec_connectivity"] == 0] == 0)
        assert np.all(eff["W_in"][block][w["input_connectivity"] == 0] == 0)
    assert np.all(eff["W_out"][w["output_connectivity"] == 0] == 0)


def test_dale_off_when_ratio_nan_or_missing_or_none():
    w = make_weights("rnn", dale=True, masks=True)
    w["dale_ratio"] = np.array(np.nan)  # signed Dale diagonals are then ignored
    plain = {k: v for k, v in w.items() if k not in ("Dale_rec", "Dale_out", "dale_ratio")}
    assert not dale_enabled(w) and not dale_enabled(plain)
    assert not dale_enabled({**w, "dale_ratio": None})
    mask_of = {"W_in": "input_connectivity", "W_rec": "rec_connectivity",
               "W_out": "output_connectivity"}
    for key, value in effective_weights(w).items():
        assert_allclose(value, w[key] * w[mask_of[key]])
        assert_allclose(value, effective_weights(plain)[key])


def test_effective_weights_without_masks_are_copies_of_raw():
    w = make_weights("gru")
    eff = effective_weights(w)
    for key in eff:
        assert_allclose(eff[key], w[key], rtol=0, atol=0)
        eff[key][0, 0] = 123.0
    assert w["W_in"][0, 0] != 123.0 and w["W_rec"][0, 0] != 123.0 and w["W_out"][0, 0] != 123.0


def test_effective_weights_keep_float32():
    w = {k: v.astype(np.float32) for k, v in make_weights("rnn", masks=True, dale=True).items()}
    assert all(v.dtype == np.float32 for v in effective_weights(w).values())


@pytest.mark.parametrize(
    ("key", "shape", "getter"),
    [
        ("input_connectivity", (N_REC, N_IN + 1), get_effective_W_in),
        ("rec_connectivity", (N_REC + 1, N_REC), get_effective_W_rec),
        ("output_connectivity", (N_OUT, N_REC - 1), get_effective_W_out),
        ("Dale_rec", (N_REC - 1, N_REC - 1), get_effective_W_rec),
        ("Dale_out", (N_REC, N_REC + 1), get_effective_W_out),
    ],
)
def test_effective_weights_reject_wrong_mask_shapes(key, shape, getter):
    w = make_weights("lstm", dale=True, masks=True)
    w[key] = np.ones(shape)
    msg = f"weights['{key}'] has shape {shape}; expected"
    with pytest.raises(ValueError, match=re.escape(msg)):
        getter(w)
    with pytest.raises(ValueError, match=key):
        effective_weights(w)


def test_effective_weights_reject_bad_matrices():
    w = make_weights("rnn", dale=True)
    bad = {**w, "W_rec": np.ones((N_REC + 1, N_REC))}
    with pytest.raises(ValueError, match=r"weights\['W_rec'\] has shape \(7, 6\); expected \(G\*N"):
        get_effective_W_rec(bad)
    with pytest.raises(ValueError, match=r"weights\['W_in'\] has shape \(7, 3\)"):
        get_effective_W_in({**w, "W_in": np.ones((N_REC + 1, N_IN))})
    with pytest.raises(ValueError, match=r"weights\['W_out'\] must be a 2-D matrix; received"):
        get_effective_W_out({**w, "W_out": np.ones(N_REC)})
    with pytest.raises(ValueError, match="weights has no 'W_rec'"):
        get_effective_W_rec({})
    nondiag = w["Dale_rec"].copy()
    nondiag[0, 1] = 1.0
    with pytest.raises(ValueError, match=r"weights\['Dale_rec'\] must be a diagonal matrix"):
        get_effective_W_rec({**w, "Dale_rec": nondiag})
    with pytest.raises(ValueError, match=r"weights\['dale_ratio'\] must be a scalar"):
        dale_enabled({**w, "dale_ratio": np.array([0.8, 0.2])})


# ----------------------------------------------------------------------------- time constants
def test_unit_alpha_constant_and_from_tau_raw():
    w = make_weights("rnn")
    assert_allclose(unit_alpha(w, 10.0, 100.0), np.full(N_REC, 0.1), rtol=0, atol=0)
    tau_raw = np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 40.0])
    alpha = unit_alpha({**w, "tau_raw": tau_raw}, 10.0, 100.0, (20.0, 200.0))
    expected = [10.0 / (20.0 + 180.0 / (1.0 + math.exp(-v))) for v in tau_raw]
    assert_allclose(alpha, expected, rtol=RTOL)
    assert alpha.dtype == np.float64 and alpha.shape == (N_REC,)


def test_unit_alpha_errors():
    w = make_weights("rnn")
    with pytest.raises(ValueError, match="'tau_raw'.*tau_range is None"):
        unit_alpha({**w, "tau_raw": np.zeros(N_REC)}, 10.0, 100.0)
    with pytest.raises(ValueError, match=r"weights\['tau_raw'\] has shape \(5,\); expected"):
        unit_alpha({**w, "tau_raw": np.zeros(N_REC - 1)}, 10.0, 100.0, (20.0, 200.0))
    with pytest.raises(ValueError, match="no 'W_rec'"):
        unit_alpha({}, 10.0, 100.0)


# ----------------------------------------------------------------------------- losses
def _loss_arrays(seed: int = 5):
    rng = np.random.default_rng(seed)
    shape = (3, 4, 2)
    z = rng.normal(size=shape) * 2
    y = rng.random(shape)
    mask = (rng.random(shape) < 0.6).astype(float)
    return z, y, mask


def test_mean_squared_error_by_hand():
    z, y, mask = _loss_arrays()
    total, count = 0.0, 0
    for idx in np.ndindex(z.shape):
        total += (mask[idx] * (z[idx] - y[idx])) ** 2
        count += 1
    assert math.isclose(loss("mean_squared_error", z, y, mask), total / count, rel_tol=1e-12)


def test_binary_cross_entropy_by_hand_and_stable():
    z, y, mask = _loss_arrays()
    total = 0.0
    for idx in np.ndindex(z.shape):
        p = 1.0 / (1.0 + math.exp(-z[idx]))
        total += mask[idx] * -(y[idx] * math.log(p) + (1 - y[idx]) * math.log(1 - p))
    assert math.isclose(loss("binary_cross_entropy", z, y, mask), total / z.size, rel_tol=1e-12)
    big = np.array([[[800.0, -800.0]]])
    ones = np.ones_like(big)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss("binary_cross_entropy", big, np.array([[[0.0, 1.0]]]), ones)
    assert math.isclose(value, 800.0, rel_tol=1e-12)  # (800 + 800) / 2


def test_cross_entropy_by_hand():
    z, _, mask = _loss_arrays()
    rng = np.random.default_rng(9)
    y = rng.random(z.shape)
    y /= y.sum(axis=-1, keepdims=True)
    mask[0, 0] = 0.0  # one fully masked step
    num = den = 0.0
    for b in range(z.shape[0]):
        for t in range(z.shape[1]):
            m = max(mask[b, t])
            norm = sum(math.exp(v) for v in z[b, t])
            ce = -sum(y[b, t, c] * math.log(math.exp(z[b, t, c]) / norm) for c in range(2))
            num += m * ce
            den += m
    assert math.isclose(loss("cross_entropy", z, y, mask), num / den, rel_tol=1e-12)
    assert loss("cross_entropy", z, y, np.zeros_like(mask)) == 0.0


def test_loss_callable_and_errors():
    z, y, mask = _loss_arrays()
    seen = {}

    def custom(outputs, target, m):
        seen["args"] = (outputs, target, m)
        return np.float32(1.5)

    assert loss(custom, z.astype(np.float32), y, mask) == 1.5
    assert all(a.dtype == np.float64 for a in seen["args"])
    assert set(LOSS_FUNCTIONS) == {"mean_squared_error", "binary_cross_entropy", "cross_entropy"}
    with pytest.raises(ValueError, match="loss must be one of .* received 'hinge'"):
        loss("hinge", z, y, mask)
    with pytest.raises(ValueError, match=r"received \(3, 4, 2\), \(3, 4, 1\) and \(3, 4, 2\)"):
        loss("mean_squared_error", z, y[..., :1], mask)
    with pytest.raises(ValueError, match=r"\(N_batch, N_steps, N_out\); received \(12, 2\)"):
        loss("cross_entropy", z.reshape(12, 2), y.reshape(12, 2), mask.reshape(12, 2))


# ----------------------------------------------------------------------------- regularisation
def _mean_abs(a: np.ndarray) -> float:
    return sum(abs(v) for v in a.flat) / a.size


def _mean_sq(a: np.ndarray) -> float:
    return sum(v * v for v in a.flat) / a.size


@pytest.mark.parametrize("arch", ["rnn", "lstm"])
@pytest.mark.parametrize("part", ["in", "rec", "out"])
def test_weight_regularization_terms(arch, part):
    w = make_weights(arch, dale=True, masks=True, seed=11)
    states = np.random.default_rng(0).normal(size=(2, 5, N_REC))
    eff = naive_effective(w)[f"W_{part}"]
    spec1 = make_spec(architecture=arch, **{f"L1_{part}": 0.3})
    spec2 = make_spec(architecture=arch, **{f"L2_{part}": 0.7})
    assert math.isclose(regularization(spec1, w, states), 0.3 * _mean_abs(eff), rel_tol=1e-12)
    assert math.isclose(regularization(spec2, w, states), 0.7 * _mean_sq(eff), rel_tol=1e-12)


@pytest.mark.parametrize(("arch", "tf"), [("rnn", "relu"), ("rnn", "tanh"), ("gru", "relu")])
def test_firing_rate_regularization(arch, tf):
    w = make_weights(arch)
    states = np.random.default_rng(1).normal(size=(2, 5, N_REC))
    spec = make_spec(architecture=arch, transfer_function=tf, L2_firing_rate=2.0)
    f = SCALAR_F[tf] if arch == "rnn" else (lambda v: v)
    expected = 2.0 * sum(f(v) ** 2 for v in states.flat) / states.size
    assert math.isclose(regularization(spec, w, states), expected, rel_tol=1e-12)


def test_regularization_sum_custom_and_zero():
    w = make_weights("rnn", masks=True)
    states = np.random.default_rng(2).normal(size=(2, 5, N_REC))
    assert regularization(make_spec(), w, states) == 0.0
    calls = []

    def custom(weights, st):
        calls.append((weights, st))
        return 0.25

    spec = make_spec(L1_rec=0.1, L2_out=0.2, L2_firing_rate=0.5, custom_regularization=custom)
    eff = naive_effective(w)
    rates = np.maximum(states, 0)
    expected = (
        0.1 * _mean_abs(eff["W_rec"]) + 0.2 * _mean_sq(eff["W_out"])
        + 0.5 * _mean_sq(rates) + 0.25
    )
    assert math.isclose(regularization(spec, w, states), expected, rel_tol=1e-12)
    assert calls[0][0] is w and calls[0][1] is states


def test_regularization_rejects_wrong_states_shape():
    w = make_weights("rnn")
    with pytest.raises(ValueError, match=r"N_rec = 6; received \(2, 5, 4\)"):
        regularization(make_spec(L2_firing_rate=1.0), w, np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match=r"received \(5, 6\)"):
        regularization(make_spec(), w, np.zeros((5, N_REC)))
