"""What the input checks accept and do (the refusals are in ``test_bad_inputs.py``)."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from numpy_backend import NumpyReadoutBackend
from sign_task import Sign

import psychcore
from psychcore import Model, ModelSpec
from psychcore._spec import check_memory
from psychcore._task import TaskParams, checked_accuracy
from psychcore.backend import check_batch


def _spec() -> ModelSpec:
    return ModelSpec(N_rec=8).bind(Sign())


def test_all_zero_mask_reaches_a_backend_called_directly():
    b = check_batch(_spec(), np.zeros((2, 3, 1)), np.zeros((2, 3, 2)), np.zeros((2, 3, 2)))
    assert not b.mask.any()


def test_checked_accuracy_accepts_scalars_of_any_numeric_kind():
    task = Sign()
    assert checked_accuracy(task, np.float32(0.5)) == 0.5
    assert checked_accuracy(task, np.array(1)) == 1.0
    assert type(checked_accuracy(task.accuracy_function, np.array([0.25]))) is float
    with pytest.raises(TypeError, match=r"Sign\.accuracy_function must return one number"):
        checked_accuracy(task.accuracy_function, True)


def test_task_params_remember_the_task_keys():
    params = Sign().get_task_params()
    assert isinstance(params, TaskParams) and isinstance(params, dict)
    assert params.task_keys >= {"level", "N_batch", "N_steps", "alpha"}
    params.update({"N_rec": 8, "dale_ratio": 0.8, "name": "m"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the task's own keys ('level') are never warned about
        spec = ModelSpec.from_psychrnn(params)
    assert (spec.N_rec, spec.dale_ratio) == (8, 0.8)


def test_a_plain_task_like_dict_warns_once_about_the_keys_it_takes_for_the_task():
    params = {**Sign().get_task_params(), "N_rec": 8}
    with pytest.warns(UserWarning, match=r"taking key\(s\) \['level'\] for the task's"):
        ModelSpec.from_psychrnn(params)


def test_weights_in_the_params_dict_become_the_initial_weights():
    """PsychRNN's 'Saving and Loading': params.update(model.get_weights()); Basic(params)."""
    task = Sign()
    first = Model(task, ModelSpec(N_rec=8), backend=NumpyReadoutBackend, seed=1)
    params = task.get_task_params()
    params.update({"N_rec": 8, "name": "copy", **first.get_weights()})
    copy = Model(params, backend=NumpyReadoutBackend, seed=2)
    for key, value in first.get_weights().items():
        np.testing.assert_array_equal(copy.get_weights()[key], value, err_msg=key)


def test_a_partial_weights_dict_is_completed_from_the_initialisation():
    task = Sign()
    W_rec = np.eye(8) * 0.5
    params = task.get_task_params()
    params.update({"N_rec": 8, "W_rec": W_rec})
    built = Model(params, backend=NumpyReadoutBackend, seed=3).get_weights()
    reference = Model(task, ModelSpec(N_rec=8), backend=NumpyReadoutBackend, seed=3)
    np.testing.assert_array_equal(built["W_rec"], W_rec)
    np.testing.assert_array_equal(built["W_in"], reference.get_weights()["W_in"])


def test_load_weights_path_wins_over_arrays_with_a_warning(tmp_path):
    task = Sign()
    saved = Model(task, ModelSpec(N_rec=8), backend=NumpyReadoutBackend, seed=4)
    saved.save(tmp_path / "w")
    params = task.get_task_params()
    params.update({"N_rec": 8, "load_weights_path": str(tmp_path / "w.npz"),
                   "W_rec": np.zeros((8, 8))})
    with pytest.warns(UserWarning, match=r"the file is used and the arrays are ignored"):
        loaded = Model(params, backend=NumpyReadoutBackend)
    np.testing.assert_array_equal(loaded.get_weights()["W_rec"], saved.get_weights()["W_rec"])


def test_memory_check_compares_with_what_is_available():
    spec = ModelSpec(N_rec=100).bind(Sign())
    need = spec.weights_nbytes()
    assert need == 8 * (2 * 100 * 101 + 3 * 2 * 100 + 100 + 3 * 100 * 100 + 3 * 100 + 2)
    check_memory(spec, available=need)
    with pytest.raises(ValueError, match=r"N_rec=100 .* needs 0\.0 GiB"):
        check_memory(spec, available=need - 1)
    assert ModelSpec(N_rec=10**6).weights_nbytes() is None  # unbound: nothing to estimate


@pytest.mark.parametrize("device, expected", [
    ("cpu", "/CPU:0"), ("CPU", "/CPU:0"), ("/CPU:0", "/CPU:0"), ("gpu", "/GPU:0"),
    ("cuda:1", "/GPU:1"), ("/device:GPU:1", "/GPU:1"),
    ("/job:localhost/replica:0/task:0/device:GPU:0", "/GPU:0"),
])
def test_tf_device_forms(device, expected):
    pytest.importorskip("psychcore_tf")
    from psychcore_tf._backend import resolve_device

    fake = SimpleNamespace(config=SimpleNamespace(list_physical_devices=lambda k: [1, 2]))
    assert resolve_device(fake, device) == expected
    assert resolve_device(fake, None) == "/GPU:0"


def test_spec_from_file_round_trips(tmp_path):
    spec = _spec().replace(dale_ratio=0.8)
    (tmp_path / "spec.json").write_text(spec.to_json())
    assert ModelSpec.from_file(tmp_path / "spec.json") == spec
    psychcore.save_weights(tmp_path / "w", psychcore.initialize_weights(spec, 0), spec)
    assert psychcore.load_weights(tmp_path / "w")[1] == spec
