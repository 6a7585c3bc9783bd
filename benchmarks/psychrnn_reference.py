"""Make reference files with PsychRNN itself: saved weights, inputs, and PsychRNN's outputs.

``tests/test_psychrnn_interop.py`` loads these files into the Simulator and both backends and
compares with the outputs PsychRNN computed. PsychRNN 1.0.0 needs an older pip to install;
run this in its own environment (it does not need psychcore):

    python -m venv .venv-psychrnn
    .venv-psychrnn/bin/pip install "pip<24.1"
    .venv-psychrnn/bin/pip install -c constraints.txt psychrnn==1.0.0 tensorflow-cpu
    .venv-psychrnn/bin/python benchmarks/psychrnn_reference.py tests/data/psychrnn

For each network it trains PsychRNN's ``Basic`` model briefly on its PerceptualDiscrimination
(so the weights are not the initial ones), saves it with ``RNN.save()`` (optimiser slots
included), and writes ``<name>_io.npz`` with a test batch ``x`` and PsychRNN's ``outputs`` and
``states`` for it (states of the first four trials only, to keep the files small).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

NETWORKS = {
    # name: (PsychRNN params beyond the task's, training trials)
    "basic_dale": ({"N_rec": 20, "dale_ratio": 0.8, "autapses": False, "rec_noise": 0.0}, 320),
    "basic_plain": ({"N_rec": 16, "rec_noise": 0.0}, 320),
}


def main(out_dir: str) -> None:
    """Write ``<name>.npz`` and ``<name>_io.npz`` for every network into ``out_dir``."""
    import tensorflow as tf
    from psychrnn.backend.models.basic import Basic
    from psychrnn.tasks.perceptual_discrimination import PerceptualDiscrimination

    os.makedirs(out_dir, exist_ok=True)
    for seed, (name, (extra, trials)) in enumerate(NETWORKS.items()):
        np.random.seed(seed)  # PsychRNN draws its weights and batches from NumPy's global state
        tf.compat.v1.set_random_seed(seed)
        task = PerceptualDiscrimination(dt=10, tau=100, T=1000, N_batch=16)
        params = task.get_task_params()
        params.update(name=name, **extra)
        model = Basic(params)
        model.train(task, {"training_iters": trials, "verbosity": False})
        x = task.get_trial_batch()[0]  # PsychRNN's graph tests exactly N_batch trials
        outputs, states = model.test(x)
        model.save(os.path.join(out_dir, name))
        np.savez_compressed(os.path.join(out_dir, f"{name}_io.npz"), x=x, outputs=outputs,
                            states=states[:4], dt=10.0, tau=100.0)
        model.destruct()
        print(f"{name}: outputs {outputs.shape}, weights in {out_dir}/{name}.npz")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/psychrnn")
