"""Conformance checks for training backends: agreement with the NumPy reference.

Each check takes a Backend subclass and raises AssertionError naming what is wrong. The checks of
optional capabilities (:data:`OPTIONAL_CHECKS`) raise ``unittest.SkipTest`` on a backend that
does not implement them, and :func:`backend_checks` marks them skipped.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._constraints import Dale, FixedWeights
from .._equations import effective_weights, loss, regularization
from .._init import initialize_weights
from .._simulator import Simulator
from .._spec import ModelSpec
from .._weights import TRAINABLE_ARRAYS
from ..backend import Backend, check_adam_state, implements
from ._report import Check

N_IN, N_OUT, N_REC, N_STEPS, N_TRIALS = 3, 2, 12, 15, 6
DT, TAU = 10.0, 50.0


def _tol(spec: ModelSpec) -> dict[str, float]:
    return {"atol": 1e-5, "rtol": 1e-4} if spec.dtype == "float32" else {"atol": 1e-10,
                                                                          "rtol": 1e-9}


def _spec(**kw: Any) -> ModelSpec:
    return ModelSpec(N_rec=N_REC, **kw).bind({"N_in": N_IN, "N_out": N_OUT, "dt": DT, "tau": TAU})


def _data(seed: int, n: int = N_TRIALS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, N_STEPS, N_IN)).astype(np.float32)
    y = rng.uniform(0.0, 1.0, (n, N_STEPS, N_OUT)).astype(np.float32)
    mask = (rng.uniform(size=(n, N_STEPS, N_OUT)) > 0.3).astype(np.float32)
    return x, y, mask


def _specs(backend_cls: type[Backend]) -> list[ModelSpec]:
    rng = np.random.default_rng(11)
    conn = (rng.uniform(size=(N_REC, N_REC)) > 0.3).astype(float)
    specs = []
    for arch in backend_cls.architectures:
        specs.append(_spec(architecture=arch))
        specs.append(_spec(architecture=arch, dale_ratio=0.75, autapses=False,
                           rec_connectivity=conn))
    if "rnn" in backend_cls.architectures:
        specs.append(_spec(transfer_function="tanh", train_tau=True, tau_range=(20.0, 200.0)))
        specs.append(_spec(rec_noise=0.1, dale_ratio=0.5))
        # spikeRNN's conventions: signed inputs and readout, relu, fixed noise per step
        specs.append(_spec(rec_noise=0.1, noise_convention="fixed", transfer_function="sigmoid",
                           train_tau=True, tau_range=(20.0, 200.0), constraints=(
                               Dale(0.5, inputs="signed", readout="all", rectify="relu"),)))
    return specs


def _with_negative_entries(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Shift ``W_in``, ``W_rec``, ``W_out`` so that some raw entries are negative (where
    ``relu`` and ``abs`` rectification differ)."""
    out = dict(weights)
    for key in ("W_in", "W_rec", "W_out"):
        W = weights[key]
        out[key] = (W - 0.5 * np.mean(np.abs(W))).astype(W.dtype)
    return out


def _make(backend_cls: type[Backend], spec: ModelSpec, seed: int = 0) -> tuple[Backend, dict]:
    weights = initialize_weights(spec, np.random.default_rng(seed))
    backend = backend_cls(spec, {k: v.copy() for k, v in weights.items()}, seed=seed)
    return backend, weights


def check_forward_matches_simulator(backend_cls: type[Backend]) -> None:
    """Every supported architecture and constraint combination matches the Simulator,
    including the Dale options and the ``"fixed"`` noise convention."""
    x, _, _ = _data(0)
    noise = np.random.default_rng(1).standard_normal((N_TRIALS, N_STEPS, N_REC))
    for spec in _specs(backend_cls):
        backend, weights = _make(backend_cls, spec)
        if "dale_rectify" in weights:
            weights = _with_negative_entries(weights)
            backend.set_weights(weights)
        given = noise if spec.rec_noise > 0 else None
        out, states = backend.forward(x, given)
        ref_out, ref_states = Simulator(spec, weights).run_trials(
            x, rec_noise=spec.rec_noise, noise=given)
        np.testing.assert_allclose(out, ref_out, **_tol(spec),
                                   err_msg=f"outputs differ from the Simulator for {spec}")
        np.testing.assert_allclose(states, ref_states, **_tol(spec),
                                   err_msg=f"states differ from the Simulator for {spec}")


def check_any_number_of_trials(backend_cls: type[Backend]) -> None:
    """``forward`` takes any number of trials."""
    backend, _ = _make(backend_cls, _spec())
    for n in (1, 7):
        out, states = backend.forward(_data(2, n)[0])
        assert out.shape == (n, N_STEPS, N_OUT), f"outputs shape {out.shape} for {n} trials"
        assert states.shape == (n, N_STEPS, N_REC), f"states shape {states.shape} for {n} trials"


def check_outputs_match_forward(backend_cls: type[Backend]) -> None:
    """``outputs`` returns ``forward``'s outputs (what the training loop judges accuracy
    on), with given noise, and with noise drawn from the seed as ``forward`` draws it."""
    x, _, _ = _data(4)
    noise = np.random.default_rng(5).standard_normal((N_TRIALS, N_STEPS, N_REC))
    for spec in _specs(backend_cls):
        backend, _ = _make(backend_cls, spec)
        given = noise if spec.rec_noise > 0 else None
        out = backend.outputs(x, given)
        ref = backend.forward(x, given)[0]
        assert isinstance(out, np.ndarray) and out.dtype == np.dtype(spec.dtype), (
            f"outputs returned {type(out).__name__} {getattr(out, 'dtype', '')}; expected a "
            f"NumPy array of {spec.dtype}")
        np.testing.assert_allclose(out, ref, **_tol(spec),
                                   err_msg=f"outputs differ from forward's for {spec}")
    if "rnn" in backend_cls.architectures:
        spec = _spec(rec_noise=0.1)
        (a, _), (b, _) = _make(backend_cls, spec, seed=5), _make(backend_cls, spec, seed=5)
        for call in range(2):  # the second call checks that both advanced the generator alike
            np.testing.assert_allclose(
                a.outputs(x), b.forward(x)[0], **_tol(spec),
                err_msg=f"outputs with drawn noise differ from forward's (call {call + 1})")


def check_weights_round_trip(backend_cls: type[Backend]) -> None:
    """``get_weights`` returns what was given and ``set_weights`` replaces it exactly."""
    spec = _spec(dale_ratio=0.8)
    backend, weights = _make(backend_cls, spec)
    got = backend.get_weights()
    for key, value in weights.items():
        assert key in got, f"get_weights() lacks '{key}'"
        np.testing.assert_array_equal(got[key], value.astype(got[key].dtype), err_msg=key)
    other = initialize_weights(spec, np.random.default_rng(99))
    backend.set_weights(other)
    got = backend.get_weights()
    for key, value in other.items():
        np.testing.assert_array_equal(got[key], value.astype(got[key].dtype), err_msg=key)


def check_loss_matches_reference(backend_cls: type[Backend]) -> None:
    """The loss ``train_step`` reports equals the NumPy loss plus regularisation."""
    for spec in (_spec(), _spec(dale_ratio=0.8, L2_rec=0.1, L1_out=0.01, L2_firing_rate=0.05)):
        backend, weights = _make(backend_cls, spec)
        backend.configure_optimizer("adam", 1e-3, True)
        x, y, mask = _data(3)
        reported = backend.train_step(x, y, mask)
        out, states = Simulator(spec, weights).run_trials(x)
        expected = loss(spec.loss, out, y, mask) + regularization(spec, weights, states)
        np.testing.assert_allclose(reported, expected, rtol=1e-4,
                                   err_msg=f"reported loss differs from the reference for {spec}")


def check_training_reduces_loss(backend_cls: type[Backend]) -> None:
    """A few Adam steps on one batch reduce its loss."""
    backend, _ = _make(backend_cls, _spec())
    backend.configure_optimizer("adam", 1e-2, True)
    x, y, mask = _data(4)
    losses = [backend.train_step(x, y, mask) for _ in range(40)]
    assert losses[-1] < 0.8 * losses[0], f"loss went from {losses[0]} to {losses[-1]}"


def check_constraints_hold(backend_cls: type[Backend]) -> None:
    """Dale signs, masked zeros, fixed entries and frozen parameters survive training."""
    rng = np.random.default_rng(6)
    fixed = rng.uniform(size=(N_OUT, N_REC)) > 0.5
    conn_out = (rng.uniform(size=(N_OUT, N_REC)) > 0.2).astype(float)
    spec = _spec(dale_ratio=0.75, autapses=False, output_connectivity=conn_out,
                 b_rec_train=False, constraints=(FixedWeights(W_out=fixed),))
    backend, w0 = _make(backend_cls, spec)
    backend.configure_optimizer("adam", 5e-2, False)
    x, y, mask = _data(5)
    for _ in range(20):
        backend.train_step(x, y, mask)
    w1 = backend.get_weights()
    eff = effective_weights(w1)
    signs = np.diag(w1["Dale_rec"])
    assert (eff["W_rec"] * signs[None, :] >= 0).all(), "a Dale sign flipped in W_rec"
    assert (eff["W_out"][:, signs < 0] == 0).all(), "an inhibitory unit reaches the output"
    assert (np.diag(eff["W_rec"]) == 0).all(), "an autapse appeared"
    assert (eff["W_out"][conn_out == 0] == 0).all(), "a masked output entry is not zero"
    np.testing.assert_array_equal(w1["W_out"][fixed], w0["W_out"][fixed].astype(w1["W_out"].dtype),
                                  err_msg="a fixed W_out entry changed")
    np.testing.assert_array_equal(w1["b_rec"], w0["b_rec"].astype(w1["b_rec"].dtype),
                                  err_msg="b_rec changed although b_rec_train=False")
    assert not np.array_equal(w1["W_out"], w0["W_out"]), "W_out did not train at all"


def check_seeded_determinism(backend_cls: type[Backend]) -> None:
    """The same seed gives identical losses and weights, noise included."""
    spec = _spec(rec_noise=0.05) if "rnn" in backend_cls.architectures else _spec(
        architecture=backend_cls.architectures[0])
    runs = []
    for _ in range(2):
        backend, _ = _make(backend_cls, spec, seed=3)
        backend.configure_optimizer("adam", 1e-3, True)
        x, y, mask = _data(7)
        losses = [backend.train_step(x, y, mask) for _ in range(5)]
        runs.append((losses, backend.get_weights()))
    assert runs[0][0] == runs[1][0], f"losses differ under one seed: {runs[0][0]} {runs[1][0]}"
    for key in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][key], runs[1][1][key], err_msg=key)


def check_resume_exact(backend_cls: type[Backend]) -> None:
    """Weights plus ``get_training_state`` moved to a fresh backend continue identically."""
    spec = _spec(rec_noise=0.05) if "rnn" in backend_cls.architectures else _spec(
        architecture=backend_cls.architectures[0])
    a, _ = _make(backend_cls, spec, seed=4)
    a.configure_optimizer("adam", 1e-3, True)
    batches = [_data(20 + i) for i in range(6)]
    for x, y, m in batches[:3]:
        a.train_step(x, y, m)
    b, _ = _make(backend_cls, spec, seed=999)
    b.set_weights(a.get_weights())
    b.configure_optimizer("adam", 1e-3, True)
    b.set_training_state(a.get_training_state())
    la = [a.train_step(*batch) for batch in batches[3:]]
    lb = [b.train_step(*batch) for batch in batches[3:]]
    np.testing.assert_allclose(lb, la, rtol=1e-6, err_msg="resumed losses differ")


def check_adam_state_portable(backend_cls: type[Backend]) -> None:
    """(Only for backends that implement ``get_adam_state``.) The portable Adam state has
    the documented keys and shapes, starts at step 0 with zero moments, and a fresh backend
    given the weights and that state continues exactly as the original."""
    reason = _not_implemented(check_adam_state_portable, backend_cls)
    if reason is not None:
        raise unittest.SkipTest(f"check_adam_state_portable: {reason}")
    spec = _spec(architecture=backend_cls.architectures[0])
    a, _ = _make(backend_cls, spec, seed=5)
    a.configure_optimizer("adam", 1e-2, True)
    weights = a.get_weights()
    trained = {k: np.shape(weights[k]) for k in TRAINABLE_ARRAYS
               if k in weights and getattr(spec, f"{k}_train", True)}
    state = a.get_adam_state()
    names = sorted(k.partition("/")[2] for k in state if k.startswith("m/"))
    assert set(names) <= set(trained), f"Adam state of untrained or unknown arrays: {names}"
    step, m, v = check_adam_state(state, {k: trained[k] for k in names})
    assert step == 0, f"a fresh Adam state has step {step}, expected 0"
    assert all(not np.any(arr) for arr in (*m.values(), *v.values())), "fresh moments not zero"
    batches = [_data(30 + i) for i in range(6)]
    for x, y, mask in batches[:3]:
        a.train_step(x, y, mask)
    state = a.get_adam_state()
    assert int(state["step"]) == 3, f"after 3 steps the Adam state has step {state['step']}"
    b, _ = _make(backend_cls, spec, seed=998)
    b.configure_optimizer("adam", 1e-2, True)
    b.set_weights(a.get_weights())
    b.set_adam_state(state)
    for key, value in b.get_adam_state().items():
        np.testing.assert_array_equal(value, state[key], err_msg=f"Adam state {key} not loaded")
    la = [a.train_step(*batch) for batch in batches[3:]]
    lb = [b.train_step(*batch) for batch in batches[3:]]
    np.testing.assert_allclose(lb, la, rtol=1e-6, err_msg="losses after loading differ")
    wa, wb = a.get_weights(), b.get_weights()
    for key in names:
        np.testing.assert_allclose(wb[key], wa[key], **_tol(spec), err_msg=key)
    bad = dict(state)
    bad[f"m/{names[0]}"] = np.zeros((1, 2, 3))
    try:
        b.set_adam_state(bad)
    except ValueError:
        pass
    else:
        raise AssertionError("set_adam_state accepted a moment of the wrong shape")


def check_train_step_needs_optimizer(backend_cls: type[Backend]) -> None:
    """``train_step`` before ``configure_optimizer`` raises RuntimeError and moves nothing."""
    backend, w0 = _make(backend_cls, _spec())
    try:
        backend.train_step(*_data(8))
    except RuntimeError:
        pass
    else:
        raise AssertionError("train_step ran without configure_optimizer; the contract says "
                             "RuntimeError")
    for key, value in backend.get_weights().items():
        np.testing.assert_array_equal(value, w0[key].astype(value.dtype), err_msg=key)


def _refuses(call: Callable[[], Any], error: type[Exception], what: str) -> None:
    try:
        call()
    except error:
        return
    except Exception as exc:  # the wrong kind of error is a failure too
        raise AssertionError(f"{what}: raised {type(exc).__name__} ({exc}); the contract says "
                             f"{error.__name__}") from exc
    raise AssertionError(f"{what} was accepted; the contract says {error.__name__}")


def check_optimizer_arguments(backend_cls: type[Backend]) -> None:
    """``configure_optimizer`` refuses unknown names, optimiser instances, bad bounds and
    learning rates, and a spec with nothing to train, with ValueError or TypeError."""
    backend, _ = _make(backend_cls, _spec())
    _refuses(lambda: backend.configure_optimizer("no-such-optimizer"), ValueError,
             "an unknown optimiser name")
    _refuses(lambda: backend.configure_optimizer(object()), TypeError,
             "an object that is neither a name nor a class or factory")
    for bound, error in ((None, TypeError), ("1", TypeError), (0.0, ValueError),
                         (-1.0, ValueError), (float("nan"), ValueError)):
        _refuses(lambda b=bound: backend.configure_optimizer("adam", 1e-3, b), error,
                 f"clip_grads={bound!r}")
    _refuses(lambda: backend.configure_optimizer("adam", -1e-3), ValueError,
             "a negative learning rate")
    frozen = _spec(**{f"{k}_train": False for k in ("W_in", "W_rec", "W_out", "b_rec",
                                                    "b_out", "init_state")})
    idle, _ = _make(backend_cls, frozen)
    _refuses(lambda: idle.configure_optimizer("adam"), ValueError,
             "configure_optimizer with nothing to train")


def check_clipping_by_global_norm(backend_cls: type[Backend]) -> None:
    """With plain SGD (``"sgd"``, learning rate 1) and ``clip_grads=c``, one step moves the
    trained parameters by exactly ``c`` in global norm (gradients scaled by
    ``min(1, c / global_norm)``, no epsilon), and by the full gradient with False."""
    spec = _spec(dtype="float64")
    x, y, mask = _data(9)
    y = y + 20.0  # large gradients
    moved = {}
    for clip in (0.01, 0.5, False):
        backend, w0 = _make(backend_cls, spec)
        backend.configure_optimizer("sgd", 1.0, clip)
        backend.train_step(x, y, mask)
        w1 = backend.get_weights()
        moved[clip] = float(np.sqrt(sum(float(((w1[k] - w0[k]) ** 2).sum())
                                        for k in TRAINABLE_ARRAYS if k in w0)))
    for clip in (0.01, 0.5):
        np.testing.assert_allclose(moved[clip], clip, rtol=1e-6, err_msg=(
            f"clip_grads={clip}: the parameters moved by {moved[clip]} in global norm"))
    assert moved[False] > 0.5, f"without clipping the step moved only {moved[False]}"


def check_set_weights_contract(backend_cls: type[Backend]) -> None:
    """``set_weights`` takes any subset of keys (``init_state`` also as ``(N_rec,)``),
    leaves the others alone, and refuses unknown keys and wrong shapes with ValueError."""
    spec = _spec(dale_ratio=0.8)
    backend, w0 = _make(backend_cls, spec)
    new_out = w0["W_out"] * 2.0
    backend.set_weights({"W_out": new_out, "init_state": np.full(N_REC, 0.25)})
    got = backend.get_weights()
    np.testing.assert_array_equal(got["W_out"], new_out.astype(got["W_out"].dtype))
    np.testing.assert_array_equal(got["init_state"], np.full((1, N_REC), 0.25, got["W_out"].dtype))
    for key in ("W_rec", "W_in", "b_rec", "Dale_rec"):
        np.testing.assert_array_equal(got[key], w0[key].astype(got[key].dtype), err_msg=key)
    _refuses(lambda: backend.set_weights({"W_bogus": np.zeros(3)}), ValueError,
             "set_weights with an unknown key")
    _refuses(lambda: backend.set_weights({"W_rec": np.zeros((N_REC, N_REC - 1))}), ValueError,
             "set_weights with a wrong shape")
    np.testing.assert_array_equal(backend.get_weights()["W_rec"], got["W_rec"],
                                  err_msg="a refused set_weights changed W_rec")


def check_training_state_before_optimizer(backend_cls: type[Backend]) -> None:
    """A training state set before ``configure_optimizer`` is loaded by it: the fresh
    backend then continues exactly as the original."""
    spec = _spec(architecture=backend_cls.architectures[0])
    a, _ = _make(backend_cls, spec, seed=4)
    a.configure_optimizer("adam", 1e-2, True)
    batches = [_data(40 + i) for i in range(5)]
    for batch in batches[:3]:
        a.train_step(*batch)
    b, _ = _make(backend_cls, spec, seed=997)
    b.set_weights(a.get_weights())
    b.set_training_state(a.get_training_state())
    b.configure_optimizer("adam", 1e-2, True)
    la = [a.train_step(*batch) for batch in batches[3:]]
    lb = [b.train_step(*batch) for batch in batches[3:]]
    np.testing.assert_allclose(lb, la, rtol=1e-6, err_msg="a state set before "
                               "configure_optimizer was not loaded by it")


#: Checks of optional capabilities, run when the backend implements the named methods.
OPTIONAL_CHECKS: dict[Callable[[type[Backend]], None], tuple[str, ...]] = {
    check_adam_state_portable: ("get_adam_state", "set_adam_state"),
}

BACKEND_CHECKS: tuple[Callable[[type[Backend]], None], ...] = (
    check_forward_matches_simulator,
    check_any_number_of_trials,
    check_outputs_match_forward,
    check_weights_round_trip,
    check_loss_matches_reference,
    check_training_reduces_loss,
    check_constraints_hold,
    check_seeded_determinism,
    check_resume_exact,
    check_train_step_needs_optimizer,
    check_optimizer_arguments,
    check_clipping_by_global_norm,
    check_set_weights_contract,
    check_training_state_before_optimizer,
)


def _not_implemented(check: Callable[[type[Backend]], None],
                     backend_cls: type[Backend]) -> str | None:
    methods = OPTIONAL_CHECKS[check]
    if implements(backend_cls, *methods):
        return None
    return (f"{backend_cls.__name__} does not implement {' and '.join(methods)} (optional: "
            f"the portable Adam state)")


def backend_checks(backend_cls: type[Backend]) -> Iterator[tuple[str, Check]]:
    """Yield ``(check name, check)`` for every backend check, optional ones included.

    Each check is a zero-argument :class:`~psychcore.testing.Check`; an optional one the
    backend does not implement carries its ``skip_reason`` and raises ``unittest.SkipTest``
    when called.
    """
    if not (isinstance(backend_cls, type) and issubclass(backend_cls, Backend)):
        raise TypeError(f"expected a psychcore Backend subclass; received {backend_cls!r}")
    for check in BACKEND_CHECKS:
        yield check.__name__, Check(check.__name__, lambda c=check: c(backend_cls))
    for check in OPTIONAL_CHECKS:
        yield check.__name__, Check(check.__name__, lambda c=check: c(backend_cls),
                                    _not_implemented(check, backend_cls))
