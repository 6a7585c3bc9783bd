"""Forward passes and reported losses against the NumPy reference (Simulator, equations)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tf_helpers import bound, data, lively_weights  # noqa: E402

from psychcore import (  # noqa: E402
    CellTypeRule,
    Dale,
    FixedWeights,
    InhibitorySubtype,
    Simulator,
    SparseConnectivity,
)
from psychcore.equations import loss, regularization  # noqa: E402

N_IN, N_REC, N_OUT, STEPS = 3, 8, 2, 27  # 27 steps: two chunks of 10 and a tail of 7


def _constraints(name: str) -> dict:
    rng = np.random.default_rng(3)
    if name == "plain":
        return {}
    if name == "dale_masks_no_autapses":
        return {"dale_ratio": 0.75, "autapses": False,
                "input_connectivity": rng.uniform(size=(N_REC, N_IN)) > 0.3,
                "rec_connectivity": rng.uniform(size=(N_REC, N_REC)) > 0.3,
                "output_connectivity": rng.uniform(size=(N_OUT, N_REC)) > 0.2}
    if name == "sparse":
        return {"constraints": (SparseConnectivity(p_rec=0.4, p_in=0.7, p_out=0.8),)}
    if name == "fixed":
        return {"dale_ratio": 0.75, "constraints": (
            FixedWeights(W_rec=rng.uniform(size=(N_REC, N_REC)) > 0.5, W_out=True),)}
    if name == "cell_type_rule":
        return {"dale_ratio": 0.5, "constraints": (
            InhibitorySubtype("som", count=2), CellTypeRule("som", "I"),
            CellTypeRule("E", "som"))}
    if name == "trainable_tau":
        return {"train_tau": True, "tau_range": (15.0, 300.0)}
    if name == "dale_options":  # spikeRNN's conventions (the noise one is added for "rnn")
        return {"W_in_train": False, "constraints": (
            Dale(0.5, inputs="signed", readout="all", rectify="relu", placement="random"),)}
    raise AssertionError(name)


COMBOS = ("plain", "dale_masks_no_autapses", "sparse", "fixed", "cell_type_rule",
          "trainable_tau", "dale_options")
CASES = [(arch, combo) for arch in ("rnn", "lstm", "gru") for combo in COMBOS
         if combo != "trainable_tau" or arch == "rnn"]


def _tol(dtype: str) -> dict:
    return {"atol": 1e-5, "rtol": 1e-5} if dtype == "float32" else {"atol": 1e-10, "rtol": 1e-10}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("arch", "combo"), CASES)
def test_forward_matches_simulator(backend_cls, arch, combo, dtype):
    kw = _constraints(combo)
    if arch == "rnn":
        kw["rec_noise"] = 0.1
        if combo == "dale_options":
            kw["noise_convention"] = "fixed"
    spec = bound(N_REC, N_IN, N_OUT, architecture=arch, dtype=dtype, **kw)
    w = lively_weights(spec)
    if combo == "dale_options":  # negative raw entries, where relu and abs differ
        w = {**w, **{k: w[k] - 0.5 * np.mean(np.abs(w[k])) for k in ("W_in", "W_rec", "W_out")}}
    x, _, _, noise = data(spec, n=5, steps=STEPS)
    noise = noise if arch == "rnn" else None
    backend = backend_cls(spec, w, seed=0)
    out, states = backend.forward(x, noise)
    ref_out, ref_states = Simulator(spec, w).run_trials(x, rec_noise=spec.rec_noise,
                                                        noise=noise)
    assert out.dtype == np.dtype(dtype) and states.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out, ref_out, **_tol(dtype))
    np.testing.assert_allclose(states, ref_states, **_tol(dtype))


@pytest.mark.parametrize("loop", ["unrolled", "while", "chunked"])
@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_every_loop_matches_simulator(backend_cls, arch, loop):
    spec = bound(N_REC, N_IN, N_OUT, architecture=arch, dtype="float64",
                 **_constraints("dale_masks_no_autapses"))
    w = lively_weights(spec, seed=1)
    x = data(spec, n=3, steps=STEPS)[0]
    out, states = backend_cls(spec, w, loop=loop).forward(x)
    ref_out, ref_states = Simulator(spec, w).run_trials(x)
    np.testing.assert_allclose(out, ref_out, **_tol("float64"))
    np.testing.assert_allclose(states, ref_states, **_tol("float64"))


@pytest.mark.parametrize("transfer", ["relu", "tanh", "sigmoid", "softplus", "linear"])
def test_transfer_functions(backend_cls, transfer):
    spec = bound(N_REC, N_IN, N_OUT, transfer_function=transfer, dtype="float64",
                 L2_firing_rate=0.1)
    w = lively_weights(spec)
    x, y, mask, _ = data(spec, steps=STEPS)
    backend = backend_cls(spec, w)
    out, states = backend.forward(x)
    ref_out, ref_states = Simulator(spec, w).run_trials(x)
    np.testing.assert_allclose(out, ref_out, **_tol("float64"))
    backend.configure_optimizer("sgd", 0.0, False)
    expected = loss(spec.loss, ref_out, y, mask) + regularization(spec, w, ref_states)
    np.testing.assert_allclose(backend.train_step(x, y, mask), expected, rtol=1e-10)


def tf_mean_abs_error(z, y, mask):
    """A user loss written with arithmetic operators and a TensorFlow reduction."""
    import tensorflow as tf

    return tf.reduce_mean(abs(mask * (z - y)))


def np_mean_abs_error(z, y, mask):
    return float(np.mean(np.abs(mask * (z - y))))


def tf_custom_reg(weights, states):
    """A user regulariser on the raw weights and the states (TensorFlow tensors)."""
    import tensorflow as tf

    return 0.01 * tf.reduce_sum(weights["W_rec"] ** 2) + 0.1 * tf.reduce_mean(states)


def np_custom_reg(weights, states):
    return 0.01 * float(np.sum(weights["W_rec"] ** 2)) + 0.1 * float(np.mean(states))


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("loss_name", ["mean_squared_error", "binary_cross_entropy",
                                       "cross_entropy", "callable"])
def test_reported_loss_matches_reference(backend_cls, arch, loss_name):
    reg = {"L1_in": 0.01, "L2_in": 0.02, "L1_rec": 0.03, "L2_rec": 0.04, "L1_out": 0.05,
           "L2_out": 0.06, "L2_firing_rate": 0.07}
    tf_loss = tf_mean_abs_error if loss_name == "callable" else loss_name
    spec = bound(N_REC, N_IN, N_OUT, architecture=arch, dtype="float64", loss=tf_loss,
                 dale_ratio=0.75, custom_regularization=tf_custom_reg, **reg)
    w = lively_weights(spec)
    x, y, mask, _ = data(spec, steps=STEPS)
    mask[0, :, :] = 0.0  # a trial without any masked step (cross-entropy's denominator)
    backend = backend_cls(spec, w)
    backend.configure_optimizer("sgd", 0.0, False)
    reported = backend.train_step(x, y, mask)
    ref_out, ref_states = Simulator(spec, w).run_trials(x)
    np_loss = np_mean_abs_error if loss_name == "callable" else loss_name
    ref_spec = spec.replace(custom_regularization=np_custom_reg)
    expected = loss(np_loss, ref_out, y, mask) + regularization(ref_spec, w, ref_states)
    np.testing.assert_allclose(reported, expected, rtol=1e-10)


def test_cross_entropy_of_an_all_zero_mask_is_zero(backend_cls):
    spec = bound(N_REC, N_IN, N_OUT, loss="cross_entropy")
    x, y, mask, _ = data(spec)
    backend = backend_cls(spec, lively_weights(spec))
    backend.configure_optimizer("sgd", 0.0, False)
    assert backend.train_step(x, y, 0 * mask) == 0.0


def test_noise_is_drawn_seeded_and_advances(backend_cls):
    spec = bound(N_REC, N_IN, N_OUT, rec_noise=0.2)
    w = lively_weights(spec)
    x = data(spec)[0]
    a, b = backend_cls(spec, w, seed=5), backend_cls(spec, w, seed=5)
    first, second = a.forward(x)[0], a.forward(x)[0]
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(b.forward(x)[0], first)
    quiet = Simulator(spec, w).run_trials(x)[0]
    assert np.abs(first - quiet).max() > 1e-3
    other = backend_cls(spec, w, seed=6).forward(x)[0]
    assert not np.array_equal(other, first)
