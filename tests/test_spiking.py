"""psychcore.spiking against spikeRNN's own outputs (tests/data/spikernn, see its README)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")

from psychcore import Task  # noqa: E402
from psychcore._init import initialize_weights  # noqa: E402
from psychcore._simulator import Simulator  # noqa: E402
from psychcore._spec import ModelSpec  # noqa: E402
from psychcore.spiking import (  # noqa: E402
    LIFParams,
    RateNetwork,
    lambda_search,
    rate_forward,
    simulate_lif,
)
from psychcore.spiking._noise import standard_normal_f32  # noqa: E402

DATA = Path(__file__).parent / "data" / "spikernn"


@pytest.fixture(scope="module")
def nosom():
    return RateNetwork.from_spikernn(DATA / "gonogo_nosom.mat")


@pytest.fixture(scope="module")
def ref():
    return np.load(DATA / "gonogo_nosom_reference.npz")


def spikernn_draws(ref, trial: str, N: int):
    """The draws spikernn_reference.py gave spikeRNN's LIF_network_fnc."""
    seed_v, seed_n = (int(s) for s in ref[f"lif_{trial}_seeds"])
    n_steps = int(ref[f"lif_{trial}_n_steps"])
    v0 = -65.0 + np.random.default_rng(seed_v).random(N) * (30.0 - -65.0)
    noise = np.random.default_rng(seed_n).standard_normal((n_steps, N))
    return v0, noise


def test_from_spikernn_reads_the_saved_network(nosom):
    som = RateNetwork.from_spikernn(DATA / "gonogo_som.mat")
    for net in (nosom, som):
        assert (net.N, net.N_in, net.N_out) == (100, 1, 1)
        assert net.rectify == "relu" and net.dt == 0.005
        assert np.all((net.tau >= 0.02) & (net.tau <= 0.1))  # 4-20 steps of 5 ms
        assert set(np.unique(net.rec_signs)) == {-1.0, 1.0}
        assert net.b_out[0] != 0
        # training pushed raw weights below 0: the rate network uses relu(w), 0 there
        assert np.any(net.w_rec < 0)
    assert np.all(nosom.rec_mask == 1) and np.any(som.rec_mask == 0)


@pytest.mark.parametrize("name", ["gonogo_nosom", "gonogo_som"])
@pytest.mark.parametrize("trial", ["go", "nogo"])
def test_rate_forward_matches_spikernn(name, trial):
    net = RateNetwork.from_spikernn(DATA / f"{name}.mat")
    ref = np.load(DATA / f"{name}_reference.npz")
    u = ref[f"rate_{trial}_u"]  # (1, 200): spikeRNN's o_t (t = 1..199) uses u[:, t-1]
    draws = np.random.default_rng(int(ref[f"rate_{trial}_seed"])).standard_normal(
        (200, net.N)).astype(np.float32)
    out, _ = rate_forward(net, u[:, :199].T, x0=draws[0] / np.float32(100),
                          noise=draws[1:] / np.float32(10))
    np.testing.assert_allclose(out[0, :, 0], ref[f"rate_{trial}_outputs"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("trial", ["go", "nogo"])
def test_lif_compat_reproduces_spikernn_exactly(nosom, ref, trial):
    v0, noise = spikernn_draws(ref, trial, nosom.N)
    params = LIFParams(lam=float(ref["lif_lambda"]), spikernn_compat=True)
    res = simulate_lif(nosom, ref[f"lif_{trial}_u"].T, params, v0=v0, noise=noise,
                       record_voltages=range(5))
    assert res.n_steps == int(ref[f"lif_{trial}_n_steps"]) == 20000
    np.testing.assert_array_equal(res.spike_step, ref[f"lif_{trial}_spike_steps"])
    np.testing.assert_array_equal(res.spike_unit, ref[f"lif_{trial}_spike_units"])
    np.testing.assert_array_equal(res.spike_trial, 0)
    np.testing.assert_allclose(res.outputs[0, :, 0], ref[f"lif_{trial}_outputs"], rtol=0,
                               atol=1e-6)
    np.testing.assert_allclose(res.voltages[0, ::10].T, ref[f"lif_{trial}_voltages_sub"],
                               rtol=0, atol=1e-9)


@pytest.mark.parametrize(("dtype", "atol"), [("float64", 1e-12), ("float32", 2e-6)])
def test_compat_off_fixes_weights_and_bias(nosom, ref, dtype, atol):
    """On the NoGo trial (input 0, so the time grids agree) with spikeRNN's draws: compat off
    (the fast loop, in float64 and float32) equals compat on (the reference loop) plus the
    output bias once the raw weights are already rectified, and the rectification is what
    changes the raster of the trained network."""
    v0, noise = spikernn_draws(ref, "nogo", nosom.N)
    lam = float(ref["lif_lambda"])
    noise = noise[:5000]
    u_on, u_off = np.zeros((51, 1)), np.zeros((50, 1))  # 5,000 steps either way
    on = simulate_lif(nosom, u_on, LIFParams(lam=lam, spikernn_compat=True), v0=v0,
                      noise=noise)
    off = simulate_lif(nosom, u_off, LIFParams(lam=lam), v0=v0, noise=noise, dtype=dtype)
    assert off.n_steps == on.n_steps
    assert not np.array_equal(off.raster(), on.raster())  # relu(w) instead of raw w

    rectified = dataclasses.replace(nosom, w_rec=np.maximum(nosom.w_rec, 0.0))
    on_r = simulate_lif(rectified, u_on, LIFParams(lam=lam, spikernn_compat=True), v0=v0,
                        noise=noise)
    off_r = simulate_lif(rectified, u_off, LIFParams(lam=lam), v0=v0, noise=noise,
                         dtype=dtype)
    assert off_r.outputs.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(off_r.raster(), on_r.raster())
    np.testing.assert_allclose(off_r.outputs, on_r.outputs + nosom.b_out, rtol=0, atol=atol)


def small_network(seed: int = 0, N: int = 12) -> RateNetwork:
    rng = np.random.default_rng(seed)
    signs = np.where(rng.random(N) < 0.2, -1.0, 1.0)
    return RateNetwork(w_in=rng.standard_normal((N, 2)) * 3, w_rec=rng.random((N, N)) * 8,
                       rec_signs=signs, rec_mask=None, rectify="relu",
                       w_out=rng.standard_normal((1, N)), b_out=[0.1],
                       tau=rng.uniform(0.02, 0.1, N), dt=0.005)


@pytest.mark.parametrize(("compat", "dtype"), [(False, "float64"), (False, "float32"),
                                             (True, "float64")])
def test_batch_equals_trial_by_trial(compat, dtype):
    net = small_network()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 6, 2))
    params = LIFParams(lam=1.0, spikernn_compat=compat)
    n_steps = (6 - compat) * 100
    v0 = -65 + rng.random((3, net.N)) * 95
    noise = rng.standard_normal((3, n_steps, net.N))
    batch = simulate_lif(net, x, params, v0=v0, noise=noise, record_voltages=True, dtype=dtype)
    assert batch.spike_step.size > 0
    tol = 1e-12 if dtype == "float64" else 1e-5
    for b in range(3):
        one = simulate_lif(net, x[b], params, v0=v0[b], noise=noise[b], record_voltages=True,
                           dtype=dtype)
        np.testing.assert_array_equal(batch.raster(b), one.raster(0))
        # the readout (and the recurrent input of the first step, where most neurons spike)
        # is a matrix product over the batch: BLAS may round differently (in float32 one ulp
        # of a -44 mV voltage is 3.8e-6, so the tolerance is relative too)
        np.testing.assert_allclose(batch.outputs[b], one.outputs[0], rtol=tol, atol=tol)
        np.testing.assert_allclose(batch.voltages[b], one.voltages[0], rtol=tol, atol=tol)


def test_rng_draws_equal_the_given_arrays_and_outputs_map_to_rate_steps():
    net = small_network()
    x = np.random.default_rng(2).standard_normal((2, 4, 2))
    for dtype, compat in (("float64", True), ("float64", False), ("float32", False)):
        params = LIFParams(lam=1.0, spikernn_compat=compat)
        a = simulate_lif(net, x, params, rng=5, dtype=dtype)
        # the documented draws: v0, then the noise from an SFC64 seeded by one draw
        gen = np.random.default_rng(5)
        v0 = -65 + gen.random((2, net.N)) * 95
        bits = np.random.SFC64(np.random.SeedSequence(int(gen.integers(2**63))))
        noise = np.empty((a.n_steps, 2, net.N), dtype=dtype)
        if dtype == "float32":
            standard_normal_f32(bits, noise)
        else:
            np.random.Generator(bits).standard_normal(out=noise)
        b = simulate_lif(net, x, params, v0=v0, noise=noise.transpose(1, 0, 2), dtype=dtype)
        np.testing.assert_array_equal(a.outputs, b.outputs)
        np.testing.assert_array_equal(a.raster(1), b.raster(1))
    assert a.outputs_rate.shape == (2, 4, 1) and a.steps_per_rate_step == 100
    np.testing.assert_allclose(a.outputs_rate, a.outputs.reshape(2, 4, 100, 1).mean(axis=2),
                               rtol=1e-6)
    last = simulate_lif(net, x, LIFParams(lam=1.0), rng=5, resample="last", dtype="float32")
    np.testing.assert_array_equal(last.outputs_rate, a.outputs[:, 99::100])
    assert a.firing_rates().shape == (2, net.N)


def test_from_weights_matches_the_simulator():
    spec = ModelSpec(N_rec=10, N_in=2, N_out=1, dt=10.0, tau=100.0,
                     transfer_function="sigmoid", dale_ratio=0.8, train_tau=True,
                     tau_range=(20.0, 200.0))
    w = initialize_weights(spec, 0)
    w["W_rec"][0, 1] *= -1  # a raw weight of the wrong sign: abs() flips it back
    net = RateNetwork.from_weights(spec, w)
    x = np.random.default_rng(3).standard_normal((2, 15, 2))
    sim_out, _ = Simulator(spec, w).run_trials(x)
    out, _ = rate_forward(net, x, x0=np.asarray(w["init_state"], dtype=float)[0])
    np.testing.assert_allclose(out, sim_out, rtol=0, atol=1e-6)
    assert net.rectify == "abs" and net.dt == 0.01
    assert np.all(net.tau >= 0.02) and np.all(net.tau <= 0.2)
    with pytest.raises(ValueError, match="sigmoid"):
        RateNetwork.from_weights(dataclasses.replace(spec, transfer_function="relu"), w)


class Pulse(Task):
    """Go/NoGo-like: output 1 after a pulse on Go trials, 0 on NoGo trials."""

    def __init__(self) -> None:
        super().__init__(N_in=2, N_out=1, dt=5, tau=50, T=30, N_batch=4)

    def generate_batch_params(self, batch, N, rng):
        return {"go": rng.random(N) < 0.5}

    def batch_function(self, t, params, rng):
        go = params["go"][:, None, None].astype(float)
        x = np.zeros((go.shape[0], t.size, 2))
        x[:, 1:3, :1] = go
        return x, np.broadcast_to(go, (go.shape[0], t.size, 1)).copy(), np.ones_like(x[..., :1])

    def accuracy_function(self, correct_output, test_output, output_mask):
        return float(np.mean((test_output[:, -1, 0] > 0.5) == (correct_output[:, -1, 0] > 0.5)))


def test_lambda_search_scores_each_lambda_on_the_same_trials():
    net = small_network()
    a = lambda_search(net, Pulse(), [1.0, 5.0], 4, rng=7, progress=False)
    b = lambda_search(net, Pulse(), [1.0, 5.0], 4, rng=7, progress=False, workers=2)
    np.testing.assert_array_equal(a.accuracy, b.accuracy)
    assert a.lambdas.tolist() == [1.0, 5.0] and a.n_trials == 4
    assert np.all((a.accuracy >= 0) & (a.accuracy <= 1))
    assert a.best_lambda == a.lambdas[np.argmax(a.accuracy)]


def test_bad_inputs_name_the_argument(nosom, tmp_path):
    net = small_network()
    with pytest.raises(ValueError, match="lam"):
        LIFParams(lam=-1.0)
    with pytest.raises(TypeError, match="lam"):
        LIFParams(lam="50")
    with pytest.raises(ValueError, match="x must have shape"):
        simulate_lif(net, np.zeros((2, 5, 3)), LIFParams(lam=1.0))
    with pytest.raises(ValueError, match="noise"):
        simulate_lif(net, np.zeros((5, 2)), LIFParams(lam=1.0), noise=np.zeros((7, net.N)))
    with pytest.raises(ValueError, match="v0"):
        simulate_lif(net, np.zeros((5, 2)), LIFParams(lam=1.0), v0=np.zeros(3))
    with pytest.raises(ValueError, match="params.dt"):
        simulate_lif(net, np.zeros((5, 2)), LIFParams(lam=1.0, dt=3e-4))
    with pytest.raises(TypeError, match="network"):
        simulate_lif("net", np.zeros((5, 2)), LIFParams(lam=1.0))
    with pytest.raises(TypeError, match="params"):
        simulate_lif(net, np.zeros((5, 2)), {"lam": 1.0})
    with pytest.raises(ValueError, match="lambdas"):
        lambda_search(net, Pulse(), [1.0, -2.0], 4, progress=False)
    with pytest.raises(ValueError, match="n_trials"):
        lambda_search(net, Pulse(), [1.0], 0, progress=False)
    with pytest.raises(FileNotFoundError, match="path"):
        RateNetwork.from_spikernn(tmp_path / "missing.mat")
    import scipy.io
    scipy.io.savemat(tmp_path / "other.mat", {"a": np.ones(2)})
    with pytest.raises(ValueError, match="lacks"):
        RateNetwork.from_spikernn(tmp_path / "other.mat")
    for size in (0, 100, 150):  # SciPy raises MatReadError, IndexError, OSError
        (tmp_path / "cut.mat").write_bytes((tmp_path / "other.mat").read_bytes()[:size])
        with pytest.raises(ValueError, match="not a readable .mat file"):
            RateNetwork.from_spikernn(tmp_path / "cut.mat")
    with pytest.raises(ValueError, match="w_in"):
        dataclasses.replace(net, w_in=np.zeros((3, 2)))


def test_stacked_lambdas_equal_separate_simulations():
    """The lambda search's stacked simulation: each lambda's rows are what simulate_lif gives
    for that lambda alone with the same initial voltages and noise (float64: exactly the same
    rasters; the readout through BLAS within rounding)."""
    from psychcore.spiking._lif import stacked

    net = small_network()
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 5, 2))
    v0 = -65 + rng.random((3, net.N)) * 95
    noise = rng.standard_normal((3, 500, net.N))
    lams = np.array([1.0, 2.5, 7.0])
    run = stacked(net, x, LIFParams(lam=1.0), lams, v0=v0, noise=noise, dtype="float64")
    assert run.outputs_rate.shape == (9, 5, 1) and run.counts.shape == (9, net.N)
    for g, lam in enumerate(lams):
        one = simulate_lif(net, x, LIFParams(lam=float(lam)), v0=v0, noise=noise,
                           dtype="float64")
        np.testing.assert_allclose(run.outputs_rate[3 * g: 3 * g + 3], one.outputs_rate,
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(run.counts[3 * g: 3 * g + 3],
                                      one.firing_rates() * one.n_steps * one.dt)
    assert len(np.unique(run.counts.sum(axis=1))) > 1  # lambda changes the spiking


def test_lambda_search_reports_firing_rates_and_refuses_compat():
    net = small_network()
    res = lambda_search(net, Pulse(), [1.0, 5.0], 4, rng=7, progress=False)
    assert res.firing_rate.shape == (2,) and np.all(res.firing_rate > 0)
    exc = net.excitatory
    np.testing.assert_allclose(res.firing_rate,
                               (res.firing_rate_exc * exc.sum() + res.firing_rate_inh
                                * (~exc).sum()) / net.N)
    with pytest.raises(ValueError, match="spikernn_compat"):
        lambda_search(net, Pulse(), [1.0], 2, params=LIFParams(lam=1.0, spikernn_compat=True),
                      progress=False)
    with pytest.raises(ValueError, match="dtype"):
        simulate_lif(net, np.zeros((5, 2)), LIFParams(lam=1.0, spikernn_compat=True),
                     dtype="float32")
