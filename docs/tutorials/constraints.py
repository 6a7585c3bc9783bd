# %% [markdown]
# # Constraints: Dale's principle, masks, fixed weights, cell types
#
# A `ModelSpec` describes the network; its constraints decide which connections exist, their
# signs and which entries never train. They are applied once, when the weights are
# initialised, as masks stored beside the weights (`rec_connectivity`, `Dale_rec`,
# `W_rec_fixed`, ...), and every backend trains the *effective* weights built from them
# (`docs/equations.md`), so they hold through training. This tutorial builds a network with
# all of them, trains it briefly and checks that each constraint still holds.
#
# **Budgets.** The full budget (`PSYCHCORE_DOCS_QUICK` unset) trains 300 steps; the
# documentation build (`PSYCHCORE_DOCS_QUICK=1`) trains 20. The constraints hold after any
# number of steps; only the accuracy depends on the budget.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import psychcore
from psychcore import (
    CellTypeRule,
    ConnectivityMask,
    FixedWeights,
    InhibitorySubtype,
    ModelSpec,
    effective_weights,
)

QUICK = os.environ.get("PSYCHCORE_DOCS_QUICK") == "1"
steps = 20 if QUICK else 300
task = psychcore.get_task("PerceptualDiscrimination")(dt=10, tau=100, T=1000, N_batch=32,
                                                      seed=0)
N_rec = 40

# %% [markdown]
# - `dale_ratio=0.8`: the first 32 units are excitatory, the last 8 inhibitory; every
#   outgoing weight of a unit has its sign.
# - `autapses=False`: no unit connects to itself.
# - `ConnectivityMask(input=...)`: only the first half of the units receive input 0, only the
#   second half input 1 (row = receiving unit, column = input).
# - `InhibitorySubtype("som", count=4)` relabels four inhibitory units as a subtype, and
#   `CellTypeRule("som", "som")` forbids connections among them; `CellTypeRule("I", "I")`
#   forbids connections between the remaining inhibitory units.
# - `FixedWeights(W_rec=...)`: the connections from unit 0 never train.

# %%
input_mask = np.zeros((N_rec, 2))
input_mask[: N_rec // 2, 0] = 1
input_mask[N_rec // 2 :, 1] = 1
fixed = np.zeros((N_rec, N_rec), dtype=bool)
fixed[:, 0] = True
spec = ModelSpec(
    N_rec=N_rec, dale_ratio=0.8, autapses=False,
    constraints=[ConnectivityMask(input=input_mask), InhibitorySubtype("som", count=4),
                 CellTypeRule("som", "som"), CellTypeRule("I", "I"), FixedWeights(W_rec=fixed)],
)
model = psychcore.Model(task, spec, backend="torch", seed=0)
before = model.get_weights()
model.train(task, training_iters=steps * task.N_batch, learning_rate=0.005, verbosity=False)
after = model.get_weights()

# %%
W_before = effective_weights(before)["W_rec"]
W = effective_weights(after)["W_rec"]
signs = np.sign(np.diag(after["Dale_rec"]))
som = np.arange(32, 36)
others = np.arange(36, 40)
checks = {
    "Dale: every column has its unit's sign": bool(np.all(W * signs[None, :] >= 0)),
    "no autapses": bool(np.all(np.diag(W) == 0)),
    "input mask": bool(np.all(effective_weights(after)["W_in"][input_mask == 0] == 0)),
    "no som -> som": bool(np.all(W[np.ix_(som, som)] == 0)),
    "no I -> I": bool(np.all(W[np.ix_(others, others)] == 0)),
    "unit 0's outgoing weights unchanged": bool(np.array_equal(W[:, 0], W_before[:, 0])),
    "the others trained": bool(not np.array_equal(W[:, 1:], W_before[:, 1:])),
}
for name, ok in checks.items():
    print(f"{'ok ' if ok else 'FAILED'} {name}")
assert all(checks.values())

# %%
lim = np.abs(W).max()
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
im = axes[0].imshow(W, cmap="RdBu_r", vmin=-lim, vmax=lim)
axes[0].set_title("effective W_rec after training")
axes[0].set_xlabel("from unit")
axes[0].set_ylabel("to unit")
fig.colorbar(im, ax=axes[0], shrink=0.8)
axes[1].imshow(after["rec_connectivity"], cmap="gray_r")
axes[1].set_title("rec_connectivity (black: exists)")
axes[1].set_xlabel("from unit")
plt.tight_layout()
plt.show()
