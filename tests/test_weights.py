"""Tests of weight files: save/load, PsychRNN files, validation."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from psychcore._constraints import FixedWeights
from psychcore._init import initialize_weights
from psychcore._spec import ModelSpec
from psychcore._weights import (
    OPTIONAL_KEYS,
    PSYCHRNN_KEYS,
    REQUIRED_KEYS,
    infer_architecture,
    infer_dale_ratio,
    load_weights,
    psychrnn_weights,
    save_weights,
    validate_weights,
    write_psychrnn_weights,
)

TASK = {"N_in": 3, "N_out": 2, "dt": 10.0, "tau": 100.0}


def make(**kw) -> tuple[ModelSpec, dict[str, np.ndarray]]:
    spec = ModelSpec(**{"N_rec": 8, **kw}).bind(TASK)
    return spec, initialize_weights(spec, 0)


def psychrnn_dict(N_rec=8, N_in=3, N_out=2, n_exc=6, seed=0) -> dict[str, np.ndarray]:
    """What PsychRNN's get_weights() returns for a Dale network (Dale_out = ±1 default)."""
    r = np.random.default_rng(seed)
    signs = np.array([1.0] * n_exc + [-1.0] * (N_rec - n_exc))
    return {
        "W_in": r.standard_normal((N_rec, N_in)),
        "W_rec": r.standard_normal((N_rec, N_rec)),
        "W_out": r.standard_normal((N_out, N_rec)),
        "b_rec": np.zeros(N_rec),
        "b_out": np.zeros(N_out),
        "init_state": 0.1 + 0.01 * r.standard_normal((1, N_rec)),
        "Dale_rec": np.diag(signs),
        "Dale_out": np.diag(signs),
        "input_connectivity": np.ones((N_rec, N_in)),
        "rec_connectivity": 1 - np.eye(N_rec),
        "output_connectivity": np.ones((N_out, N_rec)),
    }


def assert_same(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# ------------------------------------------------------------------------------ save/load


@pytest.mark.parametrize("kw", [{}, {"dale_ratio": 0.75, "autapses": False},
                                {"architecture": "lstm"}, {"architecture": "gru"},
                                {"train_tau": True, "dtype": "float64"}])
def test_round_trip_is_exact(tmp_path, kw):
    spec, w = make(**kw)
    path = save_weights(tmp_path / "model", w, spec)
    assert path == tmp_path / "model.npz"
    assert (tmp_path / "model.json").exists()
    loaded, loaded_spec = load_weights(path)
    assert_same(loaded, w)
    assert loaded_spec == spec
    loaded2, _ = load_weights(tmp_path / "model")  # the suffix may be left out
    assert_same(loaded2, w)


def test_save_without_spec(tmp_path):
    _, w = make()
    path = save_weights(tmp_path / "w.npz", w)
    assert path.name == "w.npz" and not (tmp_path / "w.json").exists()
    loaded, spec = load_weights(path)
    assert spec is None
    assert_same(loaded, w)


def test_refuses_to_overwrite(tmp_path):
    spec, w = make()
    save_weights(tmp_path / "m", w, spec)
    with pytest.raises(FileExistsError, match=r"m.npz already exists.*overwrite=True"):
        save_weights(tmp_path / "m", w, spec)
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(FileExistsError, match=r"other.json already exists"):
        save_weights(tmp_path / "other", w, spec)
    assert not (tmp_path / "other.npz").exists()  # nothing written when refused
    _, w2 = make(initializer="orthogonal")
    save_weights(tmp_path / "m", w2, spec, overwrite=True)
    assert_same(load_weights(tmp_path / "m")[0], w2)
    # overwriting without a spec removes the stale spec file
    save_weights(tmp_path / "m", w, overwrite=True)
    assert not (tmp_path / "m.json").exists()
    assert load_weights(tmp_path / "m")[1] is None


def test_writes_are_atomic_and_leave_no_temporaries(tmp_path):
    spec, w = make()
    save_weights(tmp_path / "m", w, spec)
    write_psychrnn_weights(tmp_path / "p", psychrnn_dict())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz", "p.npz"]
    # a failing save (lambda loss cannot be written) leaves nothing behind
    bad = spec.replace(loss=lambda o, y, m: 0.0)
    with pytest.raises(ValueError, match=r"loss is .*lambda"):
        save_weights(tmp_path / "bad", w, bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz", "p.npz"]


def test_save_checks_weights_against_spec(tmp_path):
    spec, w = make()
    other = spec.replace(N_rec=9, N_in=None, N_out=None, dt=None, tau=None)
    with pytest.raises(ValueError, match=r"the weights have N_rec=8, the spec N_rec=9"):
        save_weights(tmp_path / "m", w, other)
    with pytest.raises(TypeError, match=r"spec must be a ModelSpec or None; received dict"):
        save_weights(tmp_path / "m", w, {"N_rec": 8})
    with pytest.raises(ValueError,
                       match=r"validate_weights: missing required key\(s\) \['b_out'\]"):
        save_weights(tmp_path / "m", {k: v for k, v in w.items() if k != "b_out"})
    with pytest.raises(TypeError, match=r"cannot save|must be a numeric array"):
        save_weights(tmp_path / "m", {**w, "b_out": np.array([None, None])})
    assert list(tmp_path.iterdir()) == []


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no weights file at .*nothing.npz"):
        load_weights(tmp_path / "nothing.npz")


# ------------------------------------------------------------------------- PsychRNN files


def test_psychrnn_file_with_optimizer_slots_and_object_dale_ratio(tmp_path, monkeypatch):
    d = psychrnn_dict(n_exc=6)
    path = tmp_path / "psychrnn.npz"
    slots = {"W_rec/Adam": np.zeros((8, 8)), "W_rec/Adam_1": np.zeros((8, 8)),
             "W_in/Adam": np.zeros((8, 3))}
    np.savez(path, **d, dale_ratio=np.array(None, dtype=object), **slots)
    # really unreadable without pickle
    with np.load(path, allow_pickle=False) as npz, pytest.raises(ValueError, match="pickle"):
        npz["dale_ratio"]
    calls = []
    real_load = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    w, spec = load_weights(path)
    assert calls == [False]
    assert spec is None
    assert not any("/" in k for k in w)
    np.testing.assert_allclose(float(w["dale_ratio"]), 6 / 8)
    np.testing.assert_array_equal(w["Dale_out"], d["Dale_out"])  # PsychRNN's ±1 kept
    for k, v in d.items():
        np.testing.assert_array_equal(w[k], v, err_msg=k)
    np.testing.assert_array_equal(w["W_rec_fixed"], np.zeros((8, 8)))
    # the Dale options are not filled in: absent means PsychRNN's |W| (docs/equations.md)
    assert set(w) == set(REQUIRED_KEYS) | set(OPTIONAL_KEYS) - {
        "init_cell", "tau_raw", "dale_rectify", "dale_signed_in", "dale_signed_out"}


def test_psychrnn_file_without_dale(tmp_path):
    d = psychrnn_dict(n_exc=8)  # identity Dale_rec: Dale off
    np.savez(tmp_path / "p.npz", **d, dale_ratio=np.array(None, dtype=object))
    w, _ = load_weights(tmp_path / "p.npz")
    assert np.isnan(w["dale_ratio"])
    # an old (< 1.0) PsychRNN file without dale_ratio: inferred the same way
    d = psychrnn_dict(n_exc=4)
    np.savez(tmp_path / "old.npz", **d)
    w, _ = load_weights(tmp_path / "old.npz")
    assert float(w["dale_ratio"]) == 0.5


def test_psychrnn_file_with_float_dale_ratio_and_zero(tmp_path):
    d = psychrnn_dict(n_exc=6)
    np.savez(tmp_path / "a.npz", **d, dale_ratio=0.75)
    w, _ = load_weights(tmp_path / "a.npz")
    assert float(w["dale_ratio"]) == 0.75
    np.savez(tmp_path / "z.npz", **d, dale_ratio=0.0)
    with pytest.warns(UserWarning, match=r"dale_ratio=0, which PsychRNN treated as 'no Dale'"):
        w, _ = load_weights(tmp_path / "z.npz")
    assert np.isnan(w["dale_ratio"])


def test_other_object_arrays_are_refused(tmp_path):
    d = psychrnn_dict()
    np.savez(tmp_path / "o.npz", **{**d, "W_out": np.array([None], dtype=object)})
    with pytest.raises(ValueError, match=r"'W_out' is an object array that needs pickle; "
                                         r"psychcore never unpickles"):
        load_weights(tmp_path / "o.npz")


def test_write_psychrnn_weights(tmp_path):
    _, w = make(dale_ratio=0.75)
    path = write_psychrnn_weights(tmp_path / "p", w)
    assert path == tmp_path / "p.npz"
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(PSYCHRNN_KEYS)
        assert npz["dale_ratio"].dtype == np.float64 and float(npz["dale_ratio"]) == 0.75
    loaded, _ = load_weights(path)
    assert float(loaded.pop("dale_ratio")) == float(w.pop("dale_ratio")) == 0.75
    assert_same(loaded, w)  # everything else, dtypes included
    # Dale off: dale_ratio is left out (PsychRNN reads None), and loads back as NaN
    _, w = make()
    write_psychrnn_weights(tmp_path / "q.npz", w)
    with zipfile.ZipFile(tmp_path / "q.npz") as z:
        assert "dale_ratio.npy" not in z.namelist()
    assert_same(load_weights(tmp_path / "q.npz")[0], w)
    with pytest.raises(FileExistsError):
        write_psychrnn_weights(tmp_path / "q.npz", w)


def test_write_psychrnn_weights_refusals(tmp_path):
    _, w = make(train_tau=True)
    with pytest.raises(ValueError, match=r"tau_raw .* has no PsychRNN equivalent"):
        write_psychrnn_weights(tmp_path / "t", w)
    _, w = make(architecture="gru")
    with pytest.raises(ValueError, match=r"W_rec must have shape \('G\*N_rec', 'N_rec'\) with "
                                         r"G=1 for architecture 'rnn'; received shape \(24, 8\)"):
        write_psychrnn_weights(tmp_path / "g", w)
    _, w = make(constraints=(FixedWeights(W_rec=True),))
    with pytest.warns(UserWarning, match=r"dropping fixed masks \['W_rec_fixed'\]"):
        write_psychrnn_weights(tmp_path / "f", w)


def test_psychrnn_weights_from_params():
    assert psychrnn_weights({"N_rec": 8, "dt": 10}) is None
    d = psychrnn_dict()
    params = {"N_rec": 8, "N_batch": 64, "W_rec": d["W_rec"], "W_in": d["W_in"].tolist(),
              "init_state": d["init_state"].ravel(), "dale_ratio": None}
    w = psychrnn_weights(params)
    assert sorted(w) == ["W_in", "W_rec", "dale_ratio", "init_state"]
    np.testing.assert_array_equal(w["W_in"], d["W_in"])
    assert w["init_state"].shape == (1, 8)
    assert np.isnan(w["dale_ratio"])
    with pytest.raises(TypeError, match=r"expected a dict; received list"):
        psychrnn_weights([])
    with pytest.raises(TypeError, match=r"W_rec must be numeric"):
        psychrnn_weights({"W_rec": "abc"})
    # merging over a fresh initialisation gives a valid dict
    spec = ModelSpec(N_rec=8, dale_ratio=0.75).bind(TASK)
    full = {**initialize_weights(spec, 0), **psychrnn_weights({"W_rec": d["W_rec"]})}
    assert validate_weights(full)["W_rec"] is not None


# ------------------------------------------------------------------------------ validation


def test_validate_fills_defaults():
    d = psychrnn_dict(n_exc=6)
    minimal = {k: d[k] for k in REQUIRED_KEYS}
    minimal["init_state"] = minimal["init_state"].ravel()  # (N_rec,) accepted
    w = validate_weights({**minimal, "dale_ratio": 0.75})
    assert w["init_state"].shape == (1, 8)
    np.testing.assert_array_equal(np.diag(w["Dale_rec"]), [1] * 6 + [-1] * 2)
    np.testing.assert_array_equal(np.diag(w["Dale_out"]), [1] * 6 + [0] * 2)
    np.testing.assert_array_equal(w["rec_connectivity"], np.ones((8, 8)))
    np.testing.assert_array_equal(w["W_in_fixed"], np.zeros((8, 3)))
    w = validate_weights(minimal)
    np.testing.assert_array_equal(w["Dale_rec"], np.eye(8))
    np.testing.assert_array_equal(w["Dale_out"], np.eye(8))
    assert np.isnan(w["dale_ratio"])
    w = validate_weights({**minimal, "Dale_rec": d["Dale_rec"]})
    assert float(w["dale_ratio"]) == 0.75
    np.testing.assert_array_equal(np.diag(w["Dale_out"]), [1] * 6 + [0] * 2)
    w = validate_weights({**minimal, "W_rec_fixed": np.eye(8, dtype=bool)})
    assert w["W_rec_fixed"].dtype == np.float64


def test_validate_lstm_fills_init_cell():
    _, w = make(architecture="lstm")
    w.pop("init_cell")
    out = validate_weights(w, "lstm")
    np.testing.assert_array_equal(out["init_cell"], np.zeros((1, 8)))
    assert infer_architecture(w) == "lstm"
    with pytest.raises(ValueError, match=r"init_cell is for 'lstm' only"):
        validate_weights({**make()[1], "init_cell": np.zeros((1, 8))})


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("W_in", np.zeros((8, 3, 1)), r"W_in must have shape \('\?', '\?'\) \(2-D\); "
                                      r"received shape \(8, 3, 1\)"),
        ("W_in", np.zeros((7, 3)), r"W_in must have shape \(8, 3\) .*received shape \(7, 3\)"),
        ("W_rec", np.zeros((8, 7)), r"W_rec must have shape \('G\*N_rec', 'N_rec'\)"),
        ("b_rec", np.zeros(7), r"b_rec must have shape \(8,\) .*received shape \(7,\)"),
        ("b_out", np.zeros((2, 1)), r"b_out must have shape \(2,\)"),
        ("init_state", np.zeros((2, 8)), r"init_state must have shape \(1, 8\)"),
        ("rec_connectivity", np.ones((8, 9)), r"rec_connectivity must have shape \(8, 8\)"),
        ("output_connectivity", np.ones((3, 8)), r"output_connectivity must have shape \(2, 8\)"),
        ("Dale_out", np.eye(7), r"Dale_out must have shape \(8, 8\)"),
        ("dale_ratio", np.array([0.5]), r"dale_ratio must have shape \(\)"),
        ("W_out_fixed", np.zeros((8, 2)), r"W_out_fixed must have shape \(2, 8\)"),
        ("tau_raw", np.zeros((1, 8)), r"tau_raw must have shape \(8,\)"),
        ("rec_connectivity", np.full((8, 8), 0.5), r"rec_connectivity must contain only 0 and 1"),
        ("Dale_rec", np.ones((8, 8)), r"Dale_rec must be a diagonal matrix"),
        ("Dale_rec", np.eye(8) * 2, r"Dale_rec must be a diagonal matrix with diagonal values"),
        ("dale_ratio", np.array(1.5), r"dale_ratio must be NaN or in \(0, 1\]; received 1.5"),
    ],
)
def test_validate_shape_and_value_errors(key, value, match):
    _, w = make()
    with pytest.raises(ValueError, match=match):
        validate_weights({**w, key: value})


def test_validate_key_and_type_errors():
    _, w = make()
    with pytest.raises(ValueError, match=r"missing required key\(s\) \['W_in', 'init_state'\]"):
        validate_weights({k: v for k, v in w.items() if k not in ("W_in", "init_state")})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['W_Rec'\]; valid keys: \['W_in'"):
        validate_weights({**w, "W_Rec": w["W_rec"]})
    with pytest.raises(TypeError, match=r"expected a dict of arrays; received list"):
        validate_weights([1])
    with pytest.raises(TypeError, match=r"W_out must be a numeric array; received dtype <U"):
        validate_weights({**w, "W_out": np.array([["a"]])})
    with pytest.raises(ValueError, match=r"architecture must be one of .* received 'cnn'"):
        validate_weights(w, "cnn")


def test_validate_returns_copies_in_canonical_order():
    _, w = make()
    out = validate_weights(dict(reversed(list(w.items()))))
    assert list(out) == [k for k in REQUIRED_KEYS + OPTIONAL_KEYS if k in out]
    assert_same(out, w)


def test_infer_helpers():
    assert infer_dale_ratio(np.diag([1.0, 1.0, 1.0, -1.0])) == 0.75
    assert np.isnan(infer_dale_ratio(np.eye(3)))
    assert infer_architecture({"W_rec": np.zeros((12, 4))}) == "gru"
    assert infer_architecture({"W_rec": np.zeros((5, 4))}) == "rnn"
    assert infer_architecture({}) == "rnn"
