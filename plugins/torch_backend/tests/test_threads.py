"""The backend's intra-op thread handling is scoped to its own calls."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from psychcore_torch import TorchBackend  # noqa: E402
from torch_helpers import bound, data  # noqa: E402

from psychcore import initialize_weights  # noqa: E402

seen_threads: list[int] = []


def recording_loss(z, y, mask):
    """MSE that records how many intra-op threads torch uses while it runs."""
    seen_threads.append(torch.get_num_threads())
    return ((mask * (z - y)) ** 2).mean()


@pytest.fixture
def two_threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("setting, n_rec, expected", [
    ("auto", 12, 1),   # 12**2 * 64 multiply-adds per step: single-threaded
    ("auto", 400, 2),  # 400**2 * 64 > SMALL_STEP: torch's own setting
    (None, 12, 2),     # never touched
    (3, 12, 3),
])
def test_thread_count_during_and_after_calls(two_threads, setting, n_rec, expected):
    spec = bound(n_rec, loss=recording_loss)
    backend = TorchBackend(spec, initialize_weights(spec, 0))
    backend.num_threads = setting
    backend.configure_optimizer()
    d = data(0, n=64, steps=4, n_rec=n_rec)
    seen_threads.clear()
    backend.train_step(d["x"], d["y"], d["mask"])
    backend.loss_and_gradients(d["x"], d["y"], d["mask"])
    assert seen_threads == [expected, expected]
    assert torch.get_num_threads() == 2
    backend.forward(d["x"])
    assert torch.get_num_threads() == 2


def test_num_threads_through_model_backend_options():
    import psychcore
    from psychcore import ModelSpec

    task = psychcore.get_task("PerceptualDiscrimination")(dt=20, tau=100, T=600, N_batch=8)
    model = psychcore.Model(task, ModelSpec(N_rec=8), backend="torch", seed=0,
                            backend_options={"num_threads": 1})
    assert model.backend.num_threads == 1
    with pytest.raises(ValueError, match="num_threads"):
        psychcore.Model(task, ModelSpec(N_rec=8), backend="torch",
                        backend_options={"num_threads": 0})
