"""Same seed, same task, same options: the TensorFlow and PyTorch backends train alike.

Skipped unless the PyTorch backend (psychcore-torch) is installed too. Recurrent noise is off
(each framework draws its own). Adam differs slightly between the frameworks (Keras, like
PsychRNN's TF1 optimiser, adds epsilon to sqrt(v) before the bias correction, PyTorch after),
which moves parameters with gradients near epsilon differently; SGD is the same update.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import psychcore  # noqa: E402
from psychcore import FixedWeights, ModelSpec  # noqa: E402

if "torch" not in psychcore.backends():
    pytest.skip("the PyTorch backend is not installed", allow_module_level=True)


@pytest.mark.parametrize(("spec_kw", "train_kw"), [
    ({"dale_ratio": 0.8, "autapses": False, "train_tau": True,
      "constraints": (FixedWeights(W_rec=np.eye(10, k=1, dtype=bool)),)}, {}),
    ({"architecture": "lstm", "L2_rec": 0.1, "L2_firing_rate": 0.01},
     {"optimizer": "sgd", "learning_rate": 0.05, "clip_grads": 0.5}),
    ({"architecture": "gru", "loss": "cross_entropy"},
     {"optimizer": "sgd", "learning_rate": 0.1, "clip_grads": False}),
])
def test_torch_and_tensorflow_agree(spec_kw, train_kw):
    task = psychcore.get_task("PerceptualDiscrimination")(dt=10, tau=100, T=400, N_batch=16)
    spec = ModelSpec(N_rec=10, **spec_kw)
    runs = {}
    for backend in ("torch", "tensorflow"):
        model = psychcore.Model(task, spec, backend=backend, seed=0)
        losses, _, _ = model.train(task, training_iters=16 * 5, loss_epoch=1, verbosity=False,
                                   **train_kw)
        runs[backend] = (losses, model.get_weights())
    np.testing.assert_allclose(runs["tensorflow"][0], runs["torch"][0], rtol=1e-4)
    for key, value in runs["torch"][1].items():
        np.testing.assert_allclose(runs["tensorflow"][1][key], value, atol=1e-4, err_msg=key)
