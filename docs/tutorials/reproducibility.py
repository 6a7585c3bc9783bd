# %% [markdown]
# # Cross-backend reproducibility
#
# Every random number psychcore uses is drawn in NumPy from one seed: the initial weights,
# every batch and the recurrent noise. Two consequences, both checked below:
#
# 1. the same seed on the same backend gives the same training, number for number;
# 2. two backends given the same numbers compute the same losses, weight updates and outputs
#    up to rounding: `psychcore.check_reproducibility` (the command `psychcore repro`)
#    measures it and compares every network with the NumPy reference `Simulator`.
#
# **Budgets.** The full budget (`PSYCHCORE_DOCS_QUICK` unset) is `psychcore repro`'s default
# of 200 Adam steps; the documentation build (`PSYCHCORE_DOCS_QUICK=1`) takes 10. The
# tolerances do not depend on the number of steps (see [reproducibility](../reproducibility.md)).

# %%
import os

import numpy as np

import psychcore
from psychcore import ModelSpec

QUICK = os.environ.get("PSYCHCORE_DOCS_QUICK") == "1"
steps = 10 if QUICK else 200
BACKENDS = ["torch", "jax"]  # any two installed backends; `psychcore plugins` lists them
PD = psychcore.get_task("PerceptualDiscrimination")

# %% [markdown]
# ## The same seed, the same training

# %%
def train(seed):
    task = PD(dt=10, tau=100, T=500, N_batch=32, seed=seed)
    model = psychcore.Model(task, ModelSpec(N_rec=32, rec_noise=0.1), backend="torch",
                            seed=seed)
    losses, _, _ = model.train(task, training_iters=steps * 32, loss_epoch=1, verbosity=False)
    return np.array(losses), model.get_weights()


losses_a, weights_a = train(seed=3)
losses_b, weights_b = train(seed=3)
losses_c, _ = train(seed=4)
print("same seed, identical losses:", np.array_equal(losses_a, losses_b))
print("same seed, identical weights:",
      all(np.array_equal(weights_a[k], weights_b[k], equal_nan=True) for k in weights_a))
print("another seed, identical losses:", np.array_equal(losses_a, losses_c))
assert np.array_equal(losses_a, losses_b) and not np.array_equal(losses_a, losses_c)

# %% [markdown]
# ## Two backends, the same numbers
#
# `check_reproducibility` trains one spec on each backend from identical initial weights,
# batches and noise. Training amplifies rounding differences, so by default every backend but
# the first restarts each step from the first one's weights and Adam state; the report then
# compares, per pair, every recorded loss, every weight update, the final weights and the
# test outputs, and each network with the NumPy `Simulator`.

# %%
task = PD(dt=10, tau=100, T=500, N_batch=32)
report = psychcore.check_reproducibility(
    task, ModelSpec(N_rec=32, dale_ratio=0.8), BACKENDS, steps=steps, loss_epoch=2)
print(report.format())
assert report.ok

# %% [markdown]
# In float64 the backends agree to rounding precision and the tolerance drops to 1e-9, which
# checks the equations themselves (a wrong equation shows at 1e-3 or worse):

# %%
report64 = psychcore.check_reproducibility(
    task, ModelSpec(N_rec=32, dale_ratio=0.8, dtype="float64"), BACKENDS, steps=steps,
    loss_epoch=2, sensitivity=False)
print(report64.format())
assert report64.ok
