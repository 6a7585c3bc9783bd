"""Bad inputs give clear errors; optimisers given by name, class or factory."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from psychcore_torch import TorchBackend, optimizer_classes  # noqa: E402
from torch_helpers import bound, data  # noqa: E402

import psychcore  # noqa: E402
from psychcore import ModelSpec, initialize_weights  # noqa: E402


@pytest.fixture
def backend():
    spec = bound()
    b = TorchBackend(spec, initialize_weights(spec, 0), seed=0)
    b.configure_optimizer()
    return b


@pytest.mark.parametrize("shape", [(5, 30), (5, 30, 4), (0, 30, 3), (5, 30, 3, 1)])
def test_wrong_x_shape(backend, shape):
    with pytest.raises(ValueError, match="x has shape"):
        backend.forward(np.zeros(shape))


def test_wrong_x_shape_through_model():
    task = psychcore.get_task("PerceptualDiscrimination")(dt=20, tau=100, T=600, N_batch=8)
    model = psychcore.Model(task, ModelSpec(N_rec=8), backend="torch", seed=0)
    with pytest.raises(ValueError, match="N_in=2"):
        model.test(np.zeros((4, 30, 3)))


def test_non_numeric_x(backend):
    with pytest.raises(TypeError, match="real numbers"):
        backend.forward(np.full((2, 3, 3), "a"))


def test_wrong_target_and_noise_shapes(backend):
    d = data(0)
    with pytest.raises(ValueError, match="y has shape"):
        backend.train_step(d["x"], d["y"][:, :, :1], d["mask"])
    with pytest.raises(ValueError, match="mask has shape"):
        backend.train_step(d["x"], d["y"], d["mask"][:3])
    with pytest.raises(ValueError, match="noise has shape"):
        backend.forward(d["x"], d["noise"][:, :, :4])


def test_noise_for_gated_architecture():
    spec = bound(architecture="lstm")
    d = data(0)
    with pytest.raises(ValueError, match="'rnn' only"):
        TorchBackend(spec, initialize_weights(spec, 0)).forward(d["x"], d["noise"])


def test_unknown_optimizer_name_lists_valid_names(backend):
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'.*adam, adamax, adamw"):
        backend.configure_optimizer("adamm")
    with pytest.raises(ValueError, match="sparse gradients"):
        backend.configure_optimizer("SparseAdam")
    assert {"adam", "sgd", "rmsprop", "adamw", "lbfgs"} <= set(optimizer_classes())


def test_optimizer_by_name_class_and_factory(backend):
    backend.configure_optimizer("RMSprop", 1e-3, alpha=0.9)
    assert isinstance(backend.optimizer, torch.optim.RMSprop)
    assert backend.optimizer.param_groups[0]["alpha"] == 0.9
    backend.configure_optimizer(torch.optim.SGD, 0.5)
    assert isinstance(backend.optimizer, torch.optim.SGD)
    assert backend.optimizer.param_groups[0]["lr"] == 0.5
    backend.configure_optimizer(lambda params, lr: torch.optim.Adam(params, lr=lr, eps=1e-6),
                                2e-3)
    assert backend.optimizer.param_groups[0]["eps"] == 1e-6
    d = data(1)
    assert np.isfinite(backend.train_step(d["x"], d["y"], d["mask"]))


def test_bad_optimizer_objects(backend):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match="bound to other parameters"):
        backend.configure_optimizer(opt)
    with pytest.raises(TypeError, match="must return a torch.optim.Optimizer"):
        backend.configure_optimizer(lambda params, lr: None)
    with pytest.raises(TypeError, match="received int"):
        backend.configure_optimizer(3)
    with pytest.raises(ValueError, match="clip_grads"):
        backend.configure_optimizer("adam", 1e-3, -1.0)


def test_unknown_optimizer_through_model():
    task = psychcore.get_task("PerceptualDiscrimination")(dt=20, tau=100, T=600, N_batch=8)
    model = psychcore.Model(task, ModelSpec(N_rec=8), backend="torch", seed=0)
    with pytest.raises(ValueError, match="valid names"):
        model.train(task, training_iters=8, optimizer="adamm", verbosity=False)


@pytest.mark.parametrize("device", ["tpu", "cuda:99", "meta", "not a device"])
def test_bad_device(device):
    spec = bound()
    with pytest.raises(ValueError, match="device"):
        TorchBackend(spec, initialize_weights(spec, 0), device=device)


def test_cuda_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    spec = bound()
    with pytest.raises(ValueError, match="cuda"):
        TorchBackend(spec, initialize_weights(spec, 0), device="cuda")
    assert TorchBackend(spec, initialize_weights(spec, 0)).device == "cpu"


def test_set_weights_checks_keys_and_shapes(backend):
    with pytest.raises(ValueError, match=r"'W_rec'.*\(3, 3\); expected \(12, 12\)"):
        backend.set_weights({"W_rec": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="unknown key 'W_foo'"):
        backend.set_weights({"W_foo": np.zeros(3)})
    with pytest.raises(ValueError, match="rec_connectivity"):
        backend.set_weights({"rec_connectivity": np.full((12, 12), 0.5)})


def test_set_weights_partial_update_keeps_the_rest(backend):
    before = backend.get_weights()
    backend.set_weights({"b_out": np.ones(2)})
    after = backend.get_weights()
    np.testing.assert_array_equal(after["b_out"], np.ones(2, dtype=np.float32))
    np.testing.assert_array_equal(after["W_rec"], before["W_rec"])


def test_weights_that_do_not_fit_the_spec():
    spec = bound()
    other = bound(n_rec=7)
    with pytest.raises(ValueError, match="N_rec=7"):
        TorchBackend(spec, initialize_weights(other, 0))
    with pytest.raises(ValueError, match="bound"):
        TorchBackend(ModelSpec(N_rec=12), initialize_weights(spec, 0))


def test_train_step_before_configure():
    spec = bound()
    d = data(0)
    with pytest.raises(RuntimeError, match="configure_optimizer"):
        TorchBackend(spec, initialize_weights(spec, 0)).train_step(d["x"], d["y"], d["mask"])


def not_a_tensor_loss(z, y, mask):
    return 1.0


def test_loss_callable_must_return_a_tensor():
    spec = bound(loss=not_a_tensor_loss)
    b = TorchBackend(spec, initialize_weights(spec, 0))
    b.configure_optimizer()
    d = data(0)
    with pytest.raises(TypeError, match="scalar torch tensor"):
        b.train_step(d["x"], d["y"], d["mask"])


def test_nothing_to_train():
    flags = {f"{k}_train": False for k in ("W_in", "W_rec", "W_out", "b_rec", "b_out",
                                          "init_state")}
    spec = bound(**flags)
    with pytest.raises(ValueError, match="nothing to train"):
        TorchBackend(spec, initialize_weights(spec, 0)).configure_optimizer()


def test_optimizer_options_through_model():
    task = psychcore.get_task("PerceptualDiscrimination")(dt=20, tau=100, T=600, N_batch=8)
    model = psychcore.Model(task, ModelSpec(N_rec=8), backend="torch", seed=0)
    model.train(task, training_iters=16, optimizer="AdamW", verbosity=False,
                optimizer_options={"weight_decay": 0.25, "betas": (0.8, 0.9)})
    group = model.backend.optimizer.param_groups[0]
    assert isinstance(model.backend.optimizer, torch.optim.AdamW)
    assert group["weight_decay"] == 0.25 and tuple(group["betas"]) == (0.8, 0.9)
