"""Simulator outputs against an independent, loop-by-loop NumPy re-computation of the equations.

The reference here shares no code with psychcore: effective weights, dynamics and read-out are
rebuilt from docs/equations.md with explicit Python loops over trials, steps, units and gates.
"""

from __future__ import annotations

import math
import re
import types

import numpy as np
import pytest
from numpy.testing import assert_allclose

from psychcore._simulator import Simulator
from psychcore._spec import ModelSpec

RTOL, ATOL = 1e-10, 1e-12
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
N_IN, N_REC, N_OUT = 3, 6, 2
N_BATCH, N_STEPS = 3, 12
DT, TAU = 10.0, 50.0
TAU_RANGE = (20.0, 200.0)

SCALAR_F = {
    "relu": lambda v: max(v, 0.0),
    "tanh": math.tanh,
    "sigmoid": lambda v: 1.0 / (1.0 + math.exp(-v)),
    "softplus": lambda v: math.log1p(math.exp(v)),
    "linear": lambda v: v,
}


def sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


# ----------------------------------------------------------------------------- helpers
def make_weights(arch="rnn", *, dale=False, masks=False, tau_raw=False, seed=0) -> dict:
    """Hand-built weights: negative raw entries, masks with zeros, Dale diagonals."""
    rng = np.random.default_rng(seed)
    G = GATES[arch]
    w = {
        "W_in": rng.normal(size=(G * N_REC, N_IN)),
        "W_rec": 1.2 * rng.normal(size=(G * N_REC, N_REC)) / math.sqrt(N_REC),
        "W_out": rng.normal(size=(N_OUT, N_REC)),
        "b_rec": 0.1 * rng.normal(size=G * N_REC),
        "b_out": 0.1 * rng.normal(size=N_OUT),
        "init_state": 0.3 * rng.normal(size=(1, N_REC)),
    }
    if arch == "lstm":
        w["init_cell"] = 0.3 * rng.normal(size=(1, N_REC))
    if masks:
        w["input_connectivity"] = (rng.random((N_REC, N_IN)) < 0.7).astype(float)
        rec = (rng.random((N_REC, N_REC)) < 0.7).astype(float)
        np.fill_diagonal(rec, 0.0)
        w["rec_connectivity"] = rec
        w["output_connectivity"] = (rng.random((N_OUT, N_REC)) < 0.7).astype(float)
    if dale:
        w["Dale_rec"] = np.diag([1.0, 1.0, 1.0, 1.0, -1.0, -1.0])
        w["Dale_out"] = np.diag([1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
        w["dale_ratio"] = np.array(4 / 6)
    if tau_raw:
        w["tau_raw"] = rng.normal(size=N_REC) * 2
    return w


def make_spec(arch="rnn", tf="relu", *, bound=True, **kwargs) -> ModelSpec:
    base = dict(N_rec=N_REC, architecture=arch, transfer_function=tf)
    if bound:
        base.update(N_in=N_IN, N_out=N_OUT, dt=DT, tau=TAU)
    base.update(kwargs)
    return ModelSpec(**base)


def naive_effective(w: dict):
    """Effective weights with explicit loops: (|W| or W) * C, then @ D with a looped product."""
    ratio = w.get("dale_ratio")
    dale = ratio is not None and not math.isnan(float(ratio))
    G = w["W_rec"].shape[0] // N_REC
    C_in = w.get("input_connectivity", np.ones((N_REC, N_IN)))
    C_rec = w.get("rec_connectivity", np.ones((N_REC, N_REC)))
    C_out = w.get("output_connectivity", np.ones((N_OUT, N_REC)))
    D_rec = w.get("Dale_rec", np.eye(N_REC)) if dale else np.eye(N_REC)
    D_out = w.get("Dale_out", np.eye(N_REC)) if dale else np.eye(N_REC)

    def raw(v):
        return abs(v) if dale else v

    W_in = [[raw(w["W_in"][r, j]) * C_in[r % N_REC, j] for j in range(N_IN)]
            for r in range(G * N_REC)]
    A = [[raw(w["W_rec"][r, j]) * C_rec[r % N_REC, j] for j in range(N_REC)]
         for r in range(G * N_REC)]
    W_rec = [[sum(A[r][m] * D_rec[m, j] for m in range(N_REC)) for j in range(N_REC)]
             for r in range(G * N_REC)]
    B = [[raw(w["W_out"][o, j]) * C_out[o, j] for j in range(N_REC)] for o in range(N_OUT)]
    W_out = [[sum(B[o][m] * D_out[m, j] for m in range(N_REC)) for j in range(N_REC)]
             for o in range(N_OUT)]
    return W_in, W_rec, W_out


def naive_alpha(w):
    if "tau_raw" not in w:
        return [DT / TAU] * N_REC
    lo, hi = TAU_RANGE
    return [DT / (lo + (hi - lo) * sig(v)) for v in w["tau_raw"]]


def naive_run(arch, w, x, tf="relu", tc=None, rec_noise=0.0, xi=None):
    """Loop-by-loop forward pass of docs/equations.md."""
    W_in, W_rec, W_out = naive_effective(w)
    f = SCALAR_F[tf] if arch == "rnn" else (lambda v: v)
    alpha = naive_alpha(w)
    n_batch, n_steps, _ = x.shape
    G = GATES[arch]
    states = np.zeros((n_batch, n_steps, N_REC))
    outputs = np.zeros((n_batch, n_steps, N_OUT))

    def conn(t, r, j):
        return 1.0 if tc is None else tc[t][r % N_REC, j]

    for b in range(n_batch):
        h = [float(v) for v in w["init_state"][0]]
        c = [float(v) for v in w["init_cell"][0]] if arch == "lstm" else None
        for t in range(n_steps):
            inp = [sum(W_in[r][j] * x[b, t, j] for j in range(N_IN)) + w["b_rec"][r]
                   for r in range(G * N_REC)]
            if arch == "rnn":
                new = []
                for i in range(N_REC):
                    rec = sum(W_rec[i][j] * conn(t, i, j) * f(h[j]) for j in range(N_REC))
                    v = (1 - alpha[i]) * h[i] + alpha[i] * (rec + inp[i])
                    if xi is not None:
                        v += math.sqrt(2 * alpha[i]) * rec_noise * xi[b, t, i]
                    new.append(v)
                h = new
            else:
                recs = [sum(W_rec[r][j] * conn(t, r, j) * h[j] for j in range(N_REC))
                        for r in range(G * N_REC)]
                new_h, new_c = [], []
                for i in range(N_REC):
                    if arch == "lstm":
                        gi, gf, gg, go = (inp[k * N_REC + i] + recs[k * N_REC + i]
                                          for k in range(4))
                        ci = sig(gf) * c[i] + sig(gi) * math.tanh(gg)
                        new_c.append(ci)
                        new_h.append(sig(go) * math.tanh(ci))
                    else:
                        r_ = sig(inp[i] + recs[i])
                        z_ = sig(inp[N_REC + i] + recs[N_REC + i])
                        n_ = math.tanh(inp[2 * N_REC + i] + r_ * recs[2 * N_REC + i])
                        new_h.append((1 - z_) * n_ + z_ * h[i])
                h, c = new_h, new_c
            states[b, t] = h
            for o in range(N_OUT):
                outputs[b, t, o] = sum(W_out[o][j] * f(h[j]) for j in range(N_REC)) + w["b_out"][o]
    return outputs, states


def inputs(seed=1, n_batch=N_BATCH, n_steps=N_STEPS):
    return np.random.default_rng(seed).normal(size=(n_batch, n_steps, N_IN))


def silencing(n_steps=N_STEPS, unit=2, window=(3, 8)):
    """t_connectivity silencing ``unit``'s outgoing connections during ``window``."""
    tc = np.ones((n_steps, N_REC, N_REC))
    tc[window[0]:window[1], :, unit] = 0.0
    return tc


def check(sim_out, ref):
    assert_allclose(sim_out[0], ref[0], rtol=RTOL, atol=ATOL)
    assert_allclose(sim_out[1], ref[1], rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------- rate RNN
@pytest.mark.parametrize("tf", sorted(SCALAR_F))
@pytest.mark.parametrize("variant", ["plain", "masks", "dale", "dale+masks"])
def test_rnn_matches_naive(tf, variant):
    w = make_weights("rnn", dale="dale" in variant, masks="masks" in variant, seed=4)
    x = inputs()
    out = Simulator(make_spec("rnn", tf), w).run_trials(x)
    assert out[0].shape == (N_BATCH, N_STEPS, N_OUT) and out[1].shape == (N_BATCH, N_STEPS, N_REC)
    assert out[0].dtype == np.float64 and out[1].dtype == np.float64
    check(out, naive_run("rnn", w, x, tf))


def test_rnn_dale_ratio_nan_ignores_dale_diagonals():
    w = make_weights("rnn", dale=True, masks=True)
    w["dale_ratio"] = np.array(np.nan)
    x = inputs()
    out = Simulator(make_spec(), w).run_trials(x)
    check(out, naive_run("rnn", w, x))
    plain = {k: v for k, v in w.items() if k not in ("Dale_rec", "Dale_out", "dale_ratio")}
    check(out, Simulator(make_spec(), plain).run_trials(x))


@pytest.mark.parametrize("variant", ["plain", "dale+masks"])
def test_rnn_t_connectivity(variant):
    w = make_weights("rnn", dale="dale" in variant, masks="masks" in variant, seed=7)
    x = inputs()
    sim = Simulator(make_spec("rnn", "tanh"), w)
    tc = silencing()
    out = sim.run_trials(x, t_connectivity=tc)
    check(out, naive_run("rnn", w, x, "tanh", tc=tc))
    free = sim.run_trials(x)
    assert_allclose(out[1][:, :3], free[1][:, :3], rtol=0, atol=0)  # identical before the window
    assert not np.allclose(out[1][:, 3:], free[1][:, 3:])
    random_tc = np.random.default_rng(3).random((N_STEPS, N_REC, N_REC))
    check(sim.run_trials(x, t_connectivity=random_tc),
          naive_run("rnn", w, x, "tanh", tc=random_tc))


@pytest.mark.parametrize("variant", ["plain", "dale+masks"])
def test_rnn_noise_given(variant):
    w = make_weights("rnn", dale="dale" in variant, masks="masks" in variant, seed=8)
    x = inputs()
    xi = np.random.default_rng(5).standard_normal((N_BATCH, N_STEPS, N_REC))
    tc = silencing()
    out = Simulator(make_spec("rnn", "softplus"), w).run_trials(
        x, t_connectivity=tc, rec_noise=0.3, noise=xi
    )
    check(out, naive_run("rnn", w, x, "softplus", tc=tc, rec_noise=0.3, xi=xi))


@pytest.mark.parametrize("tf", ["relu", "sigmoid"])
def test_rnn_trainable_time_constants(tf):
    w = make_weights("rnn", dale=True, masks=True, tau_raw=True, seed=9)
    spec = make_spec("rnn", tf, train_tau=True, tau_range=TAU_RANGE)
    sim = Simulator(spec, w)
    assert_allclose(sim.alpha, naive_alpha(w), rtol=RTOL)
    x = inputs()
    xi = np.random.default_rng(6).standard_normal((N_BATCH, N_STEPS, N_REC))
    check(sim.run_trials(x, rec_noise=0.2, noise=xi),
          naive_run("rnn", w, x, tf, rec_noise=0.2, xi=xi))


def test_rnn_step_matches_run_trials():
    w = make_weights("rnn", dale=True, masks=True, seed=2)
    sim = Simulator(make_spec("rnn", "tanh"), w)
    x = inputs()
    tc = silencing()
    xi = np.random.default_rng(0).standard_normal((N_BATCH, N_STEPS, N_REC))
    outputs, states = sim.run_trials(x, t_connectivity=tc, rec_noise=0.1, noise=xi)
    state = np.repeat(w["init_state"], N_BATCH, axis=0)
    for t in range(N_STEPS):
        out, state = sim.rnn_step(state, x[:, t], tc[t], rec_noise=0.1, noise=xi[:, t])
        assert_allclose(state, states[:, t], rtol=1e-12, atol=1e-14)
        assert_allclose(out, outputs[:, t], rtol=1e-12, atol=1e-14)
    out, new = sim.rnn_step(state, x[:, 0])
    assert out.shape == (N_BATCH, N_OUT) and new.shape == (N_BATCH, N_REC)


def test_states_to_rates():
    states = np.random.default_rng(0).normal(size=(2, 3, N_REC))
    assert_allclose(Simulator(make_spec("rnn", "relu"), make_weights()).states_to_rates(states),
                    np.maximum(states, 0))
    gru = Simulator(make_spec("gru"), make_weights("gru"))
    assert_allclose(gru.states_to_rates(states), states)


# ----------------------------------------------------------------------------- gated
@pytest.mark.parametrize("arch", ["lstm", "gru"])
@pytest.mark.parametrize("variant", ["plain", "masks", "dale", "dale+masks"])
def test_gated_matches_naive(arch, variant):
    w = make_weights(arch, dale="dale" in variant, masks="masks" in variant, seed=12)
    x = inputs()
    out = Simulator(make_spec(arch), w).run_trials(x)
    check(out, naive_run(arch, w, x))


@pytest.mark.parametrize("arch", ["lstm", "gru"])
@pytest.mark.parametrize("variant", ["plain", "dale+masks"])
def test_gated_t_connectivity(arch, variant):
    w = make_weights(arch, dale="dale" in variant, masks="masks" in variant, seed=13)
    x = inputs()
    sim = Simulator(make_spec(arch), w)
    for tc in (silencing(unit=4), np.random.default_rng(4).random((N_STEPS, N_REC, N_REC))):
        check(sim.run_trials(x, t_connectivity=tc), naive_run(arch, w, x, tc=tc))


@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_gated_rejects_noise_and_rnn_step(arch):
    sim = Simulator(make_spec(arch), make_weights(arch))
    x = inputs()
    with pytest.raises(ValueError, match=f"defined for architecture 'rnn' only; .* '{arch}'"):
        sim.run_trials(x, rec_noise=0.1)
    with pytest.raises(ValueError, match="'rnn' only"):
        sim.run_trials(x, noise=np.zeros((N_BATCH, N_STEPS, N_REC)))
    with pytest.raises(ValueError, match=f"rnn_step is the rate-RNN step; .* '{arch}'"):
        sim.rnn_step(np.zeros((1, N_REC)), np.zeros((1, N_IN)))


# ----------------------------------------------------------------------------- noise
def test_seeded_noise_is_reproducible_and_equals_explicit_draws():
    w = make_weights("rnn", seed=1)
    x = inputs()
    a = Simulator(make_spec(), w, seed=123)
    b = Simulator(make_spec(), w, seed=123)
    first = a.run_trials(x, rec_noise=0.2)
    check(first, b.run_trials(x, rec_noise=0.2))
    second = a.run_trials(x, rec_noise=0.2)  # the stream continues
    assert not np.allclose(first[1], second[1])
    xi = np.random.default_rng(123).standard_normal((N_BATCH, N_STEPS, N_REC))
    check(first, Simulator(make_spec(), w).run_trials(x, rec_noise=0.2, noise=xi))
    # no noise: no draw, deterministic
    c = Simulator(make_spec(), w, seed=123)
    check(c.run_trials(x), c.run_trials(x))
    check(c.run_trials(x, rec_noise=0.2), first)


@pytest.mark.parametrize("rec_noise", [0.05, 0.4])
def test_noise_increments_scale_as_sqrt_2_alpha(rec_noise):
    zero = {
        "W_in": np.zeros((N_REC, N_IN)), "W_rec": np.zeros((N_REC, N_REC)),
        "W_out": np.zeros((N_OUT, N_REC)), "b_rec": np.zeros(N_REC), "b_out": np.zeros(N_OUT),
        "init_state": np.zeros((1, N_REC)), "tau_raw": np.linspace(-3, 3, N_REC),
    }
    spec = make_spec("rnn", "linear", train_tau=True, tau_range=TAU_RANGE)
    sim = Simulator(spec, zero, seed=0)
    _, states = sim.run_trials(np.zeros((4000, 20, N_IN)), rec_noise=rec_noise)
    alpha = np.array(naive_alpha(zero))
    prev = np.concatenate([np.zeros((4000, 1, N_REC)), states[:, :-1]], axis=1)
    increments = states - (1 - alpha) * prev
    expected = np.sqrt(2 * alpha) * rec_noise
    assert_allclose(increments.std(axis=(0, 1)), expected, rtol=0.02)
    assert_allclose(increments.mean(axis=(0, 1)), 0.0, atol=0.02 * expected.max())


# ----------------------------------------------------------------------------- construction
def test_dt_tau_from_spec_or_arguments():
    w = make_weights()
    with pytest.raises(ValueError, match=re.escape("spec.bind(task)") + ".*dt=.*tau="):
        Simulator(make_spec(bound=False), w)
    sim = Simulator(make_spec(bound=False), w, dt=5.0, tau=100.0)
    assert_allclose(sim.alpha, 0.05)
    assert (sim.N_in, sim.N_out) == (N_IN, N_OUT)  # inferred from the weights
    sim = Simulator(make_spec(), w, tau=20.0)  # arguments override the spec
    assert (sim.dt, sim.tau) == (DT, 20.0)
    assert_allclose(sim.alpha, DT / 20.0)
    with pytest.raises(ValueError, match="dt must be a finite number > 0; received -1"):
        Simulator(make_spec(), w, dt=-1.0)
    with pytest.raises(TypeError, match=r"tau must be a finite number > 0; received '50'"):
        Simulator(make_spec(), w, tau="50")


SHAPE_CASES = [
    ("rnn", "W_in", (N_REC, N_IN + 1), "(G*N_rec, N_in) = (6, 3)"),
    ("lstm", "W_in", (N_REC, N_IN), "(G*N_rec, N_in) = (24, 3)"),
    ("gru", "W_rec", (N_REC, N_REC), "(G*N_rec, N_rec) = (18, 6)"),
    ("rnn", "W_out", (N_OUT + 1, N_REC), "(N_out, N_rec) = (2, 6)"),
    ("gru", "b_rec", (N_REC,), "(G*N_rec,) = (18,)"),
    ("rnn", "b_out", (N_OUT, 1), "(N_out,) = (2,)"),
    ("rnn", "init_state", (N_REC,), "(1, N_rec) = (1, 6)"),
    ("lstm", "init_cell", (2, N_REC), "(1, N_rec) = (1, 6)"),
    ("rnn", "rec_connectivity", (N_REC, N_REC + 1), "(N_rec, N_rec) = (6, 6)"),
    ("rnn", "input_connectivity", (N_REC, 2), "(N_rec, N_in) = (6, 3)"),
    ("rnn", "output_connectivity", (N_REC, N_OUT), "(N_out, N_rec) = (2, 6)"),
    ("rnn", "Dale_rec", (N_REC,), "(N_rec, N_rec) = (6, 6)"),
    ("rnn", "Dale_out", (N_REC, 1), "(N_rec, N_rec) = (6, 6)"),
    ("rnn", "tau_raw", (N_REC, 1), "(N_rec,) = (6,)"),
    ("rnn", "dale_ratio", (2,), "() = ()"),
    ("gru", "W_rec_fixed", (N_REC, N_REC), "(G*N_rec, N_rec) = (18, 6)"),
]


@pytest.mark.parametrize(("arch", "key", "shape", "expected"), SHAPE_CASES)
def test_weights_shape_errors_name_key_expected_and_received(arch, key, shape, expected):
    w = make_weights(arch)
    w[key] = np.ones(shape)
    msg = f"weights['{key}'] has shape {shape}; expected {expected}"
    with pytest.raises(ValueError, match=re.escape(msg)):
        Simulator(make_spec(arch), w)


def test_weights_missing_and_non_numeric():
    w = make_weights("lstm")
    del w["init_cell"]
    with pytest.raises(ValueError, match=re.escape("weights has no 'init_cell'; expected shape "
                                                   "(1, N_rec) = (1, 6)")):
        Simulator(make_spec("lstm"), w)
    w = make_weights()
    del w["b_out"]
    with pytest.raises(ValueError, match="weights has no 'b_out'"):
        Simulator(make_spec(), w)
    with pytest.raises(TypeError, match=r"weights\['W_in'\] must be numeric; received dtype <U1"):
        Simulator(make_spec(), {**make_weights(), "W_in": np.full((N_REC, N_IN), "a")})
    with pytest.raises(TypeError, match="weights must be a dict of arrays; received list"):
        Simulator(make_spec(), [1, 2])
    with pytest.raises(ValueError, match="train_tau is True but weights has no 'tau_raw'"):
        Simulator(make_spec(train_tau=True, tau_range=TAU_RANGE), make_weights())
    stub = types.SimpleNamespace(N_rec=N_REC, architecture="elman", transfer_function="relu",
                                 N_in=N_IN, N_out=N_OUT, dt=DT, tau=TAU)
    with pytest.raises(ValueError, match="architecture must be one of .* received 'elman'"):
        Simulator(stub, make_weights())


def test_weights_are_copied_to_read_only_float64():
    w = {k: v.astype(np.float32) for k, v in make_weights(dale=True, masks=True).items()}
    sim = Simulator(make_spec(), w)
    x32 = inputs().astype(np.float32)
    before = sim.run_trials(x32)
    w["W_rec"][:] = 0.0
    check(sim.run_trials(x32), before)
    assert before[0].dtype == np.float64 and sim.weights["W_rec"].dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        sim.weights["W_in"][0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        sim.W_rec_eff[0, 0] = 1.0


# ----------------------------------------------------------------------------- run-time checks
def test_run_trials_input_errors():
    sim = Simulator(make_spec(), make_weights())
    with pytest.raises(ValueError, match=re.escape("x has shape (3, 12, 4); expected (N_batch, "
                                                   "N_steps, N_in) with N_in = 3")):
        sim.run_trials(np.zeros((3, 12, 4)))
    with pytest.raises(ValueError, match=re.escape("x has shape (12, 3)")):
        sim.run_trials(np.zeros((12, 3)))
    with pytest.raises(TypeError, match="x must be a numpy array of shape .* received list"):
        sim.run_trials([[[0.0, 0.0, 0.0]]])
    with pytest.raises(TypeError, match="x must hold real numbers; received dtype object"):
        sim.run_trials(np.zeros((1, 2, 3), dtype=object))
    out, states = sim.run_trials(np.zeros((7, 2, N_IN)))  # any N_batch
    assert out.shape == (7, 2, N_OUT) and states.shape == (7, 2, N_REC)


def test_run_trials_t_connectivity_and_noise_errors():
    sim = Simulator(make_spec(), make_weights())
    x = inputs()
    with pytest.raises(ValueError, match=re.escape("t_connectivity has shape (11, 6, 6); expected "
                                                   "(N_steps, N_rec, N_rec) = (12, 6, 6)")):
        sim.run_trials(x, t_connectivity=np.ones((N_STEPS - 1, N_REC, N_REC)))
    with pytest.raises(TypeError, match="t_connectivity must be a numpy array"):
        sim.run_trials(x, t_connectivity=np.ones((N_STEPS, N_REC, N_REC)).tolist())
    with pytest.raises(ValueError, match=re.escape("noise has shape (3, 12, 5); expected "
                                                   "(3, 12, 6)")):
        sim.run_trials(x, rec_noise=0.1, noise=np.zeros((N_BATCH, N_STEPS, N_REC - 1)))
    with pytest.raises(ValueError, match="rec_noise must be a non-negative finite number"):
        sim.run_trials(x, rec_noise=-0.1)
    with pytest.raises(TypeError, match="rec_noise must be a number; received str"):
        sim.run_trials(x, rec_noise="0.1")


def test_rnn_step_errors():
    sim = Simulator(make_spec(), make_weights())
    state, x_t = np.zeros((2, N_REC)), np.zeros((2, N_IN))
    with pytest.raises(ValueError, match=re.escape("state has shape (2, 5); expected (N_batch, "
                                                   "N_rec) with N_rec = 6")):
        sim.rnn_step(np.zeros((2, N_REC - 1)), x_t)
    with pytest.raises(ValueError, match=re.escape("x_t has shape (2, 4); expected (N_batch, "
                                                   "N_in) = (2, 3)")):
        sim.rnn_step(state, np.zeros((2, N_IN + 1)))
    with pytest.raises(ValueError, match=re.escape("t_connectivity has shape (6, 5); expected "
                                                   "(N_rec, N_rec) = (6, 6)")):
        sim.rnn_step(state, x_t, np.ones((N_REC, N_REC - 1)))
    with pytest.raises(ValueError, match=re.escape("noise has shape (2, 5); expected (2, 6)")):
        sim.rnn_step(state, x_t, rec_noise=0.1, noise=np.zeros((2, N_REC - 1)))
    with pytest.raises(TypeError, match="state must be a numpy array"):
        sim.rnn_step(state.tolist(), x_t)


def test_from_file_reads_saved_weights_and_spec(tmp_path):
    from psychcore import save_weights

    w = make_weights("gru", masks=True)
    spec = make_spec("gru")
    path = save_weights(tmp_path / "net", w, spec)
    sim = Simulator.from_file(path, seed=1)
    assert sim.architecture == "gru"
    x = inputs()
    check(sim.run_trials(x), naive_run("gru", w, x))
