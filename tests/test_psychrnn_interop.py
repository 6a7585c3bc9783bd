"""PsychRNN interoperability: its weight files, parameter dicts and task files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy_backend import NumpyReadoutBackend

import psychcore
from psychcore import Model, ModelSpec, Simulator, write_psychrnn_weights

DATA = Path(__file__).parent / "data"
N_IN, N_REC, N_OUT = 2, 10, 2


def psychrnn_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """Weights as PsychRNN's RNN.get_weights() returns them (Dale on, its +-1 Dale_out)."""
    rng = np.random.default_rng(seed)
    signs = np.where(np.arange(N_REC) < 8, 1.0, -1.0)
    return {
        "W_in": rng.normal(0, 0.5, (N_REC, N_IN)),
        "W_rec": rng.normal(0, 0.3, (N_REC, N_REC)),
        "W_out": rng.normal(0, 0.5, (N_OUT, N_REC)),
        "b_rec": rng.normal(0, 0.1, N_REC),
        "b_out": rng.normal(0, 0.1, N_OUT),
        "init_state": 0.1 + 0.01 * rng.standard_normal((1, N_REC)),
        "input_connectivity": (rng.uniform(size=(N_REC, N_IN)) > 0.2).astype(float),
        "rec_connectivity": (rng.uniform(size=(N_REC, N_REC)) > 0.3).astype(float),
        "output_connectivity": np.ones((N_OUT, N_REC)),
        "Dale_rec": np.diag(signs),
        "Dale_out": np.diag(signs),
        "dale_ratio": np.array(0.8),
    }


def psychrnn_forward(w: dict[str, np.ndarray], x: np.ndarray, alpha: float) -> np.ndarray:
    """PsychRNN's Basic model, written out from its documented equations, one trial at a time."""
    W_in = np.abs(w["W_in"]) * w["input_connectivity"]
    W_rec = (np.abs(w["W_rec"]) * w["rec_connectivity"]) @ w["Dale_rec"]
    W_out = (np.abs(w["W_out"]) * w["output_connectivity"]) @ w["Dale_out"]
    out = np.zeros((x.shape[0], x.shape[1], N_OUT))
    for b in range(x.shape[0]):
        state = w["init_state"][0].copy()
        for t in range(x.shape[1]):
            rates = np.maximum(state, 0)
            state = (1 - alpha) * state + alpha * (
                W_rec @ rates + W_in @ x[b, t] + w["b_rec"])
            out[b, t] = W_out @ np.maximum(state, 0) + w["b_out"]
    return out


@pytest.fixture
def psychrnn_file(tmp_path):
    weights = psychrnn_weights()
    path = write_psychrnn_weights(tmp_path / "psychrnn_model", weights)
    # PsychRNN's save() also stores the optimiser's slots; they must be ignored
    data = dict(np.load(path))
    data["W_rec/Adam"] = np.ones((N_REC, N_REC))
    data["W_rec/Adam_1"] = np.ones((N_REC, N_REC))
    np.savez(path, **data)
    return path, weights


def test_psychrnn_file_in_simulator_matches_psychrnn_equations(psychrnn_file):
    path, weights = psychrnn_file
    x = np.random.default_rng(1).uniform(0, 1, (5, 40, N_IN))
    expected = psychrnn_forward(weights, x, alpha=0.1)
    outputs, _ = Simulator.from_file(path, dt=10, tau=100).run_trials(x)
    assert np.max(np.abs(outputs - expected)) < 1e-10
    # inhibitory units reach the output through PsychRNN's own Dale_out, as PsychRNN computed
    assert np.diag(np.load(path)["Dale_out"]).min() == -1


def _backend(name):
    if name == "numpy-readout":
        return NumpyReadoutBackend
    if name not in psychcore.backends():
        pytest.skip(f"the {name} backend is not installed")
    return name


BACKENDS = ["numpy-readout", "torch", "tensorflow", "jax"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("params", [
    {"N_in": N_IN, "N_out": N_OUT, "dt": 10, "tau": 100},  # the network from the file
    {"N_in": N_IN, "N_out": N_OUT, "dt": 10, "tau": 100, "N_rec": N_REC, "dale_ratio": 0.8},
], ids=["task-params", "psychrnn-params"])
def test_psychrnn_file_in_a_model(psychrnn_file, backend, params):
    path, weights = psychrnn_file
    x = np.random.default_rng(2).uniform(0, 1, (3, 25, N_IN))
    model = Model.load(path, backend=_backend(backend), task=params)
    assert (model.spec.N_rec, model.spec.dale_ratio) == (N_REC, 0.8)
    outputs, _ = model.test(x)
    assert np.max(np.abs(outputs - psychrnn_forward(weights, x, alpha=0.1))) < 1e-5


@pytest.mark.parametrize("backend", ["simulator", *BACKENDS])
@pytest.mark.parametrize("name", ["basic_dale", "basic_plain"])
def test_files_saved_by_psychrnn_itself(backend, name):
    """Weights and outputs written by PsychRNN 1.0.0 (benchmarks/psychrnn_reference.py)."""
    path = DATA / "psychrnn" / f"{name}.npz"
    ref = np.load(DATA / "psychrnn" / f"{name}_io.npz")
    dt, tau = float(ref["dt"]), float(ref["tau"])
    if backend == "simulator":
        outputs, states = Simulator.from_file(path, dt=dt, tau=tau).run_trials(ref["x"])
    else:
        model = Model.load(path, backend=_backend(backend),
                           task={"N_in": 2, "N_out": 2, "dt": dt, "tau": tau})
        outputs, states = model.test(ref["x"])
    # PsychRNN computes in float32: its own rounding is ~1e-6 here
    assert np.max(np.abs(outputs - ref["outputs"])) < 1e-5
    assert np.max(np.abs(states[:4] - ref["states"])) < 1e-5
    assert np.max(np.abs(ref["outputs"])) > 0.1  # a trained network, not a silent one


def test_psychrnn_params_with_load_weights_path():
    """PsychRNN's way to load a file: ``params["load_weights_path"]``."""
    ref = np.load(DATA / "psychrnn" / "basic_dale_io.npz")
    params = {"N_in": 2, "N_out": 2, "dt": 10.0, "tau": 100.0, "T": 1000, "N_batch": 16,
              "name": "basic_dale", "N_rec": 20, "dale_ratio": 0.8, "autapses": False,
              "rec_noise": 0.0, "load_weights_path": str(DATA / "psychrnn" / "basic_dale.npz")}
    model = Model(params, backend=NumpyReadoutBackend)
    outputs, _ = model.test(ref["x"])
    assert np.max(np.abs(outputs - ref["outputs"])) < 1e-5


def test_psychrnn_params_dict_and_task_file_train():
    Romo = psychcore.get_task(f"{DATA / 'psychrnn_style_task.py'}:Romo")
    task = Romo(dt=10, tau=100, T=1200, N_batch=16)
    params = task.get_task_params()
    params.update({"name": "romo", "N_rec": 20, "dale_ratio": 0.8, "rec_noise": 0.0,
                   "autapses": False, "W_rec_train": False, "L2_firing_rate": 0.01})
    spec = ModelSpec.from_psychrnn(params, unknown="ignore")
    assert (spec.N_rec, spec.autapses, spec.W_rec_train, spec.L2_firing_rate) == \
        (20, False, False, 0.01)
    model = Model(params, backend=NumpyReadoutBackend, seed=0)
    train_params = {"training_iters": 16 * 30, "learning_rate": 0.02, "loss_epoch": 10,
                    "verbosity": False}
    losses, training_time, init_time = model.train(task, train_params)
    assert len(losses) == 3 and losses[-1] < losses[0]
