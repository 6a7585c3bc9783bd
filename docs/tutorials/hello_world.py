# %% [markdown]
# # Hello world: train a network on perceptual discrimination
#
# This tutorial trains a 50-unit rate network obeying Dale's principle on the two-alternative
# forced choice task of PsychRNN's hello world, then looks at one trial.
#
# **Budgets.** The full budget (`PSYCHCORE_DOCS_QUICK` unset) trains for up to 100,000
# trials and stops at 90% accuracy on a fixed 512-trial validation set; on a 2-core CPU with
# PyTorch that takes about 12 s (median of 5 seeds) and the network scores 0.90-0.96 on fresh
# trials. The documentation build sets `PSYCHCORE_DOCS_QUICK=1` and trains 20 steps of 64
# trials only, so the numbers below are those of a barely trained network.

# %%
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import psychcore
from psychcore import ModelSpec

QUICK = os.environ.get("PSYCHCORE_DOCS_QUICK") == "1"
N_batch = 64 if QUICK else 128
training_iters = 20 * N_batch if QUICK else 100_000

# %% [markdown]
# A task is a class; `psychcore.get_task` finds it among the installed task plugins
# (`psychcore tasks` lists them). `dt` and `tau` are in milliseconds, `T` is the trial length
# and `N_batch` the trials per training step. The seed makes every batch reproducible.

# %%
task = psychcore.get_task("PerceptualDiscrimination")(
    dt=10, tau=100, T=2000, N_batch=N_batch, seed=0)
spec = ModelSpec(N_rec=50, dale_ratio=0.8)
model = psychcore.Model(task, spec, backend="torch", seed=0)
losses, training_time, initialization_time = model.train(
    task, training_iters=training_iters, performance_cutoff=0.9)
print(f"trained {len(losses)} loss records in {training_time:.1f} s")

# %% [markdown]
# `model.test` runs the trained network on a batch; the task's `accuracy_function` scores it
# (here: the output channel with the higher mean response in the decision period must match
# the target's).

# %%
x, y, mask, trial_params = task.get_trial_batch()
outputs, states = model.test(x)
print("accuracy on a fresh batch:", task.accuracy_function(y, outputs, mask))

# %%
t = task.time
fig, axes = plt.subplots(2, 1, figsize=(7, 4), sharex=True)
axes[0].plot(t, x[0])
axes[0].set_ylabel("inputs")
axes[1].plot(t, y[0], "--", label=["target 0", "target 1"])
axes[1].plot(t, outputs[0], label=["output 0", "output 1"])
axes[1].fill_between(t, 0, 1, where=mask[0, :, 0] == 0, color="0.9", label="mask 0")
axes[1].set_ylabel("outputs")
axes[1].set_xlabel("time (ms)")
axes[1].legend(fontsize="small", ncol=3)
plt.show()

# %% [markdown]
# Weights are plain NumPy arrays under PsychRNN's key names, saved as an `.npz` file with the
# network's spec beside it. This tutorial writes into a temporary directory.

# %%
weights = model.get_weights()
print({k: v.shape for k, v in weights.items() if k.startswith("W_")})
with tempfile.TemporaryDirectory() as tmp:
    path = model.save(os.path.join(tmp, "hello_world_weights"))
    print("saved", path.name)
    loaded, loaded_spec = psychcore.load_weights(path)
    assert np.array_equal(loaded["W_rec"], weights["W_rec"])
