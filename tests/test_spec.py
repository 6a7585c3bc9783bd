"""Tests of ModelSpec: validation, binding, serialisation and PsychRNN import."""

from __future__ import annotations

import dataclasses
import json
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from psychcore._constraints import (
    CellTypeRule,
    ConnectivityMask,
    Dale,
    FixedWeights,
    InhibitorySubtype,
    NoAutapses,
    SparseConnectivity,
)
from psychcore._initializers import AlphaIdentity, GaussianSpectralRadius
from psychcore._spec import ModelSpec
from psychcore._spec_io import callable_ref, resolve_callable

TASK = {"N_in": 3, "N_out": 2, "dt": 10, "tau": 100}


def my_loss(outputs, targets, mask):
    """A module-level custom loss (importable as tests.test_spec:my_loss)."""
    return float(np.sum(mask * (outputs - targets) ** 2))


def my_regularization(model, params):
    return 0.0


def relu(x):
    """Stands in for tf.nn.relu: only its __name__ matters."""
    return np.maximum(x, 0)


class AlphaIdentityLike:
    """Stands in for PsychRNN's AlphaIdentity initializer object (mapped by class name)."""

    def __init__(self, alpha):
        self.alpha = alpha


AlphaIdentityLike.__name__ = "AlphaIdentity"


# --------------------------------------------------------------------------- construction


def test_defaults_are_valid_and_unbound():
    spec = ModelSpec()
    assert spec.N_rec == 50 and spec.architecture == "rnn"
    assert spec.initializer == "gaussian_spectral_radius"
    assert spec.initializer_params == {}
    assert spec.loss == "mean_squared_error"
    assert spec.dtype == "float32"
    assert not spec.is_bound
    assert spec.alpha is None
    assert spec.n_gates == 1
    assert ModelSpec(architecture="lstm").n_gates == 4
    assert ModelSpec(architecture="gru").n_gates == 3


def test_values_are_normalised():
    spec = ModelSpec(N_rec=np.int64(7), L2_rec=1, dt=10, tau=100, N_in=np.int32(2), N_out=1,
                     W_rec_train=np.bool_(False), constraints=[NoAutapses()])
    assert type(spec.N_rec) is int and spec.N_rec == 7
    assert type(spec.L2_rec) is float and spec.L2_rec == 1.0
    assert type(spec.dt) is float and spec.dt == 10.0
    assert spec.W_rec_train is False
    assert spec.constraints == (NoAutapses(),)
    assert spec.alpha == pytest.approx(0.1)


def test_spec_is_frozen():
    spec = ModelSpec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.N_rec = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"N_rec": -3}, ValueError, r"ModelSpec: N_rec must be a positive int; received -3"),
        ({"N_rec": 5.0}, TypeError, r"N_rec must be a positive int; received 5\.0 \(float\)"),
        ({"N_rec": True}, TypeError, r"N_rec must be a positive int; received True \(bool\)"),
        ({"architecture": "transformer"}, ValueError, r"architecture must be one of"),
        ({"architecture": 1}, TypeError, r"architecture must be one of .*received 1 \(int\)"),
        ({"transfer_function": "elu"}, ValueError, r"transfer_function must be one of"),
        ({"rec_noise": -0.1}, ValueError, r"rec_noise must be a finite number >= 0"),
        ({"rec_noise": "0.1"}, TypeError, r"rec_noise must be"),
        ({"rec_noise": 0.1, "architecture": "lstm"}, ValueError,
         r"rec_noise > 0 is only defined for architecture 'rnn'.*'lstm'"),
        ({"dale_ratio": 1.5}, ValueError, r"dale_ratio must be a finite number > 0"),
        ({"dale_ratio": -0.2}, ValueError, r"dale_ratio"),
        ({"dale_ratio": "0.8"}, TypeError, r"dale_ratio must be None or a number"),
        ({"autapses": "no"}, TypeError, r"autapses must be a bool; received 'no' \(str\)"),
        ({"rec_connectivity": np.ones((3, 3))}, ValueError,
         r"rec_connectivity must have shape \(50, 50\); received shape \(3, 3\)"),
        ({"rec_connectivity": np.full((50, 50), 2.0)}, ValueError,
         r"rec_connectivity must contain only 0 and 1"),
        ({"input_connectivity": np.ones(50)}, ValueError,
         r"input_connectivity must be a 2-D array"),
        ({"input_connectivity": np.ones((50, 4)), "N_in": 3}, ValueError,
         r"input_connectivity must have shape \(50, 3\); received shape \(50, 4\)"),
        ({"output_connectivity": [["a"]]}, TypeError, r"output_connectivity must be a 2-D"),
        ({"constraints": [1]}, TypeError,
         r"constraints\[0\] must be a Constraint; received 1 \(int\)"),
        ({"constraints": Dale(0.5)}, TypeError, r"constraints must be a tuple"),
        ({"dale_ratio": 0.8, "constraints": (Dale(0.5),)}, ValueError,
         r"applies Dale's principle a second time"),
        ({"constraints": (InhibitorySubtype("som", count=1),)}, ValueError,
         r"needs Dale's principle before it"),
        ({"constraints": (ConnectivityMask(rec=np.ones((4, 4))),)}, ValueError,
         r"ConnectivityMask: rec must have shape \(50, 50\); received shape \(4, 4\)"),
        ({"initializer": "nope"}, ValueError, r"unknown initializer 'nope'; registered"),
        ({"initializer": 3}, TypeError, r"initializer must be a registered name"),
        ({"initializer_params": {"spec_rad": -1.0}}, ValueError, r"spec_rad must be"),
        ({"initializer_params": {"foo": 1}}, TypeError, r"unknown parameter\(s\) \['foo'\]"),
        ({"initializer_params": [1]}, TypeError, r"initializer_params must be a dict"),
        ({"initializer": AlphaIdentity(), "initializer_params": {"alpha": 2.0}}, ValueError,
         r"given with an Initializer instance"),
        ({"loss": "mse"}, ValueError, r"loss must be one of"),
        ({"loss": 3}, TypeError, r"loss must be one of .* or a callable; received 3 \(int\)"),
        ({"L2_rec": -1.0}, ValueError, r"L2_rec must be a finite number >= 0; received -1.0"),
        ({"L1_in": "a"}, TypeError, r"L1_in must be"),
        ({"L2_firing_rate": float("nan")}, ValueError, r"L2_firing_rate"),
        ({"custom_regularization": 3}, TypeError, r"custom_regularization must be None or"),
        ({"W_rec_train": 1}, TypeError, r"W_rec_train must be a bool; received 1 \(int\)"),
        ({"train_tau": "yes"}, TypeError, r"train_tau must be a bool"),
        ({"tau_range": (5.0, 1.0)}, ValueError, r"0 < tau_min < tau_max; received \(5.0, 1.0\)"),
        ({"tau_range": 3}, TypeError, r"tau_range must be None or a pair"),
        ({"tau_range": (0.0, 1.0)}, ValueError, r"tau_range\[0\] must be"),
        ({"dtype": "float16"}, ValueError, r"dtype must be one of \('float32', 'float64'\)"),
        ({"N_in": 0}, ValueError, r"N_in must be a positive int; received 0"),
        ({"N_out": 1.5}, TypeError, r"N_out must be a positive int"),
        ({"dt": -1}, ValueError, r"dt must be a finite number > 0; received -1.0"),
        ({"tau": "x"}, TypeError, r"tau must be"),
        ({"train_tau": True, "tau_range": (5.0, 50.0), "dt": 1.0, "tau": 100.0}, ValueError,
         r"tau must lie strictly inside tau_range"),
        ({"train_tau": True, "dt": 100.0, "tau": 100.0}, ValueError,
         r"defaults to \(dt, 10 \* tau\), which needs dt < tau"),
    ],
)
def test_validation_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ModelSpec(**kwargs)


def test_dale_ratio_zero_is_refused_with_explanation():
    with pytest.raises(ValueError, match=r"received 0") as info:
        ModelSpec(dale_ratio=0)
    msg = str(info.value)
    assert "every unit inhibitory" in msg and "silence the output" in msg
    assert "dale_ratio=None" in msg and "PsychRNN" in msg


def test_masks_are_read_only_arrays_and_compare_by_value():
    conn = np.ones((4, 4))
    np.fill_diagonal(conn, 0)
    a = ModelSpec(N_rec=4, rec_connectivity=conn)
    b = ModelSpec(N_rec=4, rec_connectivity=conn.astype(bool).tolist())
    assert isinstance(a.rec_connectivity, np.ndarray)
    assert a.rec_connectivity.dtype == np.float64
    assert not a.rec_connectivity.flags.writeable
    np.testing.assert_array_equal(a.rec_connectivity, conn)
    assert a == b and hash(a) == hash(b)
    conn[0, 1] = 0  # the spec holds its own copy
    assert a.rec_connectivity[0, 1] == 1
    assert a != ModelSpec(N_rec=4, rec_connectivity=conn)
    assert a != ModelSpec(N_rec=4)
    assert a != "not a spec"


def test_hash_and_equality_cover_constraints_and_initializers():
    a = ModelSpec(N_rec=10, dale_ratio=0.8, constraints=(SparseConnectivity(0.5),),
                  initializer=GaussianSpectralRadius(spec_rad=1.3))
    b = ModelSpec(N_rec=10, dale_ratio=0.8, constraints=[SparseConnectivity(0.5)],
                  initializer=GaussianSpectralRadius(spec_rad=1.3))
    c = a.replace(initializer=GaussianSpectralRadius(spec_rad=1.2))
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert len({a, b, c}) == 2


def test_replace_validates():
    spec = ModelSpec(N_rec=8)
    assert spec.replace(N_rec=9).N_rec == 9
    with pytest.raises(ValueError, match=r"N_rec must be a positive int; received 0"):
        spec.replace(N_rec=0)


# --------------------------------------------------------------------------------- bind


def test_bind_from_dict_and_from_task_object():
    spec = ModelSpec(N_rec=8)
    from_dict = spec.bind({**TASK, "N_batch": 64, "T": 2000, "alpha": 0.1})
    task = SimpleNamespace(N_in=3, N_out=2, dt=10.0, tau=100.0, T=2000)
    from_task = spec.bind(task)
    assert from_dict.is_bound and from_task.is_bound
    assert from_dict == from_task
    assert (from_dict.N_in, from_dict.N_out, from_dict.dt, from_dict.tau) == (3, 2, 10.0, 100.0)
    assert not spec.is_bound  # the original is unchanged
    assert from_dict.bind(task) == from_dict  # re-binding to the same task is fine


def test_bind_conflict_names_both_values():
    spec = ModelSpec(N_rec=8, N_in=4)
    with pytest.raises(ValueError,
                       match=r"N_in conflicts: the spec has N_in=4, the task has N_in=3"):
        spec.bind(TASK)
    bound = ModelSpec(N_rec=8).bind(TASK)
    with pytest.raises(ValueError,
                       match=r"tau conflicts: the spec has tau=100.0, the task has tau=50"):
        bound.bind({**TASK, "tau": 50})


def test_bind_missing_keys_and_bad_types():
    with pytest.raises(ValueError, match=r"the task lacks \['tau'\]"):
        ModelSpec().bind({"N_in": 3, "N_out": 2, "dt": 10})
    with pytest.raises(TypeError, match=r"expected a Task or a dict .* received 3 \(int\)"):
        ModelSpec().bind(3)
    with pytest.raises(ValueError, match=r"N_in must be a positive int; received -1"):
        ModelSpec().bind({**TASK, "N_in": -1})


def test_bind_checks_masks_against_task_sizes():
    spec = ModelSpec(N_rec=4, input_connectivity=np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"input_connectivity must have shape \(4, 3\)"):
        spec.bind(TASK)
    assert spec.bind({**TASK, "N_in": 2}).N_in == 2


def test_train_tau_default_range_is_resolved_at_bind():
    spec = ModelSpec(N_rec=5, train_tau=True)
    assert spec.tau_range is None
    bound = spec.bind(TASK)
    assert bound.tau_range == (10.0, 1000.0)
    explicit = ModelSpec(N_rec=5, train_tau=True, tau_range=(20.0, 200.0)).bind(TASK)
    assert explicit.tau_range == (20.0, 200.0)


# ------------------------------------------------------------------------- serialisation


def _rich_spec() -> ModelSpec:
    rng = np.random.default_rng(0)
    conn = (rng.random((12, 12)) > 0.2).astype(float)
    fixed = rng.random((2, 12)) > 0.5
    return ModelSpec(
        N_rec=12,
        transfer_function="tanh",
        rec_noise=0.05,
        dale_ratio=0.75,
        autapses=False,
        rec_connectivity=conn,
        output_connectivity=np.ones((2, 12)),
        constraints=(
            InhibitorySubtype("som", count=1),
            CellTypeRule("som", "som"),
            SparseConnectivity(p_rec=0.8, p_in=0.9),
            FixedWeights(W_out=fixed, W_rec=True),
            ConnectivityMask(input=np.ones((12, 3))),
            NoAutapses(),
        ),
        initializer=AlphaIdentity(alpha=0.5, which_rand_init="const_unif"),
        loss=my_loss,
        custom_regularization=my_regularization,
        L1_rec=0.01,
        L2_firing_rate=0.1,
        W_in_train=False,
        train_tau=True,
        tau_range=(20.0, 400.0),
        dtype="float64",
    ).bind(TASK)


def test_json_round_trip_is_lossless():
    spec = _rich_spec()
    text = spec.to_json()
    back = ModelSpec.from_json(text)
    assert back == spec
    assert hash(back) == hash(spec)
    assert back.loss is my_loss and back.custom_regularization is my_regularization
    assert isinstance(back.initializer, AlphaIdentity)
    assert back.initializer.alpha == 0.5
    assert back.initializer.which_rand_init == "const_uniform"
    assert back.constraints == spec.constraints
    np.testing.assert_array_equal(back.rec_connectivity, spec.rec_connectivity)
    assert back.tau_range == (20.0, 400.0)
    # the JSON is plain data
    d = json.loads(text)
    assert d["loss"] == {"callable": "tests.test_spec:my_loss"}
    assert d["initializer"]["type"] == "alpha_identity"
    assert [c["type"] for c in d["constraints"]] == [
        "inhibitory_subtype", "cell_type_rule", "sparse_connectivity", "fixed_weights",
        "connectivity_mask", "no_autapses",
    ]


def test_dict_round_trip_of_defaults_and_named_initializer():
    spec = ModelSpec(initializer="rate_gaussian", initializer_params={"gain": 1.2})
    d = spec.to_dict()
    assert d["initializer"] == "rate_gaussian"
    assert d["initializer_params"] == {"gain": 1.2}
    assert ModelSpec.from_dict(d) == spec
    assert ModelSpec.from_dict({}) == ModelSpec()
    assert ModelSpec.from_json(ModelSpec().to_json()) == ModelSpec()


def test_lambda_and_local_functions_cannot_be_serialised():
    with pytest.raises(ValueError, match=r"loss is '.*<lambda>'.*a lambda or local function"):
        ModelSpec(loss=lambda o, y, m: 0.0).to_json()

    def local_reg(model, params):
        return 0.0

    with pytest.raises(ValueError, match=r"custom_regularization is .*<locals>"):
        ModelSpec(custom_regularization=local_reg).to_dict()


def test_callable_ref_helpers():
    assert callable_ref(my_loss, "loss") == "tests.test_spec:my_loss"
    assert resolve_callable("numpy:mean", "loss") is np.mean
    with pytest.raises(ValueError, match=r"loss: expected a 'module:qualname' reference"):
        resolve_callable("numpy.mean", "loss")
    with pytest.raises(ValueError, match=r"loss: cannot import 'numpy:no_such_thing'"):
        resolve_callable("numpy:no_such_thing", "loss")
    with pytest.raises(ValueError, match=r"loss: 'numpy:pi' is not callable"):
        resolve_callable("numpy:pi", "loss")


def test_from_dict_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['N_hidden', 'foo'\]; valid keys: "
                                         r"\['N_rec', 'architecture'"):
        ModelSpec.from_dict({"N_hidden": 3, "foo": 1})
    with pytest.raises(TypeError, match=r"expected a dict; received list"):
        ModelSpec.from_dict([1, 2])
    with pytest.raises(ValueError, match=r"loss must be a name or \{'callable'"):
        ModelSpec.from_dict({"loss": {"function": "x"}})
    with pytest.raises(ValueError, match=r"loss: cannot import"):
        ModelSpec.from_dict({"loss": {"callable": "tests.test_spec:nothing_here"}})
    with pytest.raises(ValueError, match=r"'type' must be one of"):
        ModelSpec.from_dict({"constraints": [{"type": "gravity"}]})
    with pytest.raises(ValueError, match=r"expected a JSON object; received list"):
        ModelSpec.from_json("[1]")
    with pytest.raises(TypeError, match=r"expected JSON text; received 3 \(int\)"):
        ModelSpec.from_json(3)


# ---------------------------------------------------------------------------- PsychRNN


def _psychrnn_params() -> dict:
    rng = np.random.default_rng(3)
    N_rec, N_in, N_out = 10, 4, 2
    return {
        # task keys, as get_task_params() returns them
        "N_in": N_in, "N_out": N_out, "dt": 10, "tau": 100, "T": 2000, "N_batch": 128,
        "N_steps": 200, "alpha": 0.1, "name": "pd",
        # network keys
        "N_rec": N_rec,
        "rec_noise": 0.0,
        "dale_ratio": 0.8,
        "autapses": False,
        "transfer_function": relu,
        "input_connectivity": (rng.random((N_rec, N_in)) > 0.3).astype(float),
        "rec_connectivity": (rng.random((N_rec, N_rec)) > 0.3).astype(float),
        "output_connectivity": np.ones((N_out, N_rec)),
        "W_rec_train": True, "W_in_train": False, "W_out_train": True,
        "b_rec_train": False, "b_out_train": True, "init_state_train": False,
        "loss_function": "mean_squared_error",
        "L1_in": 0.0, "L1_rec": 0.01, "L1_out": 0.0, "L2_in": 0.0, "L2_rec": 0.001,
        "L2_out": 0.0, "L2_firing_rate": 0.05,
        "which_rand_init": "glorot_unif", "init_minval": -0.2, "init_maxval": 0.2,
        "spec_rad": 1.5,
        # weights arrays are ignored by from_psychrnn
        "W_rec": rng.standard_normal((N_rec, N_rec)),
    }


def test_from_psychrnn_realistic_dict():
    params = _psychrnn_params()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = ModelSpec.from_psychrnn(params)
    assert spec.is_bound
    assert (spec.N_in, spec.N_out, spec.dt, spec.tau, spec.N_rec) == (4, 2, 10.0, 100.0, 10)
    assert spec.transfer_function == "relu"
    assert spec.dale_ratio == 0.8 and spec.autapses is False
    np.testing.assert_array_equal(spec.rec_connectivity, params["rec_connectivity"])
    np.testing.assert_array_equal(spec.input_connectivity, params["input_connectivity"])
    assert (spec.W_in_train, spec.b_rec_train, spec.init_state_train) == (False, False, False)
    assert spec.L1_rec == 0.01 and spec.L2_rec == 0.001 and spec.L2_firing_rate == 0.05
    assert spec.initializer == "gaussian_spectral_radius"
    assert spec.initializer_params == {
        "which_rand_init": "glorot_unif", "init_minval": -0.2, "init_maxval": 0.2,
        "spec_rad": 1.5,
    }
    assert ModelSpec.from_json(spec.to_json()) == spec


def test_from_psychrnn_custom_loss_and_regularization():
    params = {**TASK, "N_rec": 5, "loss_function": "my_loss", "my_loss": my_loss,
              "custom_regularization": my_regularization, "transfer_function": "tanh"}
    spec = ModelSpec.from_psychrnn(params)
    assert spec.loss is my_loss
    assert spec.custom_regularization is my_regularization
    assert spec.transfer_function == "tanh"


def test_from_psychrnn_initializer_keys():
    spec = ModelSpec.from_psychrnn({"N_rec": 5, "which_rand_W_rec_init": "const_unif",
                                    "init_minval": -0.3, "init_maxval": 0.3})
    assert spec.initializer == "const_uniform"
    assert spec.initializer_params == {"minval": -0.3, "maxval": 0.3, "init_minval": -0.3,
                                       "init_maxval": 0.3}
    spec = ModelSpec.from_psychrnn({"N_rec": 5, "initializer": AlphaIdentityLike(0.7),
                                    "alpha": 0.1})
    assert spec.initializer == "alpha_identity"
    assert spec.initializer_params == {"alpha": 0.7}
    with pytest.warns(UserWarning, match=r"spec_rad is ignored"):
        ModelSpec.from_psychrnn({"N_rec": 5, "which_rand_W_rec_init": "glorot_gauss",
                                 "spec_rad": 1.2})


def test_from_psychrnn_unknown_keys_warn():
    with pytest.warns(UserWarning, match=r"ignoring unknown PsychRNN key\(s\) \['coherence', "
                                         r"'foo'\]"):
        spec = ModelSpec.from_psychrnn({**TASK, "N_rec": 5, "foo": 1, "coherence": 0.5})
    assert spec.N_rec == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ModelSpec.from_psychrnn({"N_rec": 5, "foo": 1}, unknown="ignore")
    with pytest.raises(ValueError, match=r"unknown PsychRNN key\(s\) \['foo'\]"):
        ModelSpec.from_psychrnn({"N_rec": 5, "foo": 1}, unknown="error")
    with pytest.raises(ValueError, match=r"unknown must be 'warn', 'ignore' or 'error'"):
        ModelSpec.from_psychrnn({"N_rec": 5}, unknown="loud")
    with pytest.warns(UserWarning, match=r"load_weights_path is not part of a spec"):
        ModelSpec.from_psychrnn({"N_rec": 5, "load_weights_path": "x.npz"})


def test_from_psychrnn_errors():
    with pytest.raises(ValueError, match=r"dale_ratio=0 would make every unit inhibitory"):
        ModelSpec.from_psychrnn({"N_rec": 5, "dale_ratio": 0})
    with pytest.raises(ValueError, match=r"transfer_function must be one of .* received 'elu'"):
        ModelSpec.from_psychrnn({"N_rec": 5, "transfer_function": "elu"})
    with pytest.raises(ValueError, match=r"has no 'N_rec'"):
        ModelSpec.from_psychrnn(TASK)
    with pytest.raises(TypeError, match=r"expected a PsychRNN params dict; received list"):
        ModelSpec.from_psychrnn([1])
    with pytest.raises(ValueError, match=r"initializer must be .* received Foo"):
        ModelSpec.from_psychrnn({"N_rec": 5, "initializer": type("Foo", (), {})()})


def test_large_masks_are_bit_packed_in_json():
    rng = np.random.default_rng(0)
    conn = (rng.random((100, 100)) > 0.5).astype(float)
    spec = ModelSpec(N_rec=100, rec_connectivity=conn,
                     constraints=(ConnectivityMask(rec=1 - conn), FixedWeights(W_rec=conn)))
    d = spec.to_dict()
    assert set(d["rec_connectivity"]) == {"shape", "packbits"}
    assert d["rec_connectivity"]["shape"] == [100, 100]
    assert set(d["constraints"][0]["rec"]) == {"shape", "packbits"}
    text = spec.to_json()
    assert len(text) < 10_000
    back = ModelSpec.from_json(text)
    assert back == spec
    np.testing.assert_array_equal(back.rec_connectivity, conn)
    np.testing.assert_array_equal(back.constraints[0].rec, 1 - conn)
    # small masks stay readable lists
    assert ModelSpec(N_rec=2, rec_connectivity=np.eye(2)).to_dict()["rec_connectivity"] == [
        [1, 0], [0, 1]]
    with pytest.raises(ValueError, match=r"rec_connectivity given as a dict must have keys "
                                         r"'shape' and 'packbits'; received keys \['bits'\]"):
        ModelSpec(N_rec=2, rec_connectivity={"bits": ""})
    with pytest.raises(ValueError, match=r"rec_connectivity: invalid packed mask"):
        ModelSpec(N_rec=2, rec_connectivity={"shape": [2, 2], "packbits": "not base64!"})


def test_json_is_one_field_per_line():
    text = ModelSpec(N_rec=3, rec_connectivity=np.eye(3)).to_json()
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    assert len(lines) == len(dataclasses.fields(ModelSpec)) + 2
    assert '  "rec_connectivity": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],' in lines
    assert "\n" not in ModelSpec().to_json(indent=None)
    assert json.loads(ModelSpec().to_json(indent=None)) == ModelSpec().to_dict()


def test_repr_shows_non_default_fields():
    assert repr(ModelSpec()) == "ModelSpec(N_rec=50)"
    r = repr(ModelSpec(N_rec=4, dale_ratio=0.5, rec_connectivity=1 - np.eye(4), loss=my_loss))
    assert r == ("ModelSpec(N_rec=4, dale_ratio=0.5, rec_connectivity=<0/1 mask (4, 4), 12 ones>, "
                 "loss=tests.test_spec.my_loss)")


def test_bind_reuses_validated_masks():
    spec = ModelSpec(N_rec=4, rec_connectivity=1 - np.eye(4))
    assert spec.bind(TASK).rec_connectivity is spec.rec_connectivity
