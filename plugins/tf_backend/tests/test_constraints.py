"""Constraints hold after 200 training steps, whatever the optimiser does to raw parameters."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tf_helpers import bound, data, lively_weights  # noqa: E402

from psychcore import (  # noqa: E402
    CellTypeRule,
    FixedWeights,
    InhibitorySubtype,
    SparseConnectivity,
    effective_weights,
)

N_IN, N_REC, N_OUT = 3, 16, 2


def _spec(arch: str):
    rng = np.random.default_rng(8)
    constraints = (
        InhibitorySubtype("pv", count=2), CellTypeRule("pv", "E"),
        SparseConnectivity(p_rec=0.6, p_out=0.8),
        FixedWeights(W_rec=rng.uniform(size=(N_REC, N_REC)) > 0.7,
                     W_out=rng.uniform(size=(N_OUT, N_REC)) > 0.7),
    )
    kw = {"train_tau": True, "tau_range": (20.0, 200.0)} if arch == "rnn" else {}
    return bound(N_REC, N_IN, N_OUT, architecture=arch, dale_ratio=0.75, autapses=False,
                 input_connectivity=rng.uniform(size=(N_REC, N_IN)) > 0.3,
                 constraints=constraints, b_rec_train=False, init_state_train=False, **kw)


@pytest.mark.parametrize(("arch", "optimizer", "options"), [
    ("rnn", "adamw", {"weight_decay": 0.5}),  # decay moves every raw entry, fixed ones too
    ("rnn", "sgd", {"momentum": 0.9}),
    ("lstm", "adam", {}),
    ("gru", "rmsprop", {}),
])
def test_constraints_hold_after_200_steps(backend_cls, arch, optimizer, options):
    spec = _spec(arch)
    w0 = lively_weights(spec)
    backend = backend_cls(spec, w0, seed=0)
    backend.configure_optimizer(optimizer, 0.05, False, **options)
    x, y, mask, _ = data(spec, n=8, steps=10)
    losses = [backend.train_step(x, y, mask) for _ in range(200)]
    assert losses[-1] < losses[0]
    w1 = backend.get_weights()
    eff = effective_weights(w1)
    G = spec.n_gates
    signs = np.diag(w1["Dale_rec"])
    assert (eff["W_rec"] * signs[None, :] >= 0).all(), "a Dale sign flipped"
    assert (eff["W_in"] >= 0).all(), "a negative input weight under Dale's principle"
    assert (eff["W_out"][:, signs < 0] == 0).all(), "an inhibitory unit reaches the output"
    for key, conn in (("W_in", "input_connectivity"), ("W_rec", "rec_connectivity"),
                      ("W_out", "output_connectivity")):
        mask_ = np.tile(w1[conn], (G, 1)) if key != "W_out" else w1[conn]
        assert (eff[key][mask_ == 0] == 0).all(), f"a masked {key} entry is not zero"
        fixed = w1[f"{key}_fixed"] != 0
        np.testing.assert_array_equal(w1[key][fixed], w0[key][fixed], err_msg=key)
        assert not np.array_equal(w1[key], w0[key]), f"{key} did not train"
    assert (w0["W_rec_fixed"] != 0).any() and (w0["W_out_fixed"] != 0).any()
    for block in range(G):
        assert (np.diag(eff["W_rec"][block * N_REC:(block + 1) * N_REC]) == 0).all()
    np.testing.assert_array_equal(w1["b_rec"], w0["b_rec"])
    np.testing.assert_array_equal(w1["init_state"], w0["init_state"])
    for key in ("input_connectivity", "rec_connectivity", "output_connectivity", "Dale_rec",
                "Dale_out", "W_in_fixed", "W_rec_fixed", "W_out_fixed"):
        np.testing.assert_array_equal(w1[key], w0[key], err_msg=key)
    if arch == "rnn":
        assert not np.array_equal(w1["tau_raw"], w0["tau_raw"]), "tau did not train"
        lo, hi = spec.tau_range
        tau = lo + (hi - lo) / (1 + np.exp(-w1["tau_raw"].astype(float)))
        assert ((tau > lo) & (tau < hi)).all()


def test_no_trainable_parameters_is_refused(backend_cls):
    flags = {f"{k}_train": False for k in ("W_in", "W_rec", "W_out", "b_rec", "b_out",
                                            "init_state")}
    spec = bound(N_REC, N_IN, N_OUT, **flags)
    w0 = lively_weights(spec)
    backend = backend_cls(spec, w0)
    with pytest.raises(ValueError, match="nothing to train"):
        backend.configure_optimizer("adam", 0.1)
    x, y, mask, _ = data(spec)
    assert backend.loss_and_gradients(x, y, mask)[1] == {}
    for key, value in backend.get_weights().items():
        np.testing.assert_array_equal(value, w0[key], err_msg=key)
