"""Bad inputs raise clear errors naming what was expected and what was received."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tf_helpers import bound, data, lively_weights  # noqa: E402


@pytest.fixture
def rnn(backend_cls):
    spec = bound(8, 3, 2, rec_noise=0.1)
    return backend_cls(spec, lively_weights(spec)), spec


def test_bad_arrays(rnn):
    backend, spec = rnn
    x, y, mask, noise = data(spec)
    expected = r"x has shape \(4, 12\); expected \(N_trials, N_steps, 3\)"
    with pytest.raises(ValueError, match=expected):
        backend.forward(x[..., 0])
    with pytest.raises(ValueError, match="x has shape"):
        backend.forward(x[..., :2])
    with pytest.raises(ValueError, match="at least one trial"):
        backend.forward(x[:0])
    with pytest.raises(TypeError, match="real numbers"):
        backend.forward(np.full(x.shape, "a"))
    with pytest.raises(ValueError, match=r"y has shape \(4, 11, 2\); expected \(4, 12, 2\)"):
        backend.train_step(x, y[:, 1:], mask)
    with pytest.raises(ValueError, match="mask has shape"):
        backend.train_step(x, y, mask[..., :1])
    with pytest.raises(ValueError, match=r"noise has shape \(4, 12, 7\); expected \(4, 12, 8\)"):
        backend.forward(x, noise[..., 1:])


def test_noise_for_a_gated_network(backend_cls):
    spec = bound(8, 3, 2, architecture="lstm")
    x, _, _, noise = data(spec)
    with pytest.raises(ValueError, match="'rnn' only"):
        backend_cls(spec, lively_weights(spec)).forward(x, noise)


def test_set_weights_validation(rnn):
    backend, spec = rnn
    expected = r"weights\['W_rec'\] has shape \(8, 7\); expected \(8, 8\)"
    with pytest.raises(ValueError, match=expected):
        backend.set_weights({"W_rec": np.zeros((8, 7))})
    with pytest.raises(ValueError, match="unknown key 'W_bogus'"):
        backend.set_weights({"W_bogus": np.zeros(3)})
    with pytest.raises(ValueError, match="rec_connectivity must contain only 0 and 1"):
        backend.set_weights({"rec_connectivity": np.full((8, 8), 0.5)})
    backend.set_weights({"init_state": np.ones(8)})  # (N_rec,) is accepted as (1, N_rec)
    assert backend.get_weights()["init_state"].shape == (1, 8)


def test_set_weights_changes_structure(rnn):
    backend, spec = rnn
    x = data(spec)[0]
    backend.forward(x)
    w = backend.get_weights()
    conn = np.ones((8, 8))
    conn[:, 0] = 0
    backend.set_weights({"rec_connectivity": conn, "Dale_rec": -np.eye(8), "dale_ratio": 1.0,
                         "Dale_out": np.eye(8)})
    got = backend.get_weights()
    np.testing.assert_array_equal(got["rec_connectivity"], conn)
    from psychcore import Simulator

    ref = Simulator(spec, got).run_trials(x)[0]
    np.testing.assert_allclose(backend.forward(x, np.zeros((4, 12, 8)))[0], ref, atol=1e-5)
    assert not np.array_equal(got["Dale_rec"], w["Dale_rec"])


def test_optimizer_errors(rnn):
    backend, _ = rnn
    with pytest.raises(ValueError, match="not a Keras optimiser name"):
        backend.configure_optimizer("bogus")
    with pytest.raises(TypeError, match="a name .*, an optimiser class or a factory"):
        backend.configure_optimizer(3)
    with pytest.raises(TypeError, match="not a Keras optimizer"):
        backend.configure_optimizer(lambda params, learning_rate: "adam")
    with pytest.raises(ValueError, match="positive number"):
        backend.configure_optimizer("adam", 1e-3, -1.0)
    with pytest.raises(TypeError, match="True, False or a positive number; received str"):
        backend.configure_optimizer("adam", 1e-3, "yes")


def test_training_state_errors(rnn, backend_cls):
    backend, spec = rnn
    backend.configure_optimizer("adam")
    with pytest.raises(ValueError, match="no 'rng/state'"):
        backend.set_training_state({})
    other = backend_cls(spec, lively_weights(spec))
    other.configure_optimizer("sgd", 0.1, True, momentum=0.9)
    with pytest.raises(ValueError, match="does not fit Adam"):
        backend.set_training_state(other.get_training_state())


def test_construction_errors(backend_cls, monkeypatch):
    from psychcore import ModelSpec, initialize_weights

    spec = bound(8, 3, 2)
    w = lively_weights(spec)
    with pytest.raises(ValueError, match="bound ModelSpec"):
        backend_cls(ModelSpec(N_rec=8), w)
    with pytest.raises(ValueError, match="the weights have N_rec=8; the spec has N_rec=9"):
        backend_cls(bound(9, 3, 2), w)
    tau_spec = bound(8, 3, 2, train_tau=True)
    with pytest.raises(ValueError, match="no 'tau_raw'"):
        backend_cls(tau_spec, initialize_weights(spec, 0))
    with pytest.raises(ValueError, match="loop must be one of"):
        backend_cls(spec, w, loop="bogus")
    monkeypatch.setenv("PSYCHCORE_TF_LOOP", "sideways")
    with pytest.raises(ValueError, match="PSYCHCORE_TF_LOOP"):
        backend_cls(spec, w)
    monkeypatch.setenv("PSYCHCORE_TF_LOOP", "while")
    assert backend_cls(spec, w).loop == "while"
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        with pytest.raises(ValueError, match="sees 0 GPU"):
            backend_cls(spec, w, device="cuda")


def test_unavailable_tensorflow_is_reported():
    code = textwrap.dedent("""
        import sys
        sys.modules["tensorflow"] = None  # as if TensorFlow were not installed
        import psychcore
        from psychcore_tf import TensorFlowBackend
        print(TensorFlowBackend.is_available())
        task = {"N_in": 2, "N_out": 2, "dt": 10, "tau": 100}
        try:
            psychcore.Model(task, psychcore.ModelSpec(N_rec=4), backend="tensorflow")
        except ImportError as exc:
            print("ImportError:", exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.strip().splitlines()
    assert first.startswith("(False, 'TensorFlow")
    assert second.startswith("ImportError: backend 'tensorflow' cannot run here: TensorFlow")
