"""Lesions (exact counts per type, scale, inputs untouched, originals unchanged), silencing and
stimulation run by the Simulator, t_connectivity helpers and the accuracy drop."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sign_task import Sign

from psychcore import ModelSpec, Simulator, effective_weights, initialize_weights
from psychcore.analysis import (
    PAIRINGS,
    AccuracyDrop,
    Perturbation,
    accuracy_drop,
    connection_counts,
    lesion,
    lesion_by_type,
    run_perturbed,
    silence_units,
    silencing_connectivity,
    stimulate_units,
    windowed_connectivity,
)

DT, TAU = 10.0, 100.0
ALPHA = DT / TAU


def dale_network(n_rec=25, seed=0, sparse=True):
    rng = np.random.default_rng(seed)
    conn = (rng.random((n_rec, n_rec)) < 0.7).astype(float) if sparse else None
    spec = ModelSpec(N_rec=n_rec, dale_ratio=0.8, autapses=False, rec_connectivity=conn)
    spec = spec.bind({"N_in": 2, "N_out": 2, "dt": DT, "tau": TAU})
    return spec, initialize_weights(spec, rng=seed)


def types_of(w):
    return np.sign(np.diag(w["Dale_rec"]))


def pairing_mask(w, pairing):
    t = types_of(w)
    pre, post = (1 if s == "E" else -1 for s in pairing.split("-"))
    return (t[:, None] == post) & (t[None, :] == pre)  # rows receive, columns send


def half_up(x):
    return int(math.floor(x + 0.5))


# ----------------------------------------------------------------------------- lesions
@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.3, 0.55, 1.0])
def test_lesion_by_type_removes_the_stated_fraction_of_each_pairing(fraction):
    spec, w = dale_network()
    before = effective_weights(w)["W_rec"] != 0
    lesioned = lesion_by_type(w, fraction, rng=1)
    after = effective_weights(lesioned)["W_rec"] != 0
    assert not np.any(after & ~before)  # nothing appears
    for pairing in PAIRINGS:
        mask = pairing_mask(w, pairing)
        n = int((before & mask).sum())
        removed = int((before & ~after & mask).sum())
        assert n > 10 and removed == half_up(fraction * n), (pairing, n, removed)
    counts_before, counts_after = connection_counts(w), connection_counts(lesioned)
    for pairing in PAIRINGS:
        n = counts_before[pairing]
        assert counts_after[pairing] == n - half_up(fraction * n)


@pytest.mark.parametrize("fraction", [0.2, 0.5])
def test_random_lesion_removes_the_stated_fraction_of_existing_connections(fraction):
    spec, w = dale_network(seed=3)
    before = effective_weights(w)["W_rec"] != 0
    lesioned = lesion(w, fraction, rng=2)
    after = effective_weights(lesioned)["W_rec"] != 0
    n = int(before.sum())
    assert n == connection_counts(w)["all"]
    assert int((before & ~after).sum()) == half_up(fraction * n)
    assert not np.any(after & ~before)
    # masked entries and the diagonal are never "existing": they stay zero, uncounted
    assert not np.any(before[w["rec_connectivity"] == 0])


def test_lesion_scale_multiplies_only_the_chosen_connections():
    spec, w = dale_network(seed=4)
    half = lesion_by_type(w, 0.4, 0.5, rng=3)
    changed = half["W_rec"] != w["W_rec"]
    assert_allclose(half["W_rec"][changed], 0.5 * w["W_rec"][changed])
    assert_array_equal(half["W_rec"][~changed], w["W_rec"][~changed])
    eff, eff_half = effective_weights(w)["W_rec"], effective_weights(half)["W_rec"]
    assert_allclose(eff_half[changed], 0.5 * eff[changed])  # Dale signs kept
    existing = eff != 0
    for pairing in PAIRINGS:
        mask = pairing_mask(w, pairing) & existing
        assert int((changed & mask).sum()) == half_up(0.4 * mask.sum())


def test_lesions_never_touch_inputs_outputs_or_the_originals():
    spec, w = dale_network(seed=5)
    original = copy.deepcopy(w)
    for fn in (lesion, lesion_by_type):
        out = fn(w, 0.5, 0.0, rng=0)
        for key, value in w.items():
            assert_array_equal(w[key], original[key])  # originals unchanged
            assert out[key] is not w[key]  # new arrays, never aliases
            if key != "W_rec":
                assert_array_equal(out[key], value)  # W_in, W_out, masks... untouched
        out["W_in"][:] = 123.0
        assert_array_equal(w["W_in"], original["W_in"])
    assert_array_equal(lesion(w, 0.3, rng=7)["W_rec"], lesion(w, 0.3, rng=7)["W_rec"])


def test_lesion_errors():
    spec, w = dale_network()
    no_dale = initialize_weights(ModelSpec(N_rec=6), rng=0, N_in=1, N_out=1)
    with pytest.raises(ValueError, match="Dale's principle on"):
        lesion_by_type(no_dale, 0.5)
    assert set(connection_counts(no_dale)) == {"all"}
    with pytest.raises(ValueError, match=r"fraction must be a finite number >= 0 and <= 1"):
        lesion(w, 1.5)
    with pytest.raises(ValueError, match="scale must be a finite number >= 0"):
        lesion(w, 0.5, -1.0)
    with pytest.raises(TypeError, match="fraction must be a finite number"):
        lesion(w, "half")
    with pytest.raises(TypeError, match="weights must be a dict of arrays"):
        lesion(w["W_rec"], 0.5)
    with pytest.raises(ValueError, match=r"weights\['W_rec'\] must have 2-D"):
        lesion({"W_rec": np.zeros(4)}, 0.5)
    with pytest.raises(ValueError, match=r"weights\['Dale_rec'\] has shape \(3, 3\)"):
        lesion_by_type(dict(w, Dale_rec=np.eye(3)), 0.5)


# ----------------------------------------------------------------------------- t_connectivity
def test_windowed_and_silencing_connectivity():
    factor = np.full((3, 3), 0.5)
    tc = windowed_connectivity(8, factor, (2, 5))
    assert tc.shape == (8, 3, 3)
    assert_array_equal(tc[2:5], 0.5) and np.all(tc[:2] == 1) and np.all(tc[5:] == 1)
    tc_ms = windowed_connectivity(8, factor, (20.0, 50.0), dt=10.0)
    assert_array_equal(tc_ms, tc)
    sil = silencing_connectivity(8, 3, [0, 2], (1, 3))
    assert_array_equal(sil[1:3, :, [0, 2]], 0.0)
    assert_array_equal(sil[1:3, :, 1], 1.0)
    assert np.all(sil[[0, 3, 4, 5, 6, 7]] == 1)
    with pytest.raises(ValueError, match=r"window must satisfy 0 <= start < end <= N_steps = 8"):
        windowed_connectivity(8, factor, (5, 9))
    with pytest.raises(ValueError, match="factor must be square"):
        windowed_connectivity(8, np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"units must be unit indices in \[0, 3\)"):
        silencing_connectivity(8, 3, [3])
    with pytest.raises(ValueError, match="holds no step of the trial"):
        windowed_connectivity(8, factor, (200.0, 300.0), dt=10.0)


# ----------------------------------------------------------------------------- perturbations
def chain_network():
    """Unit 0 drives unit 1 (W[1, 0] = 0.5), nothing else; unit 0 starts at 2 and decays."""
    W = np.zeros((3, 3))
    W[1, 0] = 0.5
    spec = ModelSpec(N_rec=3, transfer_function="relu").bind(
        {"N_in": 1, "N_out": 2, "dt": DT, "tau": TAU})
    w = {"W_in": np.zeros((3, 1)), "W_rec": W, "W_out": np.array([[1.0, 0, 0], [0, 1.0, 0]]),
         "b_rec": np.zeros(3), "b_out": np.array([0.1, 0.2]),
         "init_state": np.array([[2.0, 0.0, 0.0]])}
    return spec, w


def test_silencing_a_unit_cuts_its_outgoing_effect_during_the_window_only():
    spec, w = chain_network()
    x = np.zeros((1, 20, 1))
    plain_out, plain = run_perturbed(spec, w, x)
    pert = silence_units(20, 3, 0, (5, 10))
    out, states = run_perturbed(spec, w, x, pert)
    # unit 0's own state is untouched; before the window nothing differs
    assert_allclose(states[0, :, 0], plain[0, :, 0])
    assert_allclose(states[0, :5], plain[0, :5])
    assert_allclose(out[0, :5], plain_out[0, :5])
    # in the window unit 1 receives nothing from unit 0: it decays exactly by (1 - alpha)
    for t in range(5, 10):
        assert_allclose(states[0, t, 1], (1 - ALPHA) * states[0, t - 1, 1], rtol=1e-14)
    # after the window unit 0 drives unit 1 again
    t = 10
    expected = (1 - ALPHA) * states[0, t - 1, 1] + ALPHA * 0.5 * max(states[0, t - 1, 0], 0.0)
    assert_allclose(states[0, t, 1], expected, rtol=1e-14)
    assert states[0, 10, 1] > (1 - ALPHA) * states[0, 9, 1]
    # the readout of unit 0 is silenced in the window only
    assert_allclose(out[0, 5:10, 0], 0.1)
    assert_allclose(out[0, :5, 0], 0.1 + states[0, :5, 0])
    assert_allclose(out[0, 10:, 0], 0.1 + states[0, 10:, 0])
    assert_allclose(out[0, :, 1], 0.2 + np.maximum(states[0, :, 1], 0))
    keep_readout = run_perturbed(spec, w, x, silence_units(20, 3, 0, (5, 10), readout=False))[0]
    assert_allclose(keep_readout[0, :, 0], 0.1 + states[0, :, 0])


def manual_run(spec, w, x, tc=None, current=None):
    """Euler loop written from docs/equations.md, independent of run_perturbed."""
    sim = Simulator(spec, w)
    W, W_in, W_out = sim.W_rec_eff, sim.W_in_eff, sim.W_out_eff
    f = sim.transfer_function
    state = np.repeat(w["init_state"], x.shape[0], axis=0).astype(float)
    outs, states = [], []
    for t in range(x.shape[1]):
        Wt = W if tc is None else W * tc[t]
        drive = x[:, t] @ W_in.T + w["b_rec"] + (0.0 if current is None else current[t])
        state = (1 - sim.alpha) * state + sim.alpha * (f(state) @ Wt.T + drive)
        states.append(state)
        outs.append(f(state) @ W_out.T + w["b_out"])
    return np.stack(outs, 1), np.stack(states, 1)


def test_stimulation_and_silencing_match_a_manual_euler_loop_with_dale():
    spec, w = dale_network(n_rec=12, seed=8)
    x = np.random.default_rng(0).normal(size=(3, 30, 2))
    stim = stimulate_units(30, 12, [2, 9], [0.8, -1.5], (100.0, 200.0), dt=DT)
    assert_array_equal(stim.current[10:20, 2], 0.8) and np.all(stim.current[:10] == 0)
    out, states = run_perturbed(spec, w, x, stim)
    ref_out, ref_states = manual_run(spec, w, x, current=stim.current)
    assert_allclose(states, ref_states, rtol=1e-12, atol=1e-12)
    assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    assert not np.allclose(states, run_perturbed(spec, w, x)[1])
    both = stim + silence_units(30, 12, [0, 5], (5, 25), readout=False)
    assert_array_equal(both.current, stim.current)
    _, states = run_perturbed(spec, w, x, both)
    _, ref_states = manual_run(spec, w, x, tc=both.t_connectivity, current=stim.current)
    assert_allclose(states, ref_states, rtol=1e-12, atol=1e-12)


def test_perturbations_check_their_shapes():
    spec, w = dale_network(n_rec=12)
    x = np.zeros((2, 30, 2))
    with pytest.raises(ValueError, match=r"perturbation is for \(n_steps, n_rec\) = \(20, 12\)"):
        run_perturbed(spec, w, x, silence_units(20, 12, 0))
    with pytest.raises(ValueError, match=r"current must have shape \(5, 3\)"):
        Perturbation(5, 3, current=np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"amplitude must be a number or have shape \(2,\)"):
        stimulate_units(5, 3, [0, 1], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="cannot combine perturbations"):
        silence_units(5, 3, 0) + silence_units(6, 3, 0)
    with pytest.raises(TypeError, match="perturbation must be a Perturbation"):
        run_perturbed(spec, w, x, np.ones((30, 12, 12)))
    with pytest.raises(ValueError, match="units must not repeat a unit"):
        silence_units(5, 3, [1, 1])
    with pytest.raises(ValueError, match=r"x has shape \(2, 30, 3\)"):
        run_perturbed(spec, w, np.zeros((2, 30, 3)))
    gru = ModelSpec(N_rec=4, architecture="gru").bind({"N_in": 1, "N_out": 1, "dt": DT,
                                                          "tau": TAU})
    gw = initialize_weights(gru, rng=0)
    with pytest.raises(ValueError, match="currents are defined for architecture 'rnn' only"):
        run_perturbed(gru, gw, np.zeros((1, 5, 1)), stimulate_units(5, 4, 0, 1.0))


# ----------------------------------------------------------------------------- accuracy
def sign_network():
    """Unit 0 follows a positive input and drives output 0, unit 1 a negative one, output 1."""
    spec = ModelSpec(N_rec=2, transfer_function="relu", rec_noise=0.05).bind(
        {"N_in": 1, "N_out": 2, "dt": 10, "tau": 50})
    w = {"W_in": np.array([[1.0], [-1.0]]), "W_rec": np.zeros((2, 2)), "W_out": np.eye(2),
         "b_rec": np.zeros(2), "b_out": np.zeros(2), "init_state": np.zeros((1, 2))}
    return spec, w


def test_accuracy_drop_before_and_after():
    spec, w = sign_network()
    task = Sign(N_batch=8)
    swapped = dict(w, W_out=w["W_out"][::-1].copy())
    res = accuracy_drop(spec, w, swapped, task, n_trials=64, rng=0)
    assert isinstance(res, AccuracyDrop) and res.n_trials == 64
    assert (res.before, res.after, res.drop) == (1.0, 0.0, 1.0)
    # a strong current into unit 1 makes every trial choose output 1: accuracy = P(sign < 0)
    push = stimulate_units(task.N_steps, 2, 1, 5.0)
    res = accuracy_drop(spec, w, push, task, n_trials=64, rng=0)
    _, y, _, params = task.get_trial_batch(np.random.default_rng(0), N_batch=64)
    negative = np.mean([p["sign"] < 0 for p in params])
    assert res.before == 1.0 and res.after == pytest.approx(negative)
    # the same noise is used before and after: an empty perturbation changes nothing
    res = accuracy_drop(spec, w, Perturbation(task.N_steps, 2), task, n_trials=32, rng=1,
                        rec_noise=2.0)
    assert res.drop == 0.0 and res.before < 1.0
    with pytest.raises(TypeError, match="perturbed must be a weights dict or a Perturbation"):
        accuracy_drop(spec, w, 0.5, task)
    with pytest.raises(TypeError, match="task must be a psychcore Task"):
        accuracy_drop(spec, w, swapped, "Sign")
    with pytest.raises(ValueError, match=r"the trials have N_steps = 30"):
        accuracy_drop(spec, w, stimulate_units(10, 2, 0, 1.0), task, n_trials=4)
    with pytest.raises(ValueError, match=r"weights\['W_rec'\] has shape \(3, 3\)"):
        accuracy_drop(spec, w, dict(w, W_rec=np.zeros((3, 3))), task, n_trials=4)
